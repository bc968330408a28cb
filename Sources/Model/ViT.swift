// ECG Vision Transformer encoder: Conv1d patch embedding (as one GEMM over time-major patches),
// fixed sin-cos positions, one learned register token, pre-norm blocks, final LayerNorm.

public final class ViTEncoder {
    public let config: ViTConfig
    public let prefix: String
    /// The encoder's slice of the flat parameter buffer it was declared in.
    public let parameterRange: Range<Int>
    /// When false, forward keeps no per-block activations (target encoder / pure inference);
    /// backward is then unavailable.
    public var keepsActivationsForBackward = true

    let patchWeight: Int, registerToken: Int, normWeight: Int, normBias: Int
    let stack: TransformerStack
    private let specs: [ParameterSpec]

    // Per-forward state and buffers (grow-only).
    private let patches = FloatBuffer()        // gathered input patches [batch·n, 300]
    private let reorderedPatchWeight = FloatBuffer() // [dim, 300] in (time, channel) order
    private let embedded = FloatBuffer()       // patch embeddings [batch·n, dim]
    private let output = FloatBuffer(), normMean = FloatBuffer(), normRstd = FloatBuffer()
    private let dTokens = FloatBuffer(), dPatchWeight = FloatBuffer()
    private lazy var positionTables = PositionTableCache(dim: config.dim)
    private var lastBatch = 0, lastPatchInput: UnsafePointer<Float>?

    public init(config: ViTConfig, layout: inout ParameterLayout, prefix: String) {
        self.config = config
        self.prefix = prefix
        let first = layout.specs.count
        patchWeight = layout.declare(prefix + "patch_embed.weight", [config.dim, config.channels, config.patchSize])
        registerToken = layout.declare(prefix + "reg_token", [1, 1, config.dim])
        stack = TransformerStack(layout: &layout, prefix: prefix, depth: config.depth, dim: config.dim,
                                 heads: config.heads, mlpRatio: config.mlpRatio)
        normWeight = layout.declare(prefix + "norm.weight", [config.dim])
        normBias = layout.declare(prefix + "norm.bias", [config.dim])
        parameterRange = patchWeight..<layout.count
        specs = Array(layout.specs[first...])
    }

    var tokensOfLastForward: Int { stack.tokens }

    /// Train-time dropout of the blocks (the paper's fine-tuning `dropout`): applied by forwards
    /// that keep activations for a backward, never by evaluation / target forwards. Set the step
    /// before each training forward; nil or rate 0 = none (bit-identical to no dropout).
    public var dropout: DropoutMask? {
        get { stack.dropout }
        set { stack.dropout = newValue }
    }

    /// I-JEPA init of this encoder's parameters inside `weights` (the full flat buffer).
    public func initialize(_ weights: UnsafeMutablePointer<Float>, seed: UInt64) {
        fillTruncatedNormal(weights + patchWeight, count: config.dim * config.patchLength, name: prefix + "patch_embed.weight", seed: seed)
        fillTruncatedNormal(weights + registerToken, count: config.dim, name: prefix + "reg_token", seed: seed)
        initializeBlocks(stack.blocks, specs: specs, weights: weights, seed: seed)
        (weights + normWeight).update(repeating: 1, count: config.dim)
        (weights + normBias).update(repeating: 0, count: config.dim)
    }

    func positionTable(patches n: Int) -> UnsafePointer<Float> { positionTables.table(patches: n) }

    /// Forward on ALL patch tokens (eval / target encoder). Output [batch, 1 + T/25, dim] with the
    /// register token first, after the final LayerNorm; valid until the next call.
    public func forward(weights: UnsafePointer<Float>, input: UnsafePointer<Float>, batch: Int, samples: Int) -> UnsafePointer<Float> {
        forward(weights: weights, input: input, batch: batch, samples: samples, patchIndices: nil)
    }

    /// Forward on the register token plus the patches at `patchIndices` (sorted, < T/25), or all
    /// patches when nil. Output [batch, 1 + count, dim]; with `outputTokens` (token indices, the
    /// register being 0) only those rows, [batch, outputTokens.count, dim] — the last block then
    /// skips the rest of its work.
    public func forward(weights w: UnsafePointer<Float>, input: UnsafePointer<Float>, batch: Int, samples: Int,
                        patchIndices: [Int]?, outputTokens: [Int]? = nil) -> UnsafePointer<Float> {
        forward(weights: w, input: input, batch: batch, samples: samples,
                patchIndicesPerSample: patchIndices.map { Array(repeating: $0, count: batch) },
                outputTokensPerSample: outputTokens.map { Array(repeating: $0, count: batch) })
    }

    /// As above with each sample's own visible patches and output tokens (JEPA masks: the same
    /// counts in every sample of a batch, a layout per sample).
    public func forward(weights w: UnsafePointer<Float>, input: UnsafePointer<Float>, batch: Int, samples: Int,
                        patchIndicesPerSample: [[Int]]?, outputTokensPerSample: [[Int]]?) -> UnsafePointer<Float> {
        let dim = config.dim, pl = config.patchLength
        let totalPatches = config.patches(forSamples: samples)
        let n = patchIndicesPerSample?.first?.count ?? totalPatches
        precondition(patchIndicesPerSample.map { $0.count == batch && $0.allSatisfy { $0.count == n } } ?? true,
                     "one patch list per sample, all of one length")
        let tokens = n + 1, rows = batch * n
        lastBatch = batch
        // 1. Patch matrix [batch·n, 300]: with time-major input every patch is contiguous.
        var patchInput = input
        if let patchIndicesPerSample {
            let dst = patches.reserve(rows * pl)
            for b in 0..<batch {
                let sample = input + b * samples * config.channels
                for (j, idx) in patchIndicesPerSample[b].enumerated() { (dst + (b * n + j) * pl).update(from: sample + idx * pl, count: pl) }
            }
            patchInput = UnsafePointer(dst)
        } else if samples != totalPatches * config.patchSize || keepsActivationsForBackward {
            // Trailing samples beyond whole patches are dropped; backward needs its own copy.
            let dst = patches.reserve(rows * pl)
            for b in 0..<batch { (dst + b * n * pl).update(from: input + b * samples * config.channels, count: n * pl) }
            patchInput = UnsafePointer(dst)
        }
        lastPatchInput = patchInput
        // 2. Conv1d weight [dim, 12, 25] → [dim, 25·12] matching the (time, channel) patch order.
        let wr = reorderedPatchWeight.reserve(dim * pl)
        let cw = w + patchWeight
        for o in 0..<dim {
            for c in 0..<config.channels {
                for k in 0..<config.patchSize { wr[o * pl + k * config.channels + c] = cw[(o * config.channels + c) * config.patchSize + k] }
            }
        }
        let e = embedded.reserve(rows * dim)
        linearForward(e, patchInput, wr, rows: rows, inFeatures: pl, outFeatures: dim)
        // 3. Tokens: register first (no position), then patch embedding + sin-cos position.
        let x = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: keepsActivationsForBackward,
                                  outputTokensPerSample: outputTokensPerSample)
        let pos = positionTable(patches: totalPatches)
        for b in 0..<batch {
            (x + b * tokens * dim).update(from: w + registerToken, count: dim)
            for j in 0..<n {
                let idx = patchIndicesPerSample?[b][j] ?? j
                addRows(x + (b * tokens + 1 + j) * dim, e + (b * n + j) * dim, pos + idx * dim, count: dim)
            }
        }
        // 4. Blocks and final LayerNorm.
        let y = stack.forward(weights: w)
        let outRows = batch * stack.outputRowsPerSample
        let out = output.reserve(outRows * dim)
        let mean = normMean.reserve(outRows), rstd = normRstd.reserve(outRows)
        parallelChunks(outRows) { _, r in
            let o = r.lowerBound
            layerNormForward(out: out + o * dim, mean: mean + o, rstd: rstd + o, x: y + o * dim,
                             weight: w + normWeight, bias: w + normBias, rows: r.count, dim: dim)
        }
        return UnsafePointer(out)
    }

    /// Backward of the LAST forward: `dOutput` has the output's shape. Accumulates into `grads`
    /// (same offsets as weights) and reports finished ranges: final norm, blocks last→first,
    /// then patch embedding + register token.
    public func backward(weights w: UnsafePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                         dOutput: UnsafePointer<Float>, onGradientsReady: GradientsReadyCallback?) {
        precondition(keepsActivationsForBackward, "encoder backward needs keepsActivationsForBackward")
        let dim = config.dim, pl = config.patchLength
        let batch = lastBatch, tokens = stack.tokens, n = tokens - 1
        let outRows = batch * stack.outputRowsPerSample
        let dx = dTokens.reserve(batch * tokens * dim)   // the stack returns all token rows
        // The stack's output stream is the final LN input (kept because activations are kept).
        layerNormBackward(dx: dx, dWeight: g + normWeight, dBias: g + normBias, dOut: dOutput,
                          x: stackOutput, mean: normMean.pointer, rstd: normRstd.pointer, weight: w + normWeight,
                          rows: outRows, dim: dim, accumulate: false)
        onGradientsReady?(normWeight..<parameterRange.upperBound)
        stack.backward(weights: w, grads: g, dx: dx, onGradientsReady: onGradientsReady)
        // Register token: sum over the batch of row 0. Patch rows → conv weight gradient.
        let dReg = g + registerToken
        let dE = embedded.pointer  // reuse: forward's embeddings are no longer needed
        for b in 0..<batch {
            accumulate(dReg, dx + b * tokens * dim, count: dim)
            (dE + b * n * dim).update(from: dx + (b * tokens + 1) * dim, count: n * dim)
        }
        let dwr = dPatchWeight.reserve(dim * pl)
        sgemm(true, false, dim, pl, batch * n, 1, dE, dim, lastPatchInput!, pl, 0, dwr, pl)
        let dcw = g + patchWeight
        for o in 0..<dim {
            for c in 0..<config.channels {
                for k in 0..<config.patchSize { dcw[(o * config.channels + c) * config.patchSize + k] += dwr[o * pl + k * config.channels + c] }
            }
        }
        let embedEnd = stack.blocks.first?.range.lowerBound ?? normWeight
        onGradientsReady?(patchWeight..<embedEnd)
    }

    private var stackOutput: UnsafePointer<Float> { UnsafePointer(stack.outputStream) }

    var reservedBytes: Int {
        stack.reservedBytes + totalBytes([patches, reorderedPatchWeight, embedded, output, normMean, normRstd, dTokens, dPatchWeight])
    }
}

/// Floats of a standalone encoder layout (what `encoderWeights` must hold).
public func encoderParameterCount(_ config: ViTConfig) -> Int {
    var layout = ParameterLayout()
    _ = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
    return layout.count
}
