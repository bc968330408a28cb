import Foundation
import Model

// A reader for NumPy .npy arrays (format versions 1–3, little-endian float32/float64, C order):
// the `predict` input for signals held in numpy, shape (records, samples, leads).

public struct NpyArray {
    public let path: String
    public let shape: [Int]
    /// The values as Float, C order.
    public let values: [Float]

    public static func read(path: String) throws -> NpyArray {
        let bytes = try readFileBytes(path)
        func bad(_ m: String) -> FileError { FileError(path, "not a readable .npy array: \(m)") }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("no \\x93NUMPY magic") }
        let major = bytes[6]
        let lengthBytes = major == 1 ? 2 : 4
        guard (1...3).contains(major), bytes.count >= 8 + lengthBytes else { throw bad("unknown format version \(major)") }
        var headerLength = 0
        for k in 0..<lengthBytes { headerLength |= Int(bytes[8 + k]) << (8 * k) }
        let headerStart = 8 + lengthBytes
        guard bytes.count >= headerStart + headerLength else { throw bad("header runs past the end of the file") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header), let order = field("fortran_order", in: header),
              let shapeText = field("shape", in: header) else { throw bad("header lacks descr/fortran_order/shape: \(header)") }
        guard order.hasPrefix("False") else { throw FileError(path, "field 'fortran_order' is True; save the array in C order (np.ascontiguousarray)") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { (d: String) -> Int in
            guard let n = Int(d), n >= 0 else { throw bad("shape \(shapeText) is not a tuple of sizes") }
            return n
        }
        let count = shape.reduce(1, *)
        let dataStart = headerStart + headerLength
        let kind = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let width: Int
        switch kind {
        case "<f4", "=f4", "|f4": width = 4
        case "<f8", "=f8", "|f8": width = 8
        default: throw FileError(path, "field 'descr' is \(kind): predict reads float32 or float64 arrays (little-endian)")
        }
        guard bytes.count - dataStart == count * width else {
            throw FileError(path, "holds \(bytes.count - dataStart) data bytes, shape \(shape) of \(kind) needs \(count * width)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            if width == 4 {
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
            } else {
                for i in 0..<count {
                    values[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                }
            }
        }
        return NpyArray(path: path, shape: shape, values: values)
    }

    /// The text of `'key': value` in a .npy header dict (value up to the next top-level comma).
    static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)'") else { return nil }
        var rest = header[range.upperBound...].drop { $0 == " " || $0 == ":" }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<end] }
        return rest.trimmingCharacters(in: .whitespaces)
    }
}
