import XCTest
@testable import Model

// Shared finite-difference machinery for the Grad*Tests. The scalar probed is
// L = Σ r_i · out_i with fixed random r (so every output element matters), summed in Double.
// Central differences: (L(θ+ε) − L(θ−ε)) / 2ε. Relative error per element is
// |analytic − numeric| / max(|analytic|, |numeric|, floor), floor = 3 % of the tensor's largest
// gradient: entries far below that are dominated by the Float32 forward's rounding noise
// (~1e-7 of the loss / ε), so they are held to an absolute error of 3e-5 · max|grad| instead.

struct GradCheck {
    static func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed, stream: 99, counter: UInt64(n))
        return (0..<n).map { _ in rng.nextNormal() * scale }
    }

    /// Heap copy of an array (tests mutate it while closures read it; arrays would conflict).
    static func pointer(_ a: [Float]) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(a.count, 1))
        p.initialize(from: a, count: a.count)
        return p
    }

    static func weightedSum(_ p: UnsafePointer<Float>, _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<r.count { s += Double(p[i]) * Double(r[i]) }
        return s
    }

    /// Up to `limit` indices spread over 0..<count (all of them when count ≤ limit).
    /// Moves every parameter away from its init by N(0, 0.1²) noise so LayerNorm weights,
    /// biases and tokens are generic (init values 1/0 can hide transposition bugs).
    static func perturb(_ p: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, std: Float = 0.1) {
        var rng = SplitMix64(seed: seed, stream: 97)
        for i in 0..<count { p[i] += std * rng.nextNormal() }
    }

    static func sampleIndices(_ count: Int, limit: Int = 24, seed: UInt64 = 7) -> [Int] {
        if count <= limit { return Array(0..<count) }
        var rng = SplitMix64(seed: seed, stream: 98, counter: UInt64(count))
        return (0..<limit).map { _ in rng.nextInt(below: count) }
    }

    /// Relative error of the directional derivative along a random Gaussian direction d over
    /// values[range]: analytic d·g vs Richardson central differences of L(θ + h·d). Summing over a
    /// whole tensor raises the signal ~√count above the Float32 forward's rounding noise, which
    /// per-element differences cannot beat for tensors with tiny individual gradients.
    static func directionalError(values: UnsafeMutablePointer<Float>, analytic: UnsafePointer<Float>, range: Range<Int>,
                                 seed: UInt64, eps: Float = 0.1, loss: () -> Double) -> (error: Double, analytic: Double) {
        var rng = SplitMix64(seed: seed, stream: 96, counter: UInt64(range.lowerBound))
        // Direction = unit(analytic) + unit(random), normalized: the gradient part guarantees a
        // measurable slope (a purely random direction can be nearly orthogonal to g), the random
        // part makes errors in any component visible.
        let random = range.map { _ in rng.nextNormal() }
        let grad = range.map { analytic[$0] }
        func unit(_ v: [Float]) -> [Float] {
            let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return n > 0 ? v.map { $0 / n } : v
        }
        let direction = unit(zip(unit(grad), unit(random)).map { $0 + $1 })   // |θ step| = h exactly
        let saved = Array(UnsafeBufferPointer(start: values + range.lowerBound, count: range.count))
        var a = 0.0
        for (j, i) in range.enumerated() { a += Double(direction[j]) * Double(analytic[i]) }
        func at(_ h: Float) -> Double {
            for (j, i) in range.enumerated() { values[i] = saved[j] + h * direction[j] }
            defer { (values + range.lowerBound).update(from: saved, count: saved.count) }
            return loss()
        }
        let wide = (at(eps) - at(-eps)) / Double(2 * eps)
        let narrow = (at(eps / 2) - at(-eps / 2)) / Double(eps)
        let numeric = (4 * narrow - wide) / 3
        return (abs(a - numeric) / max(abs(a), abs(numeric), 1e-30), a)
    }

    /// Max relative error of `analytic[i]` vs the central difference of `loss` w.r.t. values[i].
    static func maxRelativeError(values: UnsafeMutablePointer<Float>, analytic: UnsafePointer<Float>, indices: [Int],
                                 eps: Float = 5e-2, richardson: Bool = true, scaleHint: Double = 0, loss: () -> Double) -> Double {
        var numeric: [Double] = []
        func slope(_ i: Int, _ h: Float) -> Double {
            let saved = values[i]
            values[i] = saved + h; let plus = loss()
            values[i] = saved - h; let minus = loss()
            values[i] = saved
            // Use the actually representable step so rounding of θ±h does not bias the slope.
            return (plus - minus) / (Double(saved + h) - Double(saved - h))
        }
        for i in indices {
            // Richardson extrapolation of two central differences: O(ε⁴) truncation, which
            // allows a large ε so Float rounding noise in the forward pass stays negligible.
            numeric.append(richardson ? (4 * slope(i, eps / 2) - slope(i, eps)) / 3 : slope(i, eps))
        }
        let largest = max(numeric.map { abs($0) }.max() ?? 0, scaleHint)
        let floor = max(3e-2 * largest, 1e-9)
        var worst = 0.0
        for (j, i) in indices.enumerated() {
            let a = Double(analytic[i]), n = numeric[j]
            worst = max(worst, abs(a - n) / max(abs(a), abs(n), floor))
        }
        return worst
    }
}

final class GradHelperTests: XCTestCase {
    /// The checker itself must flag a wrong gradient (otherwise every Grad test is vacuous).
    func testCheckerDetectsWrongGradient() {
        var x: [Float] = [0.3, -1.2, 2.0]
        let wrong: [Float] = [2 * 0.3, 2 * -1.2, 2 * 2.0 * 1.01]   // d(x²)/dx with 1 % error on the last
        let err = x.withUnsafeMutableBufferPointer { xb in
            wrong.withUnsafeBufferPointer { g in
                GradCheck.maxRelativeError(values: xb.baseAddress!, analytic: g.baseAddress!, indices: [0, 1, 2], eps: 1e-3, richardson: false) {
                    xb.reduce(0.0) { $0 + Double($1) * Double($1) }
                }
            }
        }
        XCTAssertGreaterThan(err, 5e-3)
        XCTAssertLessThan(err, 2e-2)
    }
}
