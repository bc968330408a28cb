import XCTest
@testable import Model

/// The benchmark harness times the same work every run: a fixed context/target split of the patches.
final class EngineBenchmarkTests: XCTestCase {
    func testFixedMaskSplitsThePatchesTheSameWayEveryTime() {
        let mask = EngineBenchmark.fixedMask(patches: 200, context: 40)
        XCTAssertEqual(mask.context.count, 40)
        XCTAssertEqual(mask.context, mask.context.sorted())
        XCTAssertEqual(Set(mask.context).union(mask.target), Set(0..<200))
        XCTAssertTrue(Set(mask.context).isDisjoint(with: mask.target))
        XCTAssertEqual(mask.context, EngineBenchmark.fixedMask(patches: 200, context: 40).context)
    }

    func testStepTimingRunsOnATinyModel() {
        let config = ViTConfig(name: "t", dim: 16, depth: 1, heads: 2, predDim: 16, predDepth: 1, predHeads: 2)
        let bench = EngineBenchmark(samples: 250, forwardSamples: 250, repeats: 1)
        let seconds = bench.stepSeconds(config: config, batch: 2, mask: EngineBenchmark.fixedMask(patches: 10, context: 4))
        XCTAssertTrue(seconds.wall > 0 && seconds.cpu > 0)
    }
}
