import XCTest
@testable import ECGData

/// How a parallel prepare deals each round's records: contiguous runs in rank order that cover the
/// round exactly (so the corpus keeps the serial row order), sized so that a node's writer, which
/// also writes the other ranks' rows, takes fewer records and all ranks finish together.
final class RoundSharesTests: XCTestCase {
    /// Seconds rank r needs for `counts[r]` records in the model the balance uses.
    private func finishing(_ counts: [Int], cost: [Double], write: [Double]) -> [Double] {
        counts.indices.map { Double(counts[$0]) * cost[$0] + write[$0] }
    }

    func testTheNodeWriterTakesFewerRecordsAndTheRanksFinishTogether() {
        // Measured on a 2-core Zen 2 (docs/prepare.md): ~0.3 ms per record, the writer ~30 ms per round.
        let cost = [0.0003, 0.0003], write = [0.030, 0.001]
        var balance = RoundBalance(ranks: 2)
        balance.observe(counts: [128, 128], timings: [RoundTiming(work: 128 * cost[0], write: 0), RoundTiming(work: 128 * cost[1], write: 0)])
        balance.observe(counts: [128, 128], timings: (0..<2).map { RoundTiming(work: 128 * cost[$0], write: write[$0]) })
        let counts = balance.counts(roundSize: 256, cap: 256)
        XCTAssertEqual(counts.reduce(0, +), 256)
        XCTAssertLessThan(counts[0], counts[1], "\(counts)")
        let times = finishing(counts, cost: cost, write: write)
        // Within one record's time of each other (the shares are whole records).
        XCTAssertLessThanOrEqual(abs(times[0] - times[1]), cost.max()! + 1e-12, "\(counts) → \(times)")
        // Without writing to do, equal ranks get equal shares.
        var even = RoundBalance(ranks: 4)
        even.observe(counts: [10, 10, 10, 10], timings: Array(repeating: RoundTiming(work: 0.01, write: 0.002), count: 4))
        XCTAssertEqual(even.counts(roundSize: 40, cap: 20), [10, 10, 10, 10])
    }

    func testSharesRespectTheCapAndAFasterRankGetsMore() {
        var balance = RoundBalance(ranks: 3)
        // Rank 2 is 4× faster per record; the cap (RoundShares.maxShare) bounds what any rank buffers.
        balance.observe(counts: [10, 10, 10], timings: [RoundTiming(work: 0.04, write: 0), RoundTiming(work: 0.04, write: 0),
                                                       RoundTiming(work: 0.01, write: 0)])
        let counts = balance.counts(roundSize: 30, cap: 14)
        XCTAssertEqual(counts.reduce(0, +), 30)
        XCTAssertEqual(counts[2], 14, "\(counts)")
        XCTAssertEqual(counts[0], 8); XCTAssertEqual(counts[1], 8)
        // A writer so slow it should take nothing gets nothing (never a negative share).
        var slowWriter = RoundBalance(ranks: 2)
        slowWriter.observe(counts: [5, 5], timings: [RoundTiming(work: 0.005, write: 5), RoundTiming(work: 0.005, write: 0)])
        XCTAssertEqual(slowWriter.counts(roundSize: 10, cap: 10), [0, 10])
    }

    func testRunsAreContiguousInRankOrderAndCoverEveryRecordOnce() {
        // 3 ranks, batch 4, 29 records: rounds of 12; the shares change after every round.
        let total = 29
        var perRank = (0..<3).map { RoundShares(total: total, batch: 4, rank: $0, size: 3) }
        var seen: [Int] = []
        for round in 0..<perRank[0].rounds {
            let runs = perRank.map { $0.records(round: round) }
            for r in 1..<3 { XCTAssertEqual(runs[r].lowerBound, runs[r - 1].upperBound, "round \(round): \(runs)") }
            seen += runs.flatMap { Array($0) }
            // Every rank gets the same timings (the exchange) and so computes the same next shares.
            let timings = [RoundTiming(work: 0.002 * Double(runs[0].count + 1), write: 0.004),
                           RoundTiming(work: 0.001 * Double(runs[1].count + 1), write: 0),
                           RoundTiming(work: 0.003 * Double(runs[2].count + 1), write: 0)]
            for r in 0..<3 { perRank[r].finish(round: round, timings: timings) }
            XCTAssertEqual(Set(perRank.map(\.counts)).count, 1, "ranks disagree after round \(round)")
            XCTAssertTrue(perRank[0].counts.allSatisfy { $0 <= RoundShares.maxShare(batch: 4) })
        }
        XCTAssertEqual(seen, Array(0..<total))
    }
}
