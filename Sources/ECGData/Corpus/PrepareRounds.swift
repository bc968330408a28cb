import Foundation

/// How a prepare run deals its source records to the ranks of a group: rounds of `batch × size`
/// records in source order, each rank taking one contiguous run of every round, in rank order.
/// The writer stores a round's rows in rank order (CorpusWriter.endRound), so the corpus rows
/// follow the source order exactly as in a serial run whatever the runs' lengths. The first round
/// deals `batch` records to every rank; later ones follow `RoundBalance` (a node's writer, which
/// also writes the other ranks' rows, takes fewer records).
struct RoundShares {
    let total: Int
    let batch: Int
    let rank: Int
    let size: Int
    /// Records of every rank in the current round (before clipping at `total`).
    private(set) var counts: [Int]
    private var balance: RoundBalance

    init(total: Int, batch: Int, group: SharedFileGroup?) {
        self.init(total: total, batch: batch, rank: group?.rank ?? 0, size: group?.size ?? 1)
    }

    init(total: Int, batch: Int, rank: Int, size: Int) {
        self.total = total
        self.batch = max(1, batch)
        self.rank = rank
        self.size = max(1, size)
        counts = Array(repeating: self.batch, count: self.size)
        balance = RoundBalance(ranks: self.size)
    }

    /// Rounds every rank runs (also when its share of the last ones is empty).
    var rounds: Int { (total + batch * size - 1) / (batch * size) }

    /// Source records of `rank` (default: this rank) in round `round`.
    func records(round: Int, rank: Int? = nil) -> Range<Int> {
        let r = rank ?? self.rank
        let first = min(total, round * batch * size + counts[..<r].reduce(0, +))
        return first..<min(total, first + counts[r])
    }

    /// Takes every rank's timing of round `round` (`CorpusWriter.endRound`, the same on every rank)
    /// and sizes the next round's runs from them. Serial runs (no timings) keep their counts.
    mutating func finish(round: Int, timings: [RoundTiming]) {
        guard timings.count == size, size > 1 else { return }
        balance.observe(counts: (0..<size).map { records(round: round, rank: $0).count }, timings: timings)
        counts = balance.counts(roundSize: batch * size, cap: Self.maxShare(batch: batch))
    }

    /// The most records a rank is dealt in a round: 1.5 × batch (+1) bounds its memory and the
    /// node-shared memory its rows go through, while on a two-rank node the writer can still go
    /// down to half an even share (measured: ~90 of 256 records per round).
    static func maxShare(batch: Int) -> Int { max(1, batch) * 3 / 2 + 1 }

    /// Source records of all ranks done after round `round`.
    func done(afterRound round: Int) -> Int { min(total, (round + 1) * batch * size) }
}

/// One rank's measured times in a round of a parallel prepare.
public struct RoundTiming: Equatable, Sendable {
    /// Seconds on the round's records (reading, preprocessing, hashing).
    public var work: Double
    /// Seconds of its writing in the round before (a node's writer: the whole node's rows).
    public var write: Double
    public init(work: Double, write: Double) {
        self.work = work
        self.write = write
    }
}

/// Sizes each rank's share of the next round so that the ranks finish it together: rank r should
/// take n_r · c_r + w_r seconds, c_r its seconds per record and w_r its writing time per round
/// (large on a node's writer, near zero elsewhere), both smoothed over rounds. Every rank computes
/// the shares from the same gathered timings with the same arithmetic, so they agree without
/// another exchange, and the corpus does not depend on them (rows follow the source order).
struct RoundBalance {
    private(set) var secondsPerRecord: [Double?]
    private(set) var writeSeconds: [Double]
    /// Weight of the newest round in the smoothed estimates.
    static let smoothing = 0.5

    init(ranks: Int) {
        secondsPerRecord = Array(repeating: nil, count: ranks)
        writeSeconds = Array(repeating: 0, count: ranks)
    }

    mutating func observe(counts: [Int], timings: [RoundTiming]) {
        let a = Self.smoothing
        for r in counts.indices {
            // The first round reports no writing yet (its rows are written after the exchange).
            writeSeconds[r] = writeSeconds[r] == 0 ? timings[r].write : (1 - a) * writeSeconds[r] + a * timings[r].write
            guard counts[r] > 0 else { continue }
            let sample = max(timings[r].work, 0) / Double(counts[r])
            secondsPerRecord[r] = secondsPerRecord[r].map { (1 - a) * $0 + a * sample } ?? sample
        }
    }

    /// Records per rank for a round of `roundSize` (each at most `cap`), summing to `roundSize`.
    func counts(roundSize: Int, cap: Int) -> [Int] {
        let ranks = secondsPerRecord.count
        let known = secondsPerRecord.compactMap { $0 }
        guard !known.isEmpty, ranks * cap >= roundSize else {
            return (0..<ranks).map { roundSize / ranks + ($0 < roundSize % ranks ? 1 : 0) }
        }
        // A rank without a measurement yet is taken to be as fast as the average one; a rank that
        // took no time at all (nothing readable) is given a floor so the shares stay finite.
        let mean = known.reduce(0, +) / Double(known.count)
        let cost = secondsPerRecord.map { max($0 ?? mean, 1e-7) }
        func share(_ r: Int, finishing t: Double) -> Double { min(Double(cap), max(0, (t - writeSeconds[r]) / cost[r])) }
        // The common finishing time t: Σ share(r, t) grows with t; bisect until it holds the round.
        var lo = 0.0, hi = (writeSeconds.max() ?? 0) + Double(roundSize) * (cost.max() ?? 1)
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if (0..<ranks).reduce(0.0, { $0 + share($1, finishing: mid) }) < Double(roundSize) { lo = mid } else { hi = mid }
        }
        let exact = (0..<ranks).map { share($0, finishing: hi) }
        var counts = exact.map { Int($0.rounded(.down)) }
        // Hand out what rounding down left over to the largest remainders (lower rank first on ties).
        // Never negative: the floors sum to at most Σ exact, and that is within one of roundSize
        // (bisection stops just above it), so whole counts cannot exceed roundSize.
        let remainder: [Double] = (0..<ranks).map { exact[$0] - Double(counts[$0]) }
        let order = (0..<ranks).sorted { a, b in remainder[a] != remainder[b] ? remainder[a] > remainder[b] : a < b }
        var left = roundSize - counts.reduce(0, +)
        while left > 0 {
            for r in order where left > 0 && counts[r] < cap { counts[r] += 1; left -= 1 }
        }
        return counts
    }
}

/// A prepare run stopped by a signal (SIGTERM, SIGINT): nothing is kept.
public struct PrepareInterrupted: Error, CustomStringConvertible {
    public let signal: String
    public var description: String { "stopped by \(signal) before the corpus was complete: nothing was written" }
}

/// Throttled progress lines (records done, records/s, ETA) for a long prepare run.
struct PrepareProgress {
    let total: Int
    let report: ((String) -> Void)?
    let interval: TimeInterval
    private let started = Date()
    private var lastReport = Date()

    init(total: Int, report: ((String) -> Void)?, interval: TimeInterval = 5) {
        self.total = total
        self.report = report
        self.interval = interval
    }

    mutating func update(done: Int) {
        guard let report, done < total else { return }
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= interval else { return }
        lastReport = now
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        report(String(format: "prepare: %d/%d records (%.0f%%), %.0f records/s, ETA %@", done, total,
                      100 * Double(done) / Double(max(total, 1)), rate, Self.clock(eta)))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
