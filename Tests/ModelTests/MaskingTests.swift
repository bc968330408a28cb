import XCTest
@testable import Model

final class MaskingTests: XCTestCase {
    /// Structural invariants every mask must satisfy, whatever P.
    private func assertWellFormed(_ mask: JEPAMask, patchCount p: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(mask.contextIndices.isEmpty, "empty context", file: file, line: line)
        XCTAssertFalse(mask.targetIndices.isEmpty, "empty targets", file: file, line: line)
        XCTAssertEqual(mask.contextIndices, mask.contextIndices.sorted(), file: file, line: line)
        XCTAssertEqual(mask.targetIndices, mask.targetIndices.sorted(), file: file, line: line)
        XCTAssertEqual((mask.contextIndices + mask.targetIndices).sorted(), Array(0..<p), "not a partition of 0..<P", file: file, line: line)
    }

    func testDefaultMasksSatisfyRecipeOverManySeedsAndSteps() throws {
        let generator = try MaskGenerator(patchCount: 200)
        var leadingVisible = 0, trailingVisible = 0
        for seed in UInt64(0)..<20 {
            for step in 0..<250 {
                let mask = generator.mask(seed: seed, step: step)
                assertWellFormed(mask, patchCount: 200)
                let keep = mask.contextIndices.count
                XCTAssert((30...50).contains(keep), "keep \(keep) outside round(200 * [0.15, 0.25])")
                let blocks = mask.targetBlockLengths
                XCTAssert(blocks.allSatisfy { $0 >= 10 }, "short masked run in \(blocks) (seed \(seed), step \(step))")
                XCTAssert((1...4).contains(blocks.count), "\(blocks.count) blocks")
                if mask.contextIndices.first == 0 { leadingVisible += 1 }
                if mask.contextIndices.last == 199 { trailingVisible += 1 }
            }
        }
        // Visible patches may sit at either end, not only between blocks.
        XCTAssertGreaterThan(leadingVisible, 500)
        XCTAssertGreaterThan(trailingVisible, 500)
    }

    func testMaskIsPureFunctionOfSeedAndStep() throws {
        let a = try MaskGenerator(patchCount: 200), b = try MaskGenerator(patchCount: 200)
        for step in [0, 1, 17, 99_999, 1 << 40] {
            XCTAssertEqual(a.mask(seed: 42, step: step), b.mask(seed: 42, step: step))
            XCTAssertEqual(a.mask(seed: 42, step: step), a.mask(seed: 42, step: step))
        }
    }

    func testDifferentStepsAndSeedsGiveDifferentMasks() throws {
        let generator = try MaskGenerator(patchCount: 200)
        let masks = (0..<200).map { generator.mask(seed: 7, step: $0) }
        let distinct = Set(masks.map { $0.contextIndices })
        XCTAssertGreaterThan(distinct.count, 195)
        var sameAcrossSeeds = 0
        for step in 0..<200 where generator.mask(seed: 8, step: step) == masks[step] { sameAcrossSeeds += 1 }
        XCTAssertLessThan(sameAcrossSeeds, 3)
    }

    func testKeepRatioIsUniformOverTheRange() throws {
        let generator = try MaskGenerator(patchCount: 200)
        var histogram = [Int: Int]()
        var sum = 0.0
        let n = 20_000
        for step in 0..<n {
            let keep = generator.mask(seed: 3, step: step).contextIndices.count
            histogram[keep, default: 0] += 1
            sum += Double(keep) / 200
        }
        XCTAssertEqual(histogram.keys.min(), 30)
        XCTAssertEqual(histogram.keys.max(), 50)
        XCTAssertEqual(sum / Double(n), 0.20, accuracy: 0.002)
        // Rounding r * 200 gives the 19 interior keep counts probability 1/20 each, the ends 1/40.
        for keep in 31...49 {
            XCTAssertEqual(Double(histogram[keep] ?? 0) / Double(n), 0.05, accuracy: 0.012, "keep \(keep)")
        }
        for keep in [30, 50] {
            XCTAssertEqual(Double(histogram[keep] ?? 0) / Double(n), 0.025, accuracy: 0.008, "keep \(keep)")
        }
    }

    func testBlockCountsSpanTheAllowedRange() throws {
        let generator = try MaskGenerator(patchCount: 200)
        var counts = [Int: Int]()
        for step in 0..<4000 { counts[generator.mask(seed: 11, step: step).targetBlockLengths.count, default: 0] += 1 }
        XCTAssertEqual(Set(counts.keys), [1, 2, 3, 4])
        for blocks in 1...4 { XCTAssertEqual(Double(counts[blocks]!) / 4000, 0.25, accuracy: 0.04) }
    }

    func testSmallAndOddPatchCounts() throws {
        for p in [2, 3, 5, 9, 13, 20, 40, 50, 51, 75] {
            let generator = try MaskGenerator(patchCount: p)
            for step in 0..<500 {
                let mask = generator.mask(seed: 5, step: step)
                assertWellFormed(mask, patchCount: p)
                let masked = mask.targetIndices.count
                let blocks = mask.targetBlockLengths
                if masked >= 10 {
                    XCTAssert(blocks.allSatisfy { $0 >= 10 }, "P \(p): short run in \(blocks)")
                } else {
                    XCTAssertEqual(blocks, [masked], "P \(p): too few masked patches must form one block")
                }
            }
        }
    }

    func testCustomConfiguration() throws {
        let generator = try MaskGenerator(patchCount: 100, minKeepRatio: 0.5, maxKeepRatio: 0.5, minBlockLength: 5, maxBlocks: 6)
        var sawSix = false
        for step in 0..<500 {
            let mask = generator.mask(seed: 1, step: step)
            XCTAssertEqual(mask.contextIndices.count, 50)
            XCTAssert(mask.targetBlockLengths.allSatisfy { $0 >= 5 })
            XCTAssertLessThanOrEqual(mask.targetBlockLengths.count, 6)
            sawSix = sawSix || mask.targetBlockLengths.count == 6
        }
        XCTAssertTrue(sawSix)
    }

    func testInvalidConfigurationsThrow() {
        XCTAssertThrowsError(try MaskGenerator(patchCount: 1))
        XCTAssertThrowsError(try MaskGenerator(patchCount: 200, minKeepRatio: 0.3, maxKeepRatio: 0.2))
        XCTAssertThrowsError(try MaskGenerator(patchCount: 200, minKeepRatio: 0, maxKeepRatio: 0.2))
        XCTAssertThrowsError(try MaskGenerator(patchCount: 200, maxKeepRatio: 1))
        XCTAssertThrowsError(try MaskGenerator(patchCount: 200, minBlockLength: 0))
        XCTAssertThrowsError(try MaskGenerator(patchCount: 200, maxBlocks: 0)) { error in
            XCTAssert("\(error)".contains("maxBlocks"))
        }
    }

    func testRandomCompositionIsUniform() {
        // 3 split into 3 non-negative parts: C(5, 2) = 10 equally likely compositions.
        var rng = SplitMix64(seed: 99)
        var counts = [[Int]: Int]()
        let n = 20_000
        for _ in 0..<n {
            let parts = MaskGenerator.randomComposition(total: 3, parts: 3, rng: &rng)
            XCTAssertEqual(parts.reduce(0, +), 3)
            counts[parts, default: 0] += 1
        }
        XCTAssertEqual(counts.count, 10)
        for (_, c) in counts { XCTAssertEqual(Double(c) / Double(n), 0.1, accuracy: 0.015) }
        XCTAssertEqual(MaskGenerator.randomComposition(total: 0, parts: 4, rng: &rng), [0, 0, 0, 0])
        XCTAssertEqual(MaskGenerator.randomComposition(total: 7, parts: 1, rng: &rng), [7])
    }
}
