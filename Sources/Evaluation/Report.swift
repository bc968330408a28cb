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

    /// Labels the test macro AUC averages (those with both classes in fold 10); the test fold is
    /// the same for every seed, so the first seed's count holds for all.
    public var scoredLabels: Int { labelNames.count - (seeds.first?.testSkippedLabels.count ?? labelNames.count) }
    var scoredLabelsText: String { seeds.isEmpty ? "–" : "\(scoredLabels) of \(labelNames.count)" }
}

/// Mean and sample standard deviation (n − 1 in the denominator; 0 for a single value, which is
/// never printed: a single seed has no spread).
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

    /// Three decimals; "± sd" only when there are two or more values (one seed has no spread).
    public var formatted: String {
        guard let mean else { return "n/a" }
        if count >= 2, let std { return String(format: "%.3f ± %.3f", mean, std) }
        return String(format: "%.3f", mean)
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
        lines.append("# Evaluation (PTB-XL protocol)")
        lines.append("")
        lines.append("Encoder: \(encoder). Data: `\(data)`. Macro ROC-AUC of each task's labels; "
                     + "val = fold 9 (picks the head), test = fold 10. \(EvalReport.seedsSentence(options.seeds))")
        lines.append("")
        lines.append("| task | mode | labels | records train/val/test | seeds | val AUC | test AUC | test labels scored |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in results {
            lines.append("| \(r.task) | \(r.mode.rawValue) | \(r.labelNames.count) | "
                         + "\(r.trainRecords)/\(r.valRecords)/\(r.testRecords) | \(r.seeds.count) | "
                         + "\(r.val.formatted) | \(r.test.formatted) | \(r.note ?? r.scoredLabelsText) |")
        }
        lines.append("")
        lines.append(contentsOf: EvalReport.legend(for: results))
        lines.append(String(format: "Total time %.1f s.", seconds))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Explains the parts of a table a newcomer cannot read unaided; a line appears only when the
    /// table needs it (shared by the evaluation table and the pre-trained vs random-init table).
    static func legend(for rows: [TaskModeResult], showsValidation: Bool = true) -> [String] {
        var lines: [String] = []
        lines.append("- mode: linear = attentive probe trained on the frozen encoder; finetune = encoder and probe trained together.")
        let seeded = rows.filter { !$0.seeds.isEmpty }
        if seeded.contains(where: { $0.val.mean == nil || $0.test.mean == nil }) {
            lines.append("- n/a = the test fold\(showsValidation ? " (for val AUC: the val fold)" : "") has no positive "
                         + "(or no negative) record for any label of this task, so no AUC is defined.")
        }
        if seeded.contains(where: { $0.scoredLabels < $0.labelNames.count }) {
            lines.append("- test labels scored = labels with both a positive and a negative record in the test fold; "
                         + "the macro AUC averages only those.")
        }
        if let smallest = seeded.map(\.testRecords).min(), smallest < EvalReport.fewTestRecords {
            lines.append("- Test folds of fewer than \(EvalReport.fewTestRecords) records (here as few as \(smallest)) give AUCs "
                         + "that mostly reflect which records landed there: they show that the pipeline runs, not how good the encoder is.")
        }
        if rows.contains(where: { $0.note != nil }) {
            lines.append("- A row with a note was not trained; the note says why.")
        }
        lines.append("")
        return lines
    }

    /// Says how seeds are summarised: "± sd" needs two or more.
    static func seedsSentence(_ seeds: Int) -> String {
        seeds >= 2 ? "Mean ± sd over \(seeds) seeds." : "1 seed: each number is that seed's AUC, with no spread (--seeds 3 gives mean and sd)."
    }

    /// Below this many test records the legend warns that AUCs say little.
    static let fewTestRecords = 50

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = EvalReport.nonConformingFloats
        return try encoder.encode(self)
    }

    /// How non-finite numbers appear in eval.json (written and read back the same way).
    static let nonConformingFloats = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// Reads an `eval.json` written by `write(toDirectory:)`; errors name the file and the problem.
    public static func read(path: String) throws -> EvalReport {
        let bytes = try readFileBytes(path)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(EvalReport.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw FileError(path, "not an eval.json of ecg-dist eval: missing '\(key.stringValue)' at \(codingPath(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw FileError(path, "not an eval.json of ecg-dist eval: wrong type at \(codingPath(context))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw FileError(path, "not an eval.json of ecg-dist eval: missing value at \(codingPath(context))")
        } catch let DecodingError.dataCorrupted(context) {
            throw FileError(path, context.codingPath.isEmpty ? "not valid JSON" : "bad value at \(codingPath(context))")
        }
    }

    private static func codingPath(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "the top level" : String(path.drop { $0 == "." })
    }

    /// Writes `<dir>/eval.json` and `<dir>/eval.md`, each atomically (temp file + rename).
    public func write(toDirectory dir: String, baseName: String = "eval") throws {
        let json = try jsonData()
        try AtomicFile.write(Array(json), to: "\(dir)/\(baseName).json")
        try AtomicFile.write(markdown, to: "\(dir)/\(baseName).md")
    }
}
