// Inverted dropout with a mask that is never stored: element e of sample s at dropout site
// `site` in training step `step` is kept iff a hash of (seed, step, site, s, e) lands above the
// rate, and a kept element is scaled by 1/(1-p) so the expected activation is unchanged (PyTorch's
// nn.Dropout). Because the mask is a pure function of those five numbers, the backward recomputes
// it instead of reading a saved one, runs are reproducible, and a tiled or multi-threaded block
// draws the same mask whatever rows a thread happens to own.
//
// Forward and backward are the same operation (multiply by the same scaled mask): y = m·x/(1-p),
// dx = m·dy/(1-p). Evaluation never calls it (train-time only; callers skip it at p = 0, so a
// rate of 0 is bit-identical to no dropout).

/// Which mask to draw: the run's dropout rate and seed, the optimizer step and the dropout site
/// (a distinct number per place in the network, see `TransformerStack`).
public struct DropoutMask: Sendable, Equatable {
    public var rate: Float
    public var seed: UInt64
    public var step: Int
    public var site: Int

    public init(rate: Float, seed: UInt64, step: Int, site: Int = 0) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1) (got \(rate))")
        self.rate = rate
        self.seed = seed
        self.step = step
        self.site = site
    }

    /// The same mask keyed to another site.
    public func at(site: Int) -> DropoutMask { var m = self; m.site = site; return m }

    /// 1/(1-p): the scale of a kept element.
    public var keepScale: Float { 1 / (1 - rate) }

    /// Elements whose 24-bit hash is below this are dropped: P(drop) = threshold / 2²⁴ ≈ p.
    var dropThreshold: UInt32 { UInt32((Double(rate) * 16_777_216).rounded()) }

    /// The per-sample part of the key; `keep(element:)` mixes in the element index.
    @inline(__always) func sampleKey(_ sample: Int) -> UInt64 {
        var key = seed ^ (RNGStream.dropout.rawValue &* 0x9E37_79B9_7F4A_7C15)
        key = mix64(key ^ (UInt64(truncatingIfNeeded: step) &* 0xD1B5_4A32_D192_ED03))
        key = mix64(key ^ (UInt64(truncatingIfNeeded: site) &* 0x94D0_49BB_1331_11EB))
        return mix64(key ^ (UInt64(truncatingIfNeeded: sample) &* 0xBF58_476D_1CE4_E5B9))
    }

    /// Whether element `element` of the sample with key `sampleKey` is kept.
    @inline(__always) static func keeps(sampleKey: UInt64, element: Int, threshold: UInt32) -> Bool {
        UInt32(truncatingIfNeeded: mix64(sampleKey &+ UInt64(truncatingIfNeeded: element) &* 0x9E37_79B9_7F4A_7C15) >> 40) >= threshold
    }

    /// Whether element `element` of sample `sample` is kept (tests; the kernel inlines this).
    public func keeps(sample: Int, element: Int) -> Bool {
        Self.keeps(sampleKey: sampleKey(sample), element: element, threshold: dropThreshold)
    }
}

/// SplitMix64's finalizer: a bijective 64-bit mix with full avalanche.
@inline(__always) func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// x[i] ·= mask(sample, firstElement + i) / (1-p) for `count` consecutive elements of one sample.
/// `firstElement` is the element index within the sample (row · width + column), so a caller
/// that handles part of a sample draws the same mask as one that handles all of it.
func dropoutApply(_ x: UnsafeMutablePointer<Float>, count: Int, mask: DropoutMask, sample: Int, firstElement: Int = 0) {
    let key = mask.sampleKey(sample), threshold = mask.dropThreshold, scale = mask.keepScale
    for i in 0..<count {
        x[i] = DropoutMask.keeps(sampleKey: key, element: firstElement + i, threshold: threshold) ? x[i] * scale : 0
    }
}

/// Forward of dropout on `samples` consecutive samples of `perSample` floats each, the first
/// being sample `firstSample` of the batch: in place, y = m·x/(1-p).
public func dropoutForward(_ x: UnsafeMutablePointer<Float>, samples: Range<Int>, perSample: Int, mask: DropoutMask) {
    for (i, s) in samples.enumerated() { dropoutApply(x + i * perSample, count: perSample, mask: mask, sample: s) }
}

/// Backward of `dropoutForward` with the same arguments: in place, dx = m·dy/(1-p).
public func dropoutBackward(_ dy: UnsafeMutablePointer<Float>, samples: Range<Int>, perSample: Int, mask: DropoutMask) {
    dropoutForward(dy, samples: samples, perSample: perSample, mask: mask)
}
