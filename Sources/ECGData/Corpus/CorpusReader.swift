import Foundation
import HDF5Shim

/// Reads a corpus file (layout: docs/hdf5-layout.md), serially or, given a file opened through
/// MPI-IO by DistTrainer, shared by the ranks of a communicator. The small per-record tables (ids,
/// folds, names) are read once on open; signals are read on demand, and every signal read is
/// counted (records and bytes) so callers can prove sharding.
public final class CorpusReader {
    public let path: String
    public let file: H5File
    public let count: Int
    public let samples: Int
    public let leads: Int
    public let samplingRate: Int
    public let leadNames: [String]
    public let channelMean: [Float]
    public let channelStd: [Float]
    public let folds: [Int32]
    public let recordIDs: [Int64]
    public let source: String
    /// Label tasks present under `/labels`, in name order.
    public let taskNames: [String]
    /// How `/signals` is stored: "float32", "float16" (both written by ecg-dist), or e.g. "float64"
    /// (other tools); every read returns float32.
    public let storedDType: String
    private let signals: SignalRows

    /// Signal records and bytes read through this reader since open (or the last `resetCounters()`).
    public private(set) var recordsRead = 0
    public private(set) var bytesRead = 0
    public func resetCounters() { recordsRead = 0; bytesRead = 0 }

    /// Opens `path` read-only (serial access).
    public convenience init(path: String) throws {
        try self.init(file: try H5File.open(path: path, mode: .readOnly))
    }

    /// Reads the corpus in an already opened file (e.g. one every rank opened with MPI-IO).
    public init(file: H5File) throws {
        let path = file.path
        self.path = path
        self.file = file
        func bad(_ message: String) -> ECGDataError { ECGDataError(.badCorpus, path, message) }
        guard file.exists("signals") else { throw bad("dataset /signals is missing (not an ecg-dist corpus)") }
        let signalSet = try file.openDataset("signals")
        let shape = signalSet.shape
        guard shape.count == 3, shape[2] == 12, shape[1] > 0 else {
            throw bad("/signals has shape (\(shape.map(String.init).joined(separator: ", "))); expected (N, samples, 12)")
        }
        let stored = signalSet.storedType
        guard stored.typeClass == H5T_FLOAT else { throw bad("/signals is not a float dataset") }
        // float16 is read as raw halves and widened here; any other float size HDF5 converts.
        let dtype = SignalDType.of(storedSize: stored.size)
        storedDType = dtype?.rawValue ?? "float\(stored.size * 8)"
        signals = try SignalRows(signalSet, dtype: dtype ?? .float32)
        count = shape[0]
        samples = shape[1]
        leads = shape[2]
        let attributes = file.attributes
        leadNames = try attributes.strings("lead_names")
        guard leadNames.count == 12 else { throw bad("attribute lead_names has \(leadNames.count) names; expected 12") }
        samplingRate = Int(try attributes.int32("sampling_rate"))
        if attributes.contains("n_samples") {
            let declared = Int(try attributes.int32("n_samples"))
            guard declared == samples else { throw bad("attribute n_samples = \(declared) but /signals has \(samples) samples per record") }
        }
        channelMean = try attributes.floats("channel_mean")
        channelStd = try attributes.floats("channel_std")
        guard channelMean.count == 12, channelStd.count == 12 else {
            throw bad("channel_mean/channel_std have \(channelMean.count)/\(channelStd.count) values; expected 12")
        }
        // The statistics divide every input: a zero, negative or non-finite one would feed NaN/Inf
        // to training and evaluation without a word.
        for lead in 0..<12 {
            guard channelMean[lead].isFinite else { throw bad("attribute channel_mean of lead \(leadNames[lead]) is \(channelMean[lead])") }
            guard channelStd[lead].isFinite, channelStd[lead] > 0 else {
                throw bad("attribute channel_std of lead \(leadNames[lead]) is \(channelStd[lead]); it must be finite and > 0")
            }
        }
        source = (try? attributes.string("source")) ?? ""
        recordIDs = try Self.readColumn(file, "record_ids", count: count, path: path)
        folds = try Self.readColumn(file, "strat_fold", count: count, path: path)
        taskNames = file.exists("labels") ? try file.groupMembers("labels").filter { !$0.hasSuffix("_names") } : []
        // Writers record that every sample is finite (they check as they write); a file without
        // that record (older, or written by other tools) is scanned once here.
        let recordedFinite = attributes.contains(Self.finiteAttribute) && ((try? attributes.int32(Self.finiteAttribute)) ?? 0) == 1
        if !recordedFinite { try scanForNonFiniteSamples() }
    }

    /// Root attribute: 1 when the writer checked that every signal sample is finite.
    public static let finiteAttribute = "signals_finite"

    /// Throws naming the first record, lead and sample that is NaN or infinite.
    private func scanForNonFiniteSamples() throws {
        try forEachRecordChunk { first, n, buffer in
            for i in 0..<(n * recordElements) where !buffer[i].isFinite {
                let row = first + i / recordElements, within = i % recordElements
                throw ECGDataError(.badCorpus, path, "record \(row) (id \(recordIDs[row])), lead \(leadNames[within % leads]), sample \(within / leads) is \(buffer[i]): corpora must hold finite samples")
            }
        }
    }

    /// One pass over every record's signal in chunks of up to 256 rows (bounded memory):
    /// `body(firstRow, rows, samples)` with `rows · recordElements` floats.
    func forEachRecordChunk(_ body: (Int, Int, UnsafePointer<Float>) throws -> Void) throws {
        let chunk = max(1, min(count, 256))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * recordElements)
        defer { buffer.deallocate() }
        var first = 0
        while first < count {
            let n = min(chunk, count - first)
            try signals.read(first..<(first + n), into: buffer)
            try body(first, n, buffer)
            first += n
        }
    }

    private static func readColumn<T: H5NativeScalar>(_ file: H5File, _ name: String, count: Int, path: String) throws -> [T] {
        let dataset = try file.openDataset(name)
        let shape = dataset.shape
        guard shape == [count] else {
            throw ECGDataError(.badCorpus, path, "/\(name) has shape \(shape); expected (\(count),) like /signals")
        }
        return try dataset.read(as: T.self)
    }

    /// Source record names (`/record_names`).
    public func recordNames() throws -> [String] { try file.openDataset("record_names").readStrings() }

    /// Label names and the row-major (count × names.count) 0/1 matrix of one task.
    public func labels(task: String) throws -> (names: [String], matrix: [UInt8]) {
        guard taskNames.contains(task) else {
            throw ECGDataError(.badCorpus, path, "no label task '\(task)' (tasks: \(taskNames.joined(separator: ", ")))")
        }
        let names = try file.openDataset("labels/\(task)_names").readStrings()
        let dataset = try file.openDataset("labels/\(task)")
        guard dataset.shape == [count, names.count] else {
            throw ECGDataError(.badCorpus, path, "/labels/\(task) has shape \(dataset.shape); expected [\(count), \(names.count)]")
        }
        return (names, try dataset.read(as: UInt8.self))
    }

    /// Values in one record: samples × leads.
    public var recordElements: Int { samples * leads }

    /// Reads records `rows` into `buffer` (rows.count × samples × leads floats, mV).
    public func readSignals(rows: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        try signals.read(rows, into: buffer)
        recordsRead += rows.count
        bytesRead += rows.count * recordElements * MemoryLayout<Float>.size
    }

    /// Reads the listed records (any order) into `buffer`, record i of the buffer = corpus row indices[i].
    public func readSignals(indices: [Int], into buffer: UnsafeMutablePointer<Float>) throws {
        try signals.read(at: indices, into: buffer)
        recordsRead += indices.count
        bytesRead += indices.count * recordElements * MemoryLayout<Float>.size
    }
}
