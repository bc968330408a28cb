import XCTest
@testable import Model

/// The paper's initialisation (reference code) next to I-JEPA's, and bias-free LayerNorms by
/// freezing their biases at zero in AdamW.
final class WeightInitTests: XCTestCase {
    func stats(_ model: JEPAModel, _ name: String) -> (std: Double, maxAbs: Double) {
        let spec = model.layout.spec(named: name)!
        let v = (0..<spec.count).map { Double(model.params.values[spec.offset + $0]) }
        let mean = v.reduce(0, +) / Double(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
        return (std, v.map(abs).max()!)
    }

    func testPaperSchemeIsXavierInTheEncoderAndScaledTruncNormalInThePredictor() {
        let model = JEPAModel(config: .vitXS, samples: 1250)
        model.initialize(seed: 3, scheme: .paper)
        // Encoder Linear [out, in]: U(±√(6/(in+out))), std = bound/√3.
        let fc1 = stats(model, "encoder.blocks.3.mlp.fc1.weight"), bound = (6.0 / (192 + 768)).squareRoot()
        XCTAssertLessThanOrEqual(fc1.maxAbs, bound)
        XCTAssertEqual(fc1.std, bound / 3.0.squareRoot(), accuracy: 0.01 * bound)
        // The patch Conv1d [192, 12, 25]: fans 12·25 and 192·25.
        let patch = stats(model, "encoder.patch_embed.weight"), patchBound = (6.0 / Double(12 * 25 + 192 * 25)).squareRoot()
        XCTAssertLessThanOrEqual(patch.maxAbs, patchBound)
        XCTAssertEqual(patch.std, patchBound / 3.0.squareRoot(), accuracy: 0.02 * patchBound)
        // Predictor: trunc-normal(0.02) (truncated at 2σ: std 0.02 · 0.8796), the residual projections of
        // every block alike 0.02/√(2·8).
        let truncation = 0.8796
        XCTAssertEqual(stats(model, "predictor.blocks.0.mlp.fc1.weight").std, 0.02 * truncation, accuracy: 0.0005)
        let residual = 0.02 / 4 * truncation
        XCTAssertEqual(stats(model, "predictor.blocks.0.mlp.fc2.weight").std, residual, accuracy: 0.0003)
        XCTAssertEqual(stats(model, "predictor.blocks.7.attn.proj.weight").std, residual, accuracy: 0.0003)
        // The EMA target starts as the encoder; the same seed gives the same weights.
        XCTAssertEqual(Array(UnsafeBufferPointer(start: model.target.values, count: model.target.count)),
                       Array(UnsafeBufferPointer(start: model.params.values, count: model.target.count)))
        let again = JEPAModel(config: .vitXS, samples: 1250)
        again.initialize(seed: 3, scheme: .paper)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: again.params.values, count: again.params.count)),
                       Array(UnsafeBufferPointer(start: model.params.values, count: model.params.count)))
        // I-JEPA's scheme: the encoder is trunc-normal(0.02) too, residual projections per layer.
        let ijepa = JEPAModel(config: .vitXS, samples: 1250)
        ijepa.initialize(seed: 3, scheme: .ijepa)
        XCTAssertEqual(stats(ijepa, "encoder.blocks.3.mlp.fc1.weight").std, 0.02 * truncation, accuracy: 0.0005)
        XCTAssertEqual(stats(ijepa, "predictor.blocks.7.attn.proj.weight").std, 0.02 / 4 * truncation, accuracy: 0.0003)
        XCTAssertEqual(stats(ijepa, "predictor.blocks.0.attn.proj.weight").std, 0.02 / 2.0.squareRoot() * truncation, accuracy: 0.0005)
    }

    func testFrozenLayerNormBiasesStayZeroWhileEverythingElseMoves() {
        let config = ViTConfig(name: "tiny", dim: 16, depth: 2, heads: 2, predDim: 8, predDepth: 2, predHeads: 2)
        let model = JEPAModel(config: config, samples: 250)
        model.initialize(seed: 1, scheme: .paper)
        let names = AdamW.layerNormBiasNames(model.layout)
        // norm1/norm2 of every block plus the final norm, in encoder and predictor.
        XCTAssertEqual(names.count, (2 * 2 + 1) + (2 * 2 + 1))
        XCTAssertTrue(names.allSatisfy { $0.hasSuffix("norm.bias") || $0.hasSuffix("norm1.bias") || $0.hasSuffix("norm2.bias") })
        let optimizer = AdamW(layout: model.layout)
        optimizer.frozen = names
        for i in 0..<model.params.count { model.params.grads[i] = Float((i % 7) - 3) * 0.1 }
        let before = Array(UnsafeBufferPointer(start: model.params.values, count: model.params.count))
        optimizer.step(model.params, lr: 1e-2, weightDecay: 0.1)
        for spec in model.layout.specs {
            let moved = (0..<spec.count).contains { model.params.values[spec.offset + $0] != before[spec.offset + $0] }
            if names.contains(spec.name) {
                XCTAssertFalse(moved, spec.name)
                XCTAssertEqual(model.params.values[spec.offset], 0, spec.name)
            } else {
                XCTAssertTrue(moved, spec.name)
            }
        }
    }
}
