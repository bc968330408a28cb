import XCTest
import TestSupport
@testable import Model

/// End-to-end sanity of the JEPA step: it can fit one fixed batch, the target encoder (EMA) does
/// not collapse meanwhile, and the layout contract others rely on holds.
final class JEPAOverfitTests: XCTestCase {
    static let tiny = ViTConfig(name: "tiny", dim: 16, depth: 2, heads: 2, predDim: 8, predDepth: 2, predHeads: 2,
                                patchSize: 5, channels: 3, mlpRatio: 4)

    func testOverfitsOneBatchWithoutCollapse() {
        let samples = 60, batch = 2   // 12 patches
        let model = JEPAModel(config: Self.tiny, samples: samples)
        model.initialize(seed: 1)
        let input = GradCheck.randomArray(batch * samples * 3, seed: 2)
        let ctx = [0, 4, 9], tgt = (0..<12).filter { ![0, 4, 9].contains($0) }
        let initialStd = model.targetOutputStd(input: input, batch: batch)
        // Minimal Adam (β 0.9/0.999, lr 1e-3) and EMA target update, inline.
        let n = model.params.count
        var m = [Float](repeating: 0, count: n), v = m
        var first: Float = 0, last: Float = 0
        for step in 1...200 {
            model.params.zeroGrads()
            let loss = model.step(input: input, batch: batch, contextIndices: ctx, targetIndices: tgt, gradScale: 1, onGradientsReady: nil)
            if step == 1 { first = loss }
            last = loss
            let c1 = 1 - pow(0.9, Float(step)), c2 = 1 - pow(0.999, Float(step))
            for i in 0..<n {
                let g = model.params.grads[i]
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                model.params.values[i] -= 1e-3 * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
            }
            for i in 0..<model.encoderParameterCount {
                model.target.values[i] = 0.996 * model.target.values[i] + 0.004 * model.params.values[i]
            }
        }
        let finalStd = model.targetOutputStd(input: input, batch: batch)
        XCTAssertLessThan(last, 0.5 * first, "loss \(first) → \(last)")
        XCTAssertGreaterThan(finalStd, 0.1 * initialStd, "target std \(initialStd) → \(finalStd)")
    }

    func testLayoutContract() throws {
        let model = JEPAModel(config: .vitXS)
        let encoderSpecs = model.layout.specs.filter { $0.name.hasPrefix("encoder.") }
        // The encoder is a contiguous prefix and the target store has exactly its layout.
        XCTAssertEqual(encoderSpecs.map(\.name), model.target.layout.specs.map(\.name))
        XCTAssertEqual(encoderSpecs.map(\.offset), model.target.layout.specs.map(\.offset))
        XCTAssertEqual(model.layout.specs.prefix(encoderSpecs.count).map(\.name), encoderSpecs.map(\.name))
        XCTAssertEqual(model.layout.spec(named: "encoder.patch_embed.weight")?.shape, [192, 12, 25])
        XCTAssertEqual(model.layout.spec(named: "predictor.blocks.7.mlp.fc2.weight")?.shape, [96, 384])
        XCTAssertEqual(model.layout.spec(named: "predictor.mask_token")?.shape, [1, 1, 96])
        XCTAssertEqual(ViTConfig.vitXS.tokens(forSamples: 5000), 201)
        // I-JEPA init: target = encoder copy; proj of block 3 rescaled by 1/√8 (std ≈ 0.02/2.83).
        model.initialize(seed: 3)
        for i in 0..<model.encoderParameterCount { XCTAssertEqual(model.target.values[i], model.params.values[i]) }
        let proj = model.params.values(of: model.layout.spec(named: "encoder.blocks.3.attn.proj.weight")!)
        let std = (proj.reduce(0) { $0 + $1 * $1 } / Float(proj.count)).squareRoot()
        XCTAssertEqual(Double(std), 0.0176 / 8.0.squareRoot(), accuracy: 0.0008)   // trunc-normal(±2σ) std ≈ 0.88σ
    }

    /// The 2-thread path (each thread takes a sample range through whole blocks, weight gradients
    /// reduced in thread order) must give the same loss and gradients as the serial path, and
    /// repeating it must be bit-identical (the distributed trainer relies on that).
    func testTwoThreadsMatchOneThread() {
        let model = JEPAModel(config: Self.tiny, samples: 60)
        model.initialize(seed: 4)
        let input = GradCheck.randomArray(3 * 60 * 3, seed: 5)
        let ctx = [1, 5, 8], tgt = (0..<12).filter { ![1, 5, 8].contains($0) }
        func run(threads: Int) -> (Float, [Float]) {
            EngineThreads.set(threads)
            defer { EngineThreads.set(1) }
            model.params.zeroGrads()
            let loss = model.step(input: input, batch: 3, contextIndices: ctx, targetIndices: tgt, gradScale: 1, onGradientsReady: nil)
            return (loss, Array(UnsafeBufferPointer(start: model.params.grads, count: model.params.count)))
        }
        let (l1, g1) = run(threads: 1), (l2, g2) = run(threads: 2), (l3, g3) = run(threads: 2)
        assertClose(l2, l1, rtol: 1e-6)
        XCTAssertEqual(l2.bitPattern, l3.bitPattern)
        XCTAssertEqual(g2.map(\.bitPattern), g3.map(\.bitPattern))
        XCTAssertGreaterThan(rootMeanSquare(g1), 0)
        assertClose(g2, g1, rtol: 1e-5, "weight gradients, 1 vs 2 threads")
    }
}
