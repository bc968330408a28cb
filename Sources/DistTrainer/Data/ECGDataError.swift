import Foundation

/// A problem with an input ECG file (WFDB record, PTB-XL table, corpus). Always names the file.
public struct ECGDataError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Kind: String, Sendable {
        case missingFile, emptyFile, notUTF8, badHeader, signalCountMismatch, truncated
        case unsupported, checksum, missingLead, badTable, missingRecord, badCorpus
    }
    public let kind: Kind
    public let path: String
    public let message: String

    public init(_ kind: Kind, _ path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}

/// Reads a whole file into a byte array with one read(2) loop; errors name the file.
func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
        throw ECGDataError(.missingFile, path, errno == ENOENT ? "file not found" : "file cannot be read (\(String(cString: strerror(errno))))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw ECGDataError(.missingFile, path, "not a regular file") }
    let size = Int(info.st_size)
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
        var done = 0
        while done < size {
            let got = Foundation.read(fd, buffer.baseAddress! + done, size - done)
            if got <= 0 { failed = got < 0; break }
            done += got
        }
        initialized = done
    }
    if failed { throw ECGDataError(.missingFile, path, "read error: \(String(cString: strerror(errno)))") }
    return bytes
}
