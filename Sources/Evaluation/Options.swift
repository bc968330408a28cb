import ECGData
import Model

/// The training settings of one evaluation mode. Defaults (see `EvalOptions`) are the values of the
/// ECG-JEPA paper code's configs/eval/*.yaml; docs/evaluation.md has the table.
public struct HeadProtocol: Codable, Sendable, Equatable {
    public var steps: Int
    /// Peak learning rate (reached after the warm-up), then cosine to `finalLearningRate`.
    public var learningRate: Double
    public var finalLearningRate: Double
    /// Linear warm-up from `warmupStartLR` to `learningRate` over this many steps.
    public var warmupSteps: Int
    public var warmupStartLR: Double
    public var weightDecay: Double
    /// AdamW's second-moment decay (beta1 is 0.9 everywhere).
    public var beta2: Double
    /// Maximum global gradient norm; 0 = no clipping (configs/eval/finetune.yaml: gradient_clip 0).
    public var gradClip: Double
    /// Stop when the best validation score is this many steps old; 0 = never.
    public var earlyStoppingPatience: Int
    /// Train-time dropout of the encoder blocks (the eval config's `dropout`, which finetune.py
    /// writes into the encoder config): after attn.proj, after the MLP's GELU and after fc2.
    /// Only the fine-tuning modes train the encoder; the linear probe's frozen encoder has none.
    public var dropout: Double

    public init(steps: Int, learningRate: Double, finalLearningRate: Double, warmupSteps: Int, warmupStartLR: Double = 1e-6,
                weightDecay: Double, beta2: Double, gradClip: Double, earlyStoppingPatience: Int, dropout: Double = 0) {
        self.dropout = dropout
        self.steps = steps
        self.learningRate = learningRate
        self.finalLearningRate = finalLearningRate
        self.warmupSteps = warmupSteps
        self.warmupStartLR = warmupStartLR
        self.weightDecay = weightDecay
        self.beta2 = beta2
        self.gradClip = gradClip
        self.earlyStoppingPatience = earlyStoppingPatience
    }

    /// configs/eval/linear.yaml: frozen encoder, attentive pooling, 5,000 steps, constant LR 1e-3
    /// (learning_rate = final_learning_rate = 1e-3, no warm-up), weight decay 0.1, betas
    /// (0.9, 0.999), gradient clip 1.0, early_stopping_patience 5000 (= never within 5,000 steps).
    public static let paperLinear = HeadProtocol(steps: 5_000, learningRate: 1e-3, finalLearningRate: 1e-3, warmupSteps: 0,
                                                 weightDecay: 0.1, beta2: 0.999, gradClip: 1.0, earlyStoppingPatience: 5_000)
    /// configs/eval/finetune_after_linear.yaml: starts from the trained probe, 5,000 steps, LR 1e-4
    /// → 1e-6 cosine after 200 warm-up steps (from 1e-6, finetune.py's warmup_start_value), weight
    /// decay 0, betas (0.9, 0.999), gradient clip 1.0, early_stopping_patience 2000, dropout 0.1.
    public static let paperFinetuneAfterLinear = HeadProtocol(steps: 5_000, learningRate: 1e-4, finalLearningRate: 1e-6,
                                                              warmupSteps: 200, weightDecay: 0, beta2: 0.999, gradClip: 1.0,
                                                              earlyStoppingPatience: 2_000, dropout: 0.1)
    /// configs/eval/finetune.yaml (the ST-MEM-style fine-tuning from the pre-trained encoder and a
    /// fresh head): 10,000 steps, LR 1e-3 → 1e-5 after 200 warm-up steps, weight decay 0.01, betas
    /// (0.9, 0.99), no gradient clipping, early_stopping_patience 2000, dropout 0.05.
    public static let paperFinetune = HeadProtocol(steps: 10_000, learningRate: 1e-3, finalLearningRate: 1e-5, warmupSteps: 200,
                                                   weightDecay: 0.01, beta2: 0.99, gradClip: 0, earlyStoppingPatience: 2_000,
                                                   dropout: 0.05)

    var schedule: TrainingSchedule {
        TrainingSchedule(warmupSteps: min(warmupSteps, steps), totalSteps: steps, lrStart: warmupSteps > 0 ? warmupStartLR : learningRate,
                         lrPeak: learningRate, lrFinal: finalLearningRate, weightDecayStart: weightDecay, weightDecayEnd: weightDecay)
    }

    func validate(_ flag: String) throws {
        func fail(_ m: String) -> EvalError { EvalError.badOption(m) }
        if steps < 1 { throw fail("--\(flag)-steps must be at least 1 (got \(steps))") }
        if !(learningRate > 0) || !(finalLearningRate >= 0) { throw fail("--\(flag) learning rates must be positive") }
        if warmupSteps < 0 { throw fail("--\(flag)-warmup-steps must not be negative") }
        if !(weightDecay >= 0) { throw fail("--\(flag) weight decay must not be negative") }
        if !(gradClip >= 0) { throw fail("--\(flag) gradient clip must be ≥ 0 (0 = off)") }
        if !(beta2 > 0 && beta2 < 1) { throw fail("--\(flag) beta2 must be in (0, 1)") }
        if earlyStoppingPatience < 0 { throw fail("early-stopping patience must not be negative") }
        if !(dropout >= 0 && dropout < 1) { throw fail("--dropout must be in [0, 1) (got \(dropout))") }
    }
}

extension HeadProtocol {
    /// Decodes eval.json files written before `dropout` existed (they trained without it).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(steps: try c.decode(Int.self, forKey: .steps), learningRate: try c.decode(Double.self, forKey: .learningRate),
                  finalLearningRate: try c.decode(Double.self, forKey: .finalLearningRate),
                  warmupSteps: try c.decode(Int.self, forKey: .warmupSteps),
                  warmupStartLR: try c.decode(Double.self, forKey: .warmupStartLR),
                  weightDecay: try c.decode(Double.self, forKey: .weightDecay), beta2: try c.decode(Double.self, forKey: .beta2),
                  gradClip: try c.decode(Double.self, forKey: .gradClip),
                  earlyStoppingPatience: try c.decode(Int.self, forKey: .earlyStoppingPatience),
                  dropout: try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0)
    }
}

/// Settings of an evaluation run. Defaults follow the paper's protocol (configs/eval/*.yaml of the
/// ECG-JEPA code, quoted in `HeadProtocol`); smoke tests shrink the step counts.
public struct EvalOptions: Codable, Sendable, Equatable {
    /// Label tasks to evaluate; empty = every `labels/<task>` in the file.
    public var tasks: [String] = []
    public var modes: [EvalMode] = [.linear]
    /// Independent runs per (task, mode); seed i uses `baseSeed + i`.
    public var seeds: Int = 1
    public var baseSeed: UInt64 = 0

    public var linear = HeadProtocol.paperLinear
    public var finetune = HeadProtocol.paperFinetune
    public var finetuneAfterLinear = HeadProtocol.paperFinetuneAfterLinear
    /// Records per optimizer step (one random 2.5 s crop each); batch_size 128 in every configs/eval file.
    public var batchSize: Int = 128

    /// Validate (fold 9) every this many steps and keep the best head (checkpoint_interval 100 in
    /// configs/eval/*.yaml); 0 = 20 times per run.
    public var validateEvery: Int = 100
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

    // Shorthands kept for callers written before the per-mode protocols.
    public var linearSteps: Int { get { linear.steps } set { linear.steps = newValue } }
    public var finetuneSteps: Int { get { finetune.steps } set { finetune.steps = newValue } }
    public var linearLR: Double { get { linear.learningRate } set { linear.learningRate = newValue } }
    public var finetuneLR: Double { get { finetune.learningRate } set { finetune.learningRate = newValue } }

    func validationInterval(steps: Int) -> Int {
        validateEvery > 0 ? validateEvery : max(1, steps / 20)
    }

    func headProtocol(_ mode: EvalMode) -> HeadProtocol {
        switch mode {
        case .linear: return linear
        case .finetune: return finetune
        case .finetuneAfterLinear: return finetuneAfterLinear
        }
    }

    func schedule(mode: EvalMode) -> TrainingSchedule { headProtocol(mode).schedule }

    func steps(mode: EvalMode) -> Int { headProtocol(mode).steps }

    /// Checks ranges; errors name the offending setting.
    public func validate() throws {
        func fail(_ m: String) -> EvalError { EvalError.badOption(m) }
        if seeds < 1 { throw fail("--seeds must be at least 1 (got \(seeds))") }
        if batchSize < 1 { throw fail("--batch-size must be at least 1 (got \(batchSize))") }
        if validateEvery < 0 { throw fail("--validate-every must not be negative") }
        if cropsPerRecord < 1 { throw fail("--crops-per-record must be at least 1") }
        if modes.isEmpty { throw fail("no evaluation mode selected") }
        // finetune_after_linear trains the linear probe first, with the linear protocol.
        if modes.contains(.linear) || modes.contains(.finetuneAfterLinear) { try linear.validate("linear") }
        if linear.dropout != 0 { throw fail("the linear probe's encoder is frozen (cached features): it takes no dropout") }
        if modes.contains(.finetune) { try finetune.validate("finetune") }
        if modes.contains(.finetuneAfterLinear) { try finetuneAfterLinear.validate("after-linear") }
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
