import Foundation

// The progress line of `ecg-dist eval`: what runs now (feature encoding, or task / mode / seed /
// step) and when it will be done. Throttled: at most one line per `interval` seconds. On a
// terminal the line is redrawn in place; in a log file each update is its own line.

public final class EvalProgress {
    /// The phases of an evaluation the line can describe.
    public enum Phase: Equatable, Sendable {
        /// Frozen-encoder features for the linear probe: `done` of `total` crops.
        case encoding(done: Int, total: Int)
        /// One head-training run: `seed` is 1-based of `seeds`, `done` of `total` steps.
        case training(task: String, mode: EvalMode, seed: Int, seeds: Int, done: Int, total: Int)
    }

    private let interval: Double
    private let inPlace: Bool
    private let write: (String) -> Void
    private let clock: () -> Double
    private var lastPrint: Double
    /// Start of the current phase: its key and time (the ETA is for the phase that runs now).
    private var phaseKey = ""
    private var phaseStart = 0.0
    private var showing = false

    /// - Parameters:
    ///   - interval: seconds between two lines.
    ///   - inPlace: redraw one line with a carriage return (a terminal) instead of new lines.
    ///   - write: where the text goes (stderr in `ecg-dist eval`).
    ///   - clock: seconds on a monotonic clock (injected by tests).
    public init(interval: Double, inPlace: Bool, write: @escaping (String) -> Void,
                clock: @escaping () -> Double = EvalProgress.monotonicSeconds) {
        self.interval = interval
        self.inPlace = inPlace
        self.write = write
        self.clock = clock
        lastPrint = clock()
    }

    /// The line for `phase` with `eta` seconds left (nil = not known yet).
    public static func line(_ phase: Phase, eta: Double?) -> String {
        let etaText = eta.map { "ETA " + clockText($0) } ?? "ETA ?"
        switch phase {
        case .encoding(let done, let total):
            return "eval: encoding frozen features for the linear probe, crop \(done)/\(total), \(etaText)"
        case .training(let task, let mode, let seed, let seeds, let done, let total):
            let modeText = mode == .linear ? "linear probe" : "fine-tuning"
            return "eval: task \(task), \(modeText), seed \(seed)/\(seeds), step \(done)/\(total), \(etaText)"
        }
    }

    /// "0:08", "12:34", "1:02:03".
    public static func clockText(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, r) : String(format: "%d:%02d", m, r)
    }

    /// Reports the state of the running phase; prints only if `interval` has passed since the last line.
    public func update(_ phase: Phase) {
        let now = clock()
        let (key, done, total) = EvalProgress.progressOf(phase)
        if key != phaseKey {
            phaseKey = key
            phaseStart = now
        }
        guard now - lastPrint >= interval else { return }
        lastPrint = now
        // The rate of this phase so far; none before its first finished unit.
        let elapsed = now - phaseStart
        let eta: Double? = done > 0 && elapsed > 0 ? elapsed / Double(done) * Double(max(0, total - done)) : nil
        let text = EvalProgress.line(phase, eta: eta)
        if inPlace {
            write("\r" + text + "\u{1B}[K")
            showing = true
        } else {
            write(text + "\n")
        }
    }

    /// Clears a line drawn in place, so that other output (or the final table) starts clean.
    public func clear() {
        guard showing else { return }
        write("\r\u{1B}[K")
        showing = false
    }

    private static func progressOf(_ phase: Phase) -> (key: String, done: Int, total: Int) {
        switch phase {
        case .encoding(let done, let total): return ("encoding", done, total)
        case .training(let task, let mode, let seed, _, let done, let total):
            return ("\(task)/\(mode.rawValue)/\(seed)", done, total)
        }
    }

    public static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
