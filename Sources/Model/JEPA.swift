// One JEPA training step: target encoder (EMA weights, no grad) on all patches, context encoder on
// the register + visible patches, predictor on context + mask tokens, L1 loss at target patches,
// backward through predictor and context encoder.

public final class JEPAModel {
    public let config: ViTConfig
    public let samples: Int
    /// Encoder (prefix `encoder.`) then predictor (prefix `predictor.`).
    public let layout: ParameterLayout
    public let params: ParameterStore
    /// Encoder-only layout (same names and offsets as the encoder prefix of `layout`): the EMA target.
    public let target: ParameterStore
    public let encoder: ViTEncoder
    public let predictor: Predictor
    let targetEncoder: ViTEncoder

    private let dPrediction = FloatBuffer()
    /// The last step's loss in Double (the Float return value rounds it).
    public private(set) var lastLoss: Double = 0
    /// Predictions and target rows [batch, nTarget, dim] of the last step (tests/diagnostics).
    private(set) var lastPrediction: UnsafePointer<Float>?
    private(set) var lastTargetRows: UnsafePointer<Float>?

    public init(config: ViTConfig, samples: Int = 5000) {
        self.config = config
        self.samples = samples
        var layout = ParameterLayout()
        encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        predictor = Predictor(config: config, layout: &layout, prefix: "predictor.")
        self.layout = layout
        params = ParameterStore(layout: layout)
        var targetLayout = ParameterLayout()
        targetEncoder = ViTEncoder(config: config, layout: &targetLayout, prefix: "encoder.")
        targetEncoder.keepsActivationsForBackward = false
        target = ParameterStore(layout: targetLayout)
    }

    /// Floats of the encoder prefix of `params` (== target.count): EMA is one loop over 0..<this.
    public var encoderParameterCount: Int { target.count }

    public var patches: Int { config.patches(forSamples: samples) }

    /// Random init of all parameters; the target encoder starts as a copy of the encoder.
    public func initialize(seed: UInt64) {
        params.values.update(repeating: 0, count: params.count)
        encoder.initialize(params.values, seed: seed)
        predictor.initialize(params.values, seed: seed)
        target.values.update(from: params.values, count: encoderParameterCount)
    }

    /// Forward + backward of one micro-batch [batch, samples, 12] with one mask for every sample;
    /// ADDS gradients · gradScale into params.grads and returns the mean L1 loss. Indices are
    /// sorted patch indices < patches.
    public func step(input: UnsafePointer<Float>, batch: Int, contextIndices: [Int], targetIndices: [Int],
                     gradScale: Float, onGradientsReady: GradientsReadyCallback?) -> Float {
        let shared = JEPAMask(contextIndices: contextIndices, targetIndices: targetIndices)
        return step(input: input, masks: Array(repeating: shared, count: batch), gradScale: gradScale, onGradientsReady: onGradientsReady)
    }

    /// The same with a mask per sample (`masks.count` samples); all masks have the same numbers of
    /// context and target patches (MaskGenerator.masks draws them so), their layouts may differ.
    public func step(input: UnsafePointer<Float>, masks: [JEPAMask], gradScale: Float,
                     onGradientsReady: GradientsReadyCallback?) -> Float {
        let batch = masks.count
        precondition(batch > 0, "JEPA step needs at least one sample")
        let nc = masks[0].contextIndices.count, nt = masks[0].targetIndices.count
        precondition(nc > 0 && nt > 0, "JEPA step needs context and target patches")
        precondition(masks.allSatisfy { $0.contextIndices.count == nc && $0.targetIndices.count == nt },
                     "every mask of a batch has the same numbers of context and target patches")
        precondition(masks.allSatisfy { ($0.contextIndices + $0.targetIndices).allSatisfy { $0 >= 0 && $0 < patches } },
                     "patch index out of range")
        let dim = config.dim
        let context = masks.map(\.contextIndices), targets = masks.map(\.targetIndices)
        // Target: EMA encoder on all patches, output only at the target patches (token = 1 + patch),
        // [batch, nt, dim]; valid until the target encoder's next forward.
        let tgt = targetEncoder.forward(weights: target.values, input: input, batch: batch, samples: samples,
                                        patchIndicesPerSample: nil, outputTokensPerSample: targets.map { $0.map { $0 + 1 } })
        lastTargetRows = tgt
        let w = UnsafePointer(params.values)
        let ctxOut = encoder.forward(weights: w, input: input, batch: batch, samples: samples,
                                     patchIndicesPerSample: context, outputTokensPerSample: nil)
        let pred = predictor.forward(weights: w, encoderOutput: ctxOut, batch: batch, totalPatches: patches,
                                     contextPerSample: context, targetsPerSample: targets)
        lastPrediction = pred
        let dPred = dPrediction.reserve(batch * nt * dim)
        lastLoss = l1LossForwardBackward(pred: pred, target: tgt, dPred: dPred, count: batch * nt * dim, gradScale: gradScale)
        let dCtx = predictor.backward(weights: w, grads: params.grads, dPrediction: dPred, onGradientsReady: onGradientsReady)
        encoder.backward(weights: w, grads: params.grads, dOutput: dCtx, onGradientsReady: onGradientsReady)
        return Float(lastLoss)
    }

    /// Mean over dimensions of the per-dimension std of target-encoder patch outputs over a batch
    /// (all patch tokens of all samples). Falls toward 0 if representations collapse.
    public func targetOutputStd(input: UnsafePointer<Float>, batch: Int) -> Float {
        let dim = config.dim, tokens = config.tokens(forSamples: samples)
        let out = targetEncoder.forward(weights: target.values, input: input, batch: batch, samples: samples)
        var sum = [Double](repeating: 0, count: dim), sumSq = [Double](repeating: 0, count: dim)
        for b in 0..<batch {
            for t in 1..<tokens {
                let row = out + (b * tokens + t) * dim
                for d in 0..<dim { let v = Double(row[d]); sum[d] += v; sumSq[d] += v * v }
            }
        }
        let n = Double(batch * (tokens - 1))
        var total = 0.0
        for d in 0..<dim { total += max(0, sumSq[d] / n - (sum[d] / n) * (sum[d] / n)).squareRoot() }
        return Float(total / Double(dim))
    }

    /// Bytes of activation/scratch memory currently reserved by the three networks.
    public var activationBytes: Int {
        encoder.reservedBytes + targetEncoder.reservedBytes + predictor.reservedBytes + totalBytes([dPrediction])
    }
}
