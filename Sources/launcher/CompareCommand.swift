import ArgumentParser
import ECGData
import Evaluation
import Foundation
import Model

/// `ecg-dist compare`: a pre-trained encoder's evaluation next to the random-init baseline's.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Pre-trained vs random init: one table (task | mode | pre-trained | random init | difference) from two eval.json files.",
        discussion: """
            Both files come from `ecg-dist eval --out DIR` with the same protocol flags, one on a \
            checkpoint and one with --random-init; rows are matched by task and mode, and a warning \
            names any setting in which the two runs differ. Test macro AUC (fold 10); mean ± sd with \
            two or more seeds, the number alone with one. Prints the table and one sentence stating \
            the result; with --out writes compare.md, compare.json and compare.svg (test AUC bars per \
            task, plus the pre-training loss curve when --metrics is given).
            """)

    @Argument(help: "eval.json of the pre-trained encoder.") var pretrained: String
    @Argument(help: "eval.json of the baseline (ecg-dist eval --random-init).") var baseline: String
    @Option(help: "Pre-training metrics.jsonl: its loss curve goes into compare.svg.") var metrics: String?
    @Option(help: "Directory for compare.md, compare.json and compare.svg.") var out: String?
    @Option(help: "The task the result sentence is about (default: the only row, or a count over all rows).")
    var summaryTask: String?
    @Option(help: "Title of compare.svg.") var title = "JEPA pre-training vs random init"

    func run() throws {
        let a = try EvalReport.read(path: pretrained)
        let b = try EvalReport.read(path: baseline)
        var comparison = try EvalComparison(pretrained: a, baseline: b, pretrainedPath: pretrained, baselinePath: baseline)
        if let summaryTask, !comparison.rows.contains(where: { $0.task == summaryTask }) {
            throw ValidationError("--summary-task \(summaryTask): no such task in both files (\(comparison.rows.map(\.task).joined(separator: ", ")))")
        }
        comparison.summaryTask = summaryTask
        print(comparison.markdown, terminator: "")
        guard let out else { return }
        try comparison.write(toDirectory: out)
        let loss = try metrics.map { try MetricsSeries.read(path: $0) }
        if let metrics, loss?.loss.isEmpty ?? true { throw FileError(metrics, "no lines with a numeric step and loss") }
        let groups = comparison.rows.map { r in
            BarGroup(label: comparison.rows.count > 1 && Set(comparison.rows.map(\.mode)).count > 1 ? "\(r.task) \(r.mode.rawValue)" : r.task,
                     values: [r.pretrained, r.baseline].map { (mean: $0.mean, spread: $0.count >= 2 ? $0.std : nil) })
        }
        let subtitle = "\(comparison.model), test macro AUC (fold 10) of \(a.data); "
            + (comparison.seeds >= 2 ? "bars: mean, whiskers: ± sd over \(comparison.seeds) seeds" : "1 seed")
        let doc = try ComparisonPlot.render(title: title, subtitle: subtitle, loss: loss,
                                            seriesNames: ["pre-trained", "random init"], groups: groups)
        try doc.write(to: "\(out)/compare.svg")
        print("wrote \(out)/compare.md, \(out)/compare.json and \(out)/compare.svg")
    }
}
