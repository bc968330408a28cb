import ArgumentParser
import ECGData
import Foundation

/// `ecg-dist info FILE.h5`: what a corpus holds.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise a corpus HDF5 file: records, leads, rate, folds, label counts per task.")

    @Argument(help: "Corpus file (.h5).") var file: String

    func run() throws {
        let corpus = try CorpusReader(path: file)
        print("file           \(file)")
        print("source         \(corpus.source)")
        print("records        \(corpus.count)")
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
}
