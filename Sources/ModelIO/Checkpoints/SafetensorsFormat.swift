import Foundation
import Model

// safetensors (Hugging Face) export/import, so trained encoders load in PyTorch/timm and the
// evaluation can load weights by name. Format:
//   UInt64 little-endian N, then N bytes of UTF-8 JSON (padded with spaces so 8 + N is a multiple
//   of 8), then the raw tensor bytes. The JSON maps each tensor name to
//   {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (offsets relative to the data
//   start), plus an optional "__metadata__": {string: string}.
// We write F32 only, tensors back to back in layout order, keys in that order too (deterministic
// bytes). The reader accepts any valid file but converts only F32 tensors.

/// Writer of safetensors files from a flat `ParameterLayout` + values buffer.
public enum Safetensors {
    /// The specs exported for `prefix`, with their names in the file (prefix stripped).
    static func exported(_ layout: ParameterLayout, prefix: String) -> [(spec: ParameterSpec, name: String)] {
        layout.specs.filter { $0.name.hasPrefix(prefix) }.map { ($0, String($0.name.dropFirst(prefix.count))) }
    }

    /// The header JSON (already padded) for the exported tensors.
    static func header(_ tensors: [(spec: ParameterSpec, name: String)], metadata: [String: String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let entries = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(entries.joined(separator: ","))}")
        }
        var offset = 0
        for (spec, name) in tensors {
            let end = offset + spec.count * 4
            let shape = spec.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(parts.joined(separator: ","))}".utf8)
        bytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// Streams a safetensors file to `sink`: every spec of `layout` whose name starts with `prefix`,
    /// exported under its name without the prefix (prefix "encoder." turns
    /// `encoder.blocks.0.attn.qkv.weight` into `blocks.0.attn.qkv.weight`; "" exports everything).
    /// Tensor data is passed straight from `values` (the flat buffer of `layout`).
    public static func write(layout: ParameterLayout, values: UnsafePointer<Float>, prefix: String = "",
                             metadata: [String: String] = [:],
                             to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let tensors = exported(layout, prefix: prefix)
        let headerBytes = header(tensors, metadata: metadata)
        try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian, sink)
        try headerBytes.withUnsafeBytes(sink)
        for (spec, _) in tensors where spec.count > 0 {
            try sink(UnsafeRawBufferPointer(start: values + spec.offset, count: spec.count * 4))
        }
    }

    /// The whole file as bytes; see `write(layout:values:prefix:metadata:to:)`.
    public static func serialize(layout: ParameterLayout, values: UnsafePointer<Float>, prefix: String = "",
                                 metadata: [String: String] = [:]) -> [UInt8] {
        var out: [UInt8] = []
        write(layout: layout, values: values, prefix: prefix, metadata: metadata) { out.append(contentsOf: $0) }
        return out
    }

    /// Writes the file at `path` atomically (AtomicFile: temporary file, fsync, rename), streaming
    /// the tensors from `values` without building the file in memory.
    public static func write(layout: ParameterLayout, values: UnsafePointer<Float>, prefix: String = "",
                             metadata: [String: String] = [:], toFile path: String) throws {
        try AtomicFile.write(to: path) { emit in
            try write(layout: layout, values: values, prefix: prefix, metadata: metadata, to: emit)
        }
    }

    /// JSON string literal with the escapes JSON requires.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// What `SafetensorsFile.load` did.
public struct SafetensorsLoadReport: Equatable {
    /// Layout parameter names filled from the file.
    public var loaded: [String]
    /// Layout parameter names (under the prefix) the file does not have; left unchanged.
    public var missing: [String]
    /// File tensor names no layout parameter asked for.
    public var unused: [String]
}

/// A parsed and validated safetensors file.
public struct SafetensorsFile {
    /// One tensor entry of the header.
    public struct Tensor: Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the whole file.
        public let byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Tensors in data order.
    public let tensors: [Tensor]
    /// The optional `__metadata__` map.
    public let metadata: [String: String]
    /// Where the bytes came from (a path), used in error messages.
    public let source: String
    private let bytes: [UInt8]
    private let tensorsByName: [String: Tensor]

    static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U64": 8, "I32": 4, "U32": 4,
        "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    /// Parses and validates the header: length, JSON shape, known dtypes, non-negative shapes,
    /// offsets inside the data and consistent with shape x dtype size, no overlapping tensors.
    public init(bytes: [UInt8], source: String = "safetensors") throws {
        self.source = source
        self.bytes = bytes
        guard bytes.count >= 8 else { throw FileError(source, "too short for a safetensors file (\(bytes.count) bytes)") }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw FileError(source, "header length \(headerLength) exceeds the file size \(bytes.count) (truncated?)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        let header: [String: HeaderEntry]
        do {
            header = try JSONDecoder().decode([String: HeaderEntry].self, from: Data(bytes[8..<dataStart]))
        } catch {
            throw FileError(source, "header is not a safetensors JSON object: \(Self.describe(error))")
        }

        var metadata: [String: String] = [:]
        var tensors: [Tensor] = []
        for (name, entry) in header {
            switch entry {
            case .metadata(let map) where name == "__metadata__":
                metadata = map
            case .metadata:
                throw FileError(source, "header entry '\(name)' is not a tensor description")
            case .tensor(let t):
                guard let elementSize = Self.dtypeSizes[t.dtype] else {
                    throw FileError(source, "tensor '\(name)' has unknown dtype '\(t.dtype)'")
                }
                guard t.shape.allSatisfy({ $0 >= 0 }), t.data_offsets.count == 2 else {
                    throw FileError(source, "tensor '\(name)' has a bad shape \(t.shape) or data_offsets \(t.data_offsets)")
                }
                let (begin, end) = (t.data_offsets[0], t.data_offsets[1])
                guard begin >= 0, begin <= end, end <= dataSize else {
                    throw FileError(source, "tensor '\(name)' data_offsets [\(begin), \(end)] outside the \(dataSize) data bytes (truncated?)")
                }
                let (elements, overflow) = t.shape.reduce((1, false)) { acc, d in
                    let r = acc.0.multipliedReportingOverflow(by: d)
                    return (r.partialValue, acc.1 || r.overflow)
                }
                let byteCount = elements.multipliedReportingOverflow(by: elementSize)
                guard !overflow, !byteCount.overflow, byteCount.partialValue == end - begin else {
                    throw FileError(source, "tensor '\(name)' shape \(t.shape) x \(t.dtype) does not match its \(end - begin) bytes")
                }
                tensors.append(Tensor(name: name, dtype: t.dtype, shape: t.shape,
                                      byteRange: (dataStart + begin)..<(dataStart + end)))
            }
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw FileError(source, "tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.metadata = metadata
        self.tensors = tensors
        tensorsByName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
    }

    /// Reads and validates a safetensors file.
    public init(contentsOfFile path: String) throws {
        try self.init(bytes: try readFileBytes(path), source: path)
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> Tensor? { tensorsByName[name] }

    /// The values of F32 tensor `name` in row-major order.
    public func values(_ name: String) throws -> [Float] {
        let tensor = try f32Tensor(name)
        var out = [Float](repeating: 0, count: tensor.count)
        out.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[tensor.byteRange]))
        } }
        return out
    }

    /// Fills every parameter of `layout` whose name starts with `prefix` from the file tensor named
    /// without the prefix (the inverse of `Safetensors.write` with the same prefix). Shapes must
    /// match exactly and tensors must be F32. Missing tensors throw unless `allowMissing`.
    /// - Parameter values: the flat buffer of `layout` (e.g. `store.values`).
    @discardableResult
    public func load(into values: UnsafeMutablePointer<Float>, layout: ParameterLayout, prefix: String = "",
                     allowMissing: Bool = false) throws -> SafetensorsLoadReport {
        var report = SafetensorsLoadReport(loaded: [], missing: [], unused: [])
        var used = Set<String>()
        for (spec, fileName) in Safetensors.exported(layout, prefix: prefix) {
            guard tensorsByName[fileName] != nil else {
                report.missing.append(spec.name)
                continue
            }
            let tensor = try f32Tensor(fileName)
            guard tensor.shape == spec.shape else {
                throw FileError(source, "tensor '\(fileName)' has shape \(tensor.shape), parameter '\(spec.name)' needs \(spec.shape)")
            }
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawPointer(values + spec.offset).copyMemory(
                    from: src.baseAddress! + tensor.byteRange.lowerBound, byteCount: tensor.byteRange.count)
            }
            used.insert(fileName)
            report.loaded.append(spec.name)
        }
        if !allowMissing, !report.missing.isEmpty {
            let shown = report.missing.prefix(5).joined(separator: ", ")
            throw FileError(source, "missing \(report.missing.count) tensors for prefix '\(prefix)': \(shown)\(report.missing.count > 5 ? ", ..." : "")")
        }
        report.unused = tensors.map(\.name).filter { !used.contains($0) }
        return report
    }

    private func f32Tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensorsByName[name] else { throw FileError(source, "no tensor '\(name)'") }
        guard tensor.dtype == "F32" else {
            throw FileError(source, "tensor '\(name)' is \(tensor.dtype); only F32 tensors can be loaded")
        }
        return tensor
    }

    private struct TensorEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private enum HeaderEntry: Decodable {
        case tensor(TensorEntry)
        case metadata([String: String])

        init(from decoder: Decoder) throws {
            if let tensor = try? TensorEntry(from: decoder) {
                self = .tensor(tensor)
            } else {
                self = .metadata(try [String: String](from: decoder))
            }
        }
    }

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.typeMismatch(_, let context) = error {
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        }
        return "\(error)"
    }
}
