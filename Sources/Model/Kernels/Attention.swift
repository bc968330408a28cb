// Multi-head self-attention core (no mask, no dropout) on a packed qkv matrix, timm layout:
// qkv row = [q(head0..H-1) | k(...) | v(...)], each head `headDim` wide. Per (sample, head) the
// products are small GEMMs on strided views (lda = 3·dim), so nothing is transposed or copied.
// The softmax probabilities are saved for backward: [batch, heads, tokens, tokens].

/// Numerically stable softmax of each of `rows` rows of length `n`, in place. Rows of 16 or more
/// handle their ragged end with one overlapping vector (loaded from the original values before
/// anything is overwritten) instead of per-lane tail code.
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    if n < 16 { softmaxRowsScalar(p, rows: rows, n: n); return }
    let vectorEnd = n / 16 * 16, tail = n - vectorEnd
    let mask = tailMask(tail)
    for r in 0..<rows {
        let row = p + r * n
        var mx = load16(row + n - 16)
        var i = 0
        while i < vectorEnd { mx = vmax(mx, load16(row + i)); i += 16 }
        let mv = F16(repeating: -hmax(mx))
        let lastExp = exp16(load16(row + n - 16) + mv)
        var acc = lastExp * mask
        i = 0
        while i < vectorEnd { let e = exp16(load16(row + i) + mv); store16(e, row + i); acc += e; i += 16 }
        store16(lastExp, row + n - 16)   // overlap lanes get the identical value again
        let inv = F16(repeating: 1 / hsum(acc))
        i = 0
        while i < vectorEnd { store16(load16(row + i) * inv, row + i); i += 16 }
        while i < n { row[i] *= inv[0]; i += 1 }
    }
}

private func softmaxRowsScalar(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    for r in 0..<rows {
        let row = p + r * n
        let e = exp16(loadPartial(row, n, fill: -.infinity) - F16(repeating: (0..<n).map { row[$0] }.max()!))
        let inv = 1 / hsum(e)   // padded lanes are exp(-inf) = 0
        storePartial(e * inv, row, n)
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
}

/// out[b, t, h·hd ..] = softmax(Q Kᵀ · scale) V per (b, h) for b in `samples` (default: all);
/// probs [batch, heads, queries, tokens] saved. Queries come from `qkv`, or from `queryRows`
/// ([batch·queries, dim]) when given; `out` has one row per query. Pointers address the whole
/// batch; runs on the calling thread.
func attentionForward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                      qkv: UnsafePointer<Float>, queryRows: UnsafePointer<Float>? = nil,
                      shape s: AttentionShape, samples: Range<Int>? = nil) {
    let n = s.tokens, m = s.queries, d = s.dim, hd = s.headDim
    let qStride = queryRows == nil ? 3 * d : d
    for b in samples ?? 0..<s.batch {
        for h in 0..<s.heads {
            let k = qkv + b * n * 3 * d + d + h * hd, v = k + d
            let q = queryRows.map { $0 + b * m * d + h * hd } ?? k - d
            let p = probs + ((b * s.heads + h) * m) * n
            sgemm(false, true, m, n, hd, s.scale, q, qStride, k, 3 * d, 0, p, n)
            softmaxRows(p, rows: m, n: n)
            sgemm(false, false, m, hd, n, 1, p, n, v, 3 * d, 0, out + b * m * d + h * hd, d)
        }
    }
}

/// dqkv = gradient of the attention core w.r.t. its packed qkv input (overwritten), for b in
/// `samples` (default: all). `scratch` needs queries·tokens floats (this thread's tile). With
/// compact `queryRows` the query gradient goes to `dQueryRows` ([batch·queries, dim]) and the
/// query columns of `dqkv` are left untouched.
func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                       qkv: UnsafePointer<Float>, queryRows: UnsafePointer<Float>? = nil,
                       dQueryRows: UnsafeMutablePointer<Float>? = nil,
                       scratch: UnsafeMutablePointer<Float>, shape s: AttentionShape, samples: Range<Int>? = nil) {
    let n = s.tokens, m = s.queries, d = s.dim, hd = s.headDim
    let qStride = queryRows == nil ? 3 * d : d
    let vectorEnd = n / 16 * 16
    for b in samples ?? 0..<s.batch {
        for h in 0..<s.heads {
            let k = qkv + b * n * 3 * d + d + h * hd, v = k + d
            let q = queryRows.map { $0 + b * m * d + h * hd } ?? k - d
            let dk = dqkv + b * n * 3 * d + d + h * hd, dv = dk + d
            let dq = dQueryRows.map { $0 + b * m * d + h * hd } ?? dk - d
            let dO = dOut + b * m * d + h * hd
            let p = probs + ((b * s.heads + h) * m) * n
            // dV = Pᵀ dO ; dP = dO Vᵀ
            sgemm(true, false, n, hd, m, 1, p, n, dO, d, 0, dv, 3 * d)
            sgemm(false, true, m, n, hd, 1, dO, d, v, 3 * d, 0, scratch, n)
            // Softmax backward per row: dS = P ⊙ (dP − Σ_j P·dP).
            for r in 0..<m {
                let pr = p + r * n, gr = scratch + r * n
                var acc = F16()
                var i = 0
                while i < vectorEnd { acc += load16(pr + i) * load16(gr + i); i += 16 }
                var dot = hsum(acc)
                while i < n { dot += pr[i] * gr[i]; i += 1 }
                i = 0
                while i < vectorEnd { store16(load16(pr + i) * (load16(gr + i) - dot), gr + i); i += 16 }
                while i < n { gr[i] = pr[i] * (gr[i] - dot); i += 1 }
            }
            // dQ = scale · dS K ; dK = scale · dSᵀ Q
            sgemm(false, false, m, hd, n, s.scale, scratch, n, k, 3 * d, 0, dq, qStride)
            sgemm(true, false, n, hd, m, s.scale, scratch, n, q, qStride, 0, dk, 3 * d)
        }
    }
}
