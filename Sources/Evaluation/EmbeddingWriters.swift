import ECGData
import Foundation
import Model

// Output files of `ecg-dist embed`, chosen by the output's extension:
//   .h5 / .hdf5  one HDF5 file: /embeddings (N, dim) float32, /record_ids (N,) int64, /strat_fold
//                (N,) int32, /tokens (N, T, dim) or (N, W, T, dim) float32 with --tokens, and
//                attributes saying how the embeddings were made;
//   .npy         OUT.npy (N, dim) float32, STEM.record_ids.npy (N,) int64, and with --tokens
//                STEM.tokens.npy; numpy.load reads each (format 1.0, little-endian, C order).
// Rows are streamed to the files as they are computed (per-token output of a large corpus does not
// fit in memory). Every file is written under its `AtomicFile.temporaryPath` and renamed into place
// only when all of them are complete; a failure removes the temporaries, so a failed run leaves no
// output at all.

enum EmbeddingFileFormat {
    case hdf5, npy

    init(path: String) throws {
        let lower = path.lowercased()
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { self = .hdf5 }
        else if lower.hasSuffix(".npy") { self = .npy }
        else { throw EmbeddingOptionError("--out \(path): the extension must be .h5, .hdf5 or .npy (it chooses the format)") }
    }

    func makeSink(path: String, shape: EmbeddingShape, tokens: Bool, description: EmbeddingDescription) throws -> EmbeddingSink {
        switch self {
        case .hdf5: return try HDF5EmbeddingSink(path: path, shape: shape, tokens: tokens, description: description)
        case .npy: return try NpyEmbeddingSink(path: path, shape: shape, tokens: tokens)
        }
    }

    /// The side files of a .npy output: `STEM.record_ids.npy`, `STEM.tokens.npy`.
    static func npySideFile(_ path: String, _ name: String) -> String {
        String(path.dropLast(".npy".count)) + ".\(name).npy"
    }
}

protocol EmbeddingSink: AnyObject {
    /// Final paths of every file this sink writes.
    var files: [String] { get }
    /// Rows `rows` of the embeddings ([rows.count, dim]) and, when tokens are written, of the
    /// tokens ([rows.count · windows · tokens, dim]).
    func append(embeddings: UnsafePointer<Float>, tokens: UnsafePointer<Float>?, rows: Range<Int>) throws
    /// Writes the per-record tables, closes every file and moves them into place.
    func finish(recordIDs: [Int64], folds: [Int32]) throws
    /// Closes and removes every temporary file; nothing is left at the final paths.
    func abort()
}

final class HDF5EmbeddingSink: EmbeddingSink {
    let path: String
    let temporary: String
    let shape: EmbeddingShape
    private var file: H5File?
    private var embeddings: H5Dataset?
    private var tokens: H5Dataset?
    var files: [String] { [path] }

    init(path: String, shape: EmbeddingShape, tokens wantsTokens: Bool, description: EmbeddingDescription) throws {
        self.path = path
        self.shape = shape
        temporary = AtomicFile.temporaryPath(for: path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = try H5File.create(path: temporary)
        self.file = file
        do {
            let n = shape.records
            embeddings = try file.createDataset("embeddings", type: .float32, shape: [n, shape.dim],
                                                chunk: [min(n, 1_024), shape.dim], extendable: false)
            if wantsTokens {
                let tokenShape = shape.tokenShape
                tokens = try file.createDataset("tokens", type: .float32, shape: tokenShape,
                                                chunk: [1] + tokenShape.dropFirst(), extendable: false)
            }
            let attributes = file.attributes
            try attributes.set("model", string: description.model)
            try attributes.set("checkpoint", string: description.checkpoint)
            try attributes.set("corpus", string: description.corpus)
            try attributes.set("crop_samples", int32: Int32(description.cropSamples))
            try attributes.set("window_offsets", int32s: description.windowOffsets.map { Int32($0) })
            try attributes.set("pooling", string: EmbeddingDescription.pooling)
            if wantsTokens { try attributes.set("tokens_layout", string: EmbeddingDescription.tokenLayout) }
        } catch {
            abort()
            throw error
        }
    }

    func append(embeddings values: UnsafePointer<Float>, tokens tokenValues: UnsafePointer<Float>?, rows: Range<Int>) throws {
        guard let embeddings else { throw HDF5Error(file: temporary, "embedding output is closed") }
        try embeddings.writeRows(rows, from: values)
        if let tokens, let tokenValues { try tokens.writeRows(rows, from: tokenValues) }
    }

    func finish(recordIDs: [Int64], folds: [Int32]) throws {
        guard let file else { throw HDF5Error(file: temporary, "embedding output is closed") }
        let n = shape.records
        let ids = try file.createDataset("record_ids", type: .int64, shape: [n], chunk: [min(max(n, 1), 4_096)], extendable: false)
        try ids.write(recordIDs)
        let foldSet = try file.createDataset("strat_fold", type: .int32, shape: [n], chunk: [min(max(n, 1), 4_096)], extendable: false)
        try foldSet.write(folds)
        file.flush()
        // Datasets keep the file open: release them first so the file is closed before the rename.
        embeddings = nil
        tokens = nil
        self.file = nil
        try AtomicFile.moveIntoPlace(temporary, to: path)
    }

    func abort() {
        embeddings = nil
        tokens = nil
        file = nil
        unlink(temporary)
    }
}

final class NpyEmbeddingSink: EmbeddingSink {
    let path: String
    private let embeddings: NpyStream
    private let recordIDs: NpyStream
    private let tokens: NpyStream?
    private let shape: EmbeddingShape

    var files: [String] { [embeddings.path, recordIDs.path] + (tokens.map { [$0.path] } ?? []) }

    init(path: String, shape: EmbeddingShape, tokens wantsTokens: Bool) throws {
        self.path = path
        self.shape = shape
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let embeddingStream = try NpyStream(path: path, descr: "<f4", shape: [shape.records, shape.dim])
        var opened = [embeddingStream]
        do {
            let idStream = try NpyStream(path: EmbeddingFileFormat.npySideFile(path, "record_ids"), descr: "<i8", shape: [shape.records])
            opened.append(idStream)
            let tokenStream = wantsTokens
                ? try NpyStream(path: EmbeddingFileFormat.npySideFile(path, "tokens"), descr: "<f4", shape: shape.tokenShape) : nil
            embeddings = embeddingStream
            recordIDs = idStream
            tokens = tokenStream
        } catch {
            for stream in opened { stream.abort() }
            throw error
        }
    }

    func append(embeddings values: UnsafePointer<Float>, tokens tokenValues: UnsafePointer<Float>?, rows: Range<Int>) throws {
        try embeddings.append(UnsafeRawBufferPointer(start: values, count: rows.count * shape.dim * 4))
        if let tokens, let tokenValues {
            try tokens.append(UnsafeRawBufferPointer(start: tokenValues, count: rows.count * shape.tokenFloatsPerRecord * 4))
        }
    }

    func finish(recordIDs ids: [Int64], folds: [Int32]) throws {
        try ids.map { $0.littleEndian }.withUnsafeBytes { try recordIDs.append($0) }
        let streams = [embeddings, recordIDs] + (tokens.map { [$0] } ?? [])
        for stream in streams { try stream.close() }
        for stream in streams { try stream.moveIntoPlace() }
    }

    func abort() {
        embeddings.abort()
        recordIDs.abort()
        tokens?.abort()
    }
}

/// One .npy file (format 1.0) written front to back under a temporary name: the header for a known
/// shape, then the raw little-endian data. `close` checks that exactly the declared bytes arrived.
final class NpyStream {
    let path: String
    let temporary: String
    private var fd: Int32
    private var written = 0
    private let expected: Int

    init(path: String, descr: String, shape: [Int]) throws {
        self.path = path
        temporary = AtomicFile.temporaryPath(for: path)
        let itemSize = descr.hasSuffix("8") ? 8 : 4
        expected = shape.reduce(1, *) * itemSize
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(temporary, "cannot create: \(String(cString: strerror(errno)))") }
        do {
            try writeAll(NpyStream.header(descr: descr, shape: shape))
        } catch {
            abort()
            throw error
        }
    }

    /// Magic, version 1.0, header length, then the Python-literal dict padded with spaces and a
    /// newline so the data starts on a 64-byte boundary (what numpy itself writes).
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }".utf8)
        let preamble = 10   // magic (6) + version (2) + header length (2)
        let padded = (preamble + dict.count + 1 + 63) / 64 * 64
        dict.append(contentsOf: [UInt8](repeating: 0x20, count: padded - preamble - dict.count - 1))
        dict.append(0x0A)
        let length = UInt16(dict.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + dict
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(bytes)
        written += bytes.count
    }

    private func writeAll(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try writeAll($0) } }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw FileError(temporary, "file is closed") }
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(temporary, "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    func close() throws {
        guard written == expected else {
            throw FileError(temporary, "wrote \(written) data bytes, the header declares \(expected)")
        }
        guard fd >= 0, Foundation.close(fd) == 0 else { throw FileError(temporary, "close failed") }
        fd = -1
    }

    /// fsync, rename onto `path` (AtomicFile's final step).
    func moveIntoPlace() throws { try AtomicFile.moveIntoPlace(temporary, to: path) }

    func abort() {
        if fd >= 0 { Foundation.close(fd); fd = -1 }
        unlink(temporary)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }
}
