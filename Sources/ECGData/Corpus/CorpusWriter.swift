import Foundation
import Model
import HDF5Shim

/// A label task as stored in a corpus: `labels/<name>` (N × labelNames.count uint8) and `labels/<name>_names`.
public struct CorpusTaskSpec: Sendable, Equatable {
    public let name: String
    public let labelNames: [String]
    public init(name: String, labelNames: [String]) {
        self.name = name
        self.labelNames = labelNames
    }
}

/// Per-lead running sums behind `channel_mean`/`channel_std`, kept as attributes so appends can update them.
struct ChannelMoments {
    var count = 0.0
    var sum = [Double](repeating: 0, count: 12)
    var sumOfSquares = [Double](repeating: 0, count: 12)

    var packed: [Double] { [count] + sum + sumOfSquares }
    init() {}
    init?(packed: [Double]) {
        guard packed.count == 25 else { return nil }
        count = packed[0]
        sum = Array(packed[1...12])
        sumOfSquares = Array(packed[13...24])
    }

    /// Adds one (samples, 12) record. Float SIMD partial sums over blocks of 250 samples (12 leads =
    /// one 8-wide + one 4-wide vector per sample) keep this cheap; blocks are accumulated in Double.
    mutating func add(_ x: UnsafePointer<Float>, samples: Int) {
        let raw = UnsafeRawPointer(x)
        var t = 0
        while t < samples {
            let end = min(samples, t + 250)
            var s8 = SIMD8<Float>(), q8 = SIMD8<Float>(), s4 = SIMD4<Float>(), q4 = SIMD4<Float>()
            for u in t..<end {
                let a = raw.loadUnaligned(fromByteOffset: u * 48, as: SIMD8<Float>.self)
                let b = raw.loadUnaligned(fromByteOffset: u * 48 + 32, as: SIMD4<Float>.self)
                s8 += a
                q8 += a * a
                s4 += b
                q4 += b * b
            }
            for lead in 0..<8 { sum[lead] += Double(s8[lead]); sumOfSquares[lead] += Double(q8[lead]) }
            for lead in 0..<4 { sum[8 + lead] += Double(s4[lead]); sumOfSquares[8 + lead] += Double(q4[lead]) }
            t = end
        }
        count += Double(samples)
    }

    /// Mean and standard deviation per lead; a lead with (almost) no variance gets std 1 so dividing by it is safe.
    var meanAndStd: (mean: [Float], std: [Float]) {
        guard count > 0 else { return ([Float](repeating: 0, count: 12), [Float](repeating: 1, count: 12)) }
        let mean = sum.map { $0 / count }
        let std = (0..<12).map { lead -> Double in
            let variance = max(0, sumOfSquares[lead] / count - mean[lead] * mean[lead])
            return variance > 1e-12 ? variance.squareRoot() : 1
        }
        return (mean.map { Float($0) }, std.map { Float($0) })
    }
}

/// Writes a corpus file (layout: docs/hdf5-layout.md). Records are buffered and written in batches of
/// whole rows. Everything goes to `<path>.tmp-<pid>`, renamed onto `path` by `finish()`; on any error
/// (or without `finish()`) the temporary file is deleted, so no partial corpus is ever left behind.
/// `append: true` copies the existing corpus to the temporary file first and adds rows to it.
public final class CorpusWriter {
    public static let samples = ECGPreprocessing.windowSamples
    public static let leads = 12
    public static let recordNameBytes = 64
    public static let labelNameBytes = 32

    public let path: String
    public let temporaryPath: String
    public private(set) var tasks: [CorpusTaskSpec]
    /// Rows in the corpus, including ones still buffered.
    public private(set) var count: Int
    public private(set) var finished = false

    private var file: H5File?
    private var signals: H5Dataset?, ids: H5Dataset?, names: H5Dataset?, folds: H5Dataset?
    /// One content hash per record (CorpusOverlap.swift): the leakage guard compares them.
    private var hashes: H5Dataset?
    private var labelSets: [H5Dataset] = []
    private let source: String

    private let batchCapacity: Int
    private let pendingSignals: UnsafeMutablePointer<Float>
    private var pendingIDs: [Int64] = [], pendingNames: [String] = [], pendingFolds: [Int32] = []
    private var pendingHashes: [Int64] = []
    private var pendingLabels: [[UInt8]] // per task, flat rows
    private var writtenRows: Int
    private var trainMoments = ChannelMoments(), allMoments = ChannelMoments()
    private var anyFold = false

    public init(path: String, source: String, tasks: [CorpusTaskSpec], append: Bool = false, batchSize: Int = 128) throws {
        self.path = path
        self.source = source
        self.tasks = tasks
        temporaryPath = AtomicFile.temporaryPath(for: path)
        batchCapacity = max(1, batchSize)
        pendingSignals = .allocate(capacity: batchCapacity * Self.samples * Self.leads)
        pendingLabels = Array(repeating: [], count: tasks.count)
        count = 0
        writtenRows = 0
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
            // (all stored properties are set, so deinit runs and frees the batch buffer)
            throw ECGDataError(.missingFile, path, "output directory \(directory) does not exist")
        }
        try? FileManager.default.removeItem(atPath: temporaryPath)
        do {
            if append { try openForAppend() } else { try createNew() }
        } catch {
            abort()
            throw error
        }
    }

    deinit {
        if !finished && !aborted { abort() }
        pendingSignals.deallocate()
    }

    private func createNew() throws {
        let file = try H5File.create(path: temporaryPath)
        self.file = file
        signals = try file.createDataset("signals", type: .float32, shape: [0, Self.samples, Self.leads], chunk: [1, Self.samples, Self.leads])
        ids = try file.createDataset("record_ids", type: .int64, shape: [0], chunk: [4096])
        names = try file.createDataset("record_names", type: .fixedString(Self.recordNameBytes), shape: [0], chunk: [1024])
        folds = try file.createDataset("strat_fold", type: .int32, shape: [0], chunk: [4096])
        hashes = try file.createDataset(CorpusReader.contentHashDataset, type: .int64, shape: [0], chunk: [4096])
        if !tasks.isEmpty { try file.createGroup("labels") }
        for task in tasks { labelSets.append(try createTask(task, rows: 0)) }
    }

    private func createTask(_ task: CorpusTaskSpec, rows: Int) throws -> H5Dataset {
        guard let file else { throw HDF5Error(file: path, "corpus is closed") }
        guard !task.labelNames.isEmpty else { throw ECGDataError(.badCorpus, path, "task '\(task.name)' has no labels") }
        let dataset = try file.createDataset("labels/\(task.name)", type: .uint8, shape: [rows, task.labelNames.count],
                                             chunk: [1024, task.labelNames.count])
        let namesSet = try file.createDataset("labels/\(task.name)_names", type: .fixedString(Self.labelNameBytes),
                                              shape: [task.labelNames.count], chunk: [task.labelNames.count], extendable: false)
        try namesSet.writeStrings(task.labelNames, rows: 0..<task.labelNames.count)
        return dataset
    }

    /// Copies the existing corpus and checks it can take more rows of this writer's kind.
    private func openForAppend() throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ECGDataError(.missingFile, path, "cannot append: corpus does not exist")
        }
        let existing = try CorpusReader(path: path) // validates the layout
        guard let train = ChannelMoments(packed: (try? existing.file.attributes.doubles("channel_moments_train")) ?? []),
              let all = ChannelMoments(packed: (try? existing.file.attributes.doubles("channel_moments_all")) ?? []) else {
            throw ECGDataError(.badCorpus, path, "cannot append: attributes channel_moments_train/_all are missing (file not written by ecg-dist)")
        }
        trainMoments = train
        allMoments = all
        anyFold = existing.folds.contains { $0 != 0 }
        let existingTasks = try existing.taskNames.map { CorpusTaskSpec(name: $0, labelNames: try existing.labels(task: $0).names) }
        let oldSource = (try? existing.file.attributes.string("source")) ?? ""
        existingPreprocessing = try? existing.file.attributes.string("preprocessing")
        // A corpus from before content hashes gets them for its existing rows now.
        let existingHashes = existing.file.exists(CorpusReader.contentHashDataset) ? nil : try existing.contentHashes()
        count = existing.count
        writtenRows = existing.count
        try FileManager.default.copyItem(atPath: path, toPath: temporaryPath)
        let file = try H5File.open(path: temporaryPath, mode: .readWrite)
        self.file = file
        signals = try file.openDataset("signals")
        ids = try file.openDataset("record_ids")
        names = try file.openDataset("record_names")
        folds = try file.openDataset("strat_fold")
        if let existingHashes {
            let created = try file.createDataset(CorpusReader.contentHashDataset, type: .int64, shape: [count], chunk: [4096])
            try created.write(existingHashes.map { Int64(bitPattern: $0) })
            hashes = created
        } else {
            hashes = try file.openDataset(CorpusReader.contentHashDataset)
        }
        // New tasks get zero rows for the existing records; existing tasks must keep their columns.
        var merged = existingTasks
        for task in tasks {
            if let old = existingTasks.first(where: { $0.name == task.name }) {
                guard old.labelNames == task.labelNames else {
                    throw ECGDataError(.badCorpus, path, "cannot append: task '\(task.name)' has different label columns in the corpus")
                }
            } else {
                if !file.exists("labels") { try file.createGroup("labels") }
                _ = try createTask(task, rows: count)
                merged.append(task)
            }
        }
        let given = tasks
        tasks = merged
        labelSets = try merged.map { try file.openDataset("labels/\($0.name)") }
        // Rows from the caller follow `given`'s order; remap by name, tasks the caller lacks get zero rows.
        callerTaskOrder = given.map { task in merged.firstIndex { $0.name == task.name }! }
        pendingLabels = Array(repeating: [], count: merged.count)
        combinedSource = oldSource.isEmpty ? source : (oldSource.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.contains(source) ? oldSource : "\(oldSource); \(source)")
        for dataset in [signals!, ids!, names!, folds!, hashes!] + labelSets {
            let rows = dataset.shape.first ?? 0
            guard rows == count else {
                throw ECGDataError(.badCorpus, path, "cannot append: \(dataset.name) has \(rows) rows, signals has \(count)")
            }
        }
    }
    private var callerTaskOrder: [Int]?
    private var combinedSource: String?
    /// The `preprocessing` attribute of the corpus appended to (nil when it has none).
    private var existingPreprocessing: String?

    /// JSON of the preprocessing choices (SourcePreprocessing.json), stored as the `preprocessing`
    /// attribute. Rows appended to a corpus must have been made the same way.
    public var preprocessing: String?

    /// Adds one record: `signal` is (5000, 12) sample-major mV. `labels` holds one row per task given at init
    /// (in that order), or is empty for unlabelled records. `id` defaults to the row index.
    public func add(signal: UnsafePointer<Float>, id: Int64? = nil, name: String, fold: Int32, labels: [[UInt8]] = []) throws {
        guard !finished, !aborted, file != nil else { throw ECGDataError(.badCorpus, path, "corpus writer is already closed") }
        let slot = pendingIDs.count
        let width = Self.samples * Self.leads
        // Readers trust the finite record this writer leaves (CorpusReader.finiteAttribute).
        for i in 0..<width where !signal[i].isFinite {
            throw ECGDataError(.badCorpus, path, "record \(name): lead \(ECGPreprocessing.leadNames[i % Self.leads]), sample \(i / Self.leads) is \(signal[i]) after preprocessing")
        }
        (pendingSignals + slot * width).update(from: signal, count: width)
        let order = callerTaskOrder ?? Array(0..<tasks.count)
        guard labels.isEmpty || labels.count == order.count else {
            throw ECGDataError(.badCorpus, path, "record \(name): \(labels.count) label rows for \(order.count) tasks")
        }
        for (taskIndex, task) in tasks.enumerated() {
            if let given = order.firstIndex(of: taskIndex), !labels.isEmpty {
                guard labels[given].count == task.labelNames.count else {
                    throw ECGDataError(.badCorpus, path, "record \(name): task \(task.name) row has \(labels[given].count) labels, expected \(task.labelNames.count)")
                }
                pendingLabels[taskIndex] += labels[given]
            } else {
                pendingLabels[taskIndex] += [UInt8](repeating: 0, count: task.labelNames.count)
            }
        }
        pendingIDs.append(id ?? Int64(count))
        pendingNames.append(Self.fitName(name))
        pendingFolds.append(fold)
        pendingHashes.append(Int64(bitPattern: RecordContentHash.of(signal, count: width)))
        allMoments.add(signal, samples: Self.samples)
        if (1...8).contains(fold) { trainMoments.add(signal, samples: Self.samples) }
        if fold != 0 { anyFold = true }
        count += 1
        if pendingIDs.count == batchCapacity { try flush() }
    }

    /// Names longer than the 64-byte field keep their end, which identifies the record best.
    static func fitName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > recordNameBytes else { return name }
        return String(decoding: bytes.suffix(recordNameBytes), as: UTF8.self)
    }

    /// Writes the buffered rows as one hyperslab per dataset.
    private func flush() throws {
        let k = pendingIDs.count
        guard k > 0, let signals, let ids, let names, let folds, let hashes else { return }
        let rows = writtenRows..<(writtenRows + k)
        for dataset in [signals, ids, names, folds, hashes] + labelSets { try dataset.resize(rows: rows.upperBound) }
        try signals.writeRows(rows, from: UnsafePointer(pendingSignals))
        try pendingIDs.withUnsafeBufferPointer { try ids.writeRows(rows, from: $0.baseAddress!) }
        try pendingFolds.withUnsafeBufferPointer { try folds.writeRows(rows, from: $0.baseAddress!) }
        try pendingHashes.withUnsafeBufferPointer { try hashes.writeRows(rows, from: $0.baseAddress!) }
        try names.writeStrings(pendingNames, rows: rows)
        for (taskIndex, dataset) in labelSets.enumerated() {
            try pendingLabels[taskIndex].withUnsafeBufferPointer { try dataset.writeRows(rows, from: $0.baseAddress!) }
            pendingLabels[taskIndex].removeAll(keepingCapacity: true)
        }
        writtenRows = rows.upperBound
        pendingIDs.removeAll(keepingCapacity: true)
        pendingNames.removeAll(keepingCapacity: true)
        pendingFolds.removeAll(keepingCapacity: true)
        pendingHashes.removeAll(keepingCapacity: true)
    }

    /// Writes the remaining rows and the root attributes, closes the file and renames it into place.
    /// Channel statistics come from training folds 1–8, or from all records when the corpus has no folds.
    public func finish() throws {
        guard !aborted else { throw ECGDataError(.badCorpus, path, "corpus writer was aborted") }
        guard !finished else { return }
        do {
            try flush()
            guard let file else { throw ECGDataError(.badCorpus, path, "corpus writer is already closed") }
            guard count > 0 else { throw ECGDataError(.badCorpus, path, "no records to write") }
            let attributes = file.attributes
            try attributes.set("sampling_rate", int32: Int32(ECGPreprocessing.samplingRate))
            try attributes.set("n_samples", int32: Int32(Self.samples))
            try attributes.set("lead_names", strings: ECGPreprocessing.leadNames)
            try attributes.set("source", string: combinedSource ?? source)
            if let preprocessing {
                if let existingPreprocessing, existingPreprocessing != preprocessing {
                    throw ECGDataError(.badCorpus, path, "cannot append: the corpus was prepared with other preprocessing (\(existingPreprocessing)) than these rows (\(preprocessing))")
                }
                try attributes.set("preprocessing", string: preprocessing)
            }
            let useTrain = anyFold && trainMoments.count > 0
            let (mean, std) = (useTrain ? trainMoments : allMoments).meanAndStd
            try attributes.set("channel_mean", floats: mean)
            try attributes.set("channel_std", floats: std)
            try attributes.set("channel_moments_train", doubles: trainMoments.packed)
            try attributes.set("channel_moments_all", doubles: allMoments.packed)
            // Every sample passed the finite check in `add` (and an appended-to file was opened,
            // so validated, by CorpusReader).
            try attributes.set(CorpusReader.finiteAttribute, int32: 1)
            closeFile()
            if FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: temporaryPath) {
                throw ECGDataError(.badCorpus, temporaryPath, "temporary corpus vanished")
            }
            do { try AtomicFile.moveIntoPlace(temporaryPath, to: path) } catch let error as FileError {
                throw ECGDataError(.badCorpus, error.path, error.message)
            }
            finished = true
        } catch {
            abort()
            throw error
        }
    }

    private func closeFile() {
        labelSets = []
        signals = nil; ids = nil; names = nil; folds = nil; hashes = nil
        file = nil
    }

    /// Runs `body` (which adds records), then `finish()`es; if anything throws, `abort()`s so no
    /// partial output is ever left, and rethrows.
    public func writeAll(_ body: () throws -> Void) throws {
        do {
            try body()
            try finish()
        } catch {
            abort()
            throw error
        }
    }

    /// Closes and deletes the temporary file; the output path is left as it was.
    public func abort() {
        closeFile()
        try? FileManager.default.removeItem(atPath: temporaryPath)
        aborted = true
    }
    private var aborted = false
}
