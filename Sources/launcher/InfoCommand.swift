import ArgumentParser
import ECGData
import Foundation

/// `ecg-dist info FILE.h5`: what a corpus holds.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise a corpus HDF5 file: records, leads, rate, folds, label counts per task.",
        discussion: """
            `ecg-dist info --overlap A.h5 B.h5` instead reports the records of A whose signal equals a \
            record of B (content hashes: samples rounded to 1 µV), per fold of B, and lists the first \
            pairs; `--folds 9,10` counts only B's records in those folds.
            """)

    @Argument(help: "Corpus file (.h5); with --overlap two files.") var files: [String]
    @Flag(help: "Report records of the first corpus that also occur in the second.") var overlap = false
    @Option(help: "With --overlap: only records of the second corpus in these folds (e.g. 9,10).") var folds: String?

    func validate() throws {
        if overlap {
            guard files.count == 2 else { throw ValidationError("--overlap compares two corpora: info --overlap A.h5 B.h5") }
        } else {
            guard files.count == 1 else { throw ValidationError("info takes one corpus file (or --overlap A.h5 B.h5)") }
            guard folds == nil else { throw ValidationError("--folds needs --overlap") }
        }
    }

    func run() throws {
        if overlap { return try reportOverlap() }
        let file = files[0]
        let corpus = try CorpusReader(path: file)
        print("file           \(file)")
        print("source         \(corpus.source)")
        print("preprocessing  \((try? corpus.file.attributes.string("preprocessing")) ?? "not recorded (file written before ecg-dist recorded it, or by another tool)")")
        print("records        \(corpus.count)")
        print("signals dtype  \(corpus.storedDType) (read as float32)")
        print("samples        \(corpus.samples) (\(String(format: "%.1f", Double(corpus.samples) / Double(max(corpus.samplingRate, 1)))) s)")
        print("sampling rate  \(corpus.samplingRate) Hz")
        print("leads          \(corpus.leads): \(corpus.leadNames.joined(separator: " "))")
        print("channel mean   \(corpus.channelMean.map { String(format: "%.4f", $0) }.joined(separator: " "))")
        print("channel std    \(corpus.channelStd.map { String(format: "%.4f", $0) }.joined(separator: " "))")
        var histogram: [Int32: Int] = [:]
        for fold in corpus.folds { histogram[fold, default: 0] += 1 }
        print("folds          " + histogram.keys.sorted().map { "\($0):\(histogram[$0]!)" }.joined(separator: " "))
        if corpus.taskNames.isEmpty { print("labels         none") }
        for task in corpus.taskNames {
            let (names, matrix) = try corpus.labels(task: task)
            var positives = [Int](repeating: 0, count: names.count)
            var labelled = 0
            for row in 0..<corpus.count {
                var any = false
                for column in 0..<names.count where matrix[row * names.count + column] != 0 {
                    positives[column] += 1
                    any = true
                }
                if any { labelled += 1 }
            }
            let present = zip(names, positives).filter { $0.1 > 0 }.map { "\($0.0)=\($0.1)" }
            print("task \(task): \(names.count) labels, \(labelled)/\(corpus.count) records labelled")
            print("    " + (present.isEmpty ? "(no positives)" : present.joined(separator: " ")))
        }
    }

    func reportOverlap() throws {
        let a = try CorpusReader(path: files[0]), b = try CorpusReader(path: files[1])
        let foldSet = try folds.map { try parseFolds($0, flag: "--folds") }
        let found = try CorpusOverlap(a, b, folds: foldSet)
        let scope = foldSet.map { " (folds \($0.sorted().map(String.init).joined(separator: ",")))" } ?? ""
        print("\(files[0]): \(a.count) records; \(files[1])\(scope): compared by content hash")
        var perFold: [Int32: Int] = [:]
        for m in found.matches { perFold[m.otherFold, default: 0] += 1 }
        print("duplicates     \(found.matches.count) of \(a.count) records of \(files[0]) occur in \(files[1])\(scope)")
        if !perFold.isEmpty {
            print("by fold        " + perFold.keys.sorted().map { "\($0):\(perFold[$0]!)" }.joined(separator: " "))
            print("first          " + found.summary(limit: 10))
        }
    }
}

/// "9,10" or "1-8" or "1-8,10" → the fold numbers.
func parseFolds(_ text: String, flag: String) throws -> Set<Int32> {
    var folds = Set<Int32>()
    for part in text.split(separator: ",") {
        let ends = part.split(separator: "-", omittingEmptySubsequences: false).map { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(ends.count), let lo = ends.first!, let hi = ends.last!, lo <= hi else {
            throw ValidationError("\(flag): '\(part)' is not a fold number or range (e.g. 9,10 or 1-8)")
        }
        for f in lo...hi { folds.insert(f) }
    }
    guard !folds.isEmpty else { throw ValidationError("\(flag): no folds given") }
    return folds
}
