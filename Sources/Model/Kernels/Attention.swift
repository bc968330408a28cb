// Multi-head self-attention core (no mask, no dropout) on a packed qkv matrix, timm layout:
// qkv row = [q(head0..H-1) | k(...) | v(...)], each head `headDim` wide. Per (sample, head) the
// products are small GEMMs on strided views (lda = 3·dim), so nothing is transposed or copied.
// Saved for backward: the UNnormalized softmax numerators E = exp(S − rowmax) [batch, heads,
// queries, tokens] and each row's 1/ΣE [batch, heads, queries]. P = E / ΣE is never written:
// the output rows are scaled after E·V (hd floats per row instead of n), and backward folds the
// scale into its own elementwise pass. That drops one of softmax's three passes over the n×n tile.
//
// Where the scores live: each (sample, head) computes S, softmax and E·V in a tile of the calling
// thread's own (`scores`, m×n floats: 161 KB at n = 201, so it stays in L2) and, when a backward
// will follow, streams E from there to the saved buffer with non-temporal stores. Writing the
// saved buffer directly (161 MB per step for the vit-xs predictor at batch 32) first pulled every
// line in from memory to be overwritten, and a forward-only pass never needs E after E·V at all.
// Outputs are zeroed once per sample (one contiguous memset) and every head's product accumulates
// into them with beta = 1, instead of a zeroing pass per head over strided rows of hd floats.

import CBLASShim

/// Numerically stable softmax of each of `rows` rows of length `n`, in place.
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    for r in 0..<rows {
        var inv: Float = 0
        softmaxNumerators(p + r * n, rows: 1, n: n, inverseSums: &inv)
        scaleRow(p + r * n, by: inv, count: n)
    }
}

/// Each of `rows` rows of length `n` becomes exp(x − max(row)) in place; inverseSums[r] = 1/Σ.
/// Rows of 16 or more handle their ragged end with one overlapping vector (loaded from the
/// original values before anything is overwritten) instead of per-lane tail code.
func softmaxNumerators(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, inverseSums: UnsafeMutablePointer<Float>) {
    if n < 16 { softmaxNumeratorsScalar(p, rows: rows, n: n, inverseSums: inverseSums); return }
    softmaxNumeratorsVector(p, rows: rows, n: n, inverseSums: inverseSums)
}

// Kept out of line: with the n < 16 branch in the same function the compiler's code for this
// loop ran 3–4× slower (measured 1.5–1.8 vs 0.46 ns per element at n = 201).
@inline(never)
private func softmaxNumeratorsVector(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, inverseSums: UnsafeMutablePointer<Float>) {
    let vectorEnd = n / 16 * 16, tail = n - vectorEnd
    let mask = tailMask(tail)
    for r in 0..<rows {
        let row = p + r * n
        var mx = load16(row + n - 16)
        var i = 0
        while i < vectorEnd { mx = vmax(mx, load16(row + i)); i += 16 }
        let mv = F16(repeating: -hmax(mx))
        let lastExp = expNonPositive16(load16(row + n - 16) + mv)
        var acc = lastExp * mask
        i = 0
        while i < vectorEnd { let e = expNonPositive16(load16(row + i) + mv); store16(e, row + i); acc += e; i += 16 }
        store16(lastExp, row + n - 16)   // overlap lanes get the identical value again
        inverseSums[r] = 1 / hsum(acc)
    }
}

private func softmaxNumeratorsScalar(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, inverseSums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = p + r * n
        let e = exp16(loadPartial(row, n, fill: -.infinity) - F16(repeating: (0..<n).map { row[$0] }.max()!))
        inverseSums[r] = 1 / hsum(e)   // padded lanes are exp(-inf) = 0
        storePartial(e, row, n)
    }
}

struct AttentionShape {
    let batch: Int, tokens: Int, dim: Int, heads: Int
    /// Query rows per sample: `tokens`, or fewer when a compact query matrix is passed (a last
    /// block whose outputs are needed only at some rows; keys and values still cover all tokens).
    var queries: Int
    init(batch: Int, tokens: Int, dim: Int, heads: Int, queries: Int? = nil) {
        self.batch = batch; self.tokens = tokens; self.dim = dim; self.heads = heads
        self.queries = queries ?? tokens
    }
    var headDim: Int { dim / heads }
    var scale: Float { 1 / Float(headDim).squareRoot() }
    var probsCount: Int { batch * heads * queries * tokens }
    var rowScaleCount: Int { batch * heads * queries }
}

/// out[b, t, h·hd ..] = softmax(Q Kᵀ · scale) V per (b, h) for b in `samples` (default: all);
/// row scales [batch, heads, queries] written, and numerators [batch, heads, queries, tokens]
/// saved to `probs` unless it is nil (a forward-only pass; see the top of this file). `scores`
/// is this thread's m×n tile. Queries come from `qkv`, or from `queryRows` ([batch·queries, dim])
/// when given; `out` has one row per query. Pointers address the whole batch; runs on the
/// calling thread.
func attentionForward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?,
                      rowScales: UnsafeMutablePointer<Float>, scores p: UnsafeMutablePointer<Float>,
                      qkv: UnsafePointer<Float>, queryRows: UnsafePointer<Float>? = nil,
                      shape s: AttentionShape, samples: Range<Int>? = nil) {
    let n = s.tokens, m = s.queries, d = s.dim, hd = s.headDim
    let qStride = queryRows == nil ? 3 * d : d
    for b in samples ?? 0..<s.batch {
        zeroRows(out + b * m * d, rows: m, columns: d, stride: d)
        for h in 0..<s.heads {
            let k = qkv + b * n * 3 * d + d + h * hd, v = k + d
            let q = queryRows.map { $0 + b * m * d + h * hd } ?? k - d
            let tile = (b * s.heads + h) * m
            let inv = rowScales + tile
            sgemm(false, true, m, n, hd, s.scale, q, qStride, k, 3 * d, 0, p, n)
            softmaxNumerators(p, rows: m, n: n, inverseSums: inv)
            let o = out + b * m * d + h * hd
            sgemm(false, false, m, hd, n, 1, p, n, v, 3 * d, 1, o, d)
            for r in 0..<m { scaleRow(o + r * d, by: inv[r], count: hd) }
            if let probs { shim_stream_copy_floats(probs + tile * n, p, m * n) }
        }
    }
}

/// x[0..<count] *= factor.
@inline(__always) func scaleRow(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    var i = 0
    while i + 8 <= count {
        let p = UnsafeMutableRawPointer(x + i)
        p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) * factor, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { x[i] *= factor; i += 1 }
}

/// dqkv = gradient of the attention core w.r.t. its packed qkv input (overwritten), for b in
/// `samples` (default: all), from the numerators and row scales the forward saved. `scratch`
/// needs queries·(tokens + headDim) floats (this thread's tile). With compact `queryRows` the
/// query gradient goes to `dQueryRows` ([batch·queries, dim]) and the query columns of `dqkv`
/// are left untouched.
func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                       rowScales: UnsafePointer<Float>,
                       qkv: UnsafePointer<Float>, queryRows: UnsafePointer<Float>? = nil,
                       dQueryRows: UnsafeMutablePointer<Float>? = nil,
                       scratch: UnsafeMutablePointer<Float>, shape s: AttentionShape, samples: Range<Int>? = nil) {
    let n = s.tokens, m = s.queries, d = s.dim, hd = s.headDim
    let qStride = queryRows == nil ? 3 * d : d
    let vectorEnd = n / 16 * 16
    let dScaled = scratch + m * n   // [m, hd]: rows of dO times the row scale
    for b in samples ?? 0..<s.batch {
        // Zero this sample's gradient rows once; every head's products accumulate (beta = 1).
        if let dQueryRows {
            zeroRows(dQueryRows + b * m * d, rows: m, columns: d, stride: d)
            zeroRows(dqkv + b * n * 3 * d + d, rows: n, columns: 2 * d, stride: 3 * d)
        } else {
            zeroRows(dqkv + b * n * 3 * d, rows: n, columns: 3 * d, stride: 3 * d)
        }
        for h in 0..<s.heads {
            let k = qkv + b * n * 3 * d + d + h * hd, v = k + d
            let q = queryRows.map { $0 + b * m * d + h * hd } ?? k - d
            let dk = dqkv + b * n * 3 * d + d + h * hd, dv = dk + d
            let dq = dQueryRows.map { $0 + b * m * d + h * hd } ?? dk - d
            let dO = dOut + b * m * d + h * hd
            let tile = (b * s.heads + h) * m
            let e = probs + tile * n, inv = rowScales + tile
            // dV = Pᵀ dO = Eᵀ (inv ⊙ dO) ; dP = dO Vᵀ
            for r in 0..<m {
                (dScaled + r * hd).update(from: dO + r * d, count: hd)
                scaleRow(dScaled + r * hd, by: inv[r], count: hd)
            }
            sgemm(true, false, n, hd, m, 1, e, n, dScaled, hd, 1, dv, 3 * d)
            sgemm(false, true, m, n, hd, 1, dO, d, v, 3 * d, 0, scratch, n)
            // Softmax backward per row, P = inv·E: dS = P ⊙ (dP − Σ_j P·dP).
            for r in 0..<m {
                let er = e + r * n, gr = scratch + r * n
                var acc = F16()
                var i = 0
                while i < vectorEnd { acc += load16(er + i) * load16(gr + i); i += 16 }
                var dot = hsum(acc)
                while i < n { dot += er[i] * gr[i]; i += 1 }
                let sc = inv[r]
                dot *= sc
                let scv = F16(repeating: sc)
                i = 0
                while i < vectorEnd { store16(load16(er + i) * scv * (load16(gr + i) - dot), gr + i); i += 16 }
                while i < n { gr[i] = er[i] * sc * (gr[i] - dot); i += 1 }
            }
            // dQ = scale · dS K ; dK = scale · dSᵀ Q
            sgemm(false, false, m, hd, n, s.scale, scratch, n, k, 3 * d, 1, dq, qStride)
            sgemm(true, false, n, hd, m, s.scale, scratch, n, q, qStride, 1, dk, 3 * d)
        }
    }
}
