import Foundation

/// A file-system failure that names the file.
public struct FileError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Writes files so that readers only ever see the old complete file or the new complete file:
/// write to a temporary name in the same directory, fsync, rename over the target, fsync the
/// directory. A crash or SIGKILL mid-write leaves at most a stray `.tmp-*` file, never a torn
/// checkpoint or result.
public enum AtomicFile {
    /// Writes `count` bytes produced by `body` chunk by chunk (large checkpoints never need one
    /// contiguous copy). `body` receives a write function.
    public static func write(to path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(tmp, "cannot create: \(String(cString: strerror(errno)))") }
        var closed = false
        do {
            try body { chunk in
                var done = 0
                while done < chunk.count {
                    let n = Foundation.write(fd, chunk.baseAddress! + done, chunk.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileError(tmp, "write failed: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw FileError(tmp, "fsync failed: \(String(cString: strerror(errno)))") }
            close(fd)
            closed = true
            guard rename(tmp, path) == 0 else { throw FileError(path, "rename failed: \(String(cString: strerror(errno)))") }
            let dfd = open(dir, O_RDONLY)
            if dfd >= 0 { _ = fsync(dfd); close(dfd) }
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
}
