// Exact (erf) GELU, vectorized with geluParts16 (max relative error vs Double erf-GELU < 1e-6,
// see KernelGELUTests). Forward keeps only the pre-activation; backward recomputes GELU(h) for
// the fc2 weight gradient, which halves the MLP's saved activations.

/// out[i] = GELU(h[i]) for `count` elements.
func geluForward(out: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { store16(geluParts16(load16(h + i)).gelu, out + i); i += 16 }
    if i < count {
        let n = count - i
        storePartial(geluParts16(loadPartial(h + i, n, fill: 0)).gelu, out + i, n)
    }
}

/// In place: dh[i] = dGelu[i] · GELU'(h[i]); also writes GELU(h) to `recomputed` if non-nil.
/// GELU'(x) = Φ(x) + x · φ(x), φ(x) = exp(-x²/2)/√(2π).
func geluBackward(dh: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>,
                  recomputed: UnsafeMutablePointer<Float>?, count: Int) {
    let invSqrt2Pi: Float = 0.398_942_280_401_432_7
    var i = 0
    while i < count {
        let n = min(16, count - i)
        let x = n == 16 ? load16(h + i) : loadPartial(h + i, n, fill: 0)
        let parts = geluParts16(x)
        let derivative = parts.cdf + x * parts.gauss * invSqrt2Pi
        if n == 16 {
            store16(load16(dh + i) * derivative, dh + i)
            if let recomputed { store16(parts.gelu, recomputed + i) }
        } else {
            storePartial(loadPartial(dh + i, n, fill: 0) * derivative, dh + i, n)
            if let recomputed { storePartial(parts.gelu, recomputed + i, n) }
        }
        i += 16
    }
}
