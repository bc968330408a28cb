import XCTest
@testable import Model

/// Finite-difference checks of the individual layer kernels (linear, LayerNorm, GELU, attention).
final class GradKernelTests: XCTestCase {
    let tolerance = 1e-3

    func testLinearGradients() {
        let rows = 5, inF = 19, outF = 7
        let x = GradCheck.pointer(GradCheck.randomArray(rows * inF, seed: 1))
        let w = GradCheck.pointer(GradCheck.randomArray(outF * inF, seed: 2, scale: 0.3))
        let r = GradCheck.randomArray(rows * outF, seed: 3)
        var out = [Float](repeating: 0, count: rows * outF)
        var dx = [Float](repeating: 0, count: rows * inF), dw = [Float](repeating: 0, count: outF * inF)
        func loss() -> Double {
            linearForward(&out, x, w, rows: rows, inFeatures: inF, outFeatures: outF)
            return GradCheck.weightedSum(out, r)
        }
        linearBackward(dInput: &dx, dWeight: &dw, dOut: r, input: x, weight: w, rows: rows, inFeatures: inF, outFeatures: outF)
        let ex = GradCheck.maxRelativeError(values: x, analytic: dx, indices: Array(0..<rows * inF), loss: loss)
        let ew = GradCheck.maxRelativeError(values: w, analytic: dw, indices: Array(0..<outF * inF), loss: loss)
        XCTAssertLessThan(ex, tolerance); XCTAssertLessThan(ew, tolerance)
    }

    func testLayerNormGradients() {
        for dim in [20, 32] {   // SIMD tail and pure-SIMD paths
            let rows = 4
            let x = GradCheck.pointer(GradCheck.randomArray(rows * dim, seed: 4, scale: 2))
            let w = GradCheck.pointer(GradCheck.randomArray(dim, seed: 5).map { 1 + 0.3 * $0 })
            let b = GradCheck.pointer(GradCheck.randomArray(dim, seed: 6, scale: 0.2))
            let r = GradCheck.randomArray(rows * dim, seed: 7)
            var out = [Float](repeating: 0, count: rows * dim), mean = [Float](repeating: 0, count: rows), rstd = mean
            func loss() -> Double {
                layerNormForward(out: &out, mean: &mean, rstd: &rstd, x: x, weight: w, bias: b, rows: rows, dim: dim)
                return GradCheck.weightedSum(out, r)
            }
            _ = loss()
            var dx = [Float](repeating: 0.5, count: rows * dim)  // accumulate: must add to 0.5
            var dw = [Float](repeating: 0, count: dim), db = dw
            layerNormBackward(dx: &dx, dWeight: &dw, dBias: &db, dOut: r, x: x, mean: mean, rstd: rstd, weight: w,
                              rows: rows, dim: dim, accumulate: true)
            dx = dx.map { $0 - 0.5 }
            XCTAssertLessThan(GradCheck.maxRelativeError(values: x, analytic: dx, indices: Array(0..<rows * dim), loss: loss), tolerance)
            XCTAssertLessThan(GradCheck.maxRelativeError(values: w, analytic: dw, indices: Array(0..<dim), loss: loss), tolerance)
            XCTAssertLessThan(GradCheck.maxRelativeError(values: b, analytic: db, indices: Array(0..<dim), loss: loss), tolerance)
        }
    }

    func testGELUGradients() {
        let n = 37
        let h = GradCheck.pointer(GradCheck.randomArray(n, seed: 8, scale: 2.5))
        let r = GradCheck.randomArray(n, seed: 9)
        var out = [Float](repeating: 0, count: n)
        func loss() -> Double { geluForward(out: &out, h: h, count: n); return GradCheck.weightedSum(out, r) }
        // The training path: forward keeping GELU'(h), in place as the stack does it, then the
        // backward from the kept derivative.
        var kept = Array(UnsafeBufferPointer(start: h, count: n)), derivative = [Float](repeating: 0, count: n)
        kept.withUnsafeMutableBufferPointer { geluForwardKeepingDerivative(out: $0.baseAddress!, derivative: &derivative, h: $0.baseAddress!, count: n) }
        var dh = r
        geluBackward(dh: &dh, derivative: derivative, count: n)
        _ = loss()
        XCTAssertEqual(kept, out)
        XCTAssertLessThan(GradCheck.maxRelativeError(values: h, analytic: dh, indices: Array(0..<n), loss: loss), tolerance)
    }

    func testAttentionGradients() {
        let shape = AttentionShape(batch: 2, tokens: 9, dim: 8, heads: 2)
        let rows = shape.batch * shape.tokens
        let qkvCount = rows * 3 * shape.dim
        let qkv = GradCheck.pointer(GradCheck.randomArray(qkvCount, seed: 10))
        let r = GradCheck.randomArray(rows * shape.dim, seed: 11)
        // Outputs start as NaN: the kernels must overwrite them, not accumulate into them.
        var out = [Float](repeating: .nan, count: rows * shape.dim), probs = [Float](repeating: .nan, count: shape.probsCount)
        var rowScales = [Float](repeating: 0, count: shape.rowScaleCount)
        var scores = [Float](repeating: .nan, count: shape.queries * shape.tokens)
        func loss() -> Double {
            attentionForward(out: &out, probs: &probs, rowScales: &rowScales, scores: &scores, qkv: qkv, shape: shape)
            return GradCheck.weightedSum(out, r)
        }
        _ = loss()
        // A forward-only call (nothing saved) gives the same output, bit for bit.
        var outOnly = [Float](repeating: .nan, count: out.count)
        attentionForward(out: &outOnly, probs: nil, rowScales: &rowScales, scores: &scores, qkv: qkv, shape: shape)
        XCTAssertEqual(outOnly, out)
        // Saved numerators times their row scale are distributions, the largest numerator is 1.
        for row in 0..<(shape.probsCount / shape.tokens) {
            let numerators = probs[row * shape.tokens..<(row + 1) * shape.tokens]
            XCTAssertEqual(numerators.reduce(0, +) * rowScales[row], 1, accuracy: 1e-5)
            XCTAssertEqual(numerators.max()!, 1, accuracy: 1e-6)
        }
        var dqkv = [Float](repeating: .nan, count: qkvCount)
        var scratch = [Float](repeating: 0, count: shape.tokens * (shape.tokens + shape.headDim))
        attentionBackward(dqkv: &dqkv, dOut: r, probs: probs, rowScales: rowScales, qkv: qkv, scratch: &scratch, shape: shape)
        XCTAssertLessThan(GradCheck.maxRelativeError(values: qkv, analytic: dqkv, indices: Array(0..<qkvCount), loss: loss), tolerance)
    }
}
