import ArgumentParser
import ECGData
import Foundation

/// `ecg-dist prepare {ptbxl|wfdb|npy}`: raw ECG databases → one corpus HDF5 file (docs/hdf5-layout.md).
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert ECG databases into a corpus HDF5 file (12 leads, mV, 500 Hz, 10-s rows).",
        discussion: """
            Every record is reduced to the leads I, II, III, aVR, aVL, aVF, V1-V6 (names matched \
            case-insensitively), converted to mV, NaN gaps interpolated linearly, resampled to 500 Hz \
            (polyphase), optionally high-pass filtered (--highpass), and cut to 10 s = 5000 samples. Records shorter \
            than 10 s are zero-padded at the end or dropped (--short, --min-seconds). Every choice is stored in the \
            corpus attribute 'preprocessing' (shown by ecg-dist info). \
            The output is written to <out>.tmp-<pid> and renamed into place only when complete. \
            ptbxl, wfdb, mimic and code15 also run under mpirun: the ranks share the records and write one corpus \
            (identical to a serial run) through parallel HDF5 (docs/prepare.md).
            """,
        subcommands: [PreparePTBXL.self, PrepareWFDB.self, PrepareNPY.self, PrepareMIMIC.self, PrepareCODE15.self])
}

struct PreparePTBXL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ptbxl",
        abstract: "PTB-XL root (ptbxl_database.csv, scp_statements.csv, records500/) → labelled corpus.",
        discussion: """
            Reads the 500 Hz records (filename_hr), keeps ecg_id, strat_fold and the six benchmark label \
            tasks (all, diagnostic, subdiagnostic, superdiagnostic, form, rhythm). A record longer than \
            10 s keeps its central 10 s. channel_mean/channel_std are computed over folds 1-8.
            """)

    @Option(help: "PTB-XL root folder.") var root: String
    @Option(help: "Output corpus file (.h5).") var out: String
    @Option(help: "Keep only these strat_folds, e.g. 1-8 for a pre-training corpus of PTB-XL's training partition (default: all).")
    var folds: String?
    @Flag(help: "Verify the WFDB checksums of every signal.") var verifyChecksums = false
    @OptionGroup var storage: PrepareStorageOptions

    func run() throws {
        let folds = try folds.map { try parseFolds($0, flag: "--folds") }
        guard let summary = try runPrepare(storage, { run in
            try CorpusPreparer.preparePTBXL(root: root, out: out, folds: folds, verifyChecksums: verifyChecksums,
                                            run: run, log: { printError($0) })
        }) else { return }
        print(String(format: "wrote %@: %d records in %.2f s (%.0f records/s)", out, summary.rows, summary.seconds,
                     summary.recordsPerSecond))
    }
}

struct PrepareWFDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wfdb",
        abstract: "Folders of WFDB records (searched recursively for .hea) → unlabelled pre-training corpus.",
        discussion: """
            Reads .dat (formats 16, 212, 80, 24, 32, 61) and MATLAB v4 .mat signal files (PhysioNet/CinC \
            2020-2021). Length policy 'split' (default) cuts a record into consecutive non-overlapping 10-s \
            windows and drops a final part shorter than 10 s; 'center' keeps only the central 10 s. Rows get \
            strat_fold 0 and running record ids; channel_mean/channel_std cover all records.
            """)

    @Option(name: .customLong("dir"), help: "Folder of WFDB records; repeat for several.") var directories: [String] = []
    @Option(help: "Output corpus file (.h5).") var out: String
    @Flag(help: "Add the records to the existing corpus at --out instead of replacing it.") var append = false
    @Option(help: "Records longer than 10 s: split | center.") var length: String = "split"
    @OptionGroup var preprocessing: SourcePreprocessingOptions
    @Flag(help: "Keep the '# Dx:' SNOMED codes of Challenge 2020/2021 headers as label task 'dx' (one column per code seen).")
    var dxLabels = false
    @Option(help: "With --dx-labels: these codes as the columns, comma-separated, in this order (others are ignored).")
    var dxCodes: String?
    @Flag(help: "Warn about and skip unreadable records instead of stopping.") var skipBad = false
    @Flag(help: "Verify the WFDB checksums of every signal.") var verifyChecksums = false
    @OptionGroup var storage: PrepareStorageOptions

    func validate() throws {
        guard !directories.isEmpty else { throw ValidationError("give at least one --dir") }
        _ = try preprocessing.resolve(length: length, defaultHighpass: nil, defaultShort: .pad)
        guard dxCodes == nil || dxLabels else { throw ValidationError("--dx-codes needs --dx-labels") }
    }

    func run() throws {
        guard let summary = try runPrepare(storage, { run in
            try CorpusPreparer.prepareWFDB(
                directories: directories, out: out, append: append,
                options: try preprocessing.resolve(length: length, defaultHighpass: nil, defaultShort: .pad),
                dxLabels: dxLabels, dxCodes: dxCodes.map(PrepareNPY.list), skipBad: skipBad,
                verifyChecksums: verifyChecksums, run: run, log: { printError($0) })
        }) else { return }
        printPrepareSummary(summary, out: out, appended: append)
    }
}

struct PrepareNPY: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "npy",
        abstract: "Your own data: a .npy array of ECGs + a labels CSV → labelled corpus with one task (docs/own-data.md).",
        discussion: """
            Signals: (records, samples, leads) or (records, leads, samples), float32/float64/int16 (little-endian, \
            C order). Record i has id i, or the i-th id of --ids. Labels CSV: an id column, optional fold \
            column (1-8 train, 9 val, 10 test), and 0/1 label columns (all other columns, or --label-columns). \
            Without a fold column the records get a seeded stratified 8/1/1 split into folds 1-10 \
            (stratified by each record's rarest positive label). Records are resampled to 500 Hz and cut \
            to their central 10 s (zero-padded when shorter), like WFDB records.
            """)

    @Option(help: "Signals .npy file.") var signals: String
    @Option(help: "Sampling rate of the signals (Hz).") var fs: Double
    @Option(help: "Lead names of the lead axis in order, comma-separated (e.g. I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6).")
    var leads: String
    @Option(help: "NTL = (records, samples, leads), NLT = (records, leads, samples); default: from the shape.")
    var layout: String?
    @Option(help: "Units of the values: mV, uV or V.") var units = "mV"
    @Option(help: "Labels CSV (header row; one row per record).") var labels: String
    @Option(help: "CSV column holding the record id.") var idColumn: String
    @Option(help: "CSV column holding the fold 1-10 (default: a seeded stratified split).") var foldColumn: String?
    @Option(help: "Label columns, comma-separated (default: every column except id and fold).") var labelColumns: String?
    @Option(help: "Name of the label task in the corpus (eval --task NAME).") var taskName = "labels"
    @Option(help: "Record ids in signal order: .npy of integers or a text file with one id a line (default: 0, 1, ...).")
    var ids: String?
    @Option(help: "Seed of the stratified split.") var splitSeed: UInt64 = 0
    @Option(help: "Output corpus file (.h5).") var out: String
    @OptionGroup var storage: PrepareStorageOptions

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        if let layout, NPYSignalLayout(rawValue: layout.uppercased()) == nil {
            throw ValidationError("--layout must be NTL or NLT, not '\(layout)'")
        }
        guard !Self.list(leads).isEmpty else { throw ValidationError("--leads names no lead") }
    }

    func run() throws {
        var options = NPYPrepareOptions(signalsPath: signals, samplingRate: fs, leadNames: Self.list(leads), labelsPath: labels,
                                        idColumn: idColumn, out: out)
        options.layout = layout.flatMap { NPYSignalLayout(rawValue: $0.uppercased()) }
        options.units = units
        options.foldColumn = foldColumn
        options.labelColumns = labelColumns.map(Self.list)
        options.taskName = taskName
        options.idsPath = ids
        options.splitSeed = splitSeed
        options.dtype = storage.signalDType
        options.batchSize = storage.batch
        try requireSingleProcess("prepare npy")
        let summary = try CorpusPreparer.prepareNPY(options, log: { printError($0) })
        print(String(format: "wrote %@: %d records, task '%@' in %.2f s (%.0f records/s)", out, summary.rows, taskName,
                     summary.seconds, summary.recordsPerSecond))
    }
}

/// Writes one line to stderr (warnings, so stdout stays the result).
func printError(_ line: String) {
    FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
}
