import XCTest
import TestSupport
@testable import Model

/// A transformer stack whose last block computes outputs only at selected token rows (the
/// predictor's target rows, the target encoder's target patches) must give exactly the rows of the
/// full forward, correct gradients, and the same results serially and with sample-parallel threads.
final class SelectedRowsStackTests: XCTestCase {
    let dim = 16, batch = 3, tokens = 7
    let selected = [0, 2, 3, 6]   // not contiguous, includes the first and last token

    func makeStack() -> (TransformerStack, ParameterStore) {
        var layout = ParameterLayout()
        let stack = TransformerStack(layout: &layout, prefix: "", depth: 2, dim: dim, heads: 2, mlpRatio: 4)
        let store = ParameterStore(layout: layout)
        initializeBlocks(stack.blocks, specs: layout.specs, weights: store.values, seed: 5)
        GradCheck.perturb(store.values, count: store.count, seed: 5, std: 0.3)
        return (stack, store)
    }

    func forward(_ stack: TransformerStack, _ store: ParameterStore, _ x: [Float], keep: Bool, rows: [Int]?) -> [Float] {
        let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: keep, outputTokens: rows)
        input.update(from: x, count: x.count)
        let y = stack.forward(weights: store.values)
        return Array(UnsafeBufferPointer(start: y, count: batch * (rows?.count ?? tokens) * dim))
    }

    func testSelectedRowsMatchFullForward() {
        let (stack, store) = makeStack()
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 8)
        // The forward-only stack updates one residual stream in place; it must match the path
        // that keeps every block's activations.
        let inPlace = forward(stack, store, x, keep: false, rows: nil), kept = forward(stack, store, x, keep: true, rows: nil)
        assertClose(inPlace, kept, rtol: 1e-6)
        for keep in [false, true] {
            let full = forward(stack, store, x, keep: keep, rows: nil)
            let part = forward(stack, store, x, keep: keep, rows: selected)
            var fullAtSelected = [Float]()
            for b in 0..<batch {
                for t in selected { fullAtSelected += full[((b * tokens + t) * dim)..<((b * tokens + t + 1) * dim)] }
            }
            assertClose(part, fullAtSelected, rtol: 1e-5, "keep \(keep)")
        }
    }

    func testSelectedRowsGradients() {
        let (stack, store) = makeStack()
        let n = batch * tokens * dim
        let x = GradCheck.pointer(GradCheck.randomArray(n, seed: 9))
        let r = GradCheck.randomArray(batch * selected.count * dim, seed: 10)
        func loss() -> Double {
            let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: true, outputTokens: selected)
            input.update(from: x, count: n)
            return GradCheck.weightedSum(stack.forward(weights: store.values), r)
        }
        _ = loss()
        var dx = r + [Float](repeating: .nan, count: n - r.count)   // room for all rows; tail must be ignored
        stack.backward(weights: store.values, grads: store.grads, dx: &dx, onGradientsReady: nil)
        XCTAssertLessThan(GradCheck.directionalError(values: x, analytic: dx, range: 0..<n, seed: 2, loss: loss).error, 1e-3)
        for spec in store.layout.specs {
            let e = [Float(0.1), 0.025].map {
                GradCheck.directionalError(values: store.values, analytic: store.grads, range: spec.range, seed: 1, eps: $0, loss: loss).error
            }.min()!
            XCTAssertLessThan(e, 1e-3, spec.name)
        }
    }

    /// Serial vs 2 threads (samples split over threads): same outputs and input gradient up to
    /// summation order, and the 2-thread run repeats bit for bit.
    func testSelectedRowsTwoThreads() {
        let (stack, store) = makeStack()
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 11)
        let r = GradCheck.randomArray(batch * selected.count * dim, seed: 12)
        func run(threads: Int) -> ([Float], [Float], [Float]) {
            EngineThreads.set(threads)
            defer { EngineThreads.set(1) }
            store.zeroGrads()
            let y = forward(stack, store, x, keep: true, rows: selected)
            var dx = r + [Float](repeating: 0, count: x.count - r.count)
            stack.backward(weights: store.values, grads: store.grads, dx: &dx, onGradientsReady: nil)
            let forwardOnly = forward(stack, store, x, keep: false, rows: selected)
            assertClose(forwardOnly, y, rtol: 1e-6, "no-activation path")
            return (y, dx, Array(UnsafeBufferPointer(start: store.grads, count: store.count)))
        }
        let (y1, dx1, g1) = run(threads: 1), (y2, dx2, g2) = run(threads: 2), (y3, dx3, g3) = run(threads: 2)
        XCTAssertEqual(y2.map(\.bitPattern), y3.map(\.bitPattern))
        XCTAssertEqual(dx2.map(\.bitPattern), dx3.map(\.bitPattern))
        XCTAssertEqual(g2.map(\.bitPattern), g3.map(\.bitPattern))
        assertClose(y2, y1, rtol: 1e-5, "outputs")
        assertClose(dx2, dx1, rtol: 1e-5, "input gradient")
        assertClose(g2, g1, rtol: 1e-5, "weight gradients")
    }

    /// Cutting a thread's samples into tiles (each tile runs through the blocks on its own, weight
    /// gradients accumulate over tiles) changes nothing but summation order: 1-sample tiles and
    /// 2-sample tiles with a ragged last tile match one tile, for all rows and selected rows, with
    /// and without kept activations, serially and with 2 threads.
    func testSampleTilesMatchUntiled() {
        let (stack, store) = makeStack()
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 13)
        let saved = TransformerStack.tileRows
        defer { TransformerStack.tileRows = saved; EngineThreads.set(1) }
        func run(tileRows: Int, threads: Int, rows: [Int]?) -> ([Float], [Float], [Float], [Float]) {
            TransformerStack.tileRows = tileRows
            EngineThreads.set(threads)
            store.zeroGrads()
            let r = GradCheck.randomArray(batch * (rows?.count ?? tokens) * dim, seed: 14)
            let forwardOnly = forward(stack, store, x, keep: false, rows: rows)
            let y = forward(stack, store, x, keep: true, rows: rows)
            var dx = r + [Float](repeating: 0, count: x.count - r.count)
            stack.backward(weights: store.values, grads: store.grads, dx: &dx, onGradientsReady: nil)
            return (forwardOnly, y, dx, Array(UnsafeBufferPointer(start: store.grads, count: store.count)))
        }
        for rows in [nil, selected] {
            for threads in [1, 2] {
                let reference = run(tileRows: 10_000, threads: 1, rows: rows)
                for tileRows in [tokens, 2 * tokens] {   // 3 tiles of 1 sample; tiles of 2 + 1
                    let tiled = run(tileRows: tileRows, threads: threads, rows: rows)
                    let label = "tileRows \(tileRows) threads \(threads) selected \(rows != nil)"
                    for (a, b) in [(reference.0, tiled.0), (reference.1, tiled.1), (reference.2, tiled.2)] {
                        assertClose(b, a, rtol: 1e-5, label)
                    }
                    XCTAssertGreaterThan(rootMeanSquare(reference.3), 0)
                    assertClose(tiled.3, reference.3, rtol: 1e-5, label + " weight gradients")
                }
            }
        }
    }
}
