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
/// degree-7 Taylor polynomial on |r| ≤ 0.35 (truncation error < 6e-9); ~1–2 ulp overall.
/// Arguments below -87 return 0 (flush instead of denormals).
@_transparent func exp16(_ hi: F16, _ lo: F16 = F16(repeating: 0)) -> F16 {
    let x = hi + lo
    return expBelow88(x.replacing(with: 88, where: x .> 88), hi: hi, lo: lo)
}

/// exp(x) for x ≤ 0 (softmax after subtracting the row maximum): no overflow clamp, no addend
/// (adding -0.0 is an identity the compiler removes, unlike +0.0).
@_transparent func expNonPositive16(_ x: F16) -> F16 {
    expBelow88(x, hi: x, lo: F16(repeating: -0.0))
}

/// The shared core: exp(hi + lo) for x = hi + lo ≤ 88 (x is passed already summed and clamped).
@_transparent func expBelow88(_ xIn: F16, hi: F16, lo: F16) -> F16 {
    let log2e: Float = 1.442_695_04
    let ln2Hi: Float = 0.693_145_751_953_125      // 11 significant bits: n · ln2Hi is exact
    let ln2Lo: Float = 1.428_606_765_330_187e-06
    let magic: Float = 12_582_912                  // 1.5 · 2^23: adding it rounds to an integer
    let underflow = xIn .< -87
    let x = xIn.replacing(with: -87, where: underflow)
    let t = F16(repeating: magic).addingProduct(x, log2e)
    let n = t - magic
    var r = hi.addingProduct(n, -ln2Hi)
    r = r.addingProduct(n, -ln2Lo) + lo
    r = r.replacing(with: 0, where: underflow)
    // Horner with explicit FMAs (Swift never contracts a·b + c on its own).
    var p = F16(repeating: 1.0 / 720).addingProduct(r, F16(repeating: 1.0 / 5040))
    p = F16(repeating: 1.0 / 120).addingProduct(p, r)
    p = F16(repeating: 1.0 / 24).addingProduct(p, r)
    p = F16(repeating: 1.0 / 6).addingProduct(p, r)
    p = F16(repeating: 0.5).addingProduct(p, r)
    p = F16(repeating: 1).addingProduct(p, r)
    p = F16(repeating: 1).addingProduct(p, r)
    // 2^n from the integer sitting in t's low mantissa bits.
    let tBits = unsafeBitCast(t, to: SIMD16<Int32>.self)
    let scale = unsafeBitCast((tBits &- 0x4B40_0000 &+ 127) &<< 23, to: F16.self)
    return (p * scale).replacing(with: 0, where: underflow)
}

/// Φ(x), the standard normal CDF, for GELU(x) = x · Φ(x), accurate to a few 1e-7 relative
/// everywhere (the plain tanh approximation is off by 1e-3). erfc(z), z = |x|/√2, uses the
/// Chebyshev-fitted form t · exp(-z² + P(t)), t = 1/(1 + z/2) (fractional error ≤ 1.2e-7). z² = x²/2
/// is split into a float and its exact FMA remainder so large |x| keep full relative precision.
@_transparent func normalCDF16(_ x: F16) -> F16 {
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: F16.self)
    let t = 1 / F16(repeating: 1).addingProduct(ax, 0.353_553_390_593_273_8)   // 1 / (1 + z/2)
    // Horner with explicit FMAs (Swift never contracts a·b + c on its own).
    var p = F16(repeating: 0.170_872_77)
    p = F16(repeating: -0.822_152_23).addingProduct(p, t)
    p = F16(repeating: 1.488_515_87).addingProduct(p, t)
    p = F16(repeating: -1.135_203_98).addingProduct(p, t)
    p = F16(repeating: 0.278_868_07).addingProduct(p, t)
    p = F16(repeating: -0.186_288_06).addingProduct(p, t)
    p = F16(repeating: 0.096_784_18).addingProduct(p, t)
    p = F16(repeating: 0.374_091_96).addingProduct(p, t)
    p = F16(repeating: 1.000_023_68).addingProduct(p, t)
    p = F16(repeating: -1.265_512_23).addingProduct(p, t)
    let sq = ax * ax
    let rem = (-sq).addingProduct(ax, ax)   // exact: ax² = sq + rem
    let half = (t * 0.5) * exp16(sq * -0.5, p.addingProduct(rem, -0.5))   // erfc(z) / 2 = Φ(-|x|)
    return half.replacing(with: 1 - half, where: x .>= 0)
}
