import XCTest
@testable import Model

/// The dropout kernel (Kernels/Dropout.swift) and its use in the transformer blocks: keep rate,
/// 1/(1-p) scaling, determinism per (seed, step, site, sample, element), p = 0 and evaluation
/// forwards bit-identical to no dropout, and finite-difference gradients through a fixed mask.
final class DropoutTests: XCTestCase {
    func testKeepRateMatchesOneMinusP() {
        for p: Float in [0.05, 0.1, 0.5] {
            let mask = DropoutMask(rate: p, seed: 11, step: 3, site: 2)
            let n = 200_000
            var kept = 0
            for s in 0..<4 { for e in 0..<(n / 4) where mask.keeps(sample: s, element: e) { kept += 1 } }
            let rate = Double(kept) / Double(n), sd = (Double(p) * Double(1 - p) / Double(n)).squareRoot()
            // 5 standard deviations: a biased or constant mask fails, chance almost never does.
            XCTAssertEqual(rate, 1 - Double(p), accuracy: 5 * sd, "keep rate at p = \(p)")
        }
    }

    func testKeptElementsScaledDroppedZero() {
        let p: Float = 0.3
        let mask = DropoutMask(rate: p, seed: 5, step: 0)
        let x = (0..<1000).map { Float($0) * 0.01 - 3 }
        var y = x
        y.withUnsafeMutableBufferPointer { dropoutForward($0.baseAddress!, samples: 7..<9, perSample: 500, mask: mask) }
        var dropped = 0
        for i in 0..<1000 {
            if mask.keeps(sample: 7 + i / 500, element: i % 500) {
                XCTAssertEqual(y[i], x[i] * (1 / (1 - p)), "kept element \(i) scaled by 1/(1-p)")
            } else {
                XCTAssertEqual(y[i], 0); dropped += 1
            }
        }
        XCTAssertGreaterThan(dropped, 200); XCTAssertLessThan(dropped, 400)
        // Backward is the same scaled mask.
        var dy = [Float](repeating: 1, count: 1000)
        dy.withUnsafeMutableBufferPointer { dropoutBackward($0.baseAddress!, samples: 7..<9, perSample: 500, mask: mask) }
        for i in 0..<1000 { XCTAssertEqual(dy[i], mask.keeps(sample: 7 + i / 500, element: i % 500) ? 1 / (1 - p) : 0) }
    }

    func testMaskIsAPureFunctionOfItsKey() {
        func pattern(_ m: DropoutMask, sample: Int = 0) -> [Bool] { (0..<512).map { m.keeps(sample: sample, element: $0) } }
        let base = DropoutMask(rate: 0.5, seed: 1, step: 10, site: 4)
        XCTAssertEqual(pattern(base), pattern(DropoutMask(rate: 0.5, seed: 1, step: 10, site: 4)), "same key, same mask")
        XCTAssertNotEqual(pattern(base), pattern(DropoutMask(rate: 0.5, seed: 2, step: 10, site: 4)), "seed")
        XCTAssertNotEqual(pattern(base), pattern(DropoutMask(rate: 0.5, seed: 1, step: 11, site: 4)), "step")
        XCTAssertNotEqual(pattern(base), pattern(base.at(site: 5)), "site")
        XCTAssertNotEqual(pattern(base), pattern(base, sample: 1), "sample")
        // Part of a sample (an offset slice) draws the same mask as the whole sample.
        var whole = [Float](repeating: 1, count: 300), part = [Float](repeating: 1, count: 100)
        whole.withUnsafeMutableBufferPointer { dropoutApply($0.baseAddress!, count: 300, mask: base, sample: 3) }
        part.withUnsafeMutableBufferPointer { dropoutApply($0.baseAddress!, count: 100, mask: base, sample: 3, firstElement: 150) }
        XCTAssertEqual(Array(whole[150..<250]), part)
    }

    // MARK: - In the transformer blocks

    let dim = 16, heads = 2, batch = 3, tokens = 5

    func makeStack(depth: Int = 2) -> (TransformerStack, ParameterStore, ParameterLayout) {
        var layout = ParameterLayout()
        let stack = TransformerStack(layout: &layout, prefix: "", depth: depth, dim: dim, heads: heads, mlpRatio: 4)
        let store = ParameterStore(layout: layout)
        initializeBlocks(stack.blocks, specs: layout.specs, weights: store.values, seed: 3)
        GradCheck.perturb(store.values, count: store.count, seed: 3, std: 0.3)
        return (stack, store, layout)
    }

    func output(_ stack: TransformerStack, _ store: ParameterStore, _ x: [Float], keep: Bool) -> [Float] {
        let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: keep)
        input.update(from: x, count: x.count)
        return Array(UnsafeBufferPointer(start: stack.forward(weights: store.values), count: x.count))
    }

    func testZeroRateAndEvaluationForwardsAreBitIdenticalToNoDropout() {
        let (stack, store, _) = makeStack()
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 21)
        stack.dropout = nil
        let plain = output(stack, store, x, keep: true), plainEval = output(stack, store, x, keep: false)
        stack.dropout = DropoutMask(rate: 0, seed: 9, step: 4)
        XCTAssertEqual(output(stack, store, x, keep: true), plain, "p = 0 is no dropout")
        stack.dropout = DropoutMask(rate: 0.2, seed: 9, step: 4)
        XCTAssertEqual(output(stack, store, x, keep: false), plainEval, "a forward-only (evaluation) stack never drops")
        let dropped = output(stack, store, x, keep: true)
        XCTAssertNotEqual(dropped, plain, "p = 0.2 changes the training forward")
        XCTAssertEqual(output(stack, store, x, keep: true), dropped, "same (seed, step): same output")
        stack.dropout = DropoutMask(rate: 0.2, seed: 9, step: 5)
        XCTAssertNotEqual(output(stack, store, x, keep: true), dropped, "next step: another mask")
    }

    func testMaskDoesNotDependOnTilingOrThreads() {
        let (stack, store, _) = makeStack()
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 22)
        stack.dropout = DropoutMask(rate: 0.25, seed: 2, step: 1)
        let saved = TransformerStack.tileRows
        defer { TransformerStack.tileRows = saved }
        let untiled = output(stack, store, x, keep: true)
        TransformerStack.tileRows = tokens   // one sample per tile
        // GEMMs over other row counts round differently (~1e-7); another mask would move
        // activations by O(1).
        let tiled = output(stack, store, x, keep: true)
        for i in tiled.indices { XCTAssertEqual(tiled[i], untiled[i], accuracy: 1e-4 * max(1, abs(untiled[i])), "element \(i)") }
    }

    /// With a fixed mask the network is smooth in its inputs and weights, so the backward must
    /// match finite differences exactly as without dropout (Tolerance as GradModelTests).
    func testGradientsThroughAFixedMask() {
        for tileRows in [512, 5] {
            let saved = TransformerStack.tileRows
            TransformerStack.tileRows = tileRows
            defer { TransformerStack.tileRows = saved }
            let (stack, store, layout) = makeStack()
            stack.dropout = DropoutMask(rate: 0.3, seed: 7, step: 2)
            let rows = batch * tokens * dim
            let x = GradCheck.pointer(GradCheck.randomArray(rows, seed: 12))
            let r = GradCheck.randomArray(rows, seed: 13)
            func loss() -> Double {
                let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: true)
                input.update(from: x, count: rows)
                return GradCheck.weightedSum(stack.forward(weights: store.values), r)
            }
            _ = loss()
            var dx = r
            store.zeroGrads()
            stack.backward(weights: store.values, grads: store.grads, dx: &dx, onGradientsReady: nil)
            XCTAssertLessThan(GradCheck.directionalError(values: x, analytic: dx, range: 0..<rows, seed: 2, loss: loss).error, 1e-3)
            for spec in layout.specs {
                let e = [Float(0.1), 0.025].map {
                    GradCheck.directionalError(values: store.values, analytic: store.grads, range: spec.range, seed: 1, eps: $0, loss: loss).error
                }.min()!
                XCTAssertLessThan(e, 1e-3, "\(spec.name) with dropout (tile rows \(tileRows))")
            }
            // The dropout-free gradient differs: the check above saw the masks.
            let withDropout = Array(UnsafeBufferPointer(start: store.grads, count: store.count))
            stack.dropout = nil
            _ = loss()
            var dx0 = r
            store.zeroGrads()
            stack.backward(weights: store.values, grads: store.grads, dx: &dx0, onGradientsReady: nil)
            XCTAssertNotEqual(Array(UnsafeBufferPointer(start: store.grads, count: store.count)), withDropout)
        }
    }
}
