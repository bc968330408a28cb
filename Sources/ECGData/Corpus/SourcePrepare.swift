import Foundation

/// The last steps every source shares once a record is standardized (12 leads, mV, 500 Hz):
/// the optional high-pass, the length rule, and the 10-s rows handed to the writer.
struct SourceRowEmitter {
    let options: SourcePreprocessing
    let highPass: ZeroPhaseHighPass?
    let window: UnsafeMutablePointer<Float>

    init(options: SourcePreprocessing) {
        self.options = options
        highPass = options.highPass
        window = .allocate(capacity: CorpusWriter.samples * CorpusWriter.leads)
    }

    func release() { window.deallocate() }

    /// Writes the rows of one record (several windows are named `<name>#k`); a record the length
    /// rule drops is counted in `summary.dropped` and logged. Returns the rows written.
    @discardableResult
    func emit(_ leads: inout ECGPreprocessing.StandardLeads, sourceSeconds: Double, name: String, id: Int64?, fold: Int32 = 0,
              labels: [[UInt8]], writer: CorpusWriter, summary: inout PrepareSummary, log: (String) -> Void) throws -> Int {
        summary.warnings += leads.warnings
        leads.warnings.forEach { log("warning: \($0)") }
        summary.sourceRecords += 1
        guard let starts = options.windowStarts(sourceSeconds: sourceSeconds, sampleCount: leads.sampleCount) else {
            summary.dropped += 1
            if summary.dropped <= 5 { log("note: dropped \(name): \(options.dropReason(sourceSeconds: sourceSeconds))") }
            return 0
        }
        options.filter(&leads, with: highPass)
        for (index, start) in starts.enumerated() {
            try leads.withWindow(start: start, scratch: window) {
                try writer.add(signal: $0, id: id, name: starts.count > 1 ? "\(name)#\(index)" : name, fold: fold, labels: labels)
            }
            summary.rows += 1
        }
        return starts.count
    }
}

extension CorpusPreparer {
    /// MIMIC-IV-ECG root (record_list.csv + files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.hea) → unlabelled
    /// corpus: records in record_list.csv order, record_ids = study_id, record_names =
    /// `p<subject_id>/s<study_id>`, fold 0. The records are 10 s at 500 Hz; any other length or
    /// rate goes through the same rules as every source (`options`). Under a group (`run.group`)
    /// the ranks share the list as `prepare wfdb` does (CorpusPreparer.runRounds).
    public static func prepareMIMIC(root: String, out: String, options: SourcePreprocessing = SourcePreprocessing(length: .center),
                                    skipBad: Bool = false, verifyChecksums: Bool = false, run: PrepareRun = PrepareRun(),
                                    log: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        try options.validate(root)
        let list = try MIMICRecordList.load(root: root)
        let writer = try CorpusWriter(path: out, source: "mimic-iv-ecg", tasks: [], dtype: run.dtype, batchSize: run.batchSize,
                                      group: run.group)
        writer.preprocessing = options.json
        var summary = PrepareSummary()
        var resamplers: [Double: PolyphaseResampler] = [:]
        let emitter = SourceRowEmitter(options: options)
        defer { emitter.release() }
        try writer.writeAll {
            try runRounds(total: list.entries.count, writer: writer, run: run) { index in
                let entry = list.entries[index]
                let header = (root as NSString).appendingPathComponent(entry.path + ".hea")
                var leads: ECGPreprocessing.StandardLeads
                do {
                    leads = try ECGPreprocessing.standardize(headerPath: header, verifyChecksums: verifyChecksums, resamplers: &resamplers)
                } catch let error as ECGDataError where skipBad {
                    summary.skipped += 1
                    summary.warnings.append("skipped \(error.description)")
                    log("warning: skipped \(error.description)")
                    return
                }
                try emitter.emit(&leads, sourceSeconds: leads.seconds, name: "p\(entry.subjectID)/s\(entry.studyID)", id: entry.studyID,
                                 labels: [], writer: writer, summary: &summary, log: log)
            }
            try summary.sumOverRanks(run.group)
            if summary.rows == 0 {
                throw ECGDataError(.missingRecord, list.listPath, "no usable records (\(summary.skipped) skipped, \(summary.dropped) too short)")
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// CODE-15% root (exams.csv + exams_part*.hdf5) → corpus with the optional task `code15` (the six
    /// diagnosis columns of exams.csv). Each tracing is cut to its non-zero part (`trimZeroPadding`),
    /// resampled 400 → 500 Hz and put through `options`; record_ids = exam_id, names =
    /// `<trace_file>/<exam_id>`. The paper keeps only the complete 10.24-s exams: `--short drop`.
    /// Under a group every rank opens the parts itself (read-only) and reads only its own exams.
    public static func prepareCODE15(root: String, out: String,
                                     options: SourcePreprocessing = SourcePreprocessing(highpassHz: 0.5, length: .center, short: .drop,
                                                                                        trimZeroPadding: true),
                                     labels: Bool = true, run: PrepareRun = PrepareRun(),
                                     log: (String) -> Void = { _ in }) throws -> PrepareSummary {
        let started = Date()
        try options.validate(root)
        let archive = try CODE15Archive(root: root)
        let tasks = labels && !archive.labelNames.isEmpty ? [CorpusTaskSpec(name: "code15", labelNames: archive.labelNames)] : []
        let writer = try CorpusWriter(path: out, source: "code-15", tasks: tasks, dtype: run.dtype, batchSize: run.batchSize,
                                      group: run.group)
        writer.preprocessing = options.json
        var summary = PrepareSummary()
        var resamplers: [Double: PolyphaseResampler] = [:]
        let emitter = SourceRowEmitter(options: options)
        defer { emitter.release() }
        let width = CODE15Archive.leadNames.count
        try writer.writeAll {
            try runRounds(total: archive.exams.count, writer: writer, run: run) { index in
                let exam = archive.exams[index]
                let tracing = try archive.tracing(exam)
                let name = "\(exam.traceFile)/\(exam.examID)"
                let part = (root as NSString).appendingPathComponent(exam.traceFile)
                let range: Range<Int>
                if options.trimZeroPadding {
                    guard let found = tracing.withUnsafeBufferPointer({
                        CODE15Archive.recordRange($0.baseAddress!, samples: archive.tracingSamples, leads: width)
                    }) else {
                        summary.sourceRecords += 1
                        summary.dropped += 1
                        log("note: dropped \(name): every sample is zero")
                        return
                    }
                    range = found
                } else {
                    range = 0..<archive.tracingSamples
                }
                // The tracing's frames are the 12 standard leads in order (CODE15Archive.leadNames).
                var leads = try tracing.withUnsafeBufferPointer { all in
                    try ECGPreprocessing.standardize(frames: all.baseAddress! + range.lowerBound * width, sampleCount: range.count,
                                                     rate: CODE15Archive.samplingRate, path: "\(part) exam_id \(exam.examID)",
                                                     resamplers: &resamplers)
                }
                try emitter.emit(&leads, sourceSeconds: Double(range.count) / CODE15Archive.samplingRate, name: name,
                                 id: exam.examID, labels: tasks.isEmpty ? [] : [exam.labels], writer: writer,
                                 summary: &summary, log: log)
            }
            try summary.sumOverRanks(run.group)
            if summary.rows == 0 {
                throw ECGDataError(.missingRecord, archive.csvPath, "no usable exams (\(summary.dropped) too short or empty)")
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// The `dx` task of PhysioNet/CinC 2020–2021 records: one column per SNOMED code, either `codes`
    /// in that order or every code any header names (sorted numerically). Reads only the headers.
    public static func challengeDxTask(headers: [String], codes: [String]?) throws -> CorpusTaskSpec {
        if let codes {
            guard !codes.isEmpty else { throw ECGDataError(.unsupported, "--dx-codes", "no codes given") }
            return CorpusTaskSpec(name: "dx", labelNames: codes)
        }
        var seen = Set<String>()
        for header in headers { seen.formUnion(challengeDxCodes(try WFDBHeader.load(path: header))) }
        guard !seen.isEmpty else {
            throw ECGDataError(.missingRecord, headers.first ?? "--dir", "no header has a '# Dx:' line (not a Challenge 2020/2021 set?)")
        }
        let sorted = seen.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) }
        return CorpusTaskSpec(name: "dx", labelNames: sorted)
    }

    /// One record's row of the `dx` task.
    static func dxRow(_ header: WFDBHeader, task: CorpusTaskSpec) -> [UInt8] {
        let codes = Set(challengeDxCodes(header))
        return task.labelNames.map { codes.contains($0) ? 1 : 0 }
    }
}
