// Exact (erf) GELU, vectorized with normalCDF16 (max relative error vs Double erf-GELU < 1e-6,
// see KernelMathTests). A forward-only pass keeps nothing; a forward followed by a backward keeps
// Φ(h) next to the pre-activation h, so the backward needs one exp per element for GELU' and
// recomputes GELU(h) = h · Φ(h) for the fc2 weight gradient instead of storing it.

/// out[i] = GELU(h[i]) for `count` elements.
func geluForward(out: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { let x = load16(h + i); store16(x * normalCDF16(x), out + i); i += 16 }
    if i < count {
        let n = count - i
        let x = loadPartial(h + i, n, fill: 0)
        storePartial(x * normalCDF16(x), out + i, n)
    }
}

/// Forward that also keeps Φ(h) for a cheaper backward (geluBackwardFromCDF): out = h · Φ(h).
func geluForwardKeepingCDF(out: UnsafeMutablePointer<Float>, cdf: UnsafeMutablePointer<Float>,
                           h: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i < count {
        let n = min(16, count - i)
        let x = n == 16 ? load16(h + i) : loadPartial(h + i, n, fill: 0)
        let c = normalCDF16(x)
        if n == 16 { store16(x * c, out + i); store16(c, cdf + i) } else { storePartial(x * c, out + i, n); storePartial(c, cdf + i, n) }
        i += 16
    }
}

/// Backward from the kept Φ(h): dh[i] ·= Φ + h · φ(h); writes GELU(h) = h · Φ to `recomputed`.
/// One exp per element instead of the erfc evaluation (division, polynomial, exp) plus an exp.
func geluBackwardFromCDF(dh: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, cdf: UnsafePointer<Float>,
                         recomputed: UnsafeMutablePointer<Float>, count: Int) {
    let invSqrt2Pi: Float = 0.398_942_280_401_432_7
    var i = 0
    while i < count {
        let n = min(16, count - i)
        let x = n == 16 ? load16(h + i) : loadPartial(h + i, n, fill: 0)
        let c = n == 16 ? load16(cdf + i) : loadPartial(cdf + i, n, fill: 0)
        let sq = x * x
        let gauss = exp16(sq * -0.5, (-sq).addingProduct(x, x) * -0.5)   // exp(-x²/2), x² split exactly
        let derivative = c.addingProduct(x * gauss, invSqrt2Pi)
        if n == 16 {
            store16(load16(dh + i) * derivative, dh + i); store16(x * c, recomputed + i)
        } else {
            storePartial(loadPartial(dh + i, n, fill: 0) * derivative, dh + i, n); storePartial(x * c, recomputed + i, n)
        }
        i += 16
    }
}
