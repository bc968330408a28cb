import Foundation

// NumPy `.npy` files (format versions 1.0, 2.0, 3.0): a magic string, a version, a header length,
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, T, L), } padded
// with spaces, then the raw elements. Only the little-endian numeric types that ECG arrays come in
// are read; everything else is refused with a message that says what the file holds.

/// The element types `prepare npy` reads.
public enum NPYElementType: String, CaseIterable, Sendable {
    case float32 = "<f4", float64 = "<f8", int16 = "<i2", int32 = "<i4", int64 = "<i8"

    public var byteCount: Int {
        switch self {
        case .int16: return 2
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }
    public var isInteger: Bool { self == .int16 || self == .int32 || self == .int64 }
}

/// The parsed header of a `.npy` file.
public struct NPYHeader: Equatable, Sendable {
    public let elementType: NPYElementType
    public let shape: [Int]
    /// Byte offset of the first element (magic + version + length field + header text).
    public let dataOffset: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var dataByteCount: Int { elementCount * elementType.byteCount }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Bytes needed to know the header's length: magic (6), version (2), length (2 or 4).
    public static let prefixLength = 12

    /// Header text length declared by the prefix and the offset it starts at.
    public static func headerTextRange(prefix bytes: [UInt8], path: String) throws -> Range<Int> {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw ECGDataError(.badHeader, path, "not a .npy file (no \\x93NUMPY magic at the start)")
        }
        let major = bytes[6]
        switch major {
        case 1:
            let length = Int(bytes[8]) | Int(bytes[9]) << 8
            return 10..<(10 + length)
        case 2, 3:
            guard bytes.count >= 12 else { throw ECGDataError(.truncated, path, ".npy header is cut short") }
            let length = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            return 12..<(12 + length)
        default:
            throw ECGDataError(.unsupported, path, ".npy format version \(major).\(bytes[7]) is not supported (1.0, 2.0, 3.0 are)")
        }
    }

    /// Parses the header from the file's first bytes (at least the whole header).
    public static func parse(_ bytes: [UInt8], path: String) throws -> NPYHeader {
        let range = try headerTextRange(prefix: bytes, path: path)
        guard range.upperBound <= bytes.count else {
            throw ECGDataError(.truncated, path, ".npy header declares \(range.count) bytes but the file ends before")
        }
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw ECGDataError(.badHeader, path, ".npy header is not text")
        }
        var dictionary = NPYHeaderDictionary(text: text, path: path)
        let entries = try dictionary.parse()
        func entry(_ key: String) throws -> NPYHeaderDictionary.Value {
            guard let value = entries[key] else { throw ECGDataError(.badHeader, path, ".npy header has no '\(key)' entry: \(text.trimmingCharacters(in: .whitespacesAndNewlines))") }
            return value
        }
        guard case .string(let descr) = try entry("descr") else {
            throw ECGDataError(.unsupported, path, ".npy holds a structured dtype; a plain numeric array is needed")
        }
        guard let elementType = NPYElementType(rawValue: descr) else {
            let hint: String
            if descr.hasPrefix(">") { hint = "big-endian data is not supported (use arr.astype('<f4'))" }
            else { hint = "supported dtypes: float32 (<f4), float64 (<f8), int16 (<i2)" + ", int32 (<i4), int64 (<i8)" }
            throw ECGDataError(.unsupported, path, ".npy dtype '\(descr)': \(hint)")
        }
        guard case .bool(let fortranOrder) = try entry("fortran_order") else {
            throw ECGDataError(.badHeader, path, ".npy header: 'fortran_order' is not True or False")
        }
        guard !fortranOrder else {
            throw ECGDataError(.unsupported, path, ".npy is in Fortran (column-major) order; save a C-order array (np.ascontiguousarray)")
        }
        guard case .tuple(let shape) = try entry("shape") else {
            throw ECGDataError(.badHeader, path, ".npy header: 'shape' is not a tuple of integers")
        }
        return NPYHeader(elementType: elementType, shape: shape, dataOffset: range.upperBound)
    }
}

/// The small subset of Python literal syntax a `.npy` header uses.
struct NPYHeaderDictionary {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]), other }
    let characters: [Character]
    let path: String
    var position = 0

    init(text: String, path: String) {
        characters = Array(text)
        self.path = path
    }

    private func failure(_ what: String) -> ECGDataError {
        ECGDataError(.badHeader, path, ".npy header: \(what) at character \(position): \(String(characters).trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    private mutating func skipSpace() { while position < characters.count && characters[position].isWhitespace { position += 1 } }
    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard position < characters.count, characters[position] == c else { throw failure("expected '\(c)'") }
        position += 1
    }
    private mutating func peek() -> Character? { skipSpace(); return position < characters.count ? characters[position] : nil }

    private mutating func string() throws -> String {
        guard let quote = peek(), quote == "'" || quote == "\"" else { throw failure("expected a quoted string") }
        position += 1
        var result = ""
        while position < characters.count && characters[position] != quote {
            result.append(characters[position])
            position += 1
        }
        guard position < characters.count else { throw failure("unterminated string") }
        position += 1
        return result
    }

    private mutating func integer() throws -> Int {
        skipSpace()
        var digits = ""
        while position < characters.count, characters[position].isASCII, characters[position].isNumber {
            digits.append(characters[position])
            position += 1
        }
        if position < characters.count, characters[position] == "L" { position += 1 } // Python 2 long suffix
        guard let value = Int(digits) else { throw failure("expected a non-negative integer") }
        return value
    }

    private mutating func value() throws -> Value {
        switch peek() {
        case "'", "\"": return .string(try string())
        case "(":
            position += 1
            var items: [Int] = []
            while peek() != ")" {
                items.append(try integer())
                if peek() == "," { position += 1 } else { break }
            }
            try expect(")")
            return .tuple(items)
        case "[":
            // A structured dtype's field list: skip to the matching bracket.
            var depth = 0
            repeat {
                if characters[position] == "[" { depth += 1 }
                if characters[position] == "]" { depth -= 1 }
                position += 1
            } while depth > 0 && position < characters.count
            return .other
        default:
            for (word, flag) in [("True", true), ("False", false)] where String(characters[position...].prefix(word.count)) == word {
                position += word.count
                return .bool(flag)
            }
            throw failure("unexpected value")
        }
    }

    mutating func parse() throws -> [String: Value] {
        var entries: [String: Value] = [:]
        try expect("{")
        while peek() != "}" {
            let key = try string()
            try expect(":")
            guard entries[key] == nil else { throw failure("key '\(key)' appears twice") }
            entries[key] = try value()
            if peek() == "," { position += 1 } else { break }
        }
        try expect("}")
        return entries
    }
}

/// An open `.npy` file: the header, checked against the file size, and reads of contiguous runs
/// of elements converted to Double (exact for every supported type's ECG values).
public final class NPYFile {
    public let path: String
    public let header: NPYHeader
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw ECGDataError(.missingFile, path, "file not found") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ECGDataError(.missingFile, path, "cannot open file") }
        self.handle = handle
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { throw ECGDataError(.emptyFile, path, "file is empty (0 bytes)") }
        let prefix = [UInt8](handle.readData(ofLength: NPYHeader.prefixLength))
        let range = try NPYHeader.headerTextRange(prefix: prefix, path: path)
        guard range.upperBound <= size else {
            throw ECGDataError(.truncated, path, ".npy header declares \(range.count) bytes but the file has \(size)")
        }
        try handle.seek(toOffset: 0)
        header = try NPYHeader.parse([UInt8](handle.readData(ofLength: range.upperBound)), path: path)
        let expected = header.dataOffset + header.dataByteCount
        guard size == expected else {
            let shape = "(\(header.shape.map(String.init).joined(separator: ", ")))"
            throw ECGDataError(size < expected ? .truncated : .badHeader, path,
                "shape \(shape) of \(header.elementType.rawValue) needs \(expected) bytes, the file has \(size)\(size < expected ? " (truncated)" : "")")
        }
    }

    deinit { try? handle.close() }

    /// Elements [first, first + count) in C order, as Double.
    public func readElements(first: Int, count: Int) throws -> [Double] {
        guard first >= 0, count >= 0, first + count <= header.elementCount else {
            throw ECGDataError(.badHeader, path, "elements \(first)..<\(first + count) are outside the array of \(header.elementCount)")
        }
        let size = header.elementType.byteCount
        try handle.seek(toOffset: UInt64(header.dataOffset + first * size))
        let data = handle.readData(ofLength: count * size)
        guard data.count == count * size else { throw ECGDataError(.truncated, path, "file ends inside element \(first + data.count / size)") }
        return data.withUnsafeBytes { raw -> [Double] in
            (0..<count).map { i -> Double in
                let offset = i * size
                switch header.elementType {
                case .float32: return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                case .float64: return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                case .int16: return Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                case .int32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                case .int64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                }
            }
        }
    }
}
