import Foundation
import Model

// Binary training-state checkpoints: everything a run needs to resume exactly (parameters, EMA
// target, AdamW moments, step, schedule, RNG seeds, config) in one self-checking byte stream.
//
// Layout (all integers little-endian; floats are IEEE-754 binary32, little-endian):
//
//   offset 0   "ECGJ"                          magic
//          4   UInt32 version (= 1)
//          8   UInt32 section count
//         12   UInt32 reserved (= 0)
//         16   UInt64 metadata length L
//         24   UInt64 metadata checksum        (fnv1a64 of the L bytes)
//         32   L bytes metadata                (UTF-8 JSON object of string -> string, sorted keys)
//   then per section:
//              UInt32 name length N, N bytes UTF-8 name
//              UInt64 float count C
//              UInt64 checksum                 (parameterChecksum of the C floats)
//              zero padding to a multiple of 64 bytes from the start of the stream
//              C * 4 bytes of float data
//
// Data is 64-byte aligned so a reader can use it in place, and written straight from the caller's
// buffers (no copy of a 1.4 GB ViT-B state). Every length is bounds-checked and every section is
// checksummed, so a truncated or corrupted file fails with an error naming the file and the part.

#if _endian(big)
#error("TrainingStateFormat writes the host float layout and assumes a little-endian host")
#endif

/// One named float array to write, viewed in place (e.g. `params.values` with `params.count`).
public struct TrainingStateSection {
    public let name: String
    public let values: UnsafeBufferPointer<Float>

    public init(name: String, values: UnsafeBufferPointer<Float>) {
        self.name = name
        self.values = values
    }

    public init(name: String, pointer: UnsafePointer<Float>, count: Int) {
        self.init(name: name, values: UnsafeBufferPointer(start: pointer, count: count))
    }
}

/// Produces the checkpoint byte stream described at the top of TrainingStateFormat.swift.
public enum TrainingStateWriter {
    static let magic: [UInt8] = Array("ECGJ".utf8)
    static let version: UInt32 = 1
    static let dataAlignment = 64

    /// Streams the checkpoint to `sink` in order, chunk by chunk; float data is passed straight from
    /// the sections' buffers. Use this to write a large state to a file without building it in memory.
    /// Section names must be distinct and non-empty (a programming error otherwise).
    public static func write(metadata: [String: String], sections: [TrainingStateSection],
                             to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(Set(sections.map(\.name)).count == sections.count, "duplicate training-state section name")
        precondition(!sections.contains { $0.name.isEmpty }, "empty training-state section name")
        let metadataBytes = encodeMetadata(metadata)
        var header = ByteWriter()
        header.append(magic)
        header.append(UInt32(version))
        header.append(UInt32(sections.count))
        header.append(UInt32(0))
        header.append(UInt64(metadataBytes.count))
        header.append(fnv1a64(metadataBytes))
        header.append(metadataBytes)
        var position = header.bytes.count
        try header.bytes.withUnsafeBytes(sink)

        for section in sections {
            var sectionHeader = ByteWriter()
            let name = Array(section.name.utf8)
            sectionHeader.append(UInt32(name.count))
            sectionHeader.append(name)
            sectionHeader.append(UInt64(section.values.count))
            sectionHeader.append(checksum(of: section.values))
            position += sectionHeader.bytes.count
            let padding = paddingToAlignment(position)
            sectionHeader.append([UInt8](repeating: 0, count: padding))
            position += padding
            try sectionHeader.bytes.withUnsafeBytes(sink)
            if section.values.count > 0 { try sink(UnsafeRawBufferPointer(section.values)) }
            position += section.values.count * 4
        }
    }

    /// The whole checkpoint as one byte array (convenient for small states and tests).
    public static func serialize(metadata: [String: String], sections: [TrainingStateSection]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + sections.reduce(0) { $0 + 128 + $1.values.count * 4 })
        write(metadata: metadata, sections: sections) { out.append(contentsOf: $0) }
        return out
    }

    /// JSON-encodes a Codable value for use as a metadata string (config, schedule, ...).
    public static func metadataString<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func encodeMetadata(_ metadata: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a [String: String] cannot fail.
        return Array(try! encoder.encode(metadata))
    }

    static func paddingToAlignment(_ position: Int) -> Int {
        (dataAlignment - position % dataAlignment) % dataAlignment
    }
}

/// A parsed, fully validated checkpoint. Holds the bytes; sections are copied out on request.
public struct TrainingState {
    /// The caller's metadata (config, step, schedule, RNG seed, ...).
    public let metadata: [String: String]
    /// Section names in file order.
    public let sectionNames: [String]
    /// Where the bytes came from (a path), used in error messages.
    public let source: String
    private let bytes: [UInt8]
    private let sectionsByName: [String: (count: Int, dataOffset: Int)]

    /// Parses and validates `bytes`: magic, version, every length against the remaining bytes, the
    /// metadata JSON and checksum, and the checksum of every section. Throws `FileError`.
    public init(bytes: [UInt8], source: String = "training state") throws {
        self.source = source
        self.bytes = bytes
        var reader = ByteReader(bytes: bytes, source: source)
        let magic = try reader.take(4, what: "magic")
        guard magic == TrainingStateWriter.magic else {
            throw FileError(source, "not an ecg-dist training state (magic \(Self.printable(magic)), expected \"ECGJ\")")
        }
        let version = try reader.uint32("version")
        guard version == TrainingStateWriter.version else {
            throw FileError(source, "unsupported training-state version \(version) (this build reads \(TrainingStateWriter.version))")
        }
        let sectionCount = Int(try reader.uint32("section count"))
        _ = try reader.uint32("reserved")
        let metadataLength = try reader.length("metadata length")
        let metadataSum = try reader.uint64("metadata checksum")
        let metadataBytes = try reader.take(metadataLength, what: "metadata")
        guard fnv1a64(metadataBytes) == metadataSum else {
            throw FileError(source, "metadata checksum mismatch (file is corrupt)")
        }
        guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(metadataBytes)) else {
            throw FileError(source, "metadata is not a JSON object of strings")
        }
        metadata = decoded

        var names: [String] = []
        var index: [String: (count: Int, dataOffset: Int)] = [:]
        for sectionNumber in 0..<sectionCount {
            let what = "section \(sectionNumber + 1) of \(sectionCount)"
            let nameLength = Int(try reader.uint32("\(what) name length"))
            guard let name = String(bytes: try reader.take(nameLength, what: "\(what) name"), encoding: .utf8),
                  !name.isEmpty else {
                throw FileError(source, "\(what) has an invalid name")
            }
            guard index[name] == nil else { throw FileError(source, "duplicate section '\(name)'") }
            let count = try reader.length("section '\(name)' count")
            let expectedSum = try reader.uint64("section '\(name)' checksum")
            let padding = try reader.take(TrainingStateWriter.paddingToAlignment(reader.position), what: "section '\(name)' padding")
            guard padding.allSatisfy({ $0 == 0 }) else { throw FileError(source, "section '\(name)' padding is not zero (file is corrupt)") }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
            guard !overflow else { throw FileError(source, "section '\(name)' count \(count) is absurd") }
            let dataOffset = reader.position
            _ = try reader.skip(byteCount, what: "section '\(name)' data (\(count) floats)")
            let actualSum = bytes.withUnsafeBytes { raw in
                parameterChecksum((raw.baseAddress! + dataOffset).assumingMemoryBound(to: Float.self), count: count)
            }
            guard actualSum == expectedSum else {
                throw FileError(source, "checksum mismatch in section '\(name)' (file is corrupt)")
            }
            names.append(name)
            index[name] = (count, dataOffset)
        }
        guard reader.position == bytes.count else {
            throw FileError(source, "\(bytes.count - reader.position) unexpected bytes after the last section")
        }
        sectionNames = names
        sectionsByName = index
    }

    /// Reads and validates a checkpoint file.
    public init(contentsOfFile path: String) throws {
        try self.init(bytes: try readFileBytes(path), source: path)
    }

    /// Number of floats in section `name`, or nil if there is no such section.
    public func count(of name: String) -> Int? { sectionsByName[name]?.count }

    /// Copies section `name` into `destination`, which must hold exactly `count` floats.
    public func copy(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let entry = sectionsByName[name] else {
            throw FileError(source, "no section '\(name)' (has: \(sectionNames.joined(separator: ", ")))")
        }
        guard entry.count == count else {
            throw FileError(source, "section '\(name)' has \(entry.count) floats, expected \(count)")
        }
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress! + entry.dataOffset, byteCount: count * 4)
        }
    }

    /// Section `name` as a new array.
    public func values(_ name: String) throws -> [Float] {
        guard let count = count(of: name) else {
            throw FileError(source, "no section '\(name)' (has: \(sectionNames.joined(separator: ", ")))")
        }
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { try copy(name, into: $0.baseAddress!, count: count) }
        return out
    }

    /// Decodes metadata entry `key` written with `TrainingStateWriter.metadataString`.
    public func decodeMetadata<T: Decodable>(_ type: T.Type, key: String) throws -> T {
        guard let string = metadata[key] else { throw FileError(source, "metadata has no '\(key)'") }
        do {
            return try JSONDecoder().decode(type, from: Data(string.utf8))
        } catch {
            throw FileError(source, "metadata '\(key)' is not a valid \(T.self): \(error)")
        }
    }

    static func printable(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined() + "\""
    }
}

/// `parameterChecksum` of a buffer that may be empty (nil base address).
func checksum(of values: UnsafeBufferPointer<Float>) -> UInt64 {
    if let base = values.baseAddress { return parameterChecksum(base, count: values.count) }
    return withUnsafePointer(to: Float(0)) { parameterChecksum($0, count: 0) }
}

/// Little-endian appends for headers.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
}

/// Bounds-checked little-endian reads; every failure names the file and the field.
struct ByteReader {
    let bytes: [UInt8]
    let source: String
    var position = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    mutating func skip(_ count: Int, what: String) throws -> Range<Int> {
        guard count >= 0, count <= bytes.count - position else {
            throw FileError(source, "truncated: \(what) needs \(count) bytes at offset \(position), only \(bytes.count - position) left")
        }
        defer { position += count }
        return position..<(position + count)
    }

    mutating func take(_ count: Int, what: String) throws -> [UInt8] { Array(bytes[try skip(count, what: what)]) }

    mutating func uint32(_ what: String) throws -> UInt32 {
        let range = try skip(4, what: what)
        return bytes[range].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64(_ what: String) throws -> UInt64 {
        let range = try skip(8, what: what)
        return bytes[range].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A UInt64 length that must fit in the remaining bytes' range of Int.
    mutating func length(_ what: String) throws -> Int {
        let value = try uint64(what)
        guard value <= UInt64(Int.max / 8) else { throw FileError(source, "\(what) \(value) is absurd") }
        return Int(value)
    }
}
