import ArgumentParser
import ECGData
import Foundation

/// Per-source preprocessing flags shared by `prepare wfdb|mimic|code15` (SourcePreprocessing).
/// Unset flags take the subcommand's default, which is the paper's choice for that source.
struct SourcePreprocessingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Baseline-wander removal: zero-phase 2nd-order Butterworth high-pass at this cutoff (Hz), e.g. 0.5; 0 = off.",
                               valueName: "hz"))
    var highpass: Double?
    @Option(help: ArgumentHelp("Drop records shorter than this many seconds (whatever --short says).", valueName: "seconds"))
    var minSeconds: Double?
    @Option(help: "Records shorter than 10 s: pad (zeros at the end) | drop.")
    var short: String?

    func resolve(length: String, defaultHighpass: Double?, defaultShort: SourcePreprocessing.ShortRecords,
                 trimZeroPadding: Bool = false) throws -> SourcePreprocessing {
        guard let policy = ECGPreprocessing.LengthPolicy(rawValue: length) else {
            throw ValidationError("--length must be split or center, not '\(length)'")
        }
        var shortRule = defaultShort
        if let short {
            guard let rule = SourcePreprocessing.ShortRecords(rawValue: short) else {
                throw ValidationError("--short must be pad or drop, not '\(short)'")
            }
            shortRule = rule
        }
        let cutoff = highpass ?? defaultHighpass
        if let cutoff, !(cutoff >= 0 && cutoff < 250) {
            throw ValidationError("--highpass must be 0 (off) or a cutoff below 250 Hz, not \(cutoff)")
        }
        if let minSeconds, !(minSeconds >= 0 && minSeconds.isFinite) {
            throw ValidationError("--min-seconds must be 0 or more, not \(minSeconds)")
        }
        return SourcePreprocessing(highpassHz: cutoff == 0 ? nil : cutoff, length: policy, short: shortRule,
                                   minSeconds: minSeconds ?? 0, trimZeroPadding: trimZeroPadding)
    }
}

struct PrepareMIMIC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mimic",
        abstract: "MIMIC-IV-ECG root (record_list.csv + files/p*/p*/s*/*.hea) → unlabelled pre-training corpus.",
        discussion: """
            Reads the records in record_list.csv order (500 Hz, 10 s, WFDB format 16). record_ids = study_id, \
            record_names = p<subject_id>/s<study_id>, strat_fold 0. Defaults as in the paper: no high-pass, \
            records shorter than 10 s dropped, a longer one keeps its central 10 s.
            """)

    @Option(help: "MIMIC-IV-ECG root folder (holding record_list.csv).") var root: String
    @Option(help: "Output corpus file (.h5).") var out: String
    @Option(help: "Records longer than 10 s: split | center.") var length: String = "center"
    @OptionGroup var preprocessing: SourcePreprocessingOptions
    @Flag(help: "Warn about and skip unreadable records instead of stopping.") var skipBad = false
    @Flag(help: "Verify the WFDB checksums of every signal.") var verifyChecksums = false
    @OptionGroup var storage: PrepareStorageOptions

    func options() throws -> SourcePreprocessing {
        try preprocessing.resolve(length: length, defaultHighpass: nil, defaultShort: .drop)
    }
    func validate() throws { _ = try options() }

    func run() throws {
        let options = try options()
        guard let summary = try runPrepare(storage, { run in
            try CorpusPreparer.prepareMIMIC(root: root, out: out, options: options, skipBad: skipBad,
                                            verifyChecksums: verifyChecksums, run: run, log: { printError($0) })
        }) else { return }
        printPrepareSummary(summary, out: out, appended: false)
    }
}

struct PrepareCODE15: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code15",
        abstract: "CODE-15% root (exams.csv + exams_part*.hdf5) → corpus with task 'code15' (1dAVb RBBB LBBB SB ST AF).",
        discussion: """
            Reads each exam's (4096, 12) tracing in exams.csv order from its trace_file (HDF5; under mpirun \
            each rank opens the parts and reads its share of the exams), \
            cuts the zero padding (first to last sample where any lead is non-zero), resamples 400 -> 500 Hz. \
            Defaults as in the paper: baseline wander removed (--highpass 0.5), exams shorter than 10 s dropped \
            (--short drop; the 7.3-s exams), the 10.24-s exams keep their central 10 s. \
            record_ids = exam_id, record_names = <trace_file>/<exam_id>, strat_fold 0.
            """)

    @Option(help: "CODE-15% root folder (holding exams.csv and the exams_part*.hdf5 files).") var root: String
    @Option(help: "Output corpus file (.h5).") var out: String
    @Option(help: "Records longer than 10 s: split | center.") var length: String = "center"
    @OptionGroup var preprocessing: SourcePreprocessingOptions
    @Flag(help: "Keep the zero padding (no trim) — only for checking the reader.") var keepPadding = false
    @Flag(help: "Leave out the exams.csv diagnosis columns (no label task).") var noLabels = false
    @OptionGroup var storage: PrepareStorageOptions

    func options() throws -> SourcePreprocessing {
        try preprocessing.resolve(length: length, defaultHighpass: 0.5, defaultShort: .drop, trimZeroPadding: !keepPadding)
    }
    func validate() throws { _ = try options() }

    func run() throws {
        let options = try options()
        guard let summary = try runPrepare(storage, { run in
            try CorpusPreparer.prepareCODE15(root: root, out: out, options: options, labels: !noLabels, run: run,
                                             log: { printError($0) })
        }) else { return }
        printPrepareSummary(summary, out: out, appended: false)
    }
}

/// The closing line of `prepare wfdb|mimic|code15`.
func printPrepareSummary(_ summary: PrepareSummary, out: String, appended: Bool) {
    var notes: [String] = []
    if summary.skipped > 0 { notes.append("\(summary.skipped) skipped") }
    if summary.dropped > 0 { notes.append("\(summary.dropped) dropped as too short") }
    print(String(format: "%@ %@: %d records → %d rows in %.2f s (%.0f records/s)%@", appended ? "appended to" : "wrote", out,
                 summary.sourceRecords, summary.rows, summary.seconds, summary.recordsPerSecond,
                 notes.isEmpty ? "" : ", " + notes.joined(separator: ", ")))
}
