import Foundation

/// What a `prepare` run did.
public struct PrepareSummary: Sendable {
    public var sourceRecords = 0
    public var rows = 0
    public var skipped = 0
    /// Records the length rule (SourcePreprocessing: --min-seconds, --short drop) left out.
    public var dropped = 0
    public var seconds = 0.0
    public var warnings: [String] = []
    public var recordsPerSecond: Double { seconds > 0 ? Double(sourceRecords) / seconds : 0 }

    /// Replaces the counters of this rank by their sums over `group` (all ranks call together), so
    /// every rank takes the same "no usable records" decision and rank 0 prints the whole run.
    mutating func sumOverRanks(_ group: SharedFileGroup?) throws {
        guard let group, group.size > 1 else { return }
        var sums = [sourceRecords, rows, skipped, dropped].map(Double.init)
        try group.allReduceSum(&sums)
        (sourceRecords, rows, skipped, dropped) = (Int(sums[0]), Int(sums[1]), Int(sums[2]), Int(sums[3]))
    }
}

/// How a prepare run stores and shares its work (the same for every source).
public struct PrepareRun {
    /// Storage of /signals (nil: float32, or the existing corpus's for an append).
    public var dtype: SignalDType?
    /// The ranks preparing one corpus together (prepare under mpirun); nil = serial.
    public var group: SharedFileGroup?
    /// Source records per rank per round (and per HDF5 write).
    public var batchSize = 128
    /// Polled before every record: the name of a stop signal received (e.g. "SIGTERM") ends the run, keeping nothing.
    public var stopRequested: () -> String? = { nil }
    /// Throttled progress lines (rank 0 only).
    public var progress: ((String) -> Void)?
    public init() {}
}

/// Builds corpus files from PTB-XL or from folders of WFDB records.
public enum CorpusPreparer {
    /// Runs `work(index)` for every source record this rank handles, round by round, ending each
    /// round with the writer (collectively under a group); a record's failure or a stop signal
    /// is handed to the writer, which stops every rank.
    static func runRounds(total: Int, writer: CorpusWriter, run: PrepareRun, _ work: (Int) throws -> Void) throws {
        var shares = RoundShares(total: total, batch: run.batchSize, group: run.group)
        var progress = PrepareProgress(total: total, report: shares.rank == 0 ? run.progress : nil)
        for round in 0..<shares.rounds {
            var failure: Error?
            do {
                for index in shares.records(round: round) {
                    if let signal = run.stopRequested() { throw PrepareInterrupted(signal: signal) }
                    try work(index)
                }
            } catch {
                failure = error
            }
            shares.finish(round: round, timings: try writer.endRound(failure: failure))
            progress.update(done: shares.done(afterRound: round))
        }
        if shares.size > 1 {
            let writing = try writer.signalWriting()
            if shares.rank == 0 {
                run.progress?("prepare: signal rows written by \(writing.nodeWriters) node writer\(writing.nodeWriters == 1 ? "" : "s"): \(writing.byNodeWriters); by a rank alone (no node-shared memory, or a round too large for it): \(writing.alone)")
            }
        }
    }

    /// PTB-XL root → corpus: every row of `ptbxl_database.csv`, the 500 Hz files (`filename_hr`), its
    /// `ecg_id`, `strat_fold` and the six benchmark label tasks. Records are 10 s at 500 Hz; anything
    /// else is resampled and cut to its central 10 s / zero-padded like other sources.
    /// `folds` keeps only those strat_folds (e.g. 1–8, the training partition the paper pre-trains on).
    public static func preparePTBXL(root: String, out: String, folds: Set<Int32>? = nil, verifyChecksums: Bool = false,
                                    run: PrepareRun = PrepareRun(), log: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        let database = try PTBXLDatabase.load(root: root)
        let databasePath = (root as NSString).appendingPathComponent("ptbxl_database.csv")
        let entries = database.entries.filter { folds?.contains($0.fold) ?? true }
        guard !entries.isEmpty else {
            throw ECGDataError(.badTable, databasePath, folds == nil ? "no records listed" : "no records in the folds asked for")
        }
        // Fail before any work when a listed record is missing.
        for entry in entries {
            let header = (root as NSString).appendingPathComponent(entry.filenameHR + ".hea")
            guard FileManager.default.fileExists(atPath: header) else {
                throw ECGDataError(.missingRecord, databasePath,
                    "ecg_id \(entry.ecgID): record \(entry.filenameHR) not found (no \(header))")
            }
        }
        let tasks = database.tasks.map { CorpusTaskSpec(name: $0.name, labelNames: $0.labelNames) }
        let writer = try CorpusWriter(path: out, source: "ptbxl", tasks: tasks, dtype: run.dtype, batchSize: run.batchSize,
                                      group: run.group)
        writer.preprocessing = SourcePreprocessing(length: .center).json
        var summary = PrepareSummary()
        var resamplers: [Double: PolyphaseResampler] = [:]
        let window = UnsafeMutablePointer<Float>.allocate(capacity: CorpusWriter.samples * CorpusWriter.leads)
        defer { window.deallocate() }
        try writer.writeAll {
            try runRounds(total: entries.count, writer: writer, run: run) { index in
                let entry = entries[index]
                let header = (root as NSString).appendingPathComponent(entry.filenameHR + ".hea")
                let leads = try ECGPreprocessing.standardize(headerPath: header, verifyChecksums: verifyChecksums,
                                                             resamplers: &resamplers)
                summary.warnings += leads.warnings
                leads.warnings.forEach { log("warning: \($0)") }
                let start = ECGPreprocessing.windowStarts(sampleCount: leads.sampleCount, policy: .center)[0]
                try leads.withWindow(start: start, scratch: window) {
                    try writer.add(signal: $0, id: entry.ecgID, name: entry.filenameHR, fold: entry.fold,
                                   labels: database.tasks.map { $0.row(codes: entry.codes) })
                }
                summary.sourceRecords += 1
                summary.rows += 1
            }
        }
        try summary.sumOverRanks(run.group)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// All `.hea` files under `directory` (recursive), sorted so corpora are reproducible.
    public static func findHeaders(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ECGDataError(.missingFile, directory, "directory not found")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw ECGDataError(.missingFile, directory, "directory cannot be listed")
        }
        var headers: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".hea") { headers.append(relative) }
        }
        return headers.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Folders of WFDB records → one unlabelled pre-training corpus (fold 0, running ids). Every record is
    /// reduced to the 12 standard leads at 500 Hz and cut by `policy` (default: consecutive 10-s windows).
    /// `append` adds the rows to an existing corpus at `out`. `skipBad` warns about and skips unreadable
    /// records instead of stopping.
    /// `options` adds the high-pass and the short-record rule (its `length` replaces `policy`);
    /// `dxLabels` keeps the `# Dx:` SNOMED codes of Challenge 2020/2021 headers as task `dx`
    /// (columns `dxCodes`, or every code seen).
    public static func prepareWFDB(directories: [String], out: String, append: Bool = false,
                                   policy: ECGPreprocessing.LengthPolicy = .split, options: SourcePreprocessing? = nil,
                                   dxLabels: Bool = false, dxCodes: [String]? = nil, skipBad: Bool = false,
                                   verifyChecksums: Bool = false, run: PrepareRun = PrepareRun(),
                                   log: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        let options = options ?? SourcePreprocessing(length: policy)
        try options.validate(directories.joined(separator: ", "))
        let headerLists = try directories.map { try findHeaders(in: $0) }
        for (directory, headers) in zip(directories, headerLists) where headers.isEmpty {
            throw ECGDataError(.missingRecord, directory, "no .hea files found")
        }
        let dxTask = dxLabels ? try challengeDxTask(headers: headerLists.flatMap { $0 }, codes: dxCodes) : nil
        // Folder names only: a corpus file travels between machines, its source label should not
        // carry this machine's absolute paths.
        let source = directories.map { "wfdb:\(URL(fileURLWithPath: $0).lastPathComponent)" }.joined(separator: "; ")
        let writer = try CorpusWriter(path: out, source: source, tasks: dxTask.map { [$0] } ?? [], append: append,
                                      dtype: run.dtype, batchSize: run.batchSize, group: run.group)
        writer.preprocessing = options.json
        // One list over all folders, in folder order: the unit the ranks share.
        let records = zip(directories, headerLists).flatMap { directory, headers in headers.map { (directory, $0) } }
        var summary = PrepareSummary()
        var resamplers: [Double: PolyphaseResampler] = [:]
        let emitter = SourceRowEmitter(options: options)
        defer { emitter.release() }
        try writer.writeAll {
            try runRounds(total: records.count, writer: writer, run: run) { index in
                let (directory, header) = records[index]
                let prefix = ((directory as NSString).standardizingPath as NSString).lastPathComponent
                var leads: ECGPreprocessing.StandardLeads
                var labels: [[UInt8]] = []
                do {
                    if let dxTask { labels = [dxRow(try WFDBHeader.load(path: header), task: dxTask)] }
                    leads = try ECGPreprocessing.standardize(headerPath: header, verifyChecksums: verifyChecksums,
                                                             resamplers: &resamplers)
                } catch let error as ECGDataError where skipBad {
                    summary.skipped += 1
                    summary.warnings.append("skipped \(error.description)")
                    log("warning: skipped \(error.description)")
                    return
                }
                let relative = String(header.dropFirst(directory.count).drop { $0 == "/" }.dropLast(4))
                let name = prefix.isEmpty || prefix == "/" ? relative : "\(prefix)/\(relative)"
                try emitter.emit(&leads, sourceSeconds: leads.seconds, name: name, id: nil, labels: labels, writer: writer,
                                 summary: &summary, log: log)
            }
            try summary.sumOverRanks(run.group)
            if summary.rows == 0 {
                throw ECGDataError(.missingRecord, directories.joined(separator: ", "), "no usable records (\(summary.skipped) skipped, \(summary.dropped) too short)")
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
