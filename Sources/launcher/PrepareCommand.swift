import ArgumentParser
import ECGData
import Foundation

/// `ecg-dist prepare {ptbxl|wfdb}`: raw ECG databases → one corpus HDF5 file (docs/hdf5-layout.md).
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert ECG databases into a corpus HDF5 file (12 leads, mV, 500 Hz, 10-s rows).",
        discussion: """
            Every record is reduced to the leads I, II, III, aVR, aVL, aVF, V1-V6 (names matched \
            case-insensitively), converted to mV, NaN gaps interpolated linearly, resampled to 500 Hz \
            (polyphase), and cut to 10 s = 5000 samples. Records shorter than 10 s are zero-padded at the end. \
            The output is written to <out>.tmp-<pid> and renamed into place only when complete.
            """,
        subcommands: [PreparePTBXL.self, PrepareWFDB.self])
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

    func run() throws {
        let summary = try CorpusPreparer.preparePTBXL(root: root, out: out, folds: try folds.map { try parseFolds($0, flag: "--folds") },
                                                      verifyChecksums: verifyChecksums,
                                                      log: { printError($0) })
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
    @Flag(help: "Warn about and skip unreadable records instead of stopping.") var skipBad = false
    @Flag(help: "Verify the WFDB checksums of every signal.") var verifyChecksums = false

    func validate() throws {
        guard !directories.isEmpty else { throw ValidationError("give at least one --dir") }
        guard ECGPreprocessing.LengthPolicy(rawValue: length) != nil else {
            throw ValidationError("--length must be split or center, not '\(length)'")
        }
    }

    func run() throws {
        let summary = try CorpusPreparer.prepareWFDB(
            directories: directories, out: out, append: append,
            policy: ECGPreprocessing.LengthPolicy(rawValue: length)!, skipBad: skipBad,
            verifyChecksums: verifyChecksums, log: { printError($0) })
        print(String(format: "%@ %@: %d records → %d rows in %.2f s (%.0f records/s)%@", append ? "appended to" : "wrote", out,
                     summary.sourceRecords, summary.rows, summary.seconds, summary.recordsPerSecond,
                     summary.skipped > 0 ? ", \(summary.skipped) skipped" : ""))
    }
}

/// Writes one line to stderr (warnings, so stdout stays the result).
func printError(_ line: String) {
    FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
}
