import ECGData
import Model

/// Settings of an evaluation run. Defaults follow the paper's protocol (5,000 linear-probe steps,
/// 10,000 fine-tuning steps, AdamW wd 0.1, clip 1.0); smoke tests shrink the step counts.
public struct EvalOptions: Codable, Sendable, Equatable {
    /// Label tasks to evaluate; empty = every `labels/<task>` in the file.
    public var tasks: [String] = []
    public var modes: [EvalMode] = [.linear]
    /// Independent runs per (task, mode); seed i uses `baseSeed + i`.
    public var seeds: Int = 1
    public var baseSeed: UInt64 = 0

    public var linearSteps: Int = 5_000
    public var finetuneSteps: Int = 10_000
    /// Records per optimizer step (one random 2.5 s crop each).
    public var batchSize: Int = 64

    /// Linear probe: cosine from `linearLR` to `linearFinalLR`, no warmup.
    public var linearLR: Double = 1e-3
    public var linearFinalLR: Double = 0
    /// Fine-tuning: linear warmup over `finetuneWarmupFraction` of the steps, then cosine to the final LR.
    public var finetuneLR: Double = 1e-3
    public var finetuneFinalLR: Double = 1e-5
    public var finetuneWarmupFraction: Double = 0.1
    public var weightDecay: Double = 0.1
    public var gradClip: Float = 1.0

    /// Validate (fold 9) every this many steps and keep the best head; 0 = 20 times per run.
    public var validateEvery: Int = 0
    /// Linear mode caches encoder tokens of this many random crops per training record
    /// (the frozen encoder runs once per crop instead of once per step).
    public var cropsPerRecord: Int = 4
    /// Upper bound for that cache; fewer crops per record are used when it would not fit.
    public var featureCacheMB: Int = 4_096
    /// Crops per encoder forward when encoding (a multiple of 7 keeps records whole).
    public var encodeBatchCrops: Int = 56
    /// Crop length in samples (2.5 s at 500 Hz); evaluation windows overlap by half a crop.
    public var cropSamples: Int = 1250
    /// Normalized signals are clipped to ±this many training-fold standard deviations.
    public var clipSigma: Float = 5
    /// Label efficiency: heads train on this seeded stratified share of the training folds
    /// (`EvalSplit.trainSubset`; 1 = all of them).
    public var trainFraction: Double = 1

    public init() {}

    func validationInterval(steps: Int) -> Int {
        validateEvery > 0 ? validateEvery : max(1, steps / 20)
    }

    func schedule(mode: EvalMode) -> TrainingSchedule {
        switch mode {
        case .linear:
            return TrainingSchedule(warmupSteps: 0, totalSteps: linearSteps, lrStart: linearLR, lrPeak: linearLR,
                                    lrFinal: linearFinalLR, weightDecayStart: weightDecay, weightDecayEnd: weightDecay)
        case .finetune:
            let warmup = Int((Double(finetuneSteps) * finetuneWarmupFraction).rounded())
            return TrainingSchedule(warmupSteps: warmup, totalSteps: finetuneSteps, lrStart: 0, lrPeak: finetuneLR,
                                    lrFinal: finetuneFinalLR, weightDecayStart: weightDecay, weightDecayEnd: weightDecay)
        }
    }

    func steps(mode: EvalMode) -> Int { mode == .linear ? linearSteps : finetuneSteps }

    /// Checks ranges; errors name the offending setting.
    public func validate() throws {
        func fail(_ m: String) -> EvalError { EvalError.badOption(m) }
        if seeds < 1 { throw fail("--seeds must be at least 1 (got \(seeds))") }
        if batchSize < 1 { throw fail("--batch-size must be at least 1 (got \(batchSize))") }
        if linearSteps < 1 && modes.contains(.linear) { throw fail("--linear-steps must be at least 1") }
        if finetuneSteps < 1 && modes.contains(.finetune) { throw fail("--finetune-steps must be at least 1") }
        if cropsPerRecord < 1 { throw fail("--crops-per-record must be at least 1") }
        if !(linearLR > 0 && finetuneLR > 0) { throw fail("learning rates must be positive") }
        if !(gradClip > 0) { throw fail("--grad-clip must be positive") }
        if modes.isEmpty { throw fail("no evaluation mode selected") }
        if !(trainFraction > 0 && trainFraction <= 1) { throw fail("--train-fraction must be in (0, 1] (got \(trainFraction))") }
    }
}

public enum EvalError: Error, CustomStringConvertible {
    case badOption(String)
    case badData(path: String, message: String)
    case badCheckpoint(path: String, message: String)

    public var description: String {
        switch self {
        case .badOption(let m): return "eval: \(m)"
        case .badData(let p, let m): return "\(p): \(m)"
        case .badCheckpoint(let p, let m): return "\(p): \(m)"
        }
    }
}
