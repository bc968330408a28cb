import Foundation

// The one low-level file layer of ecg-dist. Every file the project writes is written through
// `AtomicFile` (a reader sees the old complete file or the new complete file, never a torn one),
// every whole file it reads is read by `readFileBytes`, every small byte string it hashes goes
// through `fnv1a64`, and every error about a file is a `FileError` naming the file.

/// A failure that names the file (or the thing being read, e.g. "training state") and the problem.
public struct FileError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}

/// Writes files so that readers only ever see the old complete file or the new complete file:
/// write to a temporary name in the same directory, fsync, rename over the target, fsync the
/// directory. A crash or SIGKILL mid-write leaves at most a stray `.tmp-*` file, never a torn
/// checkpoint or result.
public enum AtomicFile {
    /// The temporary name a writer of `path` uses: same directory (so the rename is atomic),
    /// unique per process.
    public static func temporaryPath(for path: String) -> String { "\(path).tmp-\(getpid())" }

    /// Writes the bytes produced by `body` chunk by chunk (large checkpoints never need one
    /// contiguous copy). `body` receives a write function. Creates missing parent directories.
    public static func write(to path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(tmp, "cannot create: \(errnoText())") }
        var closed = false
        do {
            try body { chunk in
                var done = 0
                while done < chunk.count {
                    let n = Foundation.write(fd, chunk.baseAddress! + done, chunk.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileError(tmp, "write failed: \(errnoText())")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw FileError(tmp, "fsync failed: \(errnoText())") }
            close(fd)
            closed = true
            try renameDurably(tmp, to: path)
        } catch {
            if !closed { close(fd) }
            unlink(tmp)
            throw error
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { emit in try bytes.withUnsafeBytes { try emit($0) } }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// For writers that must produce the temporary file themselves (HDF5 writes through its own
    /// library): fsyncs the finished `temporary` file, then renames it onto `path` and fsyncs the
    /// directory, the same final step as `write`.
    public static func moveIntoPlace(_ temporary: String, to path: String) throws {
        let fd = open(temporary, O_RDONLY)
        guard fd >= 0 else { throw FileError(temporary, "cannot open to move into place: \(errnoText())") }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced else { throw FileError(temporary, "fsync failed: \(errnoText())") }
        try renameDurably(temporary, to: path)
    }

    /// rename(2), then fsync of the directory so the new name itself survives a crash.
    private static func renameDurably(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else {
            throw FileError(path, "cannot move \(temporary) into place: \(errnoText())")
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}

/// The whole file at `path`, read straight into one array with a read(2) loop (no intermediate
/// Data copy, which matters for multi-GB checkpoints). Errors name the file.
public func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
        throw FileError(path, errno == ENOENT ? "file not found" : "file cannot be read (\(errnoText()))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw FileError(path, "not a regular file") }
    let size = Int(info.st_size)
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
        var done = 0
        while done < size {
            let got = Foundation.read(fd, buffer.baseAddress! + done, size - done)
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { failed = got < 0; break }
            done += got
        }
        initialized = done
    }
    if failed { throw FileError(path, "read error: \(errnoText())") }
    guard bytes.count == size else { throw FileError(path, "read \(bytes.count) of \(size) bytes (file shrank while reading?)") }
    return bytes
}

/// FNV-1a, 64 bit: the hash of small byte strings (checkpoint headers and metadata, parameter
/// names for init streams). Bulk float data uses `parameterChecksum` (EMA.swift), which is faster.
public func fnv1a64<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}

/// strerror(errno) as a String.
func errnoText() -> String { String(cString: strerror(errno)) }
