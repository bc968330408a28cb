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

/// Writes a corpus file (layout: docs/hdf5-layout.md). Records are buffered and written in batches of
/// whole rows. Everything goes to `<path>.tmp-<pid>`, renamed onto `path` by `finish()`; on any error
/// (or without `finish()`) the temporary file is deleted, so no partial corpus is ever left behind.
/// `append: true` copies the existing corpus to the temporary file first and adds rows to it.
///
/// With a `group` of several ranks (prepare under mpirun) every rank adds its own records and all
/// ranks call `endRound()` together after each round; the rows of a round follow rank order, so a
/// caller that gives rank r the r-th slice of each round's records gets the serial row order. The
/// ranks then share `<path>.tmp` through MPI-IO, exchange their row counts and channel-moment block
/// sums, grow the datasets together and write their rows; rank 0 renames the file when all have
/// closed it. A failure on any rank (reported at the next `endRound`) stops every rank there.
public final class CorpusWriter {
    public static let samples = ECGPreprocessing.windowSamples
    public static let leads = 12
    public static let recordNameBytes = 64
    public static let labelNameBytes = 32

    public let path: String
    public let temporaryPath: String
    public private(set) var tasks: [CorpusTaskSpec]
    /// Rows in the corpus, including ones still buffered (with a group: all ranks' rows written so
    /// far plus this rank's buffered ones).
    public private(set) var count: Int
    public private(set) var finished = false
    /// How /signals is stored (an appended-to corpus keeps its own).
    public private(set) var dtype: SignalDType
    /// Rows written to the file by all ranks.
    public var writtenRowCount: Int { writtenRows }

    private let group: SharedFileGroup?
    private var file: H5File?
    private var signals: SignalRows?
    private var ids: H5Dataset?, names: H5Dataset?, folds: H5Dataset?
    /// One content hash per record (CorpusOverlap.swift): the leakage guard compares them.
    private var hashes: H5Dataset?
    private var labelSets: [H5Dataset] = []
    private let source: String

    private let batchCapacity: Int
    /// Buffered rows (float32 mV as given; for float16 rounded to what will be stored by `completeBufferedRows`).
    private var pendingSignals: [Float] = []
    /// nil = the default id, the row's index in the corpus (known only when the round is written).
    private var pendingIDs: [Int64?] = [], pendingNames: [String] = [], pendingFolds: [Int32] = []
    private var pendingHashes: [Int64] = []
    /// Channel-moment block sums of the buffered rows (ChannelMoments.blockSums), applied in row order when written.
    private var pendingBlockSums: [Float] = []
    private var pendingLabels: [[UInt8]] // per task, flat rows
    private var writtenRows: Int
    private var trainMoments = ChannelMoments(), allMoments = ChannelMoments()
    private var anyFold = false
    /// A write that failed on this rank of a group, reported to the others at the next exchange.
    private var deferredFailure: Error?
    /// When this rank's last exchange ended (its work on the next round starts there), and how
    /// long its writing after the exchange took: the timings the next round's shares come from.
    private var lastExchangeEnd = Date()
    private var lastWriteSeconds = 0.0
    /// With a group: the node-shared memory the signal rows go to their node's writer through, in
    /// two halves used in alternate rounds — a rank fills one while the writer still writes the
    /// other, and the round's exchange between them means the writer is done with a half before
    /// it is filled again.
    private var nodeRows: NodeSharedBuffer?
    private var nodeRowsHalfBytes = 0
    private var roundParity = 0
    /// Who wrote the signal rows, on this rank (`signalWriting`).
    private var rowsWrittenAsNodeWriter = 0, rowsWrittenByThisRankAlone = 0

    static let blockSumsPerRow = ChannelMoments.blockCount(samples: samples) * ChannelMoments.floatsPerBlock

    /// `dtype` nil = float32 for a new corpus, the existing corpus's storage for `append`.
    /// `group` = the ranks writing this file together (nil or a group of one: serial).
    public init(path: String, source: String, tasks: [CorpusTaskSpec], append: Bool = false, dtype: SignalDType? = nil,
                batchSize: Int = 128, group: SharedFileGroup? = nil) throws {
        self.path = path
        self.source = source
        self.tasks = tasks
        self.dtype = dtype ?? .float32
        let shared = (group?.size ?? 1) > 1 ? group : nil
        self.group = shared
        // Every rank must name the same file; a stale one of an earlier stopped run is replaced.
        temporaryPath = shared == nil ? AtomicFile.temporaryPath(for: path) : path + ".tmp"
        batchCapacity = max(1, batchSize)
        // One batch of rows without the doubling growth overshoot (a group's round may still grow it).
        pendingSignals.reserveCapacity(batchCapacity * Self.samples * Self.leads)
        pendingLabels = Array(repeating: [], count: tasks.count)
        count = 0
        writtenRows = 0
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
            aborted = true   // nothing was created
            throw ECGDataError(.missingFile, path, "output directory \(directory) does not exist")
        }
        if append && shared != nil {
            aborted = true
            throw ECGDataError(.badCorpus, path, "--append runs on one process only (not under mpirun)")
        }
        if (shared?.rank ?? 0) == 0 { try? FileManager.default.removeItem(atPath: temporaryPath) }
        do {
            try shared?.barrier()
            if append { try openForAppend(requested: dtype) } else { try createNew() }
            if let shared {
                // Room for the most a rank is dealt in a round (RoundShares.maxShare).
                nodeRowsHalfBytes = RoundShares.maxShare(batch: batchCapacity) * storedRowBytes
                nodeRows = try shared.nodeSharedBuffer(bytesPerRank: 2 * nodeRowsHalfBytes)
            }
        } catch {
            abort()
            throw error
        }
    }

    deinit {
        if !finished && !aborted { abort() }
    }

    private func createNew() throws {
        let file = try group?.createSharedFile(path: temporaryPath) ?? H5File.create(path: temporaryPath)
        self.file = file
        // Dataset creation and growth are collective under MPI-IO: every rank makes the same calls.
        let signalSet = try file.createDataset("signals", type: dtype.elementType, shape: [0, Self.samples, Self.leads],
                                               chunk: [1, Self.samples, Self.leads])
        signals = try SignalRows(signalSet, dtype: dtype)
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
        if (group?.rank ?? 0) == 0 { try namesSet.writeStrings(task.labelNames, rows: 0..<task.labelNames.count) }
        return dataset
    }

    /// Copies the existing corpus and checks it can take more rows of this writer's kind.
    private func openForAppend(requested: SignalDType?) throws {
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
        let signalSet = try file.openDataset("signals")
        guard let stored = SignalDType.of(storedSize: signalSet.storedType.size) else {
            throw ECGDataError(.badCorpus, path, "cannot append: /signals is stored as \(existing.storedDType), not float32 or float16")
        }
        if let requested, requested != stored {
            throw ECGDataError(.badCorpus, path, "cannot append \(requested.rawValue) rows: the corpus stores /signals as \(stored.rawValue)")
        }
        dtype = stored
        signals = try SignalRows(signalSet, dtype: stored)
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
        for dataset in [signals!.dataset, ids!, names!, folds!, hashes!] + labelSets {
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
        let width = Self.samples * Self.leads
        // Readers trust the finite record this writer leaves (CorpusReader.finiteAttribute).
        for i in 0..<width where !signal[i].isFinite {
            throw ECGDataError(.badCorpus, path, "record \(name): lead \(ECGPreprocessing.leadNames[i % Self.leads]), sample \(i / Self.leads) is \(signal[i]) after preprocessing")
        }
        let order = callerTaskOrder ?? Array(0..<tasks.count)
        guard labels.isEmpty || labels.count == order.count else {
            throw ECGDataError(.badCorpus, path, "record \(name): \(labels.count) label rows for \(order.count) tasks")
        }
        for (taskIndex, task) in tasks.enumerated() {
            if let given = order.firstIndex(of: taskIndex), !labels.isEmpty, labels[given].count != task.labelNames.count {
                throw ECGDataError(.badCorpus, path, "record \(name): task \(task.name) row has \(labels[given].count) labels, expected \(task.labelNames.count)")
            }
        }
        if dtype == .float16, let i = (0..<width).first(where: { abs(signal[$0]) >= HalfPrecision.overflowThreshold }) {
            throw ECGDataError(.badCorpus, path, "record \(name): lead \(ECGPreprocessing.leadNames[i % Self.leads]), sample \(i / Self.leads) is \(signal[i]) mV, beyond the float16 range (±65504); store this corpus as float32")
        }
        // Hashes, float16 rounding and moment sums: a few rows at a time (`completeBufferedRows`).
        pendingSignals.append(contentsOf: UnsafeBufferPointer(start: signal, count: width))
        for (taskIndex, task) in tasks.enumerated() {
            if let given = order.firstIndex(of: taskIndex), !labels.isEmpty {
                pendingLabels[taskIndex] += labels[given]
            } else {
                pendingLabels[taskIndex] += [UInt8](repeating: 0, count: task.labelNames.count)
            }
        }
        pendingIDs.append(id)
        pendingNames.append(Self.fitName(name))
        pendingFolds.append(fold)
        if pendingIDs.count - pendingHashes.count >= RecordContentHash.lanes { completeBufferedRows() }
        count += 1
        if group == nil && pendingIDs.count >= batchCapacity { try flush(failure: nil) }
    }

    /// Ends a round of records (all ranks of a group call together, also those that added none):
    /// writes the buffered rows of every rank. `failure` = why this rank stopped adding (a bad
    /// record, a signal); then every rank throws here (this rank its own error, the others a
    /// `SharedWriteFailure` with its message) and the caller aborts.
    /// Returns every rank's timing of the round (the same on every rank; empty without a group),
    /// from which the caller sizes the next round's shares (RoundShares).
    @discardableResult
    public func endRound(failure: Error? = nil) throws -> [RoundTiming] {
        try flush(failure: failure)
    }

    /// The per-row work of the buffered rows not done yet: the content hashes (of the float32
    /// values as given, before any rounding to float16: a hash names the recording, so a float16
    /// corpus still matches a float32 corpus of the same records in the leakage guard,
    /// docs/hdf5-layout.md), then the rounding to float16, then the channel-moment block sums (of
    /// the stored values: they normalise what readers get back). `add` calls it every
    /// `RecordContentHash.lanes` rows, so the hash runs that many rows' serial chains side by side
    /// while the rows are still in cache; `flush` completes the rest.
    private func completeBufferedRows() {
        let done = pendingHashes.count, n = pendingIDs.count - done, width = Self.samples * Self.leads
        guard n > 0 else { return }
        let sumsStart = pendingBlockSums.count
        pendingBlockSums.append(contentsOf: repeatElement(0, count: n * Self.blockSumsPerRow))
        pendingSignals.withUnsafeMutableBufferPointer { rows in
            let base = rows.baseAddress! + done * width
            let hashes = [UInt64](unsafeUninitializedCapacity: n) { out, initialized in
                RecordContentHash.of(rows: base, rowCount: n, count: width, into: out.baseAddress!)
                initialized = n
            }
            pendingHashes += hashes.map { Int64(bitPattern: $0) }
            if dtype == .float16 { HalfPrecision.roundInPlace(base, count: n * width) }
            pendingBlockSums.withUnsafeMutableBufferPointer { sums in
                for row in 0..<n {
                    ChannelMoments.blockSums(base + row * width, samples: Self.samples,
                                             into: sums.baseAddress! + sumsStart + row * Self.blockSumsPerRow)
                }
            }
        }
    }

    /// Names longer than the 64-byte field keep their end, which identifies the record best.
    static func fitName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > recordNameBytes else { return name }
        return String(decoding: bytes.suffix(recordNameBytes), as: UTF8.self)
    }

    /// Writes the buffered rows as one hyperslab per dataset. With a group: first exchanges row
    /// counts, folds and moment block sums (and failures) with the other ranks, so every rank knows
    /// where its rows go and applies all rows' moments in row order.
    @discardableResult
    private func flush(failure: Error?) throws -> [RoundTiming] {
        let k = pendingIDs.count
        guard let signals, let ids, let names, let folds, let hashes else { return [] }
        completeBufferedRows()
        let handedOver = handRowsToNodeWriter(signals: signals)
        nodeRows?.synchronize()
        let own = RoundReport(rows: k, folds: pendingFolds, blockSums: pendingBlockSums,
                              failure: (failure ?? deferredFailure).map { "\($0)" },
                              workSeconds: Date().timeIntervalSince(lastExchangeEnd), writeSeconds: lastWriteSeconds)
        let reports = try group.map { try $0.allGather(own.encoded).map { RoundReport(decoding: $0, floatsPerRow: Self.blockSumsPerRow) } } ?? [own]
        let exchanged = Date()
        defer {
            lastExchangeEnd = Date()
            lastWriteSeconds = lastExchangeEnd.timeIntervalSince(exchanged)
        }
        let timings = group == nil ? [] : reports.map { RoundTiming(work: $0.workSeconds, write: $0.writeSeconds) }
        let rank = group?.rank ?? 0
        if let failed = reports.firstIndex(where: { $0.failure != nil }) {
            if failed == rank, let mine = failure ?? deferredFailure { throw mine }
            throw SharedWriteFailure(rank: failed, message: reports[failed].failure!)
        }
        for report in reports {
            report.blockSums.withUnsafeBufferPointer { sums in
                for (row, fold) in report.folds.enumerated() {
                    let rowSums = sums.baseAddress! + row * Self.blockSumsPerRow
                    allMoments.add(blockSums: rowSums, samples: Self.samples)
                    if (1...8).contains(fold) { trainMoments.add(blockSums: rowSums, samples: Self.samples) }
                    if fold != 0 { anyFold = true }
                }
            }
        }
        let total = reports.reduce(0) { $0 + $1.rows }
        guard total > 0 else { return timings }
        var firstRows = [writtenRows]   // each rank's first row: its rows follow the lower ranks'
        for report in reports.dropLast() { firstRows.append(firstRows.last! + report.rows) }
        let first = firstRows[rank]
        let rows = first..<(first + k)
        for dataset in [signals.dataset, ids, names, folds, hashes] + labelSets { try dataset.resize(rows: writtenRows + total) }
        // The signal rows (nearly all the bytes) of a node go through its one writer.
        writeNodeRows(signals: signals, firstRows: firstRows, reports: reports)
        defer { roundParity ^= 1 }
        do {
            if k > 0 {
                let rowIDs = pendingIDs.enumerated().map { $0.element ?? Int64(first + $0.offset) }
                if !handedOver {
                    try pendingSignals.withUnsafeBufferPointer { try signals.write(rows, from: $0.baseAddress!) }
                    if nodeRows?.isNodeWriter ?? false { rowsWrittenAsNodeWriter += k } else { rowsWrittenByThisRankAlone += k }
                }
                try rowIDs.withUnsafeBufferPointer { try ids.writeRows(rows, from: $0.baseAddress!) }
                try pendingFolds.withUnsafeBufferPointer { try folds.writeRows(rows, from: $0.baseAddress!) }
                try pendingHashes.withUnsafeBufferPointer { try hashes.writeRows(rows, from: $0.baseAddress!) }
                try names.writeStrings(pendingNames, rows: rows)
                for (taskIndex, dataset) in labelSets.enumerated() {
                    try pendingLabels[taskIndex].withUnsafeBufferPointer { try dataset.writeRows(rows, from: $0.baseAddress!) }
                }
            }
        } catch {
            // Alone, this rank would leave the others waiting in the next collective: it tells them there.
            guard group != nil else { throw error }
            deferredFailure = error
        }
        writtenRows += total
        count = writtenRows
        pendingSignals.removeAll(keepingCapacity: true)
        pendingIDs.removeAll(keepingCapacity: true)
        pendingNames.removeAll(keepingCapacity: true)
        pendingFolds.removeAll(keepingCapacity: true)
        pendingHashes.removeAll(keepingCapacity: true)
        pendingBlockSums.removeAll(keepingCapacity: true)
        for taskIndex in pendingLabels.indices { pendingLabels[taskIndex].removeAll(keepingCapacity: true) }
        return timings
    }

    /// With a group (all ranks call together): how many node writers there are, the signal rows
    /// they wrote, and the rows ranks wrote alone (rounds too large for the node-shared memory).
    public func signalWriting() throws -> (nodeWriters: Int, byNodeWriters: Int, alone: Int) {
        guard let group else { return (0, 0, rowsWrittenByThisRankAlone) }
        var sums = [(nodeRows?.isNodeWriter ?? false) ? 1.0 : 0, Double(rowsWrittenAsNodeWriter), Double(rowsWrittenByThisRankAlone)]
        try group.allReduceSum(&sums)
        return (Int(sums[0]), Int(sums[1]), Int(sums[2]))
    }

    /// Bytes of one stored signal row.
    private var storedRowBytes: Int { Self.samples * Self.leads * (dtype == .float16 ? 2 : 4) }

    /// Whether a rank's `rows` of a round fit its half of the node-shared memory: the one rule by
    /// which the rank hands them over and the writer looks for them there.
    private func fitNodeHalf(rows: Int) -> Bool { rows * storedRowBytes <= nodeRowsHalfBytes }

    /// Before the exchange: a rank other than its node's writer puts its buffered rows, as stored,
    /// in this round's half of its node-shared memory (when they fit; rows of a round that does
    /// not fit, e.g. long records cut into many rows, it writes itself). Returns whether it did.
    private func handRowsToNodeWriter(signals: SignalRows) -> Bool {
        guard let nodeRows, !nodeRows.isNodeWriter, !pendingIDs.isEmpty, fitNodeHalf(rows: pendingIDs.count) else { return false }
        let half = nodeRows.own + roundParity * nodeRowsHalfBytes
        pendingSignals.withUnsafeBufferPointer { rows in
            signals.withStoredBytes(of: rows) { half.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        return true
    }

    /// After the exchange, on a node's writer: writes the rows the other ranks of the node put in
    /// this round's half (`handRowsToNodeWriter`) at their places. A failure is kept for the next
    /// exchange like any other.
    private func writeNodeRows(signals: SignalRows, firstRows: [Int], reports: [RoundReport]) {
        guard let nodeRows, nodeRows.isNodeWriter else { return }
        nodeRows.synchronize()
        do {
            for (memberRank, memory) in nodeRows.members {
                let count = reports[memberRank].rows
                guard count > 0, fitNodeHalf(rows: count) else { continue }
                let half = UnsafeRawBufferPointer(start: memory + roundParity * nodeRowsHalfBytes, count: count * storedRowBytes)
                try signals.write(firstRows[memberRank]..<(firstRows[memberRank] + count), stored: half)
                rowsWrittenAsNodeWriter += count
            }
        } catch {
            deferredFailure = deferredFailure ?? error
        }
    }

    /// Writes the remaining rows and the root attributes, closes the file and renames it into place.
    /// Channel statistics come from training folds 1–8, or from all records when the corpus has no folds.
    /// With a group all ranks call this together.
    public func finish() throws {
        guard !aborted else { throw ECGDataError(.badCorpus, path, "corpus writer was aborted") }
        guard !finished else { return }
        do {
            try flush(failure: nil)
            // A group's last write may have failed on some rank: one more (empty) exchange tells everyone.
            if group != nil { try flush(failure: nil) }
            guard let file else { throw ECGDataError(.badCorpus, path, "corpus writer is already closed") }
            guard writtenRows > 0 else { throw ECGDataError(.badCorpus, path, "no records to write") }
            // Attribute writes are collective metadata operations: all ranks write identical values.
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
            // The file is complete only once every rank has closed it.
            try group?.barrier()
            if (group?.rank ?? 0) == 0 {
                if FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: temporaryPath) {
                    throw ECGDataError(.badCorpus, temporaryPath, "temporary corpus vanished")
                }
                do { try AtomicFile.moveIntoPlace(temporaryPath, to: path) } catch let error as FileError {
                    throw ECGDataError(.badCorpus, error.path, error.message)
                }
            }
            try group?.barrier()
            finished = true
        } catch {
            abort()
            throw error
        }
    }

    private func closeFile() {
        nodeRows?.release()   // collective, like the file's close
        nodeRows = nil
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

    /// Closes and deletes the temporary file; the output path is left as it was. With a group:
    /// collective (the ranks close the shared file together); rank 0 deletes it.
    public func abort() {
        guard !aborted else { return }
        aborted = true
        closeFile()
        if (group?.rank ?? 0) == 0 { try? FileManager.default.removeItem(atPath: temporaryPath) }
    }
    private var aborted = false
}
