import Foundation
import Model

// Pre-trained vs random init in one table: the two `eval.json` files of the same protocol run on
// two encoders, matched row by row (task, mode), with the difference of the test macro AUCs and
// one sentence that states the result without overselling it.

/// One (task, mode) row present in both reports.
public struct ComparisonRow: Codable, Sendable {
    public var task: String
    public var mode: EvalMode
    public var labels: Int
    public var testRecords: Int
    public var scoredLabels: Int
    public var pretrained: MeanStd
    public var baseline: MeanStd
    /// Per-seed test AUC differences (pre-trained − baseline) for seeds present and defined in both.
    public var pairedDifferences: [Double]

    /// Difference of the means; nil when either side has no AUC.
    public var difference: Double? {
        guard let a = pretrained.mean, let b = baseline.mean else { return nil }
        return a - b
    }
}

public struct EvalComparison: Codable, Sendable {
    public var pretrained: String
    public var baseline: String
    public var data: String
    public var model: String
    public var seeds: Int
    public var rows: [ComparisonRow]
    /// Settings in which the two runs differ (then the difference mixes encoder and protocol).
    public var differingSettings: [String]
    /// The task the closing sentence is about (nil: the only row, or a count over all rows).
    public var summaryTask: String?

    /// A difference smaller than this is called small: with a few hundred test records and a
    /// short probe, seeds alone move the macro AUC by about 0.01 (docs/learning.md).
    public static let smallDifference = 0.02

    /// Matches the rows of `pretrained` and `baseline` by (task, mode), in `pretrained`'s order.
    /// `pretrainedPath`/`baselinePath` name the files in errors.
    public init(pretrained a: EvalReport, baseline b: EvalReport, pretrainedPath: String, baselinePath: String) throws {
        pretrained = a.checkpoint
        baseline = b.randomInit ? "random init" : b.checkpoint
        data = a.data
        model = a.model
        seeds = min(a.options.seeds, b.options.seeds)
        differingSettings = EvalComparison.differences(a.options, b.options)
        if a.data != b.data { differingSettings.insert("data (\(a.data) vs \(b.data))", at: 0) }
        if a.model != b.model { differingSettings.insert("model (\(a.model) vs \(b.model))", at: 0) }
        var rows: [ComparisonRow] = []
        for r in a.results {
            guard let s = b.results.first(where: { $0.task == r.task && $0.mode == r.mode }) else { continue }
            let baselineBySeed = Dictionary(s.seeds.map { ($0.seed, $0.testAUC) }, uniquingKeysWith: { x, _ in x })
            let paired = r.seeds.compactMap { seed -> Double? in
                guard let x = seed.testAUC, let y = baselineBySeed[seed.seed] ?? nil else { return nil }
                return x - y
            }
            rows.append(ComparisonRow(task: r.task, mode: r.mode, labels: r.labelNames.count, testRecords: r.testRecords,
                                      scoredLabels: r.scoredLabels, pretrained: r.test, baseline: s.test,
                                      pairedDifferences: paired))
        }
        guard !rows.isEmpty else {
            let have = { (r: EvalReport) in r.results.map { "\($0.task)/\($0.mode.rawValue)" }.joined(separator: ", ") }
            throw FileError(baselinePath, "shares no task/mode with \(pretrainedPath) (\(have(b)) vs \(have(a)))")
        }
        self.rows = rows
        sourceRows = (a.results, b.results)
    }

    /// The evaluation rows behind the table (for the legend); not written to JSON.
    private var sourceRows: ([TaskModeResult], [TaskModeResult]) = ([], [])
    private enum CodingKeys: String, CodingKey {
        case pretrained, baseline, data, model, seeds, rows, differingSettings, summaryTask
    }

    /// Names of the option fields whose values differ, e.g. "linear.steps (500 vs 200)": nested
    /// settings (a mode's protocol) are compared field by field, so the name says which one.
    static func differences(_ a: EvalOptions, _ b: EvalOptions) -> [String] { fieldDifferences(a, b, prefix: "") }

    static func fieldDifferences(_ a: Any, _ b: Any, prefix: String) -> [String] {
        zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children).flatMap { x, y -> [String] in
            let name = prefix + (x.label ?? "?")
            let u = "\(x.value)", v = "\(y.value)"
            if u == v { return [] }
            let inner = Mirror(reflecting: x.value)
            if inner.displayStyle == .struct && !inner.children.isEmpty {
                return fieldDifferences(x.value, y.value, prefix: name + ".")
            }
            return ["\(name) (\(u) vs \(v))"]
        }
    }

    public var markdown: String {
        var lines = ["# Pre-trained vs random init", ""]
        lines.append("Pre-trained: `\(pretrained)` (\(model)). Baseline: \(baseline). Data: `\(data)`. "
                     + "Test macro ROC-AUC (fold 10), the same probe settings and seeds for both encoders. "
                     + EvalReport.seedsSentence(seeds))
        lines.append("")
        lines.append("| task | mode | pre-trained | random init | difference | test records | test labels scored |")
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for r in rows {
            lines.append("| \(r.task) | \(r.mode.rawValue) | \(r.pretrained.formatted) | \(r.baseline.formatted) | "
                         + "\(EvalComparison.signed(r.difference)) | \(r.testRecords) | \(r.scoredLabels) of \(r.labels) |")
        }
        lines.append("")
        lines.append("- difference = pre-trained − random init (means over seeds).")
        lines.append(contentsOf: EvalReport.legend(for: sourceRows.0 + sourceRows.1, showsValidation: false).dropLast())
        if !differingSettings.isEmpty {
            lines.append("- Warning: the two evaluations differ in " + differingSettings.joined(separator: ", ")
                         + ", so the difference is not only the encoder's.")
        }
        lines.append("")
        lines.append(summary(task: summaryTask))
        return lines.joined(separator: "\n") + "\n"
    }

    /// One sentence stating the result of `task` (default: the only row, or a count over rows).
    public func summary(task: String? = nil) -> String {
        if let task {
            guard let row = rows.first(where: { $0.task == task }) else { return "No row for task \(task) in both evaluations." }
            return EvalComparison.sentence(row)
        }
        if rows.count == 1 { return EvalComparison.sentence(rows[0]) }
        let defined = rows.filter { $0.difference != nil }
        if defined.isEmpty {
            return "Result: no task has a defined test AUC for both encoders, so this comparison only shows that the pipeline runs."
        }
        let better = defined.filter { $0.difference! > EvalComparison.smallDifference }.count
        let worse = defined.filter { $0.difference! < -EvalComparison.smallDifference }.count
        var s = "Result: of \(rows.count) task/mode rows, \(defined.count) have a test AUC for both encoders; pre-trained is "
            + "better by more than \(EvalComparison.smallDifference) on \(better), worse on \(worse), about the same on "
            + "\(defined.count - better - worse)."
        if let few = rows.map(\.testRecords).min(), few < EvalReport.fewTestRecords {
            s += " With test folds this small (down to \(few) record\(few == 1 ? "" : "s")) these differences are noise."
        }
        return s
    }

    static func sentence(_ r: ComparisonRow) -> String {
        let what = "\(r.mode == .linear ? "probe" : "fine-tuned") test macro AUC on task \(r.task)"
        guard let a = r.pretrained.mean, let b = r.baseline.mean, let d = r.difference else {
            return "Result: the \(what) is undefined for \(r.pretrained.mean == nil ? "the pre-trained" : "the random-init") "
                + "encoder (the test fold lacks positives or negatives), so there is nothing to compare."
        }
        let head = String(format: "Result: pre-trained %@ %.3f vs random init %.3f (%@", what, a, b, signed(d))
        let n = r.pairedDifferences.count
        let seedsText = n >= 2 ? "\(n) seeds" : "1 seed, no spread estimate"
        if abs(d) <= smallDifference {
            return head + ", \(seedsText)): a small difference (≤ \(smallDifference)), no clear effect of pre-training."
        }
        guard n >= 2 else {
            return head + ", \(seedsText)): pre-training \(d > 0 ? "helped" : "hurt") on this seed; run --seeds 3 to see whether it holds."
        }
        let agree = r.pairedDifferences.allSatisfy { ($0 > 0) == (d > 0) }
        let range = String(format: "per seed %@ to %@", signed(r.pairedDifferences.min()!), signed(r.pairedDifferences.max()!))
        if !agree { return head + ", \(seedsText), \(range)): the seeds disagree, no clear effect." }
        return head + ", \(seedsText), \(range)): pre-training \(d > 0 ? "helped" : "hurt") on every seed."
    }

    /// "+0.078", "−0.012" or "n/a".
    static func signed(_ v: Double?) -> String {
        guard let v else { return "n/a" }
        let s = String(format: "%.3f", abs(v))
        return (v < 0 && s != "0.000" ? "−" : "+") + s
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = EvalReport.nonConformingFloats
        return try encoder.encode(self)
    }

    /// Writes `<dir>/compare.json` and `<dir>/compare.md`, each atomically.
    public func write(toDirectory dir: String) throws {
        try AtomicFile.write(Array(try jsonData()), to: "\(dir)/compare.json")
        try AtomicFile.write(markdown, to: "\(dir)/compare.md")
    }
}
