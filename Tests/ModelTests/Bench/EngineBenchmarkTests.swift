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
        let masks = EngineBenchmark.sharedMasks(EngineBenchmark.fixedMask(patches: 10, context: 4), batch: 2)
        let (seconds, sgemm) = bench.stepSecondsWithReference(config: config, masks: masks)
        XCTAssertTrue(seconds.wall > 0 && seconds.cpu > 0)
        XCTAssertTrue(sgemm.wall > 0 && sgemm.cpu > 0)
    }

    /// The alternating timing runs the body once to warm up and once per repeat, a reference
    /// window before each, and sizes the windows to the body: a body of ~8 products gets a
    /// reference rate within a factor of 3 of the short-window one (both time the same product).
    func testAlternatingTimingPairsEachRunWithAReferenceWindow() {
        let bench = EngineBenchmark(samples: 250, forwardSamples: 250, repeats: 2)
        let product = ReferenceSGEMM()
        var runs = 0
        let r = bench.timeAlternatingWithReference { runs += 1; product.run(8) }
        XCTAssertEqual(runs, 3)
        XCTAssertTrue(r.seconds.wall > 0 && r.seconds.cpu > 0)
        let short = bench.sgemmRate()
        for (paired, reference) in [(r.sgemm.wall, short.wall), (r.sgemm.cpu, short.cpu)] {
            XCTAssertTrue(paired.isFinite && paired > reference / 3 && paired < reference * 3, "\(paired) vs \(reference)")
        }
        // The body is the reference product itself: its own rate agrees with the paired window's.
        let bodyRate = 8 * product.flops / r.seconds.cpu
        XCTAssertTrue(bodyRate > r.sgemm.cpu / 3 && bodyRate < r.sgemm.cpu * 3)
    }
}
