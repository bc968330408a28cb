// A stack of pre-norm transformer blocks (timm ViT Block without biases in Linear layers):
//   x = x + proj(attn(LN1(x)));  x = x + fc2(GELU(fc1(LN2(x))))
// Forward and backward live side by side. Activations are kept per block when a backward will
// follow; a forward-only stack (target encoder, evaluation) reuses one set for all blocks.
// The last block can compute its outputs at selected token rows only (see `outputTokens`).
// Train-time dropout (`dropout`) sits where timm / the ECG-JEPA paper code put it: on the
// attention branch after its output projection, after the MLP's GELU, and on the MLP branch
// after fc2 (none on the attention probabilities, no drop-path).

/// Offsets of one block's parameters inside the flat store.
struct BlockParameters {
    let norm1Weight, norm1Bias, qkv, proj, norm2Weight, norm2Bias, fc1, fc2: Int
    /// The block's contiguous slice of the flat buffer (first to last parameter).
    let range: Range<Int>

    init(layout: inout ParameterLayout, prefix: String, dim: Int, hidden: Int) {
        norm1Weight = layout.declare(prefix + "norm1.weight", [dim])
        norm1Bias = layout.declare(prefix + "norm1.bias", [dim])
        qkv = layout.declare(prefix + "attn.qkv.weight", [3 * dim, dim])
        proj = layout.declare(prefix + "attn.proj.weight", [dim, dim])
        norm2Weight = layout.declare(prefix + "norm2.weight", [dim])
        norm2Bias = layout.declare(prefix + "norm2.bias", [dim])
        fc1 = layout.declare(prefix + "mlp.fc1.weight", [hidden, dim])
        fc2 = layout.declare(prefix + "mlp.fc2.weight", [dim, hidden])
        range = norm1Weight..<layout.count
    }
}

/// Saved activations of one block.
final class BlockActivations {
    let ln1 = FloatBuffer(), mean1 = FloatBuffer(), rstd1 = FloatBuffer()
    let qkv = FloatBuffer(), probs = FloatBuffer(), rowScales = FloatBuffer(), attn = FloatBuffer()
    let mid = FloatBuffer()   // residual stream after the attention branch
    let ln2 = FloatBuffer(), mean2 = FloatBuffer(), rstd2 = FloatBuffer()
    /// fc1 output, then GELU of it in place: (dropped-out) GELU is what fc2 reads, also in its
    /// weight gradient; the pre-activation itself is not needed once geluDerivative is kept.
    let hidden = FloatBuffer()
    let geluDerivative = FloatBuffer()   // GELU'(fc1 output), kept only for a backward
    var all: [FloatBuffer] { [ln1, mean1, rstd1, qkv, probs, rowScales, attn, mid, ln2, mean2, rstd2, hidden, geluDerivative] }

    func reserve(rows: Int, dim: Int, hiddenDim: Int, probs probsCount: Int, rowScales rowScaleCount: Int, forBackward: Bool) {
        if forBackward { geluDerivative.reserve(rows * hiddenDim) }
        ln1.reserve(rows * dim); mean1.reserve(rows); rstd1.reserve(rows)
        qkv.reserve(rows * 3 * dim); probs.reserve(probsCount); rowScales.reserve(rowScaleCount)
        attn.reserve(rows * dim)
        mid.reserve(rows * dim); ln2.reserve(rows * dim); mean2.reserve(rows); rstd2.reserve(rows)
        hidden.reserve(rows * hiddenDim)
    }
}

final class TransformerStack {
    let dim: Int, heads: Int, hiddenDim: Int
    let blocks: [BlockParameters]
    private var activations: [BlockActivations] = []
    /// Residual stream: streams[l] is block l's input; streams[depth] the output.
    private var streams: [FloatBuffer] = []
    // Scratch shared by all blocks.
    private let dHidden = FloatBuffer(), dBranch = FloatBuffer()
    private let dqkv = FloatBuffer(), dProbs = FloatBuffer()
    /// Dropout scratch: a branch output before it joins the residual, and the masked gradient.
    private let branchOut = FloatBuffer(), dMasked = FloatBuffer()
    /// Train-time dropout for the next forward that keeps activations (nil or rate 0 = none; the
    /// site is set per place: 3·layer + 0 attention branch, + 1 GELU output, + 2 MLP branch).
    var dropout: DropoutMask?
    /// The dropout the last forward applied (its backward applies the same masks).
    private var activeDropout: DropoutMask?
    /// Per-thread weight-gradient slabs (threads 1…) covering the blocks' parameter span. They
    /// hold zeros between backwards: the reduction that adds a block's range into the gradients
    /// clears it in the same pass, while the lines are in cache. Zeroing the range at the start of
    /// the block's region was an extra pass (1.8 MB per vit-xs encoder block) that only the threads
    /// holding slabs made, inside the region the others wait for.
    private var gradientSlabs: [FloatBuffer] = []
    private(set) var batch = 0, tokens = 0
    private var keptActivations = false
    /// Token rows of each sample at which the last forward needed outputs, nil = all; every sample
    /// has the same number of them (JEPA targets: one count per batch, a layout per sample). The
    /// last block then computes queries, attention output, residual, LN2 and MLP only at those rows
    /// (keys and values still from all tokens); no loss uses the others. A thread packs its samples' selected
    /// rows at the START of its own row range r0..<r0+rows of the usual buffers (so threads never
    /// touch each other's rows, even when a forward-only stack shares one set between blocks); only
    /// queries, output and their gradients get compact [batch·selected, ·] buffers of their own.
    private(set) var outputTokens: [[Int]]?
    private let topQueries = FloatBuffer(), topOutput = FloatBuffer()
    /// One attention score tile (tokens × tokens) per thread, reused by every (sample, head).
    private let scoreTiles = FloatBuffer()
    /// This pass's packed copies of the blocks' matrices and the kernels that use them (nil: every
    /// product through cblas_sgemm), and one activation-packing scratch per thread (Kernels/PackedWeights.swift).
    private let packed = PackedWeights()
    private var packedKernels: OpenBLASKernel?
    private let packScratch = FloatBuffer()
    private let dTop = FloatBuffer(), dTopQueries = FloatBuffer()

    init(layout: inout ParameterLayout, prefix: String, depth: Int, dim: Int, heads: Int, mlpRatio: Int) {
        self.dim = dim; self.heads = heads; hiddenDim = dim * mlpRatio
        var blocks: [BlockParameters] = []
        for i in 0..<depth {
            blocks.append(BlockParameters(layout: &layout, prefix: "\(prefix)blocks.\(i).", dim: dim, hidden: dim * mlpRatio))
        }
        self.blocks = blocks
    }

    var depth: Int { blocks.count }

    /// Buffer for the stack input (token matrix [batch·tokens, dim]); fill it, then call forward.
    /// With `outputTokens` (token indices within a sample, the same for every sample) the output
    /// has only those rows.
    func inputBuffer(batch: Int, tokens: Int, keepActivations: Bool, outputTokens: [Int]? = nil) -> UnsafeMutablePointer<Float> {
        inputBuffer(batch: batch, tokens: tokens, keepActivations: keepActivations,
                    outputTokensPerSample: outputTokens.map { Array(repeating: $0, count: batch) })
    }

    /// As above with each sample's own output token rows (`batch` lists of one length).
    func inputBuffer(batch: Int, tokens: Int, keepActivations: Bool, outputTokensPerSample: [[Int]]?) -> UnsafeMutablePointer<Float> {
        precondition(outputTokensPerSample == nil || depth > 0, "selected output rows need at least one block")
        if let selection = outputTokensPerSample {
            precondition(selection.count == batch, "one output-row list per sample")
            precondition(selection.allSatisfy { $0.count == selection[0].count }, "every sample selects the same number of rows")
            precondition(selection.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 < tokens } }, "output token index out of range")
        }
        self.batch = batch; self.tokens = tokens; keptActivations = keepActivations
        self.outputTokens = outputTokensPerSample
        if let outputTokens {
            let topRows = batch * selectedCount(outputTokens)
            topQueries.reserve(topRows * dim); topOutput.reserve(topRows * dim)
        }
        let rows = batch * tokens
        let setCount = keepActivations ? max(depth, 1) : 1
        while activations.count < setCount { activations.append(BlockActivations()) }
        let streamCount = keepActivations ? depth + 1 : 1
        while streams.count < streamCount { streams.append(FloatBuffer()) }
        for a in activations[0..<setCount] {
            a.reserve(rows: rows, dim: dim, hiddenDim: hiddenDim, probs: keepActivations ? batch * heads * tokens * tokens : 0,
                      rowScales: batch * heads * tokens, forBackward: keepActivations)
        }
        for s in streams[0..<streamCount] { s.reserve(rows * dim) }
        activeDropout = keepActivations && (dropout?.rate ?? 0) > 0 ? dropout : nil
        if activeDropout != nil { branchOut.reserve(rows * dim) }
        return streams[0].pointer
    }

    /// Block l's input. A forward-only stack updates one residual stream in place (no block
    /// needs its input again), so every l maps to the same buffer.
    private func stream(_ l: Int) -> UnsafeMutablePointer<Float> {
        keptActivations ? streams[l].pointer : streams[0].pointer
    }

    /// Output rows per sample: all tokens, or the selected output tokens.
    var outputRowsPerSample: Int { outputTokens.map(selectedCount) ?? tokens }

    private func selectedCount(_ selection: [[Int]]) -> Int { selection.first?.count ?? 0 }

    /// The last forward's output [batch·outputRowsPerSample, dim].
    var outputStream: UnsafeMutablePointer<Float> { outputTokens == nil ? stream(depth) : topOutput.pointer }

    /// Runs all blocks on the input buffer; returns the output stream [batch·outputRowsPerSample, dim].
    /// With several threads each takes a contiguous range of samples through every block: all
    /// work of a block forward is per sample, so there is no join until the end.
    func forward(weights w: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let tileStride = cacheLineMultiple(tokens * tokens)
        scoreTiles.reserve(parallelChunkCount(batch) * tileStride)
        let packStride = preparePackedWeights(w, use: .forward)
        parallelChunks(batch) { chunk, samples in
            let scores = scoreTiles.pointer + chunk * tileStride, pack = packScratch.pointer + chunk * packStride
            for tile in sampleTiles(samples) {
                for l in blocks.indices { forwardBlock(l, weights: w, samples: tile, scores: scores, pack: pack) }
            }
        }
        return outputStream
    }

    /// Packs every block's four matrices for this pass when the packed path is on, and sizes the
    /// per-thread scratch; returns the scratch stride per thread.
    private func preparePackedWeights(_ w: UnsafePointer<Float>, use: PackedWeights.Use) -> Int {
        packedKernels = PackedWeightGEMM.active
        guard let kernels = packedKernels else { return 0 }
        let items = blocks.flatMap { p in
            [(p.qkv, 3 * dim, dim), (p.proj, dim, dim), (p.fc1, hiddenDim, dim), (p.fc2, dim, hiddenDim)]
        }
        packed.pack(weights: w, items.map { (offset: $0.0, out: $0.1, inF: $0.2) }, use: use, with: kernels)
        let tileSamples = min(max(1, Self.tileRows / max(tokens, 1)), max(batch, 1))
        let stride = cacheLineMultiple(packedScratchCount(rows: tileSamples * tokens))
        packScratch.reserve(parallelChunkCount(batch) * stride)
        return stride
    }

    /// c[rows, outF] = (or += when `accumulate`) x[rows, inF] · Wᵀ, W the [outF, inF] matrix at
    /// parameter offset `weight`: from this pass's packed copy, or through cblas_sgemm.
    private func productWithWeight(_ c: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ weight: Int,
                                   rows: Int, inF: Int, outF: Int, accumulate: Bool, pack: UnsafeMutablePointer<Float>) {
        if let kernels = packedKernels, let a = packed.matrix(at: weight) {
            packedProduct(a, in: packed, b: x, ldb: inF, rows: rows, c: c, ldc: outF, accumulate: accumulate, scratch: pack, kernels: kernels)
        } else {
            sgemm(false, true, rows, outF, inF, 1, x, inF, w + weight, inF, accumulate ? 1 : 0, c, outF)
        }
    }

    /// dx[rows, inF] = dy[rows, outF] · W, the input gradient of that layer (packed for backward).
    private func productWithWeightBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                           _ weight: Int, rows: Int, inF: Int, outF: Int, pack: UnsafeMutablePointer<Float>) {
        if let kernels = packedKernels, let a = packed.matrix(at: weight) {
            packedProduct(a, in: packed, b: dy, ldb: outF, rows: rows, c: dx, ldc: inF, accumulate: false, scratch: pack, kernels: kernels)
        } else {
            sgemm(false, false, rows, inF, outF, 1, dy, outF, w + weight, inF, 0, dx, inF)
        }
    }

    /// Rows per sample tile (forward and backward). A thread runs a tile of samples through a
    /// whole block (forward: through all blocks) before the next, so a tile's activations stay in
    /// the core's L2/L3 from one operation to the next: GELU, softmax, LayerNorm and the copies
    /// read cache instead of memory, and the GEMMs run at their in-cache rate (≈ 100 GFLOP/s here
    /// for 402-row tiles vs 89–98 for the 6432-row batch products). Measured on vit-xs batch 32:
    /// 512 (2 samples of 201 tokens) beat 201, 804, 1608 and untiled by 1–4 %.
    static var tileRows = 512   // var: tests set it small to make tiles split a batch

    /// `samples` cut into consecutive tiles of ~tileRows rows (at least one sample each).
    private func sampleTiles(_ samples: Range<Int>) -> [Range<Int>] {
        let per = max(1, Self.tileRows / max(tokens, 1))
        return stride(from: samples.lowerBound, to: samples.upperBound, by: per).map { $0..<min($0 + per, samples.upperBound) }
    }

    /// Where a sample range sits in block l's buffers: the attention shape (queries = selected
    /// rows or all tokens), its first token row r0 and row count, and its first output row c0 and
    /// output row count (selected rows are packed per sample).
    private func tileGeometry(_ l: Int, _ samples: Range<Int>) -> (shape: AttentionShape, r0: Int, rows: Int, c0: Int, outRows: Int) {
        let m = selectedTokens(l).map(selectedCount) ?? tokens
        let shape = AttentionShape(batch: batch, tokens: tokens, dim: dim, heads: heads, queries: m)
        return (shape, samples.lowerBound * tokens, samples.count * tokens, samples.lowerBound * m, samples.count * m)
    }

    /// Bases of the saved softmax numerators and row scales for a tile starting at sample s0. The
    /// attention kernel indexes them by absolute sample b (tile b·heads·queries); shifting the
    /// bases puts the tile at s0·heads·tokens rows, its own part of buffers sized for all tokens.
    private func savedAttention(_ a: BlockActivations, s0: Int, queries m: Int)
        -> (probs: UnsafeMutablePointer<Float>, rowScales: UnsafeMutablePointer<Float>) {
        (a.probs.pointer + s0 * heads * (tokens - m) * tokens, a.rowScales.pointer + s0 * heads * (tokens - m))
    }

    /// Output-row selection of block l: the selected tokens for the last block, else nil (all).
    private func selectedTokens(_ l: Int) -> [[Int]]? { l == depth - 1 ? outputTokens : nil }

    /// Copies each sample's rows `tokenRows[s]` (s in `samples`; `tokens` rows of stride
    /// `srcStride` per sample, the first sample at `src`) to consecutive rows of `dst` (stride
    /// `width`), `width` floats per row.
    private func gatherRows(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, samples: Range<Int>,
                            tokenRows: [[Int]], width: Int, srcStride: Int) {
        let m = selectedCount(tokenRows)
        for b in 0..<samples.count {
            for (j, t) in tokenRows[samples.lowerBound + b].enumerated() {
                (dst + (b * m + j) * width).update(from: src + (b * tokens + t) * srcStride, count: width)
            }
        }
    }

    /// `scores`: this thread's attention score tile (see Kernels/Attention.swift).
    private func forwardBlock(_ l: Int, weights w: UnsafePointer<Float>, samples: Range<Int>, scores: UnsafeMutablePointer<Float>,
                              pack: UnsafeMutablePointer<Float>) {
        let p = blocks[l], a = activations[keptActivations ? l : 0]
        // Everything after the attention core runs on output rows only: outRows rows from r0 on
        // (all rows, or a selected last block's packed rows, see `outputTokens`).
        let top = selectedTokens(l)
        let (shape, r0, rows, c0, outRows) = tileGeometry(l, samples)
        let m = shape.queries, s0 = samples.lowerBound, hd = hiddenDim
        let x = stream(l) + r0 * dim, y = top == nil ? stream(l + 1) + r0 * dim : topOutput.pointer + c0 * dim
        let ln1 = a.ln1.pointer + r0 * dim, qkv = a.qkv.pointer + r0 * 3 * dim, attn = a.attn.pointer + r0 * dim
        let ln2 = a.ln2.pointer + r0 * dim, hidden = a.hidden.pointer + r0 * hd
        layerNormForward(out: ln1, mean: a.mean1.pointer + r0, rstd: a.rstd1.pointer + r0, x: x,
                         weight: w + p.norm1Weight, bias: w + p.norm1Bias, rows: rows, dim: dim)
        productWithWeight(qkv, ln1, w, p.qkv, rows: rows, inF: dim, outF: 3 * dim, accumulate: false, pack: pack)
        var queryRows: UnsafePointer<Float>?
        if let top {
            gatherRows(topQueries.pointer + c0 * dim, qkv, samples: samples, tokenRows: top, width: dim, srcStride: 3 * dim)
            queryRows = UnsafePointer(topQueries.pointer)
        }
        // The attention kernel indexes by sample b (out row b·m, probs tile b·heads·m·n): shift
        // the bases so this thread's samples land at its own rows r0… / tiles s0·heads·n·n….
        let saved = savedAttention(a, s0: s0, queries: m)
        attentionForward(out: attn - c0 * dim, probs: keptActivations ? saved.probs : nil, rowScales: saved.rowScales,
                         scores: scores, qkv: a.qkv.pointer, queryRows: queryRows, shape: shape, samples: samples)
        // mid = x + attn · projᵀ: copy the residual, then let the GEMM accumulate with beta 1. A
        // forward-only block on all rows accumulates into x itself (x == y, nothing reads x again),
        // and applies GELU in place: two copies fewer and half the MLP's cache footprint.
        let inPlace = !keptActivations && top == nil
        let mid = inPlace ? x : a.mid.pointer + r0 * dim
        if let top { gatherRows(mid, x, samples: samples, tokenRows: top, width: dim, srcStride: dim) }
        else if !inPlace { mid.update(from: x, count: rows * dim) }
        let drop = activeDropout, perSampleRows = outRows / samples.count
        if let drop {   // mid = x + dropout(attn · projᵀ)
            let branch = branchOut.pointer + r0 * dim
            productWithWeight(branch, attn, w, p.proj, rows: outRows, inF: dim, outF: dim, accumulate: false, pack: pack)
            dropoutForward(branch, samples: samples, perSample: perSampleRows * dim, mask: drop.at(site: 3 * l))
            accumulate(mid, branch, count: outRows * dim)
        } else {
            productWithWeight(mid, attn, w, p.proj, rows: outRows, inF: dim, outF: dim, accumulate: true, pack: pack)
        }
        layerNormForward(out: ln2, mean: a.mean2.pointer + r0, rstd: a.rstd2.pointer + r0, x: mid,
                         weight: w + p.norm2Weight, bias: w + p.norm2Bias, rows: outRows, dim: dim)
        productWithWeight(hidden, ln2, w, p.fc1, rows: outRows, inF: dim, outF: hd, accumulate: false, pack: pack)
        let activated = hidden   // GELU in place (see BlockActivations.hidden)
        if keptActivations {
            geluForwardKeepingDerivative(out: activated, derivative: a.geluDerivative.pointer + r0 * hd, h: hidden, count: outRows * hd)
        } else {
            geluForward(out: activated, h: hidden, count: outRows * hd)
        }
        if !inPlace { y.update(from: mid, count: outRows * dim) }
        if let drop {   // y = mid + dropout(dropout(GELU) · fc2ᵀ)
            dropoutForward(activated, samples: samples, perSample: perSampleRows * hd, mask: drop.at(site: 3 * l + 1))
            let branch = branchOut.pointer + r0 * dim
            productWithWeight(branch, activated, w, p.fc2, rows: outRows, inF: hd, outF: dim, accumulate: false, pack: pack)
            dropoutForward(branch, samples: samples, perSample: perSampleRows * dim, mask: drop.at(site: 3 * l + 2))
            accumulate(y, branch, count: outRows * dim)
        } else {
            productWithWeight(y, activated, w, p.fc2, rows: outRows, inF: hd, outF: dim, accumulate: true, pack: pack)
        }
    }

    /// Backward of the last forward (which must have kept activations). `dx` holds the gradient of
    /// the stack output on entry ([batch·outputRowsPerSample, dim]) and of its input on return
    /// ([batch·tokens, dim], so it needs room for that). Reports each block's range when done.
    /// With several threads each takes a sample range through the whole block; weight gradients of
    /// thread t > 0 go to its own slab and are added to `grads` in thread order after the join.
    func backward(weights w: UnsafePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>, onGradientsReady: GradientsReadyCallback?) {
        precondition(keptActivations, "backward needs a forward with keepActivations")
        let rows = batch * tokens
        let chunks = parallelChunkCount(batch)
        let scratchPerChunk = cacheLineMultiple(tokens * (tokens + dim / heads))   // attentionBackward's scratch
        dHidden.reserve(rows * hiddenDim); dBranch.reserve(rows * dim)
        dqkv.reserve(rows * 3 * dim); dProbs.reserve(scratchPerChunk * chunks)
        if activeDropout != nil { dMasked.reserve(rows * dim) }
        if let outputTokens {   // the selected last block reads its output gradient from dTop
            let topRows = batch * selectedCount(outputTokens)
            dTop.reserve(topRows * dim).update(from: dx, count: topRows * dim)
            dTopQueries.reserve(topRows * dim)
        }
        let base = blocks.first?.range.lowerBound ?? 0
        let span = (blocks.last?.range.upperBound ?? base) - base
        while gradientSlabs.count < chunks - 1 { gradientSlabs.append(FloatBuffer()) }
        for slab in gradientSlabs[0..<(chunks - 1)] where slab.capacity < span {
            slab.reserve(span).update(repeating: 0, count: slab.capacity)   // a grown buffer's contents are undefined
        }
        let slabs = gradientSlabs[0..<(chunks - 1)].map { $0.pointer - base }
        let packStride = preparePackedWeights(w, use: .backward)
        for l in stride(from: depth - 1, through: 0, by: -1) {
            let range = blocks[l].range
            parallelChunks(batch) { chunk, samples in
                let gt = chunk == 0 ? g : slabs[chunk - 1]
                for tile in sampleTiles(samples) {   // weight gradients accumulate over tiles
                    backwardBlock(l, weights: w, grads: gt, dx: dx, samples: tile, scratch: dProbs.pointer + chunk * scratchPerChunk,
                                  pack: packScratch.pointer + chunk * packStride)
                }
            }
            if !slabs.isEmpty {
                parallelChunks(range.count) { _, r in
                    let dst = g + range.lowerBound + r.lowerBound
                    for slab in slabs { accumulateAndClear(dst, slab + range.lowerBound + r.lowerBound, count: r.count) }
                }
            }
            onGradientsReady?(range)
        }
    }

    private func backwardBlock(_ l: Int, weights w: UnsafePointer<Float>, grads g: UnsafeMutablePointer<Float>,
                               dx dxAll: UnsafeMutablePointer<Float>, samples: Range<Int>, scratch: UnsafeMutablePointer<Float>,
                               pack: UnsafeMutablePointer<Float>) {
        let p = blocks[l], a = activations[l]
        // As in forward: outRows output rows from r0 on; a selected last block's output gradient
        // `dy` lives in dTop (compact rows c0…) and becomes d(mid) in place.
        let top = selectedTokens(l)
        let (shape, r0, rows, c0, outRows) = tileGeometry(l, samples)
        let m = shape.queries, s0 = samples.lowerBound, hd = hiddenDim
        let dx = dxAll + r0 * dim, dh = dHidden.pointer + r0 * hd
        let activated = UnsafePointer(a.hidden.pointer + r0 * hd)   // D₁(GELU), as fc2 read it
        let dy = top == nil ? dx : dTop.pointer + c0 * dim
        let dBr = dBranch.pointer + r0 * dim
        let saved = savedAttention(a, s0: s0, queries: m)
        let probs = UnsafePointer(saved.probs), rowScales = UnsafePointer(saved.rowScales)
        // MLP branch: y = mid + fc2(GELU(fc1(LN2(mid)))), with dropout: y = mid + D₂(D₁(GELU)·fc2ᵀ).
        // dyBranch is the gradient reaching the branch: dy, or D₂(dy) (the residual keeps dy).
        let drop = activeDropout, perSampleRows = outRows / samples.count
        var dyBranch = UnsafePointer(dy)
        if let drop {
            let masked = dMasked.pointer + r0 * dim
            masked.update(from: dy, count: outRows * dim)
            dropoutBackward(masked, samples: samples, perSample: perSampleRows * dim, mask: drop.at(site: 3 * l + 2))
            dyBranch = UnsafePointer(masked)
        }
        productWithWeightBackward(dh, dyBranch, w, p.fc2, rows: outRows, inF: hd, outF: dim, pack: pack)
        if let drop { dropoutBackward(dh, samples: samples, perSample: perSampleRows * hd, mask: drop.at(site: 3 * l + 1)) }
        geluBackward(dh: dh, derivative: a.geluDerivative.pointer + r0 * hd, count: outRows * hd)
        sgemm(true, false, dim, hd, outRows, 1, dyBranch, dim, activated, hd, 1, g + p.fc2, hd)
        linearBackward(dInput: nil, dWeight: g + p.fc1, dOut: dh, input: a.ln2.pointer + r0 * dim,
                       weight: w + p.fc1, rows: outRows, inFeatures: dim, outFeatures: hd)
        productWithWeightBackward(dBr, dh, w, p.fc1, rows: outRows, inF: dim, outF: hd, pack: pack)
        layerNormBackward(dx: dy, dWeight: g + p.norm2Weight, dBias: g + p.norm2Bias, dOut: dBr,
                          x: a.mid.pointer + r0 * dim, mean: a.mean2.pointer + r0, rstd: a.rstd2.pointer + r0,
                          weight: w + p.norm2Weight, rows: outRows, dim: dim, accumulate: true)
        // Attention branch: mid = x + proj(attn(LN1(x))), with dropout: mid = x + D₀(proj(…)).
        var dMidBranch = UnsafePointer(dy)
        if let drop {
            let masked = dMasked.pointer + r0 * dim
            masked.update(from: dy, count: outRows * dim)
            dropoutBackward(masked, samples: samples, perSample: perSampleRows * dim, mask: drop.at(site: 3 * l))
            dMidBranch = UnsafePointer(masked)
        }
        linearBackward(dInput: nil, dWeight: g + p.proj, dOut: dMidBranch, input: a.attn.pointer + r0 * dim,
                       weight: w + p.proj, rows: outRows, inFeatures: dim, outFeatures: dim)
        productWithWeightBackward(dBr, dMidBranch, w, p.proj, rows: outRows, inF: dim, outF: dim, pack: pack)
        // Like attentionForward, the kernel indexes by sample b: its output-gradient rows of this
        // tile start at c0 (= r0 without a selection).
        attentionBackward(dqkv: dqkv.pointer, dOut: dBr - c0 * dim, probs: probs, rowScales: rowScales, qkv: a.qkv.pointer,
                          queryRows: top == nil ? nil : topQueries.pointer, dQueryRows: top == nil ? nil : dTopQueries.pointer,
                          scratch: scratch, shape: shape, samples: samples)
        if let top {
            // Scatter to all token rows: query gradients and the residual d(mid); others get none.
            for b in 0..<samples.count {
                for t in 0..<tokens {
                    (dqkv.pointer + (r0 + b * tokens + t) * 3 * dim).update(repeating: 0, count: dim)
                    (dx + (b * tokens + t) * dim).update(repeating: 0, count: dim)
                }
                for (j, t) in top[s0 + b].enumerated() {
                    (dqkv.pointer + (r0 + b * tokens + t) * 3 * dim).update(from: dTopQueries.pointer + (c0 + b * m + j) * dim, count: dim)
                    (dx + (b * tokens + t) * dim).update(from: dy + (b * m + j) * dim, count: dim)
                }
            }
        }
        // dBr now takes all token rows (the packed output rows are consumed).
        linearBackward(dInput: nil, dWeight: g + p.qkv, dOut: dqkv.pointer + r0 * 3 * dim, input: a.ln1.pointer + r0 * dim,
                       weight: w + p.qkv, rows: rows, inFeatures: dim, outFeatures: 3 * dim)
        productWithWeightBackward(dBr, dqkv.pointer + r0 * 3 * dim, w, p.qkv, rows: rows, inF: dim, outF: 3 * dim, pack: pack)
        layerNormBackward(dx: dx, dWeight: g + p.norm1Weight, dBias: g + p.norm1Bias, dOut: dBr,
                          x: stream(l) + r0 * dim, mean: a.mean1.pointer + r0, rstd: a.rstd1.pointer + r0,
                          weight: w + p.norm1Weight, rows: rows, dim: dim, accumulate: true)
    }

    /// Bytes of activation and scratch memory currently reserved.
    var reservedBytes: Int {
        totalBytes(activations.flatMap { $0.all } + streams + [dHidden, dBranch, dqkv, dProbs, branchOut, dMasked, scoreTiles, packScratch]
                   + [topQueries, topOutput, dTop, dTopQueries] + gradientSlabs) + packed.reservedBytes
    }
}

/// Weight init shared by encoder and predictor blocks (I-JEPA): trunc-normal(0.02) matrices,
/// LayerNorm 1/0, and attn.proj / fc2 rescaled by 1/√(2·(layer+1)).
func initializeBlocks(_ blocks: [BlockParameters], specs: [ParameterSpec], weights: UnsafeMutablePointer<Float>, seed: UInt64) {
    for (l, p) in blocks.enumerated() {
        for spec in specs where spec.offset >= p.range.lowerBound && spec.offset < p.range.upperBound {
            if spec.name.hasSuffix("norm1.weight") || spec.name.hasSuffix("norm2.weight") {
                (weights + spec.offset).update(repeating: 1, count: spec.count)
            } else if spec.name.hasSuffix(".bias") {
                (weights + spec.offset).update(repeating: 0, count: spec.count)
            } else {
                let rescale: Float = (spec.offset == p.proj || spec.offset == p.fc2) ? 1 / (2 * Float(l + 1)).squareRoot() : 1
                fillTruncatedNormal(weights + spec.offset, count: spec.count, name: spec.name, seed: seed, scale: rescale)
            }
        }
    }
}

/// Fills with trunc-normal(0, 0.02)·scale from a generator keyed by the parameter name, so a
/// tensor's init does not depend on where it sits in a layout.
func fillTruncatedNormal(_ p: UnsafeMutablePointer<Float>, count: Int, name: String, seed: UInt64, scale: Float = 1) {
    var rng = SplitMix64(seed: seed, stream: RNGStream.weightInit.rawValue, counter: fnv1a64(name.utf8))
    for i in 0..<count { p[i] = rng.nextTruncatedNormal(std: 0.02) * scale }
}
