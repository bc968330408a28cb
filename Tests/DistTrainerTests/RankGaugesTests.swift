import XCTest
import Model
@testable import DistTrainer

/// The per-rank readings of every metrics line (`rss_mb`, `io_wait_s_ranks`, `samples_per_corpus`).
final class RankGaugesTests: XCTestCase {
    /// What the all-reduce does, without MPI: the element-wise sum of every rank's contribution must
    /// give each rank's own readings in its slot and the corpus counts summed over ranks.
    func testSummedContributionsKeepEachRanksReadingsAndAddTheCorpusCounts() {
        let size = 3
        let rss = [812.5, 790.0, 1024.25], wait = [0.002, 0.0, 0.125], longest = [0.01, 0.0, 0.5]
        let taken = [[7, 3], [6, 4], [8, 2]]
        var summed = [Double](repeating: 0, count: 3 * size + 2)
        for rank in 0..<size {
            let part = RankGauges.contribution(rank: rank, size: size, rssMegabytes: rss[rank], ioWaitSeconds: wait[rank],
                                               longestIOWaitSeconds: longest[rank], samplesPerCorpus: taken[rank])
            XCTAssertEqual(part.count, summed.count)
            for i in part.indices { summed[i] += part[i] }
        }
        let gauges = RankGauges(summed: summed, size: size)
        XCTAssertEqual(gauges, RankGauges(rssMegabytes: rss, ioWaitSeconds: wait, longestIOWaitSeconds: longest,
                                               samplesPerCorpus: [21, 9]))
        XCTAssertEqual(gauges.metricsFields["rss_mb_max"] as? Double, 1024.25)
        XCTAssertEqual(gauges.metricsFields["samples_per_corpus"] as? [Int], [21, 9])
    }

    /// One rank (no MPI collective needed): the RSS read is this process's and moves with what it
    /// touches, so a leak would show in the log.
    func testResidentMemoryReadingFollowsTouchedPages() {
        let before = EngineBenchmark.currentRSSMegabytes()
        XCTAssertGreaterThan(before, 1)
        let bytes = 64 << 20
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes)
        defer { block.deallocate() }
        // Touch every page so it becomes resident.
        for offset in stride(from: 0, to: bytes, by: 4096) { block[offset] = 1 }
        let after = EngineBenchmark.currentRSSMegabytes()
        XCTAssertGreaterThan(after - before, 0.8 * Double(bytes) / 1e6, "RSS \(before) → \(after) MB after touching 64 MiB")
    }
}
