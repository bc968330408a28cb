import XCTest
import TestSupport
@testable import Model

/// Per-sample JEPA masks (the paper's collator): one visible count per step, a block layout per
/// sample, each a pure function of (seed, step, position in the global batch); and a JEPA step on
/// a batch with per-sample masks equals the sum of one-sample steps.
final class PerSampleMaskTests: XCTestCase {
    func testOneCountPerStepLayoutPerSample() throws {
        let generator = try MaskGenerator(patchCount: 200)
        for step in 0..<50 {
            let masks = generator.masks(seed: 9, step: step, positions: 0..<32)
            let keep = masks[0].contextIndices.count
            XCTAssertEqual(keep, generator.mask(seed: 9, step: step).contextIndices.count, "the count is the shared mask's count")
            for m in masks {
                XCTAssertEqual(m.contextIndices.count, keep, "step \(step): counts differ within a batch")
                XCTAssertEqual((m.contextIndices + m.targetIndices).sorted(), Array(0..<200))
                XCTAssertEqual(m.contextIndices, m.contextIndices.sorted())
                XCTAssert(m.targetBlockLengths.allSatisfy { $0 >= 10 }, "short block \(m.targetBlockLengths)")
            }
            XCTAssertGreaterThan(Set(masks.map(\.targetIndices)).count, 24, "step \(step): layouts should differ per sample")
        }
    }

    /// What a rank draws for its slice is what one rank draws for the whole batch: masks depend on
    /// the position, not on how many ranks share the batch.
    func testMasksDependOnPositionNotOnSlice() throws {
        let generator = try MaskGenerator(patchCount: 200)
        let whole = generator.masks(seed: 5, step: 123, positions: 0..<16)
        XCTAssertEqual(Array(whole[5..<11]), generator.masks(seed: 5, step: 123, positions: 5..<11))
        XCTAssertEqual(whole, generator.masks(seed: 5, step: 123, positions: 0..<16), "deterministic")
        XCTAssertNotEqual(whole, generator.masks(seed: 5, step: 124, positions: 0..<16))
        XCTAssertNotEqual(whole, generator.masks(seed: 6, step: 123, positions: 0..<16))
    }

    /// The batch step with a mask per sample must equal running each sample alone with its mask
    /// (loss averaged, gradients summed): catches any per-sample index that uses sample 0's mask.
    func testBatchStepEqualsOneSampleSteps() {
        let config = JEPAOverfitTests.tiny   // 3 channels, patches of 5 samples: 12 patches in 60
        let model = JEPAModel(config: config, samples: 60)
        model.initialize(seed: 2)
        GradCheck.perturb(model.target.values, count: model.target.count, seed: 3)
        let masks = [
            JEPAMask(contextIndices: [0, 4, 9], targetIndices: [1, 2, 3, 5, 6, 7, 8, 10, 11]),
            JEPAMask(contextIndices: [2, 3, 11], targetIndices: [0, 1, 4, 5, 6, 7, 8, 9, 10]),
            JEPAMask(contextIndices: [5, 6, 7], targetIndices: [0, 1, 2, 3, 4, 8, 9, 10, 11]),
        ]
        let perSample = 60 * 3
        let input = GradCheck.randomArray(3 * perSample, seed: 4)
        model.params.zeroGrads()
        let batchLoss = input.withUnsafeBufferPointer { model.step(input: $0.baseAddress!, masks: masks, gradScale: 1, onGradientsReady: nil) }
        let batchGrads = Array(UnsafeBufferPointer(start: model.params.grads, count: model.params.count))
        model.params.zeroGrads()
        var lossSum: Float = 0
        for (b, mask) in masks.enumerated() {
            lossSum += input.withUnsafeBufferPointer {
                // gradScale 1/3: the batch loss is the mean over the 3 samples.
                model.step(input: $0.baseAddress! + b * perSample, masks: [mask], gradScale: 1.0 / 3, onGradientsReady: nil)
            }
        }
        let summed = Array(UnsafeBufferPointer(start: model.params.grads, count: model.params.count))
        assertClose(batchLoss, lossSum / 3, rtol: 1e-5)
        XCTAssertGreaterThan(rootMeanSquare(summed), 0)
        assertClose(batchGrads, summed, rtol: 1e-4, "batch of per-sample masks vs one-sample steps")
        // And it is not the shared-mask step: sample 0's mask for everyone gives other gradients.
        model.params.zeroGrads()
        _ = input.withUnsafeBufferPointer { model.step(input: $0.baseAddress!, masks: Array(repeating: masks[0], count: 3), gradScale: 1, onGradientsReady: nil) }
        let shared = Array(UnsafeBufferPointer(start: model.params.grads, count: model.params.count))
        XCTAssertGreaterThan(zip(shared, batchGrads).map { abs($0 - $1) }.max()!, 1e-3 * rootMeanSquare(batchGrads))
    }
}
