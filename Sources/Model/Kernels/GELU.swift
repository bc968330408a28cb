// Exact (erf) GELU, vectorized with normalCDFAndGaussian16 (max relative error vs Double
// erf-GELU < 1e-6, see KernelMathTests). A forward-only pass keeps nothing. A forward followed by
// a backward keeps GELU(h) in place of h and GELU'(h) next to it: the one exp that gives Φ also
// gives φ, so the derivative costs two more operations there, and the backward is a product that
// never touches h (it has no other reader) and needs no recomputed GELU for the fc2 gradient.

/// out[i] = GELU(h[i]) for `count` elements; `out` may be `h`.
func geluForward(out: UnsafeMutablePointer<Float>, h: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count { let x = load16(h + i); store16(x * normalCDF16(x), out + i); i += 16 }
    if i < count {
        let n = count - i
        let x = loadPartial(h + i, n, fill: 0)
        storePartial(x * normalCDF16(x), out + i, n)
    }
}

/// Forward for a backward: out = GELU(h) = h · Φ(h), derivative = GELU'(h) = Φ(h) + h · φ(h).
/// `out` may be `h` (the training stack overwrites the pre-activation).
func geluForwardKeepingDerivative(out: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                                  h: UnsafePointer<Float>, count: Int) {
    @inline(__always) func both(_ x: F16) -> (gelu: F16, derivative: F16) {
        let (c, gaussian) = normalCDFAndGaussian16(x)
        return (x * c, c.addingProduct(x * gaussian, 0.398_942_280_401_432_7))   // φ = g / √(2π)
    }
    var i = 0
    while i + 16 <= count { let (g, d) = both(load16(h + i)); store16(g, out + i); store16(d, derivative + i); i += 16 }
    if i < count {
        let n = count - i
        let (g, d) = both(loadPartial(h + i, n, fill: 0))
        storePartial(g, out + i, n); storePartial(d, derivative + i, n)
    }
}

/// Backward from the kept derivative: dh[i] ·= GELU'(h[i]).
func geluBackward(dh: UnsafeMutablePointer<Float>, derivative: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dh[i] *= derivative[i] }
}
