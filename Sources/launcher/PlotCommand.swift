import ArgumentParser
import ECGData
import Foundation
import Model

/// `ecg-dist plot {metrics|record}`: SVG figures, written in pure Swift.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Write SVG plots: training curves from a metrics JSONL, or one corpus record on ECG paper.",
        subcommands: [PlotMetrics.self, PlotRecord.self])
}

struct PlotMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Training loss, learning rate and eval AUC over steps from a metrics JSONL file.",
        discussion: """
            Reads lines like {"step": 10, "loss": 0.5, "lr": 1e-4} and \
            {"step": 100, "eval": {"<task>": {"test_auc": 0.8}}}; other keys are ignored, and every \
            eval key containing "auc" becomes a curve.
            """)

    @Option(help: "Metrics JSONL file.") var jsonl: String
    @Option(help: "Output SVG file.") var out: String
    @Option(help: "Plot title (default: the JSONL file name).") var title: String?

    func run() throws {
        let series = try MetricsSeries.read(path: jsonl)
        guard !series.isEmpty else {
            throw FileError(jsonl, "no lines with a numeric step and loss, lr or eval AUC values")
        }
        let doc = try MetricsPlot.render(series, title: title ?? (jsonl as NSString).lastPathComponent)
        try doc.write(to: out)
        print("wrote \(out): \(series.loss.count) loss, \(series.lr.count) lr points, \(series.eval.count) eval curve(s)")
    }
}

struct PlotRecord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "One record of a corpus HDF5 file as a 12-lead ECG (25 mm/s, 10 mm/mV, lead II rhythm strip).")

    @Option(help: "Corpus HDF5 file.") var data: String
    @Option(help: "Row of the record (0-based).") var index: Int
    @Option(help: "Output SVG file.") var out: String

    func run() throws {
        let corpus = try CorpusReader(path: data)
        guard (0..<corpus.count).contains(index) else {
            throw FileError(data, "--index \(index) is out of range: the corpus has \(corpus.count) records (0..<\(corpus.count))")
        }
        guard corpus.leads == 12 else { throw FileError(data, "record plot needs 12 leads, corpus has \(corpus.leads)") }
        var signal = [Float](repeating: 0, count: corpus.recordElements)
        try signal.withUnsafeMutableBufferPointer { try corpus.readSignals(rows: index..<(index + 1), into: $0.baseAddress!) }
        let names = (try? corpus.recordNames()) ?? []
        let name = index < names.count ? names[index] : "row \(index)"
        // Labels of the most informative task present (synth, then PTB-XL 'all', else the first).
        var labelText = ""
        if let task = ["synth", "all"].first(where: corpus.taskNames.contains) ?? corpus.taskNames.first {
            let (labelNames, matrix) = try corpus.labels(task: task)
            let row = matrix[(index * labelNames.count)..<((index + 1) * labelNames.count)]
            let positive = zip(labelNames, row).filter { $0.1 != 0 }.map(\.0)
            labelText = "\(task): " + (positive.isEmpty ? "(none)" : positive.joined(separator: ", "))
        }
        let fold = index < corpus.folds.count ? corpus.folds[index] : 0
        let title = "\(name)   (\(corpus.source), row \(index), fold \(fold))"
        let doc = try ECGRecordPlot.render(signal: signal, sampleRate: corpus.samplingRate, leadNames: corpus.leadNames,
                                           title: title, subtitle: labelText)
        try doc.write(to: out)
        print("wrote \(out)")
    }
}
