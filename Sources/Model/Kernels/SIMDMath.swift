// Vectorized transcendental functions on SIMD16<Float> (two AVX2 registers). libm's expf/erff
// are scalar calls (~10–20 ns each); these run 16 lanes in a few ns.

typealias F16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16 {
    UnsafeRawPointer(p).loadUnaligned(as: F16.self)
}

@inline(__always) func store16(_ v: F16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16.self)
}

/// Horizontal sum / max by halving (Swift's generic .sum()/.max() spill lanes through the stack).
@inline(__always) func hsum(_ v: F16) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// Lane-wise max via compare + blend (the stdlib's generic pointwiseMax is scalarized).
@inline(__always) func vmax(_ a: F16, _ b: F16) -> F16 { a.replacing(with: b, where: b .> a) }

@inline(__always) func hmax(_ v: F16) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
    let c = b.lowHalf.replacing(with: b.highHalf, where: b.highHalf .> b.lowHalf)
    return max(c[0], c[1])
}

/// 1 in the last `count` lanes, 0 elsewhere (masks the overlapping tail vector of a row).
@inline(__always) func tailMask(_ count: Int) -> F16 {
    var m = F16()
    for i in (16 - count)..<16 { m[i] = 1 }
    return m
}

/// Loads `count` (< 16) floats, padding the other lanes with `fill`.
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ count: Int, fill: Float) -> F16 {
    var v = F16(repeating: fill)
    for i in 0..<count { v[i] = p[i] }
    return v
}

@inline(__always) func storePartial(_ v: F16, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { p[i] = v[i] }
}

/// exp(hi + lo) where `lo` carries extra low-order bits of the argument (or a moderate addend
/// that would lose precision if added to a large `hi` first). Cody–Waite reduction by ln 2 and a
/// degree-6 minimax polynomial on |r| ≤ ln2/2 (relative error 3.1e-9, bench/fit_gelu_polynomials.py);
/// ~1 ulp overall.
/// Arguments below -87 return 0 (flush instead of denormals).
@_transparent func exp16(_ hi: F16, _ lo: F16 = F16(repeating: 0)) -> F16 {
    let x = hi + lo
    return expBelow88(x.replacing(with: 88, where: x .> 88), hi: hi, lo: lo)
}

/// exp(hi + lo) for hi + lo ≤ 0 (softmax after subtracting the row maximum, the Gaussian of Φ)
/// where lo is at most a rounding error of hi: no overflow clamp, and the reduction reads hi alone
/// (one add fewer on the dependency chain). Without an addend, adding -0.0 is an identity the
/// compiler removes, unlike +0.0.
@_transparent func expNonPositive16(_ hi: F16, _ lo: F16 = F16(repeating: -0.0)) -> F16 {
    expBelow88(hi, hi: hi, lo: lo)
}

/// The shared core: exp(hi + lo) for x ≈ hi + lo ≤ 88 (x is passed already summed and clamped).
/// Written for a short dependency chain, not the fewest operations: the GELU loops were
/// latency-bound (a 16-lane iteration is ~150 instructions, so Zen 2's reorder buffer holds under
/// two, while the old chain was ~130 cycles by instruction latencies), so the two halves of the
/// reduction run side by side and the polynomial is in Estrin's form (three levels after r², not six).
@_transparent func expBelow88(_ xIn: F16, hi: F16, lo: F16) -> F16 {
    let log2e: Float = 1.442_695_04
    let ln2Hi: Float = 0.693_145_751_953_125      // 11 significant bits: n · ln2Hi is exact
    let ln2Lo: Float = 1.428_606_765_330_187e-06
    let magic: Float = 12_582_912                  // 1.5 · 2^23: adding it rounds to an integer
    let underflow = xIn .< -87
    let x = xIn.replacing(with: -87, where: underflow)
    let t = F16(repeating: magic).addingProduct(x, log2e)
    let n = t - magic
    // r = hi - n·ln2 + lo; hi - n·ln2Hi is exact. Lanes that underflow get a meaningless r; the
    // final mask zeroes them whatever the polynomial made of it.
    let r = hi.addingProduct(n, -ln2Hi) + lo.addingProduct(n, -ln2Lo)
    // exp(r) ≈ 1 + [r + r²·(c2 + c3·r) + r⁴·(c4 + c5·r + c6·r²)] with explicit FMAs (Swift never
    // contracts a·b + c on its own); the 1 comes last so that its rounding is the only one at
    // full size (0.6e-7 better than folding it in earlier, for one add more on the chain).
    let r2 = r * r, r4 = r2 * r2
    let low = r.addingProduct(r2, F16(repeating: 0.499_999_934_320_369_4).addingProduct(r, 0.166_665_203_982_260_7))
    let high = F16(repeating: 0.041_668_390_802_083_03).addingProduct(r, 0.008_368_745_184_802_132)
        .addingProduct(r2, 0.001_381_453_928_848_699)
    let p = low.addingProduct(r4, high) + 1
    // 2^n from the integer sitting in t's low mantissa bits.
    let tBits = unsafeBitCast(t, to: SIMD16<Int32>.self)
    let scale = unsafeBitCast((tBits &- 0x4B40_0000 &+ 127) &<< 23, to: F16.self)
    return (p * scale).replacing(with: 0, where: underflow)
}

/// Φ(x), the standard normal CDF, for GELU(x) = x · Φ(x), accurate to a few 1e-7 relative
/// everywhere (the plain tanh approximation is off by 1e-3). See normalCDFAndGaussian16.
@_transparent func normalCDF16(_ x: F16) -> F16 { normalCDFAndGaussian16(x).cdf }

/// Φ(x) and the Gaussian g = exp(-x²/2) (the density is φ = g / √(2π)), both from one exp.
/// Φ(-|x|) = erfc(z) / 2 with z = |x|/√2, as t · g · Q(t), t = 1/(1 + 0.375 z), where Q is a
/// degree-8 minimax polynomial for erfc(z) · exp(z²) / (2t) on |x| ≤ 13.2 (relative error 1.1e-8,
/// bench/fit_gelu_polynomials.py; beyond that g is flushed to 0). Unlike the classic
/// t · exp(-z² + P(t)) form, the exp does not wait for the division and the polynomial: the two
/// chains run side by side, which is what matters in these latency-bound loops, and the same g
/// gives GELU' = Φ + x · φ for free. x²/2 is split into a float and its exact FMA remainder so
/// large |x| keep full relative precision in g.
@_transparent func normalCDFAndGaussian16(_ x: F16) -> (cdf: F16, gaussian: F16) {
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: F16.self)
    let t = 1 / F16(repeating: 1).addingProduct(ax, 0.265_165_042_944_955_35)   // 1 / (1 + 0.375 z)
    // Q in Estrin's form (four FMA levels instead of eight).
    let t2 = t * t, t4 = t2 * t2
    let q01 = F16(repeating: 0.105_807_207_688_465_01).addingProduct(t, 0.105_316_748_434_907_99)
    let q23 = F16(repeating: 0.102_715_225_725_631_16).addingProduct(t, 0.060_519_411_182_245_42)
    let q45 = F16(repeating: 0.137_422_249_510_175_8).addingProduct(t, -0.115_538_512_829_307_97)
    let q67 = F16(repeating: 0.216_947_171_796_256_03).addingProduct(t, -0.144_037_834_017_765_88)
    let q03 = q01.addingProduct(t2, q23), q47 = q45.addingProduct(t2, q67)
    let q = q03.addingProduct(t4, q47.addingProduct(t4, 0.030_848_338_171_032_042))
    let sq = ax * ax
    let rem = (-sq).addingProduct(ax, ax)   // exact: ax² = sq + rem
    let gaussian = expNonPositive16(sq * -0.5, rem * -0.5)
    let half = (t * q) * gaussian                // Φ(-|x|)
    return (half.replacing(with: 1 - half, where: x .>= 0), gaussian)
}
