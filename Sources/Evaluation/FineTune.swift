import ECGData
import Model

// Fine-tuning: the whole encoder and an attentive probe trained together with AdamW, linear
// warm-up then cosine decay, optional gradient clipping on the global norm of all parameters.
// Two modes share this loop (settings in Options.swift, from the paper's configs/eval/*.yaml):
//   finetune               a fresh probe (1e-3 → 1e-5, 10,000 steps; ST-MEM-style);
//   finetune_after_linear  starts from the probe the linear mode trained (1e-4 → 1e-6, 5,000 steps).
// Every step draws one random 2.5 s crop per record (offset a pure function of (seed, step, slot)).
// Training forwards use the mode's encoder dropout (paper: 0.1 / 0.05); validation and test
// forwards keep no activations and so never drop.
// Validation on fold 9 every `validateEvery` steps keeps the best encoder + probe; fold 10 is
// scored once with that copy.

/// One fine-tuning run (task, seed) starting from `encoderWeights` (the encoder's own flat layout)
/// and, for finetune_after_linear, the trained probe `initialProbe`.
func runFineTune(_ run: HeadRun, mode: EvalMode = .finetune, config: ViTConfig, encoderWeights: UnsafePointer<Float>,
                 data: EvalDataset, initialProbe: [Float]? = nil) -> HeadOutcome {
    let task = run.task, L = task.labelCount, options = run.options, plan = run.plan
    let network = ClassifierNetwork(config: config, labels: L)
    let encoder = network.encoder, probe = network.probe, layout = network.layout
    let store = ParameterStore(layout: layout)
    store.values.update(from: encoderWeights, count: network.encoderCount)
    if let initialProbe {
        precondition(initialProbe.count == network.probeRange.count, "trained probe does not match the probe layout")
        (store.values + network.probeRange.lowerBound).update(from: initialProbe, count: initialProbe.count)
    } else {
        probe.initialize(store.values, seed: run.seed)
    }
    var loop = HeadTrainingLoop(run: run, layout: layout, mode: mode)
    let batch = loop.batch
    // The paper's fine-tuning dropout; its masks are a pure function of (seed, step, site, slot).
    let dropoutRate = Float(options.headProtocol(mode).dropout)
    defer { encoder.dropout = nil }

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
        encoder.dropout = dropoutRate > 0 ? DropoutMask(rate: dropoutRate, seed: run.seed, step: step) : nil
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
        if loop.stops(after: step) { break }
    }
    loop.restoreBest(into: store)
    let test = recordLogitsEncoder(encoder: encoder, probe: probe, weights: store.values, data: data, plan: plan,
                                   labelCount: L, records: run.split.test, batchCrops: options.encodeBatchCrops)
    let all = UnsafeBufferPointer(start: store.values, count: store.count)
    return HeadOutcome(result: loop.result(testLogits: test), testLogits: test,
                       probe: Array(all[network.probeRange]), trainedNetwork: Array(all))
}

/// Record-level logits of encoder + probe: the mean over the evaluation windows of each record.
func recordLogitsEncoder(encoder: ViTEncoder, probe: AttentiveProbe, weights: UnsafePointer<Float>, data: EvalDataset,
                         plan: CropPlan, labelCount: Int, records: [Int], batchCrops: Int) -> [Float] {
    classifierLogits(encoder: encoder, probe: probe, weights: weights, plan: plan, channels: data.channels,
                     records: records.count, batchCrops: batchCrops, recordSignal: { data.signal(records[$0]) })
}

/// Record-level logits of a classifier (encoder + probe in one flat buffer) on normalized records:
/// the evaluation's 7-window average. The one forward path of validation, test and `predict`.
public func classifierLogits(encoder: ViTEncoder, probe: AttentiveProbe, weights: UnsafePointer<Float>, plan: CropPlan,
                             channels: Int, records: Int, batchCrops: Int,
                             recordSignal: (Int) -> UnsafePointer<Float>) -> [Float] {
    guard records > 0 else { return [] }
    let saved = encoder.keepsActivationsForBackward
    encoder.keepsActivationsForBackward = false
    defer { encoder.keepsActivationsForBackward = saved }
    let tokens = encoder.config.tokens(forSamples: plan.cropLength)
    let labelCount = probe.labelCount
    return aggregateCropLogits(records: records, labelCount: labelCount, channels: channels, plan: plan,
                               batchCrops: batchCrops, recordSignal: recordSignal,
                               forward: { crops, count, out in
        let features = encoder.forward(weights: weights, input: crops, batch: count, samples: plan.cropLength)
        let logits = probe.forward(weights: weights, tokens: features, batch: count, tokenCount: tokens)
        out.update(from: logits, count: count * labelCount)
    })
}
