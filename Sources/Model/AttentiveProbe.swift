// Attentive probe: the evaluation head put on top of a (frozen or fine-tuned) encoder.
//
// Instead of mean-pooling the encoder's output tokens, one learned query vector cross-attends to
// all of them (register token included), as in the attentive probing of I-JEPA / V-JEPA. Design:
//
//   q      = Wq · query                       [dim]        (same for every sample)
//   K | V  = tokens · Wkvᵀ                    [B, N, 2·dim] (one packed GEMM)
//   a[b,h] = softmax_n(q_h · K[b,n,h] / √hd)   per head h, hd = dim / heads
//   ctx    = Σ_n a[b,h,n] · V[b,n,h]          [B, dim]
//   pooled = ctx · Woᵀ                        [B, dim]
//   z      = LayerNorm(pooled)                (weight + bias)
//   logits = z · Whᵀ + bh                     [B, labels]
//
// The q/kv/out projections have no bias (a bias on q or k cancels in the softmax and one on v or
// out is absorbed by the LayerNorm's bias); the head has a bias so each label gets its own prior.
// The LayerNorm makes the head insensitive to the scale of the pooled features, which differ a lot
// between a random and a pre-trained encoder. Weights are PyTorch-style [out, in]; parameters live
// in the caller's flat ParameterLayout under `prefix` so the optimizer treats them like any other.
//
// Cost per sample: the kv GEMM (N·dim·2·dim) dominates; the per-head score and context loops are
// O(N·dim) and stay plain loops.

public final class AttentiveProbe {
    public let dim: Int
    public let heads: Int
    public let labelCount: Int
    public var headDim: Int { dim / heads }

    // Offsets into the flat parameter buffer.
    public let queryOffset: Int
    public let qWeightOffset: Int
    public let kvWeightOffset: Int
    public let outWeightOffset: Int
    public let normWeightOffset: Int
    public let normBiasOffset: Int
    public let headWeightOffset: Int
    public let headBiasOffset: Int
    /// Flat range covering every probe parameter (the layout declares them contiguously).
    public let parameterRange: Range<Int>

    // Activations of the last forward (grow-only buffers).
    private var batch = 0, tokenCount = 0
    private var savedTokens: UnsafePointer<Float>?
    private let q = FloatBuffer()          // [dim]
    private let kv = FloatBuffer()         // [B, N, 2·dim]
    private let probs = FloatBuffer()      // [B, heads, N]
    private let context = FloatBuffer()    // [B, dim]
    private let pooled = FloatBuffer()     // [B, dim]
    private let normMean = FloatBuffer()   // [B]
    private let normRstd = FloatBuffer()   // [B]
    private let normed = FloatBuffer()     // [B, dim]
    private let logits = FloatBuffer()     // [B, labels]
    // Backward scratch.
    private let dNormed = FloatBuffer(), dPooled = FloatBuffer(), dContext = FloatBuffer()
    private let dKV = FloatBuffer(), dQ = FloatBuffer(), dScores = FloatBuffer()

    public init(dim: Int, heads: Int, labels: Int, layout: inout ParameterLayout, prefix: String = "probe.") {
        precondition(dim > 0 && heads > 0 && dim % heads == 0, "probe: dim \(dim) not divisible by heads \(heads)")
        precondition(labels > 0, "probe: needs at least one label")
        self.dim = dim
        self.heads = heads
        self.labelCount = labels
        queryOffset = layout.declare(prefix + "query", [dim], decay: false)
        qWeightOffset = layout.declare(prefix + "q.weight", [dim, dim])
        kvWeightOffset = layout.declare(prefix + "kv.weight", [2 * dim, dim])
        outWeightOffset = layout.declare(prefix + "proj.weight", [dim, dim])
        normWeightOffset = layout.declare(prefix + "norm.weight", [dim])
        normBiasOffset = layout.declare(prefix + "norm.bias", [dim])
        headWeightOffset = layout.declare(prefix + "head.weight", [labels, dim])
        headBiasOffset = layout.declare(prefix + "head.bias", [labels])
        parameterRange = queryOffset..<layout.count
    }

    /// timm-style init: truncated normal (std 0.02) for the query and the weight matrices,
    /// LayerNorm 1/0, head bias 0. A pure function of `seed`.
    public func initialize(_ weights: UnsafeMutablePointer<Float>, seed: UInt64) {
        var rng = SplitMix64(seed: seed, stream: RNGStream.probe.rawValue, counter: 0xA77E)
        func fill(_ offset: Int, _ count: Int) {
            for i in 0..<count { weights[offset + i] = rng.nextTruncatedNormal(std: 0.02) }
        }
        fill(queryOffset, dim)
        fill(qWeightOffset, dim * dim)
        fill(kvWeightOffset, 2 * dim * dim)
        fill(outWeightOffset, dim * dim)
        fill(headWeightOffset, labelCount * dim)
        for i in 0..<dim { weights[normWeightOffset + i] = 1; weights[normBiasOffset + i] = 0 }
        for i in 0..<labelCount { weights[headBiasOffset + i] = 0 }
    }

    /// Logits [batch, labels] for `tokens` [batch, tokenCount, dim]. The tokens pointer must stay
    /// valid until `backward` (it is not copied). The result is valid until the next forward.
    public func forward(weights: UnsafePointer<Float>, tokens: UnsafePointer<Float>, batch: Int,
                        tokenCount: Int) -> UnsafePointer<Float> {
        self.batch = batch
        self.tokenCount = tokenCount
        savedTokens = tokens
        let d = dim, hd = headDim, n = tokenCount, rows = batch * n
        let scale = 1 / Float(hd).squareRoot()

        // q = Wq · query (one row through the shared linear kernel).
        let qv = q.reserve(d)
        linearForward(qv, weights + queryOffset, weights + qWeightOffset, rows: 1, inFeatures: d, outFeatures: d)
        let kvp = kv.reserve(rows * 2 * d)
        linearForward(kvp, tokens, weights + kvWeightOffset, rows: rows, inFeatures: d, outFeatures: 2 * d)

        // Scores and softmax per (sample, head), then the attention-weighted sum of values.
        let p = probs.reserve(batch * heads * n)
        let ctx = context.reserve(batch * d)
        for b in 0..<batch {
            for h in 0..<heads {
                let row = p + (b * heads + h) * n
                let qh = qv + h * hd
                for t in 0..<n {
                    let k = kvp + (b * n + t) * 2 * d + h * hd
                    var s: Float = 0
                    for e in 0..<hd { s += qh[e] * k[e] }
                    row[t] = s * scale
                }
                softmaxRows(row, rows: 1, n: n)
                let out = ctx + b * d + h * hd
                for e in 0..<hd { out[e] = 0 }
                for t in 0..<n {
                    let v = kvp + (b * n + t) * 2 * d + d + h * hd
                    let a = row[t]
                    for e in 0..<hd { out[e] += a * v[e] }
                }
            }
        }

        let pooledp = pooled.reserve(batch * d)
        linearForward(pooledp, ctx, weights + outWeightOffset, rows: batch, inFeatures: d, outFeatures: d)
        let z = normed.reserve(batch * d)
        layerNormForward(out: z, mean: normMean.reserve(batch), rstd: normRstd.reserve(batch), x: pooledp,
                         weight: weights + normWeightOffset, bias: weights + normBiasOffset, rows: batch, dim: d)
        let out = logits.reserve(batch * labelCount)
        linearForward(out, z, weights + headWeightOffset, rows: batch, inFeatures: d, outFeatures: labelCount)
        for b in 0..<batch {
            for j in 0..<labelCount { out[b * labelCount + j] += weights[headBiasOffset + j] }
        }
        return UnsafePointer(out)
    }

    /// Backward of the last forward. Accumulates parameter gradients into `grads` (same layout as
    /// `weights`) and, when `dTokens` is given, OVERWRITES it with d loss / d tokens
    /// [batch, tokenCount, dim] (what the encoder's backward needs when fine-tuning).
    public func backward(weights: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>,
                         dLogits: UnsafePointer<Float>, dTokens: UnsafeMutablePointer<Float>?) {
        guard let tokens = savedTokens else { preconditionFailure("probe backward without forward") }
        let d = dim, hd = headDim, n = tokenCount, rows = batch * n, L = labelCount
        let scale = 1 / Float(hd).squareRoot()
        let qv = UnsafePointer(q.pointer), kvp = UnsafePointer(kv.pointer), p = UnsafePointer(probs.pointer)

        // Head: logits = z Whᵀ + bh.
        for b in 0..<batch {
            for j in 0..<L { grads[headBiasOffset + j] += dLogits[b * L + j] }
        }
        let dz = dNormed.reserve(batch * d)
        linearBackward(dInput: dz, dWeight: grads + headWeightOffset, dOut: dLogits, input: normed.pointer,
                       weight: weights + headWeightOffset, rows: batch, inFeatures: d, outFeatures: L)
        // LayerNorm.
        let dPool = dPooled.reserve(batch * d)
        layerNormBackward(dx: dPool, dWeight: grads + normWeightOffset, dBias: grads + normBiasOffset, dOut: dz,
                          x: pooled.pointer, mean: normMean.pointer, rstd: normRstd.pointer,
                          weight: weights + normWeightOffset, rows: batch, dim: d, accumulate: false)
        // Output projection.
        let dCtx = dContext.reserve(batch * d)
        linearBackward(dInput: dCtx, dWeight: grads + outWeightOffset, dOut: dPool, input: context.pointer,
                       weight: weights + outWeightOffset, rows: batch, inFeatures: d, outFeatures: d)

        // Attention pooling. dV[b,t,h] = a·dctx; dA = dctx·V; softmax backward; dK = dS·q·scale; dq = Σ dS·K·scale.
        let dkv = dKV.reserve(rows * 2 * d)
        let dq = dQ.reserve(d)
        for i in 0..<d { dq[i] = 0 }
        let ds = dScores.reserve(n)
        for b in 0..<batch {
            for h in 0..<heads {
                let row = p + (b * heads + h) * n
                let dc = dCtx + b * d + h * hd
                var dot: Float = 0   // Σ_t a_t · dA_t
                for t in 0..<n {
                    let v = kvp + (b * n + t) * 2 * d + d + h * hd
                    let dv = dkv + (b * n + t) * 2 * d + d + h * hd
                    var s: Float = 0
                    let a = row[t]
                    for e in 0..<hd { s += dc[e] * v[e]; dv[e] = a * dc[e] }
                    ds[t] = s
                    dot += a * s
                }
                let qh = qv + h * hd, dqh = dq + h * hd
                for t in 0..<n {
                    let g = row[t] * (ds[t] - dot) * scale
                    let k = kvp + (b * n + t) * 2 * d + h * hd
                    let dk = dkv + (b * n + t) * 2 * d + h * hd
                    for e in 0..<hd { dk[e] = g * qh[e]; dqh[e] += g * k[e] }
                }
            }
        }
        // kv projection: dWkv += dKVᵀ · tokens; dTokens = dKV · Wkv.
        linearBackward(dInput: dTokens, dWeight: grads + kvWeightOffset, dOut: dkv, input: tokens,
                       weight: weights + kvWeightOffset, rows: rows, inFeatures: d, outFeatures: 2 * d)
        // q = Wq · query: dWq += dq ⊗ query; dquery += Wqᵀ dq.
        let dQuery = grads + queryOffset
        linearBackward(dInput: dNormed.reserve(d), dWeight: grads + qWeightOffset, dOut: dq,
                       input: weights + queryOffset, weight: weights + qWeightOffset, rows: 1, inFeatures: d,
                       outFeatures: d)
        accumulate(dQuery, dNormed.pointer, count: d)
    }
}
