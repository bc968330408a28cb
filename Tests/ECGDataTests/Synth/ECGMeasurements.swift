// Simple ECG measurements used to check that generated records look like ECGs (and usable on any
// corpus record): band-pass, R-peak detection, heart rate, RR irregularity, QRS duration and ST
// level. Deliberately plain (Pan–Tompkins-like), not clinical-grade.

// Test-only: the library never measures ECGs, so this lives beside the synthesis tests.
enum ECGMeasurements {
    /// One lead of a (samples x leads) row-major record.
    static func lead(_ signal: [Float], _ lead: Int, leads: Int = 12) -> [Float] {
        stride(from: lead, to: signal.count, by: leads).map { signal[$0] }
    }

    /// Centered moving average of odd or even `width` (edges use the available samples).
    static func movingAverage(_ x: [Float], width: Int) -> [Float] {
        let n = x.count
        guard n > 0, width > 1 else { return x }
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + Double(x[i]) }
        let half = width / 2
        return (0..<n).map { i in
            let lo = max(0, i - half), hi = min(n, i - half + width)
            return Float((prefix[hi] - prefix[lo]) / Double(hi - lo))
        }
    }

    /// Band-pass for QRS detection: minus a 0.2 s moving average (removes baseline wander), then a
    /// 20 ms moving average (removes EMG; its first zero at 50 Hz also removes European mains).
    static func bandPass(_ x: [Float], sampleRate: Double) -> [Float] {
        let baseline = movingAverage(x, width: Int(0.2 * sampleRate) | 1)
        let highPassed = zip(x, baseline).map { $0 - $1 }
        return movingAverage(highPassed, width: max(2, Int(0.02 * sampleRate)))
    }

    /// R-peak sample indices of one lead: squared slope of the band-passed signal, integrated over
    /// 100 ms, thresholded at 35 % of its 99th percentile, one peak per 250 ms (refractory period);
    /// each peak is placed at the largest |band-passed| value of its region.
    static func rPeaks(_ x: [Float], sampleRate: Double) -> [Int] {
        let n = x.count
        guard n > 4 else { return [] }
        let bp = bandPass(x, sampleRate: sampleRate)
        var energy = [Float](repeating: 0, count: n)
        for t in 1..<(n - 1) { let d = bp[t + 1] - bp[t - 1]; energy[t] = d * d }
        let integrated = movingAverage(energy, width: Int(0.1 * sampleRate))
        let sorted = integrated.sorted()
        let threshold = 0.35 * sorted[min(n - 1, Int(0.99 * Double(n)))]
        guard threshold > 0 else { return [] }
        let refractory = Int(0.25 * sampleRate)
        var peaks: [Int] = []
        var t = 0
        while t < n {
            guard integrated[t] > threshold else { t += 1; continue }
            var end = t
            while end < n && integrated[end] > threshold { end += 1 }
            // The integrator lags and spreads the QRS by its half-width: search the widened region.
            let lo = max(0, t - Int(0.05 * sampleRate)), hi = min(n - 1, end + Int(0.05 * sampleRate))
            var best = lo
            for s in lo...hi where abs(bp[s]) > abs(bp[best]) { best = s }
            if let last = peaks.last, best - last < refractory {
                if abs(bp[best]) > abs(bp[last]) { peaks[peaks.count - 1] = best }
            } else {
                peaks.append(best)
            }
            t = end + 1
        }
        return peaks
    }

    /// RR intervals (s) between consecutive peaks.
    static func rrIntervals(_ peaks: [Int], sampleRate: Double) -> [Double] {
        guard peaks.count > 1 else { return [] }
        return (1..<peaks.count).map { Double(peaks[$0] - peaks[$0 - 1]) / sampleRate }
    }

    /// 60 / mean RR (bpm); nil with fewer than two peaks.
    static func heartRate(_ peaks: [Int], sampleRate: Double) -> Double? {
        let rr = rrIntervals(peaks, sampleRate: sampleRate)
        guard !rr.isEmpty else { return nil }
        return 60 / (rr.reduce(0, +) / Double(rr.count))
    }

    /// Coefficient of variation (std / mean) of the RR intervals.
    static func rrCoefficientOfVariation(_ peaks: [Int], sampleRate: Double) -> Double? {
        let rr = rrIntervals(peaks, sampleRate: sampleRate)
        guard rr.count > 1 else { return nil }
        let mean = rr.reduce(0, +) / Double(rr.count)
        let variance = rr.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rr.count - 1)
        return variance.squareRoot() / mean
    }

    /// Mean QRS duration (s) over the beats at `peaks` of a (samples x 12) record: the region around
    /// each R peak where the summed absolute slope of the 8 independent leads (I, II, V1–V6), averaged
    /// over 16 ms, stays above 12 % of its peak, tolerating dips shorter than 12 ms (notched QRS). Meant for
    /// noise-free records; beats within 150 ms of an edge are skipped.
    static func qrsDuration(_ signal: [Float], peaks: [Int], sampleRate: Double, leads: Int = 12) -> Double? {
        let n = signal.count / leads
        let independent = [0, 1, 6, 7, 8, 9, 10, 11]
        var slope = [Float](repeating: 0, count: n)
        for t in 1..<(n - 1) {
            var s: Float = 0
            for l in independent { s += abs(signal[(t + 1) * leads + l] - signal[(t - 1) * leads + l]) }
            slope[t] = s
        }
        // A 16 ms average fills the instants where every lead's slope is zero at once (the apex of a
        // wave that does not overlap another), which would otherwise split a slurred or notched QRS.
        slope = movingAverage(slope, width: Int(0.016 * sampleRate))
        let margin = Int(0.15 * sampleRate), gap = Int(0.012 * sampleRate)
        var widths: [Double] = []
        for r in peaks where r >= margin && r < n - margin {
            let lo = r - Int(0.06 * sampleRate), hi = r + Int(0.08 * sampleRate)
            var top = lo
            for t in lo...hi where slope[t] > slope[top] { top = t }
            let threshold = 0.12 * slope[top]
            func walk(_ step: Int) -> Int {
                var t = top, last = top, below = 0
                while t > 0 && t < n - 1 && below <= gap {
                    t += step
                    if slope[t] > threshold { last = t; below = 0 } else { below += 1 }
                }
                return last
            }
            widths.append(Double(walk(1) - walk(-1)) / sampleRate)
        }
        guard !widths.isEmpty else { return nil }
        return widths.reduce(0, +) / Double(widths.count)
    }

    /// ST deviation (mV) of one lead at one beat: value 80 ms after the R peak minus the PR-segment
    /// baseline 75 ms before it.
    static func stLevel(_ signal: [Float], lead: Int, rPeak: Int, sampleRate: Double, leads: Int = 12) -> Float? {
        let after = rPeak + Int(0.08 * sampleRate), before = rPeak - Int(0.075 * sampleRate)
        guard before >= 0, (after + 1) * leads <= signal.count else { return nil }
        return signal[after * leads + lead] - signal[before * leads + lead]
    }
}
