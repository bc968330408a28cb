import XCTest
import Glibc
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
    /// touches, so a leak would show in the log. The block is mapped with huge pages allowed: on a
    /// CI machine (kernel < 6.2, THP on) 64 MiB became 32 page faults, too few for the per-thread
    /// counters behind `statm` to be folded in, and the reading did not move at all.
    func testResidentMemoryReadingFollowsTouchedPages() throws {
        let before = EngineBenchmark.currentRSSMegabytes()
        XCTAssertGreaterThan(before, 1)
        let bytes = 64 << 20
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { throw XCTSkip("mmap failed") }
        defer { munmap(raw, bytes) }
        _ = madvise(raw, bytes, 14 /* MADV_HUGEPAGE */)
        let block = raw.assumingMemoryBound(to: UInt8.self)
        // Touch every page so it becomes resident.
        for offset in stride(from: 0, to: bytes, by: 4096) { block[offset] = 1 }
        let after = EngineBenchmark.currentRSSMegabytes()
        XCTAssertGreaterThan(after - before, 0.8 * Double(bytes) / 1e6, "RSS \(before) → \(after) MB after touching 64 MiB")
    }
}
