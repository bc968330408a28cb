import ECGData
import Model

// The labelled records an evaluation runs on, held in memory already normalized: per-lead z-score
// with the training-fold statistics stored in the corpus file, then clipped to ±5σ (a few records
// carry huge artefacts that would otherwise dominate a batch). Loaded once and reused by every task,
// mode and seed, and by every periodic evaluation of a pre-training run.
//
// Split (PTB-XL's recommended one): strat_fold 1–8 train, 9 validation, 10 test. Files without
// folds (every fold 0, e.g. synthetic corpora) get fold = 1 + index mod 10 so the same protocol
// applies; records of a PTB-XL file with fold 0 are not used.

/// One label task of the corpus: `labels/<name>` with its column names.
public struct EvalTask: Sendable {
    public let name: String
    public let labelNames: [String]
    /// Row-major [records × labelNames.count] 0/1 matrix, rows aligned with the dataset's records.
    public let labels: [UInt8]
    public var labelCount: Int { labelNames.count }

    public init(name: String, labelNames: [String], labels: [UInt8]) {
        self.name = name
        self.labelNames = labelNames
        self.labels = labels
    }

    /// Label rows of `records`, row-major [records.count × labelCount].
    public func labels(of records: [Int]) -> [UInt8] {
        let L = labelCount
        var out = [UInt8](repeating: 0, count: records.count * L)
        for (r, i) in records.enumerated() {
            for j in 0..<L { out[r * L + j] = labels[i * L + j] }
        }
        return out
    }
}

/// Record indices of one task's split; records with an all-zero label row are left out.
public struct EvalSplit: Sendable {
    public var train: [Int]
    public var val: [Int]
    public var test: [Int]
}

public final class EvalDataset {
    public let source: String
    public let recordLength: Int
    public let channels: Int
    public let count: Int
    /// Fold of each record (1–10).
    public let folds: [Int]
    public let tasks: [EvalTask]
    /// What saved classifiers record to prepare new inputs the same way (ids name test predictions).
    public let recordIDs: [Int64]
    public let leadNames: [String]
    public let channelMean: [Float]
    public let channelStd: [Float]
    public let clipSigma: Float
    private let signals: UnsafeMutablePointer<Float>

    /// Takes raw signals [count, recordLength, channels] (mV) and normalizes a private copy.
    /// Every precondition on the arguments is a user-input check that throws `EvalError.badData`.
    public convenience init(source: String, signals raw: UnsafePointer<Float>, count: Int, recordLength: Int, channels: Int,
                            folds: [Int], tasks: [EvalTask], channelMean: [Float], channelStd: [Float],
                            clipSigma: Float = 5, recordIDs: [Int64]? = nil, leadNames: [String]? = nil) throws {
        let floats = max(0, count * recordLength * channels)
        let owned = UnsafeMutablePointer<Float>.allocate(capacity: max(1, floats))
        owned.initialize(from: raw, count: floats)
        try self.init(source: source, taking: owned, count: count, recordLength: recordLength, channels: channels,
                      folds: folds, tasks: tasks, channelMean: channelMean, channelStd: channelStd, clipSigma: clipSigma,
                      recordIDs: recordIDs, leadNames: leadNames)
    }

    /// Takes ownership of `signals` (allocated with `.allocate`), normalizing it in place; it is
    /// deallocated on error too.
    init(source: String, taking signals: UnsafeMutablePointer<Float>, count: Int, recordLength: Int, channels: Int,
         folds: [Int], tasks: [EvalTask], channelMean: [Float], channelStd: [Float], clipSigma: Float,
         recordIDs: [Int64]? = nil, leadNames: [String]? = nil) throws {
        func bad(_ m: String) -> EvalError {
            signals.deallocate()
            return .badData(path: source, message: m)
        }
        guard count > 0 else { throw bad("no records to evaluate on") }
        guard folds.count == count else { throw bad("\(folds.count) folds for \(count) records") }
        guard channelMean.count == channels, channelStd.count == channels else {
            throw bad("channel_mean/channel_std have \(channelMean.count)/\(channelStd.count) entries, signals have \(channels) leads")
        }
        for t in tasks where t.labels.count != count * t.labelCount {
            throw bad("labels/\(t.name) has \(t.labels.count) values, expected \(count) × \(t.labelCount)")
        }
        guard !tasks.isEmpty else { throw bad("no labels/<task> datasets: nothing to evaluate") }
        guard recordIDs == nil || recordIDs!.count == count, leadNames == nil || leadNames!.count == channels else {
            throw bad("\(recordIDs?.count ?? count) record ids / \(leadNames?.count ?? channels) lead names for \(count) records of \(channels) leads")
        }
        self.recordIDs = recordIDs ?? (0..<count).map(Int64.init)
        self.leadNames = leadNames ?? (channels == 12 ? ECGPreprocessing.leadNames : (0..<channels).map { "lead\($0)" })
        self.channelMean = channelMean
        self.channelStd = channelStd
        self.clipSigma = clipSigma
        self.source = source
        self.recordLength = recordLength
        self.channels = channels
        self.count = count
        self.tasks = tasks
        if folds.allSatisfy({ $0 == 0 }) {
            self.folds = (0..<count).map { 1 + $0 % 10 }
        } else {
            self.folds = folds
        }
        self.signals = signals
        normalize(signals, rows: count * recordLength, mean: channelMean, std: channelStd, clip: clipSigma)
    }

    /// Loads a corpus file (docs/hdf5-layout.md): the records with a fold (all records when the
    /// file has no folds), every label task (or only `tasks`), normalized with the file's
    /// training-fold `channel_mean`/`channel_std`. Signals are read in chunks straight into the
    /// dataset's buffer (the 21,837 PTB-XL records take 5.2 GB).
    ///
    /// `trainRecordLimit` keeps only that many fold 1–8 records, evenly spaced in file order
    /// (deterministic, no RNG), and all fold 9/10 records: a cheaper periodic evaluation during
    /// pre-training. It needs a file with folds.
    public static func load(path: String, tasks wanted: [String]? = nil, clipSigma: Float = 5,
                            trainRecordLimit: Int? = nil) throws -> EvalDataset {
        let reader = try CorpusReader(path: path)
        let hasFolds = reader.folds.contains { $0 != 0 }
        var rows = (0..<reader.count).filter { !hasFolds || (1...10).contains(reader.folds[$0]) }
        if let limit = trainRecordLimit, hasFolds {
            let train = rows.filter { reader.folds[$0] <= 8 }
            if limit < train.count {
                let keep = Set((0..<max(limit, 1)).map { train[$0 * train.count / max(limit, 1)] })
                rows = rows.filter { reader.folds[$0] > 8 || keep.contains($0) }
            }
        }
        guard !rows.isEmpty else { throw EvalError.badData(path: path, message: "no records with strat_fold 1-10") }
        let names = (wanted?.isEmpty ?? true) || wanted == ["every"] ? reader.taskNames : wanted!
        guard !names.isEmpty else { throw EvalError.badData(path: path, message: "no /labels/<task> datasets: nothing to evaluate") }
        var tasks: [EvalTask] = []
        for name in names {
            guard reader.taskNames.contains(name) else {
                throw EvalError.badData(path: path, message: "no labels/\(name) in this file (tasks: \(reader.taskNames.joined(separator: ", ")))")
            }
            let (labelNames, matrix) = try reader.labels(task: name)
            let full = EvalTask(name: name, labelNames: labelNames, labels: matrix)
            tasks.append(EvalTask(name: name, labelNames: labelNames, labels: full.labels(of: rows)))
        }
        let perRecord = reader.recordElements
        let signals = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * perRecord)
        do {
            var first = 0
            while first < rows.count {
                let n = min(256, rows.count - first)
                try reader.readSignals(indices: Array(rows[first..<(first + n)]), into: signals + first * perRecord)
                first += n
            }
        } catch {
            signals.deallocate()
            throw error
        }
        return try EvalDataset(source: path, taking: signals, count: rows.count, recordLength: reader.samples,
                               channels: reader.leads, folds: rows.map { Int(reader.folds[$0]) }, tasks: tasks,
                               channelMean: reader.channelMean, channelStd: reader.channelStd, clipSigma: clipSigma,
                               recordIDs: rows.map { reader.recordIDs[$0] }, leadNames: reader.leadNames)
    }

    deinit { signals.deallocate() }

    /// Normalized record i, time-major [recordLength, channels].
    public func signal(_ i: Int) -> UnsafePointer<Float> {
        UnsafePointer(signals + i * recordLength * channels)
    }

    public func task(named name: String) -> EvalTask? { tasks.first { $0.name == name } }

    /// Folds 1–8 / 9 / 10 of the records that have at least one positive label in `task`.
    public func split(_ task: EvalTask) -> EvalSplit {
        var s = EvalSplit(train: [], val: [], test: [])
        let L = task.labelCount
        for i in 0..<count {
            var any = false
            for j in 0..<L where task.labels[i * L + j] != 0 { any = true; break }
            guard any else { continue }
            switch folds[i] {
            case 1...8: s.train.append(i)
            case 9: s.val.append(i)
            case 10: s.test.append(i)
            default: break
            }
        }
        return s
    }
}
