import ECGData
import Foundation
import Model

// Results of an evaluation run: one row per (task, mode), each with the per-seed numbers and their
// mean ± std. Rendered as a Markdown table (printed and written) and as JSON; both files are
// written atomically so a reader never sees half a table.

public enum EvalMode: String, Codable, CaseIterable, Sendable {
    /// Attentive probe trained on the frozen encoder ("linear evaluation").
    case linear
    /// Encoder and a fresh probe trained together (configs/eval/finetune.yaml, ST-MEM-style).
    case finetune
    /// Encoder and the trained linear-mode probe trained together (configs/eval/finetune_after_linear.yaml).
    case finetuneAfterLinear = "finetune_after_linear"
}

/// One training run of one head on one task with one seed.
public struct SeedResult: Codable, Sendable, Equatable {
    public var seed: UInt64
    /// Macro AUC on fold 9 of the selected (best-validation) head; nil if no label is defined there.
    public var valAUC: Double?
    /// Macro AUC on fold 10 with the same head.
    public var testAUC: Double?
    /// Step whose head was kept (best validation AUC).
    public var bestStep: Int
    public var stepsRun: Int
    public var finalTrainLoss: Double
    /// Labels without both a positive and a negative in the test fold (left out of the macro).
    public var testSkippedLabels: [String]
    /// Per-label test AUC of the kept head (nil = undefined in the test fold).
    public var testPerLabel: [Double?]
    public var seconds: Double
    /// The saved best-validation classifier and test-fold predictions, relative to the report's folder.
    public var classifier: String? = nil
    public var testPredictions: String? = nil
}

/// All seeds of one (task, mode) pair.
public struct TaskModeResult: Codable, Sendable {
    public var task: String
    public var mode: EvalMode
    public var labelNames: [String]
    public var trainRecords: Int
    public var valRecords: Int
    public var testRecords: Int
    public var seeds: [SeedResult]
    /// Why a row has no seeds (e.g. no labelled training records), nil otherwise.
    public var note: String?

    public var val: MeanStd { MeanStd(seeds.compactMap(\.valAUC)) }
    public var test: MeanStd { MeanStd(seeds.compactMap(\.testAUC)) }
}

/// Mean and sample standard deviation (n − 1 in the denominator; 0 for a single value).
public struct MeanStd: Codable, Sendable, Equatable {
    public var mean: Double?
    public var std: Double?
    public var count: Int

    public init(_ values: [Double]) {
        count = values.count
        guard !values.isEmpty else { mean = nil; std = nil; return }
        let m = values.reduce(0, +) / Double(values.count)
        mean = m
        if values.count < 2 {
            std = 0
        } else {
            let ss = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
            std = (ss / Double(values.count - 1)).squareRoot()
        }
    }

    public var formatted: String {
        guard let mean, let std else { return "n/a" }
        return String(format: "%.4f ± %.4f", mean, std)
    }
}

public struct EvalReport: Codable, Sendable {
    public var checkpoint: String
    public var data: String
    public var model: String
    public var randomInit: Bool
    public var options: EvalOptions
    public var results: [TaskModeResult]
    public var seconds: Double

    /// Flat metrics for JSONL logging during pre-training, e.g. `eval/superdiagnostic/linear/test_auc`.
    public var metrics: [String: Double] {
        var m: [String: Double] = [:]
        for r in results {
            let key = "eval/\(r.task)/\(r.mode.rawValue)"
            if let v = r.val.mean { m["\(key)/val_auc"] = v }
            if let v = r.test.mean { m["\(key)/test_auc"] = v }
        }
        return m
    }

    public var markdown: String {
        var lines: [String] = []
        let encoder = randomInit ? "random init (\(model))" : "`\(checkpoint)` (\(model))"
        lines.append("# PTB-XL evaluation")
        lines.append("")
        lines.append("Encoder: \(encoder). Data: `\(data)`. Macro ROC-AUC, mean ± std over seeds "
                     + "(val = fold 9, used to pick the head; test = fold 10).")
        lines.append("")
        lines.append("| task | mode | labels | train/val/test | seeds | val AUC | test AUC | test labels skipped |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in results {
            let skipped = r.seeds.first?.testSkippedLabels.count ?? 0
            lines.append("| \(r.task) | \(r.mode.rawValue) | \(r.labelNames.count) | "
                         + "\(r.trainRecords)/\(r.valRecords)/\(r.testRecords) | \(r.seeds.count) | "
                         + "\(r.val.formatted) | \(r.test.formatted) | \(r.note ?? String(skipped)) |")
        }
        lines.append("")
        lines.append(String(format: "Total time %.1f s.", seconds))
        return lines.joined(separator: "\n") + "\n"
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Writes `<dir>/eval.json` and `<dir>/eval.md`, each atomically (temp file + rename).
    public func write(toDirectory dir: String, baseName: String = "eval") throws {
        let json = try jsonData()
        try AtomicFile.write(Array(json), to: "\(dir)/\(baseName).json")
        try AtomicFile.write(markdown, to: "\(dir)/\(baseName).md")
    }
}
