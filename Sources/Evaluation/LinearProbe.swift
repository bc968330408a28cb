import ECGData
import Model

// Linear evaluation: an attentive probe trained on a FROZEN encoder. Because the encoder never
// changes, its output tokens are computed once and shared by every task and seed:
//   - training pool: `cropsPerRecord` random 2.5 s crops of every fold 1–8 record (crop k of record
//     i has a fixed offset drawn from (baseSeed, probe stream, i·K + k)); each step takes one
//     random crop of each record in the batch from the pool;
//   - validation/test: the 7 evaluation windows of every fold 9/10 record.
// Memory: (train·K + eval·7) × tokens × dim floats; K shrinks to fit `featureCacheMB`.

/// Encoder tokens of crops, encoded once.
final class FrozenFeatures {
    let tokens: Int
    let dim: Int
    let cropsPerRecord: Int
    let windowsPerRecord: Int
    /// Dataset index → row block in the pools.
    private var trainSlot: [Int: Int] = [:]
    private var evalSlot: [Int: Int] = [:]
    private let trainPool: UnsafeMutablePointer<Float>
    private let evalPool: UnsafeMutablePointer<Float>
    let bytes: Int

    var crop: Int { tokens * dim }

    /// With a `group` every rank encodes a share of the crops and only rank 0 keeps the pools
    /// (the others hold none: their accessors must not be used).
    init(encoder: ViTEncoder, weights: UnsafePointer<Float>, data: EvalDataset, plan: CropPlan,
         options: EvalOptions, log: ((String) -> Void)?, progress: EvalProgress? = nil,
         group: FeatureEncodingGroup? = nil) throws {
        let config = encoder.config
        tokens = config.tokens(forSamples: plan.cropLength)
        dim = config.dim
        windowsPerRecord = plan.evalOffsets.count
        let trainRecords = (0..<data.count).filter { (1...8).contains(data.folds[$0]) }
        let evalRecords = (0..<data.count).filter { data.folds[$0] == 9 || data.folds[$0] == 10 }
        let cropBytes = tokens * dim * 4
        let evalBytes = evalRecords.count * windowsPerRecord * cropBytes
        let budget = options.featureCacheMB * 1_048_576 - evalBytes
        let fit = trainRecords.isEmpty ? options.cropsPerRecord : budget / max(1, trainRecords.count * cropBytes)
        cropsPerRecord = max(1, min(options.cropsPerRecord, fit))
        if cropsPerRecord < options.cropsPerRecord {
            log?("linear probe: feature cache limited to \(cropsPerRecord) crops per training record (--feature-cache-mb \(options.featureCacheMB))")
        }
        for (s, i) in trainRecords.enumerated() { trainSlot[i] = s }
        for (s, i) in evalRecords.enumerated() { evalSlot[i] = s }
        let trainCrops = trainRecords.count * cropsPerRecord
        let evalCrops = evalRecords.count * windowsPerRecord
        let keepsPools = (group?.rank ?? 0) == 0
        trainPool = .allocate(capacity: keepsPools ? max(1, trainCrops * tokens * dim) : 1)
        evalPool = .allocate(capacity: keepsPools ? max(1, evalCrops * tokens * dim) : 1)
        bytes = (trainCrops + evalCrops) * cropBytes

        // Crop lists: (record, offset) in pool order.
        var trainList: [(Int, Int)] = []
        for (s, i) in trainRecords.enumerated() {
            for k in 0..<cropsPerRecord {
                trainList.append((i, plan.trainingOffset(seed: options.baseSeed, counter: UInt64(s * cropsPerRecord + k))))
            }
        }
        var evalList: [(Int, Int)] = []
        for i in evalRecords { for o in plan.evalOffsets { evalList.append((i, o)) } }
        let savedKeep = encoder.keepsActivationsForBackward
        encoder.keepsActivationsForBackward = false
        defer { encoder.keepsActivationsForBackward = savedKeep }
        let total = trainList.count + evalList.count
        progress?.update(.encoding(done: 0, total: total))
        try encodeCrops(encoder: encoder, weights: weights, data: data, plan: plan, crops: trainList,
                        batch: options.encodeBatchCrops, into: trainPool, group: group,
                        encoded: { progress?.update(.encoding(done: $0, total: total)) })
        try encodeCrops(encoder: encoder, weights: weights, data: data, plan: plan, crops: evalList,
                        batch: options.encodeBatchCrops, into: evalPool, group: group,
                        encoded: { progress?.update(.encoding(done: trainList.count + $0, total: total)) })
    }

    deinit {
        trainPool.deallocate()
        evalPool.deallocate()
    }

    /// Tokens of training crop k of dataset record i.
    func trainTokens(record i: Int, crop k: Int) -> UnsafePointer<Float> {
        UnsafePointer(trainPool + (trainSlot[i]! * cropsPerRecord + k) * crop)
    }

    /// Tokens of the `windowsPerRecord` consecutive evaluation windows of record i.
    func evalTokens(record i: Int) -> UnsafePointer<Float> {
        UnsafePointer(evalPool + evalSlot[i]! * windowsPerRecord * crop)
    }
}

/// Encoder output for a list of (record, offset) crops, written back to back into `out`. With a
/// `group`, this rank encodes only its share of the batches (`batchShare`) and rank 0 gathers all;
/// `out` then needs room for everything on rank 0 only. `encoded` hears how many of this rank's
/// crops are done after each batch.
func encodeCrops(encoder: ViTEncoder, weights: UnsafePointer<Float>, data: EvalDataset, plan: CropPlan,
                 crops: [(Int, Int)], batch: Int, into out: UnsafeMutablePointer<Float>,
                 group: FeatureEncodingGroup? = nil, encoded: ((Int) -> Void)? = nil) throws {
    let chunk = max(1, batch)
    let cropFloats = plan.cropLength * data.channels
    let input = UnsafeMutablePointer<Float>.allocate(capacity: chunk * cropFloats)
    defer { input.deallocate() }
    let perCrop = encoder.config.tokens(forSamples: plan.cropLength) * encoder.config.dim
    let rank = group?.rank ?? 0, size = group?.size ?? 1
    let mine = batchShare(count: crops.count, batch: chunk, rank: rank, size: size)
    // Rank 0 writes its share in place; the others into a buffer of their share's size.
    let local = rank == 0 ? out + mine.lowerBound * perCrop : .allocate(capacity: max(1, mine.count * perCrop))
    defer { if rank != 0 { local.deallocate() } }
    var first = mine.lowerBound
    while first < mine.upperBound {
        let n = min(chunk, mine.upperBound - first)
        for c in 0..<n {
            let (record, offset) = crops[first + c]
            copyCrop(record: data.signal(record), offset: offset, cropLength: plan.cropLength,
                     channels: data.channels, into: input + c * cropFloats)
        }
        let tokens = encoder.forward(weights: weights, input: input, batch: n, samples: plan.cropLength)
        (local + (first - mine.lowerBound) * perCrop).update(from: tokens, count: n * perCrop)
        first += n
        encoded?(first - mine.lowerBound)
    }
    if let group, size > 1 {
        let counts = (0..<size).map { batchShare(count: crops.count, batch: chunk, rank: $0, size: size).count * perCrop }
        try group.gatherToRoot(local: UnsafePointer(local), counts: counts, root: out)
    }
}

/// One linear-probe run (task, seed) on cached features: the result row, test logits and the kept probe.
func runLinearProbe(_ run: HeadRun, features: FrozenFeatures, heads: Int) -> HeadOutcome {
    let task = run.task, L = task.labelCount
    // The probe alone; its parameters are the probe range of `ClassifierNetwork` (declared after
    // the encoder there, contiguous in both).
    var layout = ParameterLayout()
    let probe = AttentiveProbe(dim: features.dim, heads: heads, labels: L, layout: &layout, prefix: "probe.")
    let store = ParameterStore(layout: layout)
    probe.initialize(store.values, seed: run.seed)
    var loop = HeadTrainingLoop(run: run, layout: layout, mode: .linear)
    let batch = loop.batch

    let tokensPerCrop = features.crop
    let batchTokens = UnsafeMutablePointer<Float>.allocate(capacity: batch * tokensPerCrop)
    defer { batchTokens.deallocate() }
    var dLogits = [Float](repeating: 0, count: batch * L)

    for step in 0..<loop.steps {
        let records = loop.records(step: step)
        var rng = SplitMix64(seed: run.seed, stream: RNGStream.probe.rawValue, counter: UInt64(step))
        for (b, i) in records.enumerated() {
            let k = rng.nextInt(below: features.cropsPerRecord)
            (batchTokens + b * tokensPerCrop).update(from: features.trainTokens(record: i, crop: k), count: tokensPerCrop)
        }
        let labels = task.labels(of: records)
        let logits = probe.forward(weights: store.values, tokens: batchTokens, batch: batch, tokenCount: features.tokens)
        let loss = bceWithLogits(logits: logits, targets: labels, count: batch * L, dLogits: &dLogits)
        store.zeroGrads()
        probe.backward(weights: store.values, grads: store.grads, dLogits: dLogits, dTokens: nil)
        loop.update(store, step: step, loss: loss)

        if loop.validates(after: step) {
            let score = scoreLinear(probe: probe, weights: store.values, features: features, task: task, records: run.split.val)
            loop.offer(score, after: step, store: store)
        }
        if loop.stops(after: step) { break }
    }
    loop.restoreBest(into: store)
    let test = recordLogitsLinear(probe: probe, weights: store.values, features: features, labelCount: L, records: run.split.test)
    return HeadOutcome(result: loop.result(testLogits: test), testLogits: test,
                       probe: Array(UnsafeBufferPointer(start: store.values, count: store.count)), trainedNetwork: nil)
}

/// Record-level logits (mean over the evaluation windows) of the probe on cached features.
func recordLogitsLinear(probe: AttentiveProbe, weights: UnsafePointer<Float>, features: FrozenFeatures,
                        labelCount L: Int, records: [Int], recordsPerChunk: Int = 16) -> [Float] {
    let w = features.windowsPerRecord, perRecord = w * features.crop
    var out = [Float](repeating: 0, count: records.count * L)
    guard !records.isEmpty else { return out }
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(recordsPerChunk, records.count) * perRecord)
    defer { buffer.deallocate() }
    var first = 0
    while first < records.count {
        let n = min(recordsPerChunk, records.count - first)
        for r in 0..<n { (buffer + r * perRecord).update(from: features.evalTokens(record: records[first + r]), count: perRecord) }
        let logits = probe.forward(weights: weights, tokens: buffer, batch: n * w, tokenCount: features.tokens)
        out.withUnsafeMutableBufferPointer {
            averageCropLogits(logits, records: n, cropsPerRecord: w, labelCount: L, into: $0.baseAddress! + first * L)
        }
        first += n
    }
    return out
}

func scoreLinear(probe: AttentiveProbe, weights: UnsafePointer<Float>, features: FrozenFeatures, task: EvalTask,
                 records: [Int]) -> LogitScore {
    let logits = recordLogitsLinear(probe: probe, weights: weights, features: features, labelCount: task.labelCount, records: records)
    return LogitScore(logits: logits, labels: task.labels(of: records), records: records.count, labelCount: task.labelCount)
}

/// Seconds elapsed since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let d = start.duration(to: .now).components
    return Double(d.seconds) + Double(d.attoseconds) * 1e-18
}
