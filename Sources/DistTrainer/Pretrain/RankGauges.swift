import Foundation
import Model

/// Per-rank readings that rank 0 logs with every metrics line: resident memory and loader wait of
/// each rank (a leak or a starved loader on rank 1 is invisible in rank 0's own numbers), and the
/// samples each corpus supplied over all ranks (the realised mixture, step by step rather than
/// only at the end of the run).
///
/// One small all-reduce per logged step carries all of it: rank r writes its own readings into
/// slots r of the per-rank sections and its corpus counts into the shared section, zeros elsewhere,
/// so the element-wise sum is every rank's readings side by side plus the corpus totals.
public struct RankGauges: Equatable {
    /// Resident set size of each rank's process, MB (10^6 bytes), in rank order.
    public let rssMegabytes: [Double]
    /// Each rank's mean wait for the loader per step over the logged interval, seconds.
    public let ioWaitSeconds: [Double]
    /// Samples handed to training per corpus (`--data` order), summed over ranks, counted from the
    /// start of this process (a resumed run counts from the resume).
    public let samplesPerCorpus: [Int]

    public init(rssMegabytes: [Double], ioWaitSeconds: [Double], samplesPerCorpus: [Int]) {
        self.rssMegabytes = rssMegabytes
        self.ioWaitSeconds = ioWaitSeconds
        self.samplesPerCorpus = samplesPerCorpus
    }

    /// Rank `rank`'s share of the all-reduce buffer: [rss per rank | io wait per rank | corpus counts].
    static func contribution(rank: Int, size: Int, rssMegabytes: Double, ioWaitSeconds: Double,
                             samplesPerCorpus: [Int]) -> [Double] {
        var buffer = [Double](repeating: 0, count: 2 * size + samplesPerCorpus.count)
        buffer[rank] = rssMegabytes
        buffer[size + rank] = ioWaitSeconds
        for (c, n) in samplesPerCorpus.enumerated() { buffer[2 * size + c] = Double(n) }
        return buffer
    }

    /// Reads the summed buffer back (counts are sums of integers well below 2^53, so exact).
    init(summed: [Double], size: Int) {
        precondition(summed.count >= 2 * size)
        rssMegabytes = Array(summed[0..<size])
        ioWaitSeconds = Array(summed[size..<(2 * size)])
        samplesPerCorpus = summed[(2 * size)...].map { Int($0.rounded()) }
    }

    /// Collective: every rank must call it at the same step.
    static func gather(comm: Communicator, ioWaitSeconds: Double, samplesPerCorpus: [Int]) throws -> RankGauges {
        var buffer = contribution(rank: comm.rank, size: comm.size, rssMegabytes: EngineBenchmark.currentRSSMegabytes(),
                                  ioWaitSeconds: ioWaitSeconds, samplesPerCorpus: samplesPerCorpus)
        try comm.allReduceSum(&buffer)
        return RankGauges(summed: buffer, size: comm.size)
    }

    /// The metrics.jsonl fields.
    var metricsFields: [String: Any] {
        ["rss_mb": rssMegabytes, "rss_mb_max": rssMegabytes.max() ?? 0,
         "io_wait_s_ranks": ioWaitSeconds, "samples_per_corpus": samplesPerCorpus]
    }
}
