import Foundation

/// Where the time and lead axes of a (N, ·, ·) signals array are.
public enum NPYSignalLayout: String, CaseIterable, Sendable {
    /// (records, samples, leads)
    case ntl = "NTL"
    /// (records, leads, samples)
    case nlt = "NLT"
}

/// What `prepare npy` reads and how.
public struct NPYPrepareOptions: Sendable {
    public var signalsPath: String
    public var samplingRate: Double
    /// Lead names of the array's lead axis, in order.
    public var leadNames: [String]
    /// nil = decide from the shape (the axis whose size equals leadNames.count).
    public var layout: NPYSignalLayout?
    public var units: String = "mV"
    public var labelsPath: String
    public var idColumn: String
    public var foldColumn: String?
    /// nil = every CSV column except id and fold.
    public var labelColumns: [String]?
    public var taskName: String = "labels"
    /// Optional file of record ids (signal row order): a .npy of integers or a text file, one id a line.
    /// Without it record i has id "i".
    public var idsPath: String?
    public var splitSeed: UInt64 = 0
    public var out: String
    public var batchSize = 128
    /// Storage of /signals (nil: float32).
    public var dtype: SignalDType?

    public init(signalsPath: String, samplingRate: Double, leadNames: [String], labelsPath: String, idColumn: String, out: String) {
        self.signalsPath = signalsPath
        self.samplingRate = samplingRate
        self.leadNames = leadNames
        self.labelsPath = labelsPath
        self.idColumn = idColumn
        self.out = out
    }
}

extension CorpusPreparer {
    /// The (N, ·, ·) shape's layout: `given`, or the one the lead count makes unambiguous.
    public static func signalLayout(shape: [Int], leadCount: Int, given: NPYSignalLayout?, path: String) throws -> NPYSignalLayout {
        let text = "(\(shape.map(String.init).joined(separator: ", ")))"
        guard shape.count == 3 else {
            throw ECGDataError(.unsupported, path, "signals have shape \(text); expected 3 axes (records, samples, leads) or (records, leads, samples)")
        }
        guard shape[0] > 0, shape[1] > 0, shape[2] > 0 else { throw ECGDataError(.unsupported, path, "signals have shape \(text): an axis is empty") }
        if let given {
            let leadAxis = given == .ntl ? 2 : 1
            guard shape[leadAxis] == leadCount else {
                throw ECGDataError(.unsupported, path, "signals have shape \(text): with --layout \(given.rawValue) axis \(leadAxis) holds the leads, but it has \(shape[leadAxis]) and --leads names \(leadCount)")
            }
            return given
        }
        switch (shape[1] == leadCount, shape[2] == leadCount) {
        case (false, true): return .ntl
        case (true, false): return .nlt
        case (true, true):
            throw ECGDataError(.unsupported, path, "signals have shape \(text): both axes have \(leadCount) entries; give --layout NTL or NLT")
        case (false, false):
            throw ECGDataError(.unsupported, path, "signals have shape \(text) but --leads names \(leadCount) leads: neither axis 1 nor axis 2 has \(leadCount) entries")
        }
    }

    /// Record ids in signal row order: from `path` (.npy integers, or text with one id a line) or 0..<count.
    static func recordIDs(path: String?, count: Int, signalsPath: String) throws -> [String] {
        guard let path else { return (0..<count).map(String.init) }
        let ids: [String]
        if path.lowercased().hasSuffix(".npy") {
            let file = try NPYFile(path: path)
            guard file.header.elementType.isInteger, file.header.shape.count == 1 else {
                throw ECGDataError(.unsupported, path, "ids must be a 1-D integer array, not \(file.header.elementType.rawValue) of shape \(file.header.shape)")
            }
            ids = try file.readElements(first: 0, count: file.header.elementCount).map { String(Int64($0)) }
        } else {
            let bytes = try readDataFile(path)
            guard let text = String(validating: bytes, as: UTF8.self) else { throw ECGDataError(.notUTF8, path, "ids file is not valid UTF-8") }
            ids = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        guard ids.count == count else {
            throw ECGDataError(.badTable, path, "\(ids.count) ids for the \(count) records of \(signalsPath)")
        }
        var seen: [String: Int] = [:]
        for (i, id) in ids.enumerated() {
            if let earlier = seen[id] { throw ECGDataError(.badTable, path, "id '\(id)' appears twice (records \(earlier) and \(i))") }
            seen[id] = i
        }
        return ids
    }

    /// A `.npy` array of ECGs + a labels CSV → labelled corpus with one task. Every input is checked
    /// (header, shape, leads, units, every CSV cell, ids both ways) before the output is created;
    /// records then go through the same preprocessing as WFDB records (`ECGPreprocessing`:
    /// NaN repair, resampling to 500 Hz, central 10 s or zero padding). Without a fold column
    /// the records get a seeded stratified split into folds 1–10 (`StratifiedSplit.folds`).
    public static func prepareNPY(_ options: NPYPrepareOptions, log: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        let path = options.signalsPath
        let task = options.taskName
        guard !task.isEmpty, !task.contains("/"), !task.hasSuffix("_names"), task.utf8.count <= 64 else {
            throw ECGDataError(.unsupported, task, "--task-name must be non-empty, without '/', not ending in _names")
        }
        guard let mvPerUnit = millivoltsPerUnit(options.units) else {
            throw ECGDataError(.unsupported, path, "--units '\(options.units)' is not a voltage unit (mV, uV, V)")
        }
        guard options.samplingRate > 0, options.samplingRate.isFinite,
              options.samplingRate == Double(ECGPreprocessing.samplingRate)
                || PolyphaseResampler(from: options.samplingRate, to: Double(ECGPreprocessing.samplingRate)) != nil else {
            throw ECGDataError(.unsupported, path, "cannot resample --fs \(options.samplingRate) Hz to \(ECGPreprocessing.samplingRate) Hz")
        }
        let normalizedLeads = options.leadNames.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let duplicate = Dictionary(grouping: normalizedLeads, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ECGDataError(.unsupported, path, "--leads names lead '\(duplicate)' twice")
        }
        let leadIndices = try ECGPreprocessing.standardLeadIndices(signalNames: options.leadNames, path: path)
        let file = try NPYFile(path: path)
        let shape = file.header.shape
        let layout = try signalLayout(shape: shape, leadCount: options.leadNames.count, given: options.layout, path: path)
        let count = shape[0]
        let sampleCount = layout == .ntl ? shape[1] : shape[2]
        let sourceLeads = options.leadNames.count

        let table = try LabelTable.load(path: options.labelsPath, idColumn: options.idColumn, foldColumn: options.foldColumn,
                                        labelColumns: options.labelColumns)
        let ids = try recordIDs(path: options.idsPath, count: count, signalsPath: path)
        let tableRows = try table.rows(forRecordIDs: ids, signalsPath: path, idColumn: options.idColumn)
        let width = table.labelNames.count
        var labels = [UInt8](repeating: 0, count: count * width)
        for (i, r) in tableRows.enumerated() { for j in 0..<width { labels[i * width + j] = table.labels[r * width + j] } }
        // Evaluation leaves records without a positive label out of a task (as PTB-XL's benchmark
        // does), so a CSV of one "disease" column alone would lose every negative record.
        let unlabelled = (0..<count).filter { i in !(0..<width).contains { labels[i * width + $0] != 0 } }.count
        var summaryWarnings: [String] = []
        if unlabelled > 0 {
            let warning = "\(options.labelsPath): \(unlabelled) of \(count) records have no positive label; eval leaves them out of task '\(task)' (add a column for the negative class, e.g. 'other', to keep them)"
            summaryWarnings.append(warning)
            log("warning: \(warning)")
        }
        let folds: [Int32]
        if let given = table.folds {
            folds = tableRows.map { given[$0] }
        } else {
            folds = StratifiedSplit.folds(labels: labels, labelCount: width, count: count, seed: options.splitSeed)
        }
        // Numeric record ids when every id is an integer (the usual case), else the row index.
        let numericIDs = ids.compactMap { Int64($0) }
        let recordIDs = numericIDs.count == count ? numericIDs : (0..<count).map(Int64.init)

        let writer = try CorpusWriter(path: options.out, source: "npy:\((path as NSString).lastPathComponent)",
                                      tasks: [CorpusTaskSpec(name: task, labelNames: table.labelNames)], dtype: options.dtype, batchSize: options.batchSize)
        writer.preprocessing = SourcePreprocessing(length: .center).json
        var summary = PrepareSummary()
        summary.warnings = summaryWarnings
        var resamplers: [Double: PolyphaseResampler] = [:]
        let window = UnsafeMutablePointer<Float>.allocate(capacity: CorpusWriter.samples * CorpusWriter.leads)
        defer { window.deallocate() }
        let recordElements = sampleCount * sourceLeads
        let scale = mvPerUnit
        try writer.writeAll {
            for i in 0..<count {
                let raw = try file.readElements(first: i * recordElements, count: recordElements)
                let place = "\(path) record \(i) (id '\(ids[i])')"
                let leads = try ECGPreprocessing.standardize(sampleCount: sampleCount, rate: options.samplingRate, path: place,
                                                             resamplers: &resamplers) { lead, out, stride in
                    let source = leadIndices[lead]
                    var sawNaN = false
                    for t in 0..<sampleCount {
                        let value = raw[layout == .ntl ? t * sourceLeads + source : source * sampleCount + t]
                        if value.isNaN { sawNaN = true; out[t * stride] = .nan; continue }
                        guard value.isFinite else {
                            throw ECGDataError(.unsupported, path, "record \(i) (id '\(ids[i])'), lead \(options.leadNames[source]), sample \(t) is \(value)")
                        }
                        out[t * stride] = Float(value * scale)
                    }
                    return sawNaN
                }
                summary.warnings += leads.warnings
                leads.warnings.forEach { log("warning: \($0)") }
                let start = ECGPreprocessing.windowStarts(sampleCount: leads.sampleCount, policy: .center)[0]
                try leads.withWindow(start: start, scratch: window) {
                    try writer.add(signal: $0, id: recordIDs[i], name: ids[i], fold: folds[i],
                                   labels: [Array(labels[(i * width)..<((i + 1) * width)])])
                }
                summary.sourceRecords += 1
                summary.rows += 1
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
