import XCTest
@testable import Model

/// Finite-difference checks of composite layers: transformer block, patch embedding, encoder,
/// predictor and the whole JEPA loss, on tiny shapes (debug builds are slow).
final class GradModelTests: XCTestCase {
    let tolerance = 1e-3
    static let tiny = ViTConfig(name: "tiny", dim: 16, depth: 2, heads: 2, predDim: 8, predDepth: 2, predHeads: 2,
                                patchSize: 5, channels: 3, mlpRatio: 4)

    /// Checks every tensor of `specs`: directional derivative along a random direction over the
    /// whole tensor vs Richardson finite differences (see GradCheck.directionalError).
    func checkParameters(_ specs: [ParameterSpec], values: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                         eps: Float = 0.1, loss: () -> Double, file: StaticString = #filePath, line: UInt = #line) {
        for spec in specs {
            // Two step sizes; the better one wins (large h: less rounding noise, small h: less
            // truncation error — which dominates depends on the tensor's curvature).
            let r = [eps, eps / 4].map { GradCheck.directionalError(values: values, analytic: grads, range: spec.range, seed: 1, eps: $0, loss: loss) }
                .min { $0.error < $1.error }!
            XCTAssertLessThan(r.error, tolerance, "\(spec.name) (d·g = \(r.analytic))", file: file, line: line)
            XCTAssertGreaterThan(abs(r.analytic), 1e-7, "\(spec.name): gradient unexpectedly ~0", file: file, line: line)
        }
    }

    func testTransformerBlockGradients() {
        var layout = ParameterLayout()
        let stack = TransformerStack(layout: &layout, prefix: "", depth: 1, dim: 16, heads: 2, mlpRatio: 4)
        let store = ParameterStore(layout: layout)
        initializeBlocks(stack.blocks, specs: layout.specs, weights: store.values, seed: 3)
        GradCheck.perturb(store.values, count: store.count, seed: 3, std: 0.3)
        let batch = 2, tokens = 5, rows = batch * tokens * 16
        let x = GradCheck.pointer(GradCheck.randomArray(rows, seed: 12))
        let r = GradCheck.randomArray(rows, seed: 13)
        func loss() -> Double {
            let input = stack.inputBuffer(batch: batch, tokens: tokens, keepActivations: true)
            input.update(from: x, count: rows)
            return GradCheck.weightedSum(stack.forward(weights: store.values), r)
        }
        _ = loss()
        var dx = r
        var reported: [Range<Int>] = []
        stack.backward(weights: store.values, grads: store.grads, dx: &dx) { reported.append($0) }
        XCTAssertEqual(reported, [stack.blocks[0].range])
        XCTAssertLessThan(GradCheck.directionalError(values: x, analytic: dx, range: 0..<rows, seed: 2, loss: loss).error, tolerance)
        checkParameters(layout.specs, values: store.values, grads: store.grads, loss: loss)
    }

    /// Encoder with no blocks: patch embedding (+ reorder), register token, positions, final norm,
    /// on a subset of patches (the context path) and on all patches.
    func testPatchEmbedGradients() {
        var config = Self.tiny; config.depth = 0
        for indices in [[0, 2, 3, 6], nil] as [[Int]?] {
            var layout = ParameterLayout()
            let encoder = ViTEncoder(config: config, layout: &layout, prefix: "")
            let store = ParameterStore(layout: layout)
            encoder.initialize(store.values, seed: 5)
            GradCheck.perturb(store.values, count: store.count, seed: 6)
            let batch = 2, samples = 40
            let input = GradCheck.randomArray(batch * samples * 3, seed: 14)
            let n = indices?.count ?? 8
            let r = GradCheck.randomArray(batch * (n + 1) * 16, seed: 15)
            func loss() -> Double {
                GradCheck.weightedSum(encoder.forward(weights: store.values, input: input, batch: batch, samples: samples, patchIndices: indices), r)
            }
            _ = loss()
            encoder.backward(weights: store.values, grads: store.grads, dOutput: r, onGradientsReady: nil)
            checkParameters(layout.specs, values: store.values, grads: store.grads, loss: loss)
        }
    }

    func testEncoderGradients() {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: Self.tiny, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: 7)
        GradCheck.perturb(store.values, count: store.count, seed: 7)
        let batch = 2, samples = 40
        let input = GradCheck.randomArray(batch * samples * 3, seed: 16)
        let r = GradCheck.randomArray(batch * 9 * 16, seed: 17)
        func loss() -> Double {
            GradCheck.weightedSum(encoder.forward(weights: store.values, input: input, batch: batch, samples: samples), r)
        }
        _ = loss()
        var reported: [Range<Int>] = []
        encoder.backward(weights: store.values, grads: store.grads, dOutput: r) { reported.append($0) }
        // Ranges: final norm, blocks last→first, then patch embed + register; descending, covering all.
        XCTAssertEqual(reported.count, Self.tiny.depth + 2)
        XCTAssertEqual(reported.map { $0.lowerBound }, reported.map { $0.lowerBound }.sorted(by: >))
        XCTAssertEqual(reported.last?.lowerBound, 0)
        XCTAssertEqual(reported.first?.upperBound, layout.count)
        checkParameters(layout.specs, values: store.values, grads: store.grads, loss: loss)
    }

    func testPredictorGradients() {
        var layout = ParameterLayout()
        let predictor = Predictor(config: Self.tiny, layout: &layout, prefix: "predictor.")
        let store = ParameterStore(layout: layout)
        predictor.initialize(store.values, seed: 9)
        GradCheck.perturb(store.values, count: store.count, seed: 9)
        let batch = 2, ctx = [1, 4, 6], tgt = [0, 2, 3, 5, 7]
        let encCount = batch * 4 * 16
        let encOut = GradCheck.pointer(GradCheck.randomArray(encCount, seed: 18))
        let r = GradCheck.randomArray(batch * tgt.count * 16, seed: 19)
        func loss() -> Double {
            GradCheck.weightedSum(predictor.forward(weights: store.values, encoderOutput: encOut, batch: batch, totalPatches: 8,
                                                    contextIndices: ctx, targetIndices: tgt), r)
        }
        _ = loss()
        let dEnc = predictor.backward(weights: store.values, grads: store.grads, dPrediction: r, onGradientsReady: nil)
        let dEncCopy = Array(UnsafeBufferPointer(start: dEnc, count: encCount))
        XCTAssertLessThan(GradCheck.directionalError(values: encOut, analytic: dEncCopy, range: 0..<encCount, seed: 2, loss: loss).error, tolerance)
        checkParameters(layout.specs, values: store.values, grads: store.grads, loss: loss)
    }

    /// The whole JEPA step: gradient of the L1 loss w.r.t. every parameter tensor. L1 has kinks
    /// where a prediction crosses its target, which finite differences cannot straddle; the target
    /// encoder's final-norm bias is therefore shifted by +10 so every prediction is below its
    /// target (asserted). Then L1 = mean(target) − mean(prediction), and the probe is the Double
    /// sum of −prediction / count, whose gradient is exactly the step's gradient.
    func testJEPALossGradients() {
        let model = JEPAModel(config: Self.tiny, samples: 40)
        model.initialize(seed: 11)
        GradCheck.perturb(model.params.values, count: model.params.count, seed: 11, std: 0.2)
        GradCheck.perturb(model.target.values, count: model.target.count, seed: 12)
        for i in model.target.layout.spec(named: "encoder.norm.bias")!.range { model.target.values[i] += 10 }
        let batch = 2, ctx = [1, 4, 6], tgt = [0, 2, 3, 5, 7]
        let count = batch * tgt.count * Self.tiny.dim
        let input = GradCheck.randomArray(batch * 40 * 3, seed: 20)
        var allBelow = true
        func loss() -> Double {
            let saved = Array(UnsafeBufferPointer(start: model.params.grads, count: model.params.count))
            defer { model.params.grads.update(from: saved, count: saved.count) }
            _ = model.step(input: input, batch: batch, contextIndices: ctx, targetIndices: tgt, gradScale: 1, onGradientsReady: nil)
            let pred = model.lastPrediction!, target = model.lastTargetRows!
            var s = 0.0
            for i in 0..<count { s -= Double(pred[i]); allBelow = allBelow && pred[i] < target[i] }
            return s / Double(count)
        }
        model.params.zeroGrads()
        var reported: [Range<Int>] = []
        let l = model.step(input: input, batch: batch, contextIndices: ctx, targetIndices: tgt, gradScale: 1) { reported.append($0) }
        XCTAssertEqual(Double(l), model.lastLoss, accuracy: 1e-6 * max(1, abs(model.lastLoss)))
        // Every parameter is covered exactly once, in descending order.
        XCTAssertEqual(reported.map { $0.lowerBound }, reported.map { $0.lowerBound }.sorted(by: >))
        XCTAssertEqual(reported.reduce(0) { $0 + $1.count }, model.params.count)
        checkParameters(model.layout.specs, values: model.params.values, grads: model.params.grads, eps: 0.2, loss: loss)
        XCTAssertTrue(allBelow, "a prediction reached its target: the L1 kink invalidates the probe")
    }
}
