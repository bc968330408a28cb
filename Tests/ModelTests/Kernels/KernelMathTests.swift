import XCTest
import TestSupport
import Foundation
@testable import Model

/// Accuracy of the vectorized math kernels against Double references.
final class KernelMathTests: XCTestCase {
    /// GELU approximation vs exact erf-GELU computed in Double: max relative error < 1e-6 on a
    /// dense grid over [-10, 10] (beyond that GELU is 0 or x to Float precision).
    func testGELUApproximationError() {
        let n = 200_001
        let xs = (0..<n).map { Float(-10 + 20 * Double($0) / Double(n - 1)) } + [0, 1e-6, -1e-6, 1e-3, -1e-3, -12, 12]
        var out = [Float](repeating: 0, count: xs.count)
        geluForward(out: &out, h: xs, count: xs.count)
        var worst = 0.0
        for (i, x) in xs.enumerated() {
            let xd = Double(x)
            let exact = 0.5 * xd * erfc(-xd / 2.0.squareRoot())
            if exact == 0 { XCTAssertEqual(out[i], 0); continue }
            worst = max(worst, abs(Double(out[i]) - exact) / abs(exact))
        }
        XCTAssertLessThan(worst, 1e-6, "max relative GELU error \(worst)")
    }

    /// The kept derivative GELU'(x) = Φ(x) + x·φ(x) vs Double on the same grid. Its two terms cancel
    /// near x ≈ -0.75 (GELU's minimum), so the error is measured against their magnitudes,
    /// Φ + |x|·φ: < 1e-6 of that (measured 4.3e-7). The GELU it writes alongside must be
    /// geluForward's, bit for bit.
    func testGELUDerivativeError() {
        let n = 200_001
        let xs = (0..<n).map { Float(-10 + 20 * Double($0) / Double(n - 1)) } + [0, 1e-6, -1e-6, 1e-3, -1e-3, -0.7518, -12, 12]
        var out = [Float](repeating: 0, count: xs.count), kept = out, derivative = out
        geluForward(out: &out, h: xs, count: xs.count)
        geluForwardKeepingDerivative(out: &kept, derivative: &derivative, h: xs, count: xs.count)
        XCTAssertEqual(kept, out)
        var worst = 0.0
        for (i, x) in xs.enumerated() {
            let xd = Double(x)
            let cdf = 0.5 * erfc(-xd / 2.0.squareRoot()), density = Foundation.exp(-xd * xd / 2) / (2 * Double.pi).squareRoot()
            worst = max(worst, abs(Double(derivative[i]) - (cdf + xd * density)) / (cdf + abs(xd) * density))
        }
        XCTAssertLessThan(worst, 1e-6, "max GELU' error relative to Φ + |x|φ: \(worst)")
    }

    func testExpAccuracy() {
        var worst = 0.0
        var x = Float(-80)
        while x < 80 {
            var v = F16()
            for l in 0..<16 { v[l] = x + Float(l) * 0.0013 }
            let e = exp16(v)
            for l in 0..<16 { worst = max(worst, abs(Double(e[l]) - Foundation.exp(Double(v[l]))) / Foundation.exp(Double(v[l]))) }
            x += 0.0173
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(exp16(F16(repeating: -200))[0], 0)
    }

    func testL1Loss() {
        let n = 4099   // SIMD blocks + tail
        let p = GradCheck.randomArray(n, seed: 1), t = GradCheck.randomArray(n, seed: 2)
        var d = [Float](repeating: 9, count: n)
        let loss = l1LossForwardBackward(pred: p, target: t, dPred: &d, count: n, gradScale: 2)
        let ref = zip(p, t).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(n)
        XCTAssertEqual(loss, ref, accuracy: 1e-7 * ref)
        for i in 0..<n { XCTAssertEqual(d[i], p[i] > t[i] ? 2 / Float(n) : -2 / Float(n)) }
    }

    func testSinCosPositions() {
        let table = sinCosPositionTable(positions: 200, dim: 8)
        // Position 0: sin parts 0, cos parts 1. Position 7, i = 1: ω = 1/10000^(1/4) = 0.1.
        XCTAssertEqual(Array(table[0..<8]), [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(table[7 * 8 + 1], Float(sin(0.7)), accuracy: 1e-6)
        XCTAssertEqual(table[7 * 8 + 5], Float(cos(0.7)), accuracy: 1e-6)
    }

    func testGEMMWrapperMatchesNaive() {
        let m = 7, n = 5, k = 9
        let a = GradCheck.randomArray(k * m, seed: 3), b = GradCheck.randomArray(n * k, seed: 4)
        var c = [Float](repeating: 1, count: m * n)
        // C = 2·Aᵀ·Bᵀ + 1·C with A stored [k, m] and B stored [n, k].
        sgemm(true, true, m, n, k, 2, a, m, b, k, 1, &c, n)
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += a[p * m + i] * b[j * k + p] }
            assertClose(c[i * n + j], 1 + 2 * s, rtol: 1e-5)
        } }
    }

    /// beta = 0 is done by the wrapper (memset, then beta = 1): like BLAS it must ignore whatever C
    /// held (NaN included) and leave the gap between rows of a strided C (ldc > n) untouched — the
    /// attention writes per-head column blocks of a wider matrix this way. Serial and split.
    func testBetaZeroIgnoresOldCAndKeepsStrideGaps() {
        for threads in [1, 2] {
            EngineThreads.set(threads)
            defer { EngineThreads.set(1) }
            let m = 150, n = 131, k = 110, ldc = n + 7   // m·n·k ≥ 2^21: split at 2 threads
            let a = GradCheck.randomArray(m * k, seed: 11), b = GradCheck.randomArray(k * n, seed: 12)
            var c = [Float](repeating: .nan, count: m * ldc)
            for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = 42 } }
            sgemm(false, false, m, n, k, 1, a, k, b, n, 0, &c, ldc)
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                    assertClose(c[i * ldc + j], Float(s), rtol: 1e-4)   // a stale or NaN C is off by O(1)
                }
                for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 42, "gap overwritten at row \(i), threads \(threads)") }
            }
        }
    }

    /// With 2 engine threads a large GEMM is split over rows (m ≥ n) or columns (m < n) of C; every
    /// transpose combination must match the naive product and be identical across repeats.
    func testSplitGEMMMatchesNaive() {
        EngineThreads.set(2)
        defer { EngineThreads.set(1) }
        for (m, n) in [(150, 131), (131, 150)] {
            let k = 110   // m·n·k ≥ 2^21: above the split threshold
            XCTAssertGreaterThanOrEqual(m * n * k, 1 << 21)
            let a = GradCheck.randomArray(m * k, seed: 7), b = GradCheck.randomArray(n * k, seed: 8)
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let lda = ta ? m : k, ldb = tb ? k : n
                var c = [Float](repeating: 0.5, count: m * n)
                sgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 1, &c, n)
                var again = [Float](repeating: 0.5, count: m * n)
                sgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 1, &again, n)
                XCTAssertEqual(c.map(\.bitPattern), again.map(\.bitPattern))
                var worst: Float = 0
                for i in 0..<m { for j in 0..<n {
                    var s: Float = 0
                    for p in 0..<k { s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]) }
                    worst = max(worst, abs(c[i * n + j] - (0.5 + 1.5 * s)))
                } }
                XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) transA \(ta) transB \(tb)")
            }
        }
    }
}
