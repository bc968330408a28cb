import XCTest
@testable import DistTrainer

/// Weighted mixing of corpora (`--data a.h5:0.7`): exact quotas, the same global batch for any
/// number of ranks, each corpus walking through its own epochs.
final class CorpusMixtureTests: XCTestCase {
    func testDataSpecParsesWeightsAndKeepsColonsInPaths() throws {
        XCTAssertEqual(try DataSpec("a.h5:0.7"), DataSpec(path: "a.h5", weight: 0.7))
        XCTAssertEqual(try DataSpec("/mnt/x:y/a.h5"), DataSpec(path: "/mnt/x:y/a.h5", weight: nil))
        XCTAssertEqual(try DataSpec("a.h5"), DataSpec(path: "a.h5", weight: nil))
        XCTAssertThrowsError(try DataSpec("a.h5:0")) { XCTAssertTrue("\($0)".contains("must be a positive number"), "\($0)") }
        XCTAssertThrowsError(try DataSpec("a.h5:-2"))
        XCTAssertThrowsError(try DataSpec("a.h5:nan"))
        let weights = try DataSpec.weights([DataSpec("a.h5:3"), DataSpec("b.h5:1")])!
        XCTAssertEqual(weights[0], 0.75, accuracy: 1e-15)
        XCTAssertNil(try DataSpec.weights([DataSpec("a.h5"), DataSpec("b.h5")]))
        XCTAssertThrowsError(try DataSpec.weights([DataSpec("a.h5:3"), DataSpec("b.h5")])) {
            XCTAssertTrue("\($0)".contains("give a weight to every corpus or to none (no weight: b.h5)"), "\($0)")
        }
    }

    func testQuotasFollowTheWeightsInEveryPrefixOfTheRun() throws {
        let weights = [0.7, 0.1, 0.05, 0.15]
        let stream = try WeightedSampleStream(weights: weights, recordCounts: [50, 7, 3, 20], globalBatch: 64, seed: 3)
        var totals = [Int](repeating: 0, count: weights.count)
        for step in 0..<500 {
            let counts = stream.counts(step: step)
            XCTAssertEqual(counts.reduce(0, +), 64)
            XCTAssertTrue(counts.allSatisfy { $0 >= 0 }, "\(counts)")
            for c in counts.indices { totals[c] += counts[c] }
            let seen = Double((step + 1) * 64)
            for c in weights.indices {
                // Within one sample of the weight in every prefix (the absorber: within K − 1).
                XCTAssertLessThanOrEqual(abs(Double(totals[c]) - weights[c] * seen), Double(weights.count - 1) + 1e-9)
            }
        }
    }

    func testEveryRankCountSeesTheSameGlobalBatch() throws {
        let make = { try WeightedSampleStream(weights: [0.6, 0.4], recordCounts: [11, 5], globalBatch: 12, seed: 9) }
        let single = try make()
        for step in [0, 1, 7, 40] {
            let whole = single.samples(step: step, rank: 0, size: 1)
            for size in [2, 3, 5] {
                let parts = try make()   // a fresh stream: no state may carry over between calls
                let joined = (0..<size).flatMap { parts.samples(step: step, rank: $0, size: size) }
                XCTAssertEqual(joined.map(\.record), whole.map(\.record), "step \(step) size \(size)")
                XCTAssertEqual(joined.map(\.position), Array((step * 12)..<((step + 1) * 12)))
            }
        }
    }

    func testEachCorpusGoesThroughWholeEpochsAndSlicesMixCorpora() throws {
        let counts = [9, 4]
        let stream = try WeightedSampleStream(weights: [0.5, 0.5], recordCounts: counts, globalBatch: 8, seed: 1)
        var drawn: [[Int]] = [[], []]
        var mixedSlices = 0
        for step in 0..<18 {
            let samples = stream.samples(step: step, rank: 0, size: 1).map(\.record)
            for r in samples { if r < counts[0] { drawn[0].append(r) } else { drawn[1].append(r - counts[0]) } }
            let firstHalf = samples.prefix(4).map { $0 < counts[0] }
            if Set(firstHalf).count == 2 { mixedSlices += 1 }
        }
        // 144 samples, 72 of each: corpus 0 = 8 whole epochs of 9 records, corpus 1 = 18 of 4, so
        // every record was drawn equally often …
        for c in 0..<2 {
            XCTAssertEqual(drawn[c].count, 72)
            let perRecord = Dictionary(grouping: drawn[c], by: { $0 }).mapValues(\.count)
            XCTAssertEqual(Set(perRecord.values), [72 / counts[c]], "corpus \(c): \(perRecord)")
        }
        // … and each epoch of a corpus's own stream is a permutation of its records.
        for c in 0..<2 {
            for epoch in 0..<3 {
                let records = (0..<counts[c]).map { stream.record(corpus: c, sample: epoch * counts[c] + $0) }
                XCTAssertEqual(records.sorted(), Array(0..<counts[c]))
            }
        }
        XCTAssertGreaterThan(mixedSlices, 9, "slot shuffling should put both corpora in most half-batches")
    }

    func testTooSmallAGlobalBatchForTheWeightsIsRefused() {
        XCTAssertThrowsError(try WeightedSampleStream(weights: [0.2, 0.2, 0.2, 0.2, 0.2], recordCounts: [1, 1, 1, 1, 1],
                                                      globalBatch: 8, seed: 0)) {
            XCTAssertTrue("\($0)".contains("too small to mix 5 corpora"), "\($0)")
        }
    }
}
