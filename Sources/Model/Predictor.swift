// JEPA predictor (I-JEPA style, narrow ViT): embeds the context-encoder outputs to predDim, adds
// positions of the context patches, appends one learned mask token per target patch (+ its
// position), runs predictor blocks, and maps only the TARGET rows through the final LayerNorm
// and the projection back to the encoder width (context rows feed no loss, so they are skipped).

public final class Predictor {
    public let config: ViTConfig
    public let parameterRange: Range<Int>
    let embed: Int, maskToken: Int, normWeight: Int, normBias: Int, proj: Int
    let stack: TransformerStack
    private let specs: [ParameterSpec]

    private let embedded = FloatBuffer()     // [batch·(1+nc), predDim]
    private let normed = FloatBuffer(), normMean = FloatBuffer(), normRstd = FloatBuffer()
    private let prediction = FloatBuffer()   // [batch·nt, dim]
    private let dNormed = FloatBuffer(), dTokens = FloatBuffer()
    private let dEncoderOutput = FloatBuffer()
    private lazy var positionTables = PositionTableCache(dim: config.predDim)
    private var lastBatch = 0, lastContext = 0, lastTargets = 0
    private var lastEncoderOutput: UnsafePointer<Float>?

    public init(config: ViTConfig, layout: inout ParameterLayout, prefix: String) {
        self.config = config
        let first = layout.specs.count
        embed = layout.declare(prefix + "embed.weight", [config.predDim, config.dim])
        maskToken = layout.declare(prefix + "mask_token", [1, 1, config.predDim])
        stack = TransformerStack(layout: &layout, prefix: prefix, depth: config.predDepth, dim: config.predDim,
                                 heads: config.predHeads, mlpRatio: config.mlpRatio)
        normWeight = layout.declare(prefix + "norm.weight", [config.predDim])
        normBias = layout.declare(prefix + "norm.bias", [config.predDim])
        proj = layout.declare(prefix + "proj.weight", [config.dim, config.predDim])
        parameterRange = embed..<layout.count
        specs = Array(layout.specs[first...])
    }

    public func initialize(_ weights: UnsafeMutablePointer<Float>, seed: UInt64) {
        for spec in specs {
            if spec.offset == normWeight { (weights + normWeight).update(repeating: 1, count: spec.count) }
            else if spec.offset == normBias { (weights + normBias).update(repeating: 0, count: spec.count) }
            else if spec.offset == embed || spec.offset == maskToken || spec.offset == proj {
                fillTruncatedNormal(weights + spec.offset, count: spec.count, name: spec.name, seed: seed)
            }
        }
        initializeBlocks(stack.blocks, specs: specs, weights: weights, seed: seed)
    }

    private func positionTable(patches n: Int) -> UnsafePointer<Float> { positionTables.table(patches: n) }

    /// encoderOutput: [batch, 1 + nc, dim] (register first). Returns predictions at the target
    /// patches, [batch, nt, dim]; valid until the next call.
    public func forward(weights w: UnsafePointer<Float>, encoderOutput: UnsafePointer<Float>, batch: Int,
                        totalPatches: Int, contextIndices: [Int], targetIndices: [Int]) -> UnsafePointer<Float> {
        forward(weights: w, encoderOutput: encoderOutput, batch: batch, totalPatches: totalPatches,
                contextPerSample: Array(repeating: contextIndices, count: batch),
                targetsPerSample: Array(repeating: targetIndices, count: batch))
    }

    /// As above with each sample's own context and target patches (the same counts in every sample).
    public func forward(weights w: UnsafePointer<Float>, encoderOutput: UnsafePointer<Float>, batch: Int,
                        totalPatches: Int, contextPerSample: [[Int]], targetsPerSample: [[Int]]) -> UnsafePointer<Float> {
        let pd = config.predDim, dim = config.dim
        let nc = contextPerSample.first?.count ?? 0, nt = targetsPerSample.first?.count ?? 0
        precondition(contextPerSample.count == batch && targetsPerSample.count == batch
                     && contextPerSample.allSatisfy { $0.count == nc } && targetsPerSample.allSatisfy { $0.count == nt },
                     "one context and one target list per sample, each of one length")
        let ctxTokens = 1 + nc, tokens = ctxTokens + nt
        lastBatch = batch; lastContext = nc; lastTargets = nt; lastEncoderOutput = encoderOutput
        let e = embedded.reserve(batch * ctxTokens * pd)
        linearForward(e, encoderOutput, w + embed, rows: batch * ctxTokens, inFeatures: dim, outFeatures: pd)
        let pos = positionTable(patches: totalPatches)
        // The last block runs only at the target rows: the stack output is [batch·nt, predDim].
        let z = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: true, outputTokens: Array(ctxTokens..<tokens))
        for b in 0..<batch {
            let zb = z + b * tokens * pd, eb = e + b * ctxTokens * pd
            zb.update(from: eb, count: pd)    // register token: no position
            for (j, idx) in contextPerSample[b].enumerated() { addRows(zb + (1 + j) * pd, eb + (1 + j) * pd, pos + idx * pd, count: pd) }
            for (j, idx) in targetsPerSample[b].enumerated() { addRows(zb + (ctxTokens + j) * pd, w + maskToken, pos + idx * pd, count: pd) }
        }
        let yt = stack.forward(weights: w)
        let rows = batch * nt
        let ln = normed.reserve(rows * pd)
        layerNormForward(out: ln, mean: normMean.reserve(rows), rstd: normRstd.reserve(rows), x: yt,
                         weight: w + normWeight, bias: w + normBias, rows: rows, dim: pd)
        let out = prediction.reserve(rows * dim)
        linearForward(out, ln, w + proj, rows: rows, inFeatures: pd, outFeatures: dim)
        return UnsafePointer(out)
    }

    /// Backward of the last forward from dPrediction [batch, nt, dim]. Accumulates parameter
    /// gradients and returns the gradient w.r.t. the encoder output [batch, 1 + nc, dim]
    /// (valid until the next call). Reports norm+proj, blocks last→first, then embed+mask token.
    public func backward(weights w: UnsafePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                         dPrediction: UnsafePointer<Float>, onGradientsReady: GradientsReadyCallback?) -> UnsafePointer<Float> {
        let pd = config.predDim, dim = config.dim
        let batch = lastBatch, nc = lastContext, nt = lastTargets
        let ctxTokens = 1 + nc, tokens = ctxTokens + nt, rows = batch * nt
        let dln = dNormed.reserve(rows * pd)
        linearBackward(dInput: dln, dWeight: g + proj, dOut: dPrediction, input: normed.pointer, weight: w + proj,
                       rows: rows, inFeatures: pd, outFeatures: dim)
        // Gradient of the stack output (target rows only); the stack returns all token rows in dz.
        let dz = dTokens.reserve(batch * tokens * pd)
        layerNormBackward(dx: dz, dWeight: g + normWeight, dBias: g + normBias, dOut: dln, x: stack.outputStream,
                          mean: normMean.pointer, rstd: normRstd.pointer, weight: w + normWeight, rows: rows, dim: pd,
                          accumulate: false)
        onGradientsReady?(normWeight..<parameterRange.upperBound)
        stack.backward(weights: w, grads: g, dx: dz, onGradientsReady: onGradientsReady)
        // Mask token: sum over all target rows. Context rows → embed backward (reuse `embedded`).
        let dMask = g + maskToken
        let de = embedded.pointer
        for b in 0..<batch {
            for j in 0..<nt { accumulate(dMask, dz + (b * tokens + ctxTokens + j) * pd, count: pd) }
            (de + b * ctxTokens * pd).update(from: dz + b * tokens * pd, count: ctxTokens * pd)
        }
        let dEnc = dEncoderOutput.reserve(batch * ctxTokens * dim)
        linearBackward(dInput: dEnc, dWeight: g + embed, dOut: de, input: lastEncoderOutput!, weight: w + embed,
                       rows: batch * ctxTokens, inFeatures: dim, outFeatures: pd)
        let embedEnd = stack.blocks.first?.range.lowerBound ?? normWeight
        onGradientsReady?(embed..<embedEnd)
        return UnsafePointer(dEnc)
    }

    var reservedBytes: Int {
        stack.reservedBytes + totalBytes([embedded, normed, normMean, normRstd, prediction, dNormed, dTokens, dEncoderOutput])
    }
}
