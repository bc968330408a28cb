// The one input normalisation of ecg-dist, used by the pre-training loader, the evaluation harness
// and (later) prediction, so that every model sees inputs made the same way: per-lead z-score with
// the corpus's training-fold statistics (`channel_mean`/`channel_std`, docs/hdf5-layout.md), then
// clip to ±5 standard deviations (the recipe of Weimann & Conrad 2024). Signals are time-major
// [rows, leads] and the lead count is the length of `mean` (the corpus's), never a constant.

/// Normalises `rows` time steps from `source` into `destination` (which may be `source`: in place).
/// A flat lead (std ≤ 1e-8) is centred, not blown up.
public func normalize(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: Int,
                      mean: [Float], std: [Float], clip: Float = 5) {
    precondition(mean.count == std.count, "one mean and one std per lead")
    let leads = mean.count
    let inverse = std.map { $0 > 1e-8 ? 1 / $0 : 1 }
    for t in 0..<rows {
        let base = t * leads
        for c in 0..<leads {
            destination[base + c] = min(max((source[base + c] - mean[c]) * inverse[c], -clip), clip)
        }
    }
}

/// In-place form of `normalize(_:into:rows:mean:std:clip:)`.
public func normalize(_ signal: UnsafeMutablePointer<Float>, rows: Int, mean: [Float], std: [Float], clip: Float = 5) {
    normalize(UnsafePointer(signal), into: signal, rows: rows, mean: mean, std: std, clip: clip)
}
