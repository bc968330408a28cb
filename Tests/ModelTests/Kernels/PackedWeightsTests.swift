import XCTest
import TestSupport
@testable import Model

/// Weights packed once per pass and multiplied with OpenBLAS's own micro-kernel
/// (Kernels/PackedWeights.swift) must give cblas_sgemm's products, with whichever OpenBLAS core
/// runs (scripts/test.sh runs this suite with each core the CPU has forced).
final class PackedWeightsTests: XCTestCase {
    /// Debian's OpenBLAS (a DYNAMIC_ARCH build) exports the kernels of every core the suite forces,
    /// so the packed path must be on, not silently replaced by cblas.
    func testPathIsOnForCheckedCores() throws {
        let core = BLASCore.loadedCore.uppercased()
        try XCTSkipUnless(OpenBLASKernel.checkedCores.contains(core), "core \(core) is not one the packed path was checked on")
        XCTAssertNotNil(PackedWeightGEMM.kernels, PackedWeightGEMM.summary)
    }

    /// Forward (x·Wᵀ) and backward (dy·W) products, overwrite and accumulate, over shapes that cut
    /// k into several blocks and m into several row blocks, against cblas_sgemm.
    func testProductsMatchCBLAS() throws {
        let kernels = try XCTUnwrap(PackedWeightGEMM.kernels, PackedWeightGEMM.summary)
        XCTAssertNil(PackedWeightGEMM.selfCheck(kernels))
        for (rows, out, inF) in [(1, 16, 16), (5, 3, 7), (402, 96, 384), (19, 600, 130), (11, 40, 1537)] {
            var rng = SplitMix64(seed: 3, stream: 0, counter: UInt64(rows * 7919 + out * 31 + inF))
            func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextDouble()) - 0.5 } }
            // Two weights in one store at their own offsets, as a stack packs its blocks.
            let padded = random(37) + random(out * inF)
            for use in [PackedWeights.Use.forward, .backward] {
                let (m, k) = use == .forward ? (out, inF) : (inF, out)
                let b = random(rows * k), start = random(rows * m)
                for accumulate in [false, true] {
                    let (got, expected) = PackedWeightGEMM.packedAndReference(kernels, use: use, rows: rows, out: out, inF: inF,
                                                                              weights: padded, weightOffset: 37, b: b,
                                                                              start: accumulate ? start : nil)
                    assertClose(got, expected, rtol: 1e-5, "\(use) \(rows)×\(out)×\(inF) accumulate \(accumulate)")
                }
            }
        }
    }

    /// A transformer stack gives the same outputs, input gradient and weight gradients with packed
    /// weights as through cblas_sgemm, serially and with 2 threads, with a selected last block.
    func testStackMatchesCBLASPath() throws {
        try XCTSkipIf(PackedWeightGEMM.kernels == nil, PackedWeightGEMM.summary)
        let batch = 3, tokens = 9, dim = 32, selected = [0, 4, 8]
        var layout = ParameterLayout()
        let stack = TransformerStack(layout: &layout, prefix: "", depth: 2, dim: dim, heads: 2, mlpRatio: 4)
        let store = ParameterStore(layout: layout)
        initializeBlocks(stack.blocks, specs: layout.specs, weights: store.values, seed: 21)
        GradCheck.perturb(store.values, count: store.count, seed: 21, std: 0.3)
        let x = GradCheck.randomArray(batch * tokens * dim, seed: 22)
        let r = GradCheck.randomArray(batch * selected.count * dim, seed: 23)
        defer { PackedWeightGEMM.enabled = true; EngineThreads.set(1) }
        func run(packed: Bool, threads: Int) -> [[Float]] {
            PackedWeightGEMM.enabled = packed
            EngineThreads.set(threads)
            store.zeroGrads()
            let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: true, outputTokens: selected)
            input.update(from: x, count: x.count)
            let y = Array(UnsafeBufferPointer(start: stack.forward(weights: store.values), count: r.count))
            var dx = r + [Float](repeating: 0, count: x.count - r.count)
            stack.backward(weights: store.values, grads: store.grads, dx: &dx, onGradientsReady: nil)
            return [y, dx, Array(UnsafeBufferPointer(start: store.grads, count: store.count))]
        }
        for threads in [1, 2] {
            let reference = run(packed: false, threads: threads), packed = run(packed: true, threads: threads)
            for (name, i) in [("outputs", 0), ("input gradient", 1), ("weight gradients", 2)] {
                assertClose(packed[i], reference[i], rtol: 1e-5, "\(name), \(threads) thread(s)")
            }
        }
    }
}
