import ECGData
import Model

// Pieces shared by the linear-probe and fine-tuning runs: deterministic batch order, scoring of
// record-level logits, best-on-validation selection and the context of one run.

/// Epoch-wise sampling without replacement: position p of the stream is element p mod n of the
/// permutation of epoch p / n. Each epoch's permutation is a pure function of (seed, epoch), so a
/// run's batches depend only on its seed.
struct EpochSampler {
    let items: [Int]
    let seed: UInt64
    private var epoch = -1
    private var permutation: [Int] = []

    init(items: [Int], seed: UInt64) {
        precondition(!items.isEmpty, "EpochSampler needs at least one item")
        self.items = items
        self.seed = seed
    }

    mutating func batch(step: Int, size: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(size)
        for i in 0..<size {
            let position = step * size + i
            let e = position / items.count
            if e != epoch { shuffle(epoch: e) }
            out.append(permutation[position % items.count])
        }
        return out
    }

    private mutating func shuffle(epoch e: Int) {
        var rng = SplitMix64(seed: seed, stream: RNGStream.shuffle.rawValue, counter: UInt64(e))
        permutation = items
        for i in stride(from: permutation.count - 1, to: 0, by: -1) {
            permutation.swapAt(i, rng.nextInt(below: i + 1))
        }
        epoch = e
    }
}

/// Macro AUC and mean BCE of record-level logits [records × L].
struct LogitScore {
    var auc: AUCResult
    var loss: Double

    init(logits: [Float], labels: [UInt8], records: Int, labelCount: Int) {
        auc = macroAUC(scores: logits, labels: labels, rows: records, labelCount: labelCount)
        loss = records == 0 ? .nan : Double(bceWithLogits(logits: logits, targets: labels, count: logits.count))
    }

    /// Higher is better, compared lexicographically: macro AUC first (when no label has both
    /// classes in the validation fold, e.g. tiny samples, it is the same for every head), then
    /// minus the validation loss, which breaks ties such as a saturated AUC of 1.
    var selectionScore: [Double] {
        [auc.macro ?? 0, loss.isFinite ? -loss : -.infinity]
    }
}

/// Tracks the best validation score and a copy of the parameters that achieved it.
struct BestKeeper {
    private(set) var score: [Double] = []
    private(set) var step = -1
    private(set) var values: [Float] = []

    /// Keeps `count` floats at `values` if `newScore` beats the best (ties keep the earlier head).
    mutating func offer(score newScore: [Double], step newStep: Int, values source: UnsafePointer<Float>, count: Int) {
        guard step < 0 || newScore.lexicographicallyPrecedes(score, by: >) else { return }
        score = newScore
        step = newStep
        values = Array(UnsafeBufferPointer(start: source, count: count))
    }

    func restore(into destination: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: $0.count) }
    }
}

/// Everything one (task, mode, seed) run needs to know.
struct HeadRun {
    let task: EvalTask
    let split: EvalSplit
    let seed: UInt64
    let options: EvalOptions
    let plan: CropPlan
    let log: ((String) -> Void)?
    /// The throttled progress line (nil = none, e.g. the trainer's periodic evaluation).
    var progress: EvalProgress? = nil

    /// The result row of a run once its test logits are known.
    func result(best: BestKeeper, valScore: LogitScore?, testLogits: [Float], stepsRun: Int,
                finalTrainLoss: Double, seconds: Double) -> SeedResult {
        let testLabels = task.labels(of: split.test)
        let test = LogitScore(logits: testLogits, labels: testLabels, records: split.test.count, labelCount: task.labelCount)
        return SeedResult(seed: seed, valAUC: valScore?.auc.macro, testAUC: test.auc.macro, bestStep: best.step,
                          stepsRun: stepsRun, finalTrainLoss: finalTrainLoss,
                          testSkippedLabels: test.auc.skippedLabels.map { task.labelNames[$0] },
                          testPerLabel: test.auc.perLabel, seconds: seconds)
    }
}

/// A finished run: its result row, the record-level test logits of the kept (best-validation)
/// parameters, and those parameters.
struct HeadOutcome {
    var result: SeedResult
    /// [test records × labels], rows in `split.test` order.
    var testLogits: [Float]
    /// The probe's parameters (its own range of `ClassifierNetwork`'s layout).
    var probe: [Float]
    /// The whole classifier (encoder + probe) when the encoder was trained; nil = the frozen input encoder.
    var trainedNetwork: [Float]?
}

/// Mean of the last few training losses (a single step's loss is noisy).
struct RunningLoss {
    private var recent: [Double] = []
    private let window: Int
    init(window: Int = 20) { self.window = window }
    mutating func add(_ x: Double) {
        recent.append(x)
        if recent.count > window { recent.removeFirst() }
    }
    var mean: Double { recent.isEmpty ? .nan : recent.reduce(0, +) / Double(recent.count) }
}

/// The loop both heads train with (attentive probe on cached features, fine-tuning): batches from
/// the epoch sampler, AdamW on the mode's LR/WD schedule after clipping the global gradient norm,
/// a validation every `interval` steps and at the end that keeps the best parameters, and the
/// result row. The caller computes the loss and fills `store.grads` for each step.
struct HeadTrainingLoop {
    let run: HeadRun
    let mode: EvalMode
    let steps: Int, batch: Int
    private let optimizer: AdamW
    private let schedule: TrainingSchedule
    private let interval: Int
    private let gradClip: Float
    private let patience: Int
    private let start = ContinuousClock.now
    private var sampler: EpochSampler
    private var best = BestKeeper()
    private var bestScore: LogitScore?
    private var running = RunningLoss()
    private var stepsRun = 0

    init(run: HeadRun, layout: ParameterLayout, mode: EvalMode) {
        self.run = run
        self.mode = mode
        let settings = run.options.headProtocol(mode)
        steps = settings.steps
        batch = run.options.batchSize
        // PyTorch's AdamW epsilon, which the paper's finetune.py uses.
        optimizer = AdamW(layout: layout, beta1: 0.9, beta2: Float(settings.beta2), epsilon: 1e-8)
        schedule = settings.schedule
        gradClip = Float(settings.gradClip)
        patience = settings.earlyStoppingPatience
        interval = run.options.validationInterval(steps: steps)
        sampler = EpochSampler(items: run.split.train, seed: run.seed)
        reportProgress(done: 0)
    }

    /// The progress line's view of this run: seeds counted from 1 for people.
    private func reportProgress(done: Int) {
        run.progress?.update(.training(task: run.task.name, mode: mode, seed: Int(run.seed &- run.options.baseSeed) + 1,
                                       seeds: run.options.seeds, done: done, total: steps))
    }

    /// The training records of `step`.
    mutating func records(step: Int) -> [Int] { sampler.batch(step: step, size: batch) }

    /// With the gradients of `step` in `store.grads`: clip, AdamW step, and note the loss.
    mutating func update(_ store: ParameterStore, step: Int, loss: Float) {
        running.add(Double(loss))
        stepsRun = step + 1
        if gradClip > 0 { clipGradientNorm(store.grads, count: store.count, maxNorm: gradClip) }
        optimizer.step(store, lr: schedule.learningRate(step: step), weightDecay: schedule.weightDecay(step: step))
        reportProgress(done: step + 1)
    }

    /// Whether the parameters after `step` are validated.
    func validates(after step: Int) -> Bool { (step + 1) % interval == 0 || step + 1 == steps }

    /// Offers the validation score of the parameters after `step` (kept if best) and logs it.
    mutating func offer(_ score: LogitScore, after step: Int, store: ParameterStore) {
        best.offer(score: score.selectionScore, step: step + 1, values: store.values, count: store.count)
        if best.step == step + 1 { bestScore = score }
        run.log?(String(format: "  [%@ %@ seed %llu] step %d/%d loss %.4f val AUC %@", run.task.name, mode.rawValue,
                        run.seed, step + 1, steps, running.mean, score.auc.macro.map { String(format: "%.4f", $0) } ?? "n/a"))
    }

    /// Early stopping as in the paper's finetune.py: after a validation, stop once the best
    /// head is `earlyStoppingPatience` steps old.
    func stops(after step: Int) -> Bool {
        patience > 0 && validates(after: step) && best.step >= 0 && (step + 1) - best.step >= patience
    }

    /// Puts the best validated parameters back into `store`.
    func restoreBest(into store: ParameterStore) { best.restore(into: store.values) }

    /// The result row once the test logits of the restored parameters are known.
    func result(testLogits: [Float]) -> SeedResult {
        run.result(best: best, valScore: bestScore, testLogits: testLogits, stepsRun: stepsRun,
                   finalTrainLoss: running.mean, seconds: secondsSince(start))
    }
}
