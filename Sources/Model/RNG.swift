// Deterministic random numbers. Every random choice in ecg-dist (weight init, masks, shuffles,
// crops) is a pure function of (seed, stream, counter) so that all ranks draw the same values and
// a resumed run continues exactly: no hidden global generator state.

/// SplitMix64: tiny, fast, statistically solid for our purposes, and trivially seekable.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one (seed, stream, counter) triple, e.g. (runSeed, .mask, step).
    public init(seed: UInt64, stream: UInt64, counter: UInt64 = 0) {
        var s = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        s.state ^= stream &* 0xD1B5_4A32_D192_ED03
        _ = s.next()
        s.state ^= counter &* 0x94D0_49BB_1331_11EB
        _ = s.next()
        self = s
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform integer in 0..<n.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0)
        return Int(next() % UInt64(n))
    }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u1 = nextDouble()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = nextDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Normal(0, std) truncated to [-2 std, 2 std] by resampling, as timm's trunc_normal_.
    public mutating func nextTruncatedNormal(std: Float) -> Float {
        while true {
            let z = nextNormal()
            if abs(z) <= 2 { return z * std }
        }
    }
}

/// Named streams so different consumers of one seed never share random numbers.
public enum RNGStream: UInt64, Sendable {
    case weightInit = 1, mask = 2, shuffle = 3, crop = 4, probe = 5, synth = 6, dropout = 7, maskLayout = 8, mixture = 9
}

import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
