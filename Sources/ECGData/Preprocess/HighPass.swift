import Foundation

/// Baseline-wander removal: a 2nd-order Butterworth high-pass (bilinear transform with the cutoff
/// pre-warped, one biquad) run forward and then backward over the record, so the phase cancels
/// and QRS/T shapes are not shifted. The two passes square the magnitude response: effective order 4,
/// −6 dB at the cutoff, −80 dB at a tenth of it, and |H(f)|² = r⁴ / (1 + r⁴) with r = f / cutoff.
///
/// Edges are scipy.signal.sosfiltfilt's defaults (padtype="odd", padlen=None), so a corpus matches
/// the reference pipeline sample for sample, ends included: the record is extended on both sides by
/// its point reflection about the end sample (`padLength`: 3 × (2 × sections + 1) = 9 samples for
/// this one biquad, capped at n − 1 where scipy would refuse the record), and each pass starts from
/// the filter's steady state for a constant input equal to the first sample it sees (sosfilt_zi),
/// so a constant record filters to exactly zero. With so short a pad the 0.5-Hz filter's own
/// transient (about 2 s) shows at the ends as in scipy: docs/reproduce-corpus.md.
/// Tests/scripts/check_sources.py compares whole records against scipy's defaults.
public struct ZeroPhaseHighPass: Sendable, Equatable {
    public let cutoffHz: Double
    public let samplingRate: Double
    /// Numerator b0, b1, b2 and denominator a1, a2 (a0 = 1), transposed direct form II.
    public let b: [Double]
    public let a: [Double]
    public static let order = 2

    /// nil unless 0 < cutoff < Nyquist.
    public init?(cutoffHz: Double, samplingRate: Double) {
        guard cutoffHz > 0, samplingRate > 0, cutoffHz < samplingRate / 2, cutoffHz.isFinite else { return nil }
        self.cutoffHz = cutoffHz
        self.samplingRate = samplingRate
        let k = tan(Double.pi * cutoffHz / samplingRate)
        let root2 = 2.0.squareRoot()
        let norm = 1 / (1 + root2 * k + k * k)
        b = [norm, -2 * norm, norm]
        a = [2 * (k * k - 1) * norm, (1 - root2 * k + k * k) * norm]
    }

    /// Reflected samples added before and after a record of `n` samples: scipy's default padlen
    /// for one second-order section (no zero coefficient), 3 × (2 + 1).
    public static let scipyDefaultPad = 9
    public func padLength(sampleCount n: Int) -> Int {
        max(0, min(n - 1, Self.scipyDefaultPad))
    }

    /// Filters x[t * stride], t < n, in place (computed in Double: the poles sit within 1e-2 of the unit
    /// circle, where Float recursion would lose the low-frequency content to rounding).
    public func apply(_ x: UnsafeMutablePointer<Float>, count n: Int, stride: Int = 1) {
        guard n > 1 else {
            if n == 1 { x[0] = 0 } // a single sample is all DC
            return
        }
        let pad = padLength(sampleCount: n)
        let total = n + 2 * pad
        var extended = [Double](repeating: 0, count: total)
        let first = Double(x[0]), last = Double(x[(n - 1) * stride])
        for t in 0..<n { extended[pad + t] = Double(x[t * stride]) }
        if pad > 0 {
            for k in 1...pad {
                extended[pad - k] = 2 * first - Double(x[k * stride])
                extended[pad + n - 1 + k] = 2 * last - Double(x[(n - 1 - k) * stride])
            }
        }
        extended.withUnsafeMutableBufferPointer { buffer in
            runPass(buffer.baseAddress!, count: total, reversed: false)
            runPass(buffer.baseAddress!, count: total, reversed: true)
        }
        for t in 0..<n { x[t * stride] = Float(extended[pad + t]) }
    }

    /// `apply` to all 12 columns of a sample-major (n, 12) record at once: the columns run through
    /// the recursion side by side in three 4-wide Double vectors (one column's recursion is a chain
    /// of dependent multiply-adds that leaves the core mostly idle), each lane doing exactly what
    /// `apply` does for its column (same operations in the same order, no fused multiply-add).
    public func applyLeads(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        guard n > 1 else {
            if n == 1 { x.update(repeating: 0, count: 12) }
            return
        }
        let pad = padLength(sampleCount: n), total = n + 2 * pad
        // Extended record, frame t = vectors 3t, 3t + 1, 3t + 2 (columns 0-3, 4-7, 8-11).
        let y = UnsafeMutablePointer<SIMD4<Double>>.allocate(capacity: 3 * total)
        defer { y.deallocate() }
        @inline(__always) func column(_ t: Int, _ g: Int) -> SIMD4<Double> {
            let p = x + t * 12 + 4 * g
            return SIMD4(Double(p[0]), Double(p[1]), Double(p[2]), Double(p[3]))
        }
        for g in 0..<3 {
            let first = column(0, g), last = column(n - 1, g)
            for t in 0..<n { y[3 * (pad + t) + g] = column(t, g) }
            for k in stride(from: 1, through: pad, by: 1) {
                y[3 * (pad - k) + g] = 2 * first - column(k, g)
                y[3 * (pad + n - 1 + k) + g] = 2 * last - column(n - 1 - k, g)
            }
        }
        runPassLeads(y, frames: total, reversed: false)
        runPassLeads(y, frames: total, reversed: true)
        for t in 0..<n {
            for g in 0..<3 {
                let v = y[3 * (pad + t) + g], p = x + t * 12 + 4 * g
                p[0] = Float(v[0]); p[1] = Float(v[1]); p[2] = Float(v[2]); p[3] = Float(v[3])
            }
        }
    }

    /// `runPass` over the three column groups of `applyLeads`, their recursions interleaved.
    private func runPassLeads(_ y: UnsafeMutablePointer<SIMD4<Double>>, frames n: Int, reversed: Bool) {
        let (b0, b1, b2, a1, a2) = (b[0], b[1], b[2], a[0], a[1])
        let dcGain = (b0 + b1 + b2) / (1 + a1 + a2)
        let startFrame = reversed ? n - 1 : 0
        // Per group the states s0 (p) and s1 (q) of `runPass`, from its steady state for the first frame.
        let s1 = (0..<3).map { (b2 - a2 * dcGain) * y[3 * startFrame + $0] }
        let s0 = (0..<3).map { (b1 - a1 * dcGain) * y[3 * startFrame + $0] + s1[$0] }
        var (p0, p1, p2, q0, q1, q2) = (s0[0], s0[1], s0[2], s1[0], s1[1], s1[2])
        @inline(__always) func step(_ v: inout SIMD4<Double>, _ s0: inout SIMD4<Double>, _ s1: inout SIMD4<Double>) {
            let input = v
            let output = b0 * input + s0
            s0 = b1 * input - a1 * output + s1
            s1 = b2 * input - a2 * output
            v = output
        }
        for i in 0..<n {
            let t = reversed ? n - 1 - i : i
            step(&y[3 * t], &p0, &q0)
            step(&y[3 * t + 1], &p1, &q1)
            step(&y[3 * t + 2], &p2, &q2)
        }
    }

    /// Convenience: a filtered copy of an array.
    public func apply(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: x.count) }
        return y
    }

    /// One pass of the biquad over y (backwards when `reversed`), from the steady state of a constant
    /// input equal to the pass's first sample.
    private func runPass(_ y: UnsafeMutablePointer<Double>, count n: Int, reversed: Bool) {
        let (b0, b1, b2, a1, a2) = (b[0], b[1], b[2], a[0], a[1])
        let dcGain = (b0 + b1 + b2) / (1 + a1 + a2)
        let start = reversed ? y[n - 1] : y[0]
        var s1 = (b2 - a2 * dcGain) * start
        var s0 = (b1 - a1 * dcGain) * start + s1
        for i in 0..<n {
            let t = reversed ? n - 1 - i : i
            let input = y[t]
            let output = b0 * input + s0
            s0 = b1 * input - a1 * output + s1
            s1 = b2 * input - a2 * output
            y[t] = output
        }
    }

    /// Magnitude of the forward-backward response at `frequency` Hz (the square of the biquad's gain).
    public func magnitude(at frequency: Double) -> Double {
        let w = 2 * Double.pi * frequency / samplingRate
        func evaluate(_ c: [Double]) -> (re: Double, im: Double) {
            var re = 0.0, im = 0.0
            for (k, value) in c.enumerated() { re += value * cos(Double(k) * w); im -= value * sin(Double(k) * w) }
            return (re, im)
        }
        let numerator = evaluate(b), denominator = evaluate([1] + a)
        let single = ((numerator.re * numerator.re + numerator.im * numerator.im)
                      / (denominator.re * denominator.re + denominator.im * denominator.im)).squareRoot()
        return single * single
    }
}
