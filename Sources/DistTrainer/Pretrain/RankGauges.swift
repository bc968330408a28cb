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
    /// Each rank's longest single wait for the loader in the interval, seconds: tells one stall
    /// (a read or the loader thread held up once) from a loader that is slow at every step.
    public let longestIOWaitSeconds: [Double]
    /// Samples handed to training per corpus (`--data` order), summed over ranks, counted from the
    /// start of this process (a resumed run counts from the resume).
    public let samplesPerCorpus: [Int]

    public init(rssMegabytes: [Double], ioWaitSeconds: [Double], longestIOWaitSeconds: [Double], samplesPerCorpus: [Int]) {
        self.rssMegabytes = rssMegabytes
        self.ioWaitSeconds = ioWaitSeconds
        self.longestIOWaitSeconds = longestIOWaitSeconds
        self.samplesPerCorpus = samplesPerCorpus
    }

    /// Per-rank sections of the all-reduce buffer, before the corpus counts.
    static let perRankSections = 3

    /// Rank `rank`'s share of the all-reduce buffer:
    /// [rss per rank | mean io wait per rank | longest io wait per rank | corpus counts].
    static func contribution(rank: Int, size: Int, rssMegabytes: Double, ioWaitSeconds: Double,
                             longestIOWaitSeconds: Double, samplesPerCorpus: [Int]) -> [Double] {
        let counts = perRankSections * size
        var buffer = [Double](repeating: 0, count: counts + samplesPerCorpus.count)
        buffer[rank] = rssMegabytes
        buffer[size + rank] = ioWaitSeconds
        buffer[2 * size + rank] = longestIOWaitSeconds
        for (c, n) in samplesPerCorpus.enumerated() { buffer[counts + c] = Double(n) }
        return buffer
    }

    /// Reads the summed buffer back (counts are sums of integers well below 2^53, so exact).
    init(summed: [Double], size: Int) {
        let counts = Self.perRankSections * size
        precondition(summed.count >= counts)
        rssMegabytes = Array(summed[0..<size])
        ioWaitSeconds = Array(summed[size..<(2 * size)])
        longestIOWaitSeconds = Array(summed[(2 * size)..<counts])
        samplesPerCorpus = summed[counts...].map { Int($0.rounded()) }
    }

    /// Collective: every rank must call it at the same step.
    static func gather(comm: Communicator, ioWaitSeconds: Double, longestIOWaitSeconds: Double,
                       samplesPerCorpus: [Int]) throws -> RankGauges {
        var buffer = contribution(rank: comm.rank, size: comm.size, rssMegabytes: EngineBenchmark.currentRSSMegabytes(),
                                  ioWaitSeconds: ioWaitSeconds, longestIOWaitSeconds: longestIOWaitSeconds,
                                  samplesPerCorpus: samplesPerCorpus)
        try comm.allReduceSum(&buffer)
        return RankGauges(summed: buffer, size: comm.size)
    }

    /// The metrics.jsonl fields.
    var metricsFields: [String: Any] {
        ["rss_mb": rssMegabytes, "rss_mb_max": rssMegabytes.max() ?? 0,
         "io_wait_s_ranks": ioWaitSeconds, "io_wait_longest_s_ranks": longestIOWaitSeconds,
         "samples_per_corpus": samplesPerCorpus]
    }
}
