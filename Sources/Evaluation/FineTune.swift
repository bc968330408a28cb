import ECGData
import Model

// Fine-tuning: the whole encoder and a fresh attentive probe trained together with AdamW, linear
// warmup then cosine decay (1e-3 → 1e-5 by default), gradient clipping on the global norm of all
// parameters. Every step draws one random 2.5 s crop per record (offset a pure function of
// (seed, step, slot)). Validation on fold 9 every `validateEvery` steps keeps the best encoder +
// probe; fold 10 is scored once with that copy.

/// One fine-tuning run (task, seed) starting from `encoderWeights` (the encoder's own flat layout).
func runFineTune(_ run: HeadRun, config: ViTConfig, encoderWeights: UnsafePointer<Float>, data: EvalDataset) -> SeedResult {
    let task = run.task, L = task.labelCount, options = run.options, plan = run.plan
    // One layout: encoder at offset 0 (same relative offsets as the source), then the probe.
    var layout = ParameterLayout()
    let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
    let probe = AttentiveProbe(dim: config.dim, heads: config.heads, labels: L, layout: &layout, prefix: "probe.")
    let store = ParameterStore(layout: layout)
    store.values.update(from: encoderWeights, count: encoder.parameterRange.upperBound)
    probe.initialize(store.values, seed: run.seed)
    var loop = HeadTrainingLoop(run: run, layout: layout, mode: .finetune)
    let batch = loop.batch

    let cropFloats = plan.cropLength * data.channels
    let input = UnsafeMutablePointer<Float>.allocate(capacity: batch * cropFloats)
    defer { input.deallocate() }
    let tokens = config.tokens(forSamples: plan.cropLength)
    let dTokens = UnsafeMutablePointer<Float>.allocate(capacity: batch * tokens * config.dim)
    defer { dTokens.deallocate() }
    var dLogits = [Float](repeating: 0, count: batch * L)

    for step in 0..<loop.steps {
        let records = loop.records(step: step)
        for (b, i) in records.enumerated() {
            // Counter = step·batch + slot: distinct per crop, and independent of the record chosen.
            let offset = plan.trainingOffset(seed: run.seed, counter: UInt64(step * batch + b))
            copyCrop(record: data.signal(i), offset: offset, cropLength: plan.cropLength, channels: data.channels,
                     into: input + b * cropFloats)
        }
        let labels = task.labels(of: records)
        encoder.keepsActivationsForBackward = true
        let features = encoder.forward(weights: store.values, input: input, batch: batch, samples: plan.cropLength)
        let logits = probe.forward(weights: store.values, tokens: features, batch: batch, tokenCount: tokens)
        let loss = bceWithLogits(logits: logits, targets: labels, count: batch * L, dLogits: &dLogits)
        store.zeroGrads()
        probe.backward(weights: store.values, grads: store.grads, dLogits: dLogits, dTokens: dTokens)
        encoder.backward(weights: store.values, grads: store.grads, dOutput: dTokens, onGradientsReady: nil)
        loop.update(store, step: step, loss: loss)

        if loop.validates(after: step) {
            let logits = recordLogitsEncoder(encoder: encoder, probe: probe, weights: store.values, data: data,
                                             plan: plan, labelCount: L, records: run.split.val,
                                             batchCrops: options.encodeBatchCrops)
            let score = LogitScore(logits: logits, labels: task.labels(of: run.split.val), records: run.split.val.count,
                                   labelCount: L)
            loop.offer(score, after: step, store: store)
        }
    }
    loop.restoreBest(into: store)
    let test = recordLogitsEncoder(encoder: encoder, probe: probe, weights: store.values, data: data, plan: plan,
                                   labelCount: L, records: run.split.test, batchCrops: options.encodeBatchCrops)
    return loop.result(testLogits: test)
}

/// Record-level logits of encoder + probe: the mean over the evaluation windows of each record.
func recordLogitsEncoder(encoder: ViTEncoder, probe: AttentiveProbe, weights: UnsafePointer<Float>, data: EvalDataset,
                         plan: CropPlan, labelCount: Int, records: [Int], batchCrops: Int) -> [Float] {
    guard !records.isEmpty else { return [] }
    let saved = encoder.keepsActivationsForBackward
    encoder.keepsActivationsForBackward = false
    defer { encoder.keepsActivationsForBackward = saved }
    let tokens = encoder.config.tokens(forSamples: plan.cropLength)
    return aggregateCropLogits(records: records.count, labelCount: labelCount, channels: data.channels, plan: plan,
                               batchCrops: batchCrops, recordSignal: { data.signal(records[$0]) },
                               forward: { crops, count, out in
        let features = encoder.forward(weights: weights, input: crops, batch: count, samples: plan.cropLength)
        let logits = probe.forward(weights: weights, tokens: features, batch: count, tokenCount: tokens)
        out.update(from: logits, count: count * labelCount)
    })
}
