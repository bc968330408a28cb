import Foundation

/// How a prepare run deals its source records to the ranks of a group: rounds of `batch × size`
/// records in source order, rank r taking the r-th run of `batch` records of every round. The
/// writer stores a round's rows in rank order (CorpusWriter.endRound), so the corpus rows follow
/// the source order exactly as in a serial run, while each rank holds one batch at a time.
struct RoundShares {
    let total: Int
    let batch: Int
    let rank: Int
    let size: Int

    init(total: Int, batch: Int, group: SharedFileGroup?) {
        self.total = total
        self.batch = max(1, batch)
        rank = group?.rank ?? 0
        size = max(1, group?.size ?? 1)
    }

    /// Rounds every rank runs (also when its share of the last ones is empty).
    var rounds: Int { (total + batch * size - 1) / (batch * size) }

    /// Source records of this rank in round `round`.
    func records(round: Int) -> Range<Int> {
        let first = min(total, round * batch * size + rank * batch)
        return first..<min(total, first + batch)
    }

    /// Source records of all ranks done after round `round`.
    func done(afterRound round: Int) -> Int { min(total, (round + 1) * batch * size) }
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
