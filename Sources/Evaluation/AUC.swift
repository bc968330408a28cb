// ROC-AUC exactly as sklearn's `roc_auc_score` computes it for binary and multi-label targets.
//
// sklearn integrates the ROC curve with the trapezoid rule over the distinct score thresholds. For
// a binary label that area equals the Mann–Whitney statistic with tied scores given their average
// rank, which is what we compute: sort once, give every run of equal scores the mean of the ranks
// it spans, then AUC = (sum of positive ranks − P(P+1)/2) / (P·N). All sums are in Double and the
// ranks are half-integers, so the result matches sklearn to rounding (≈1e-15).

/// Per-label ROC-AUC plus the macro average over the labels where it is defined.
public struct AUCResult: Sendable, Equatable {
    /// One entry per label column; nil when that column has no positive or no negative.
    public var perLabel: [Double?]
    /// Mean of the defined per-label AUCs; nil when none is defined.
    public var macro: Double?
    /// Label columns left out of the macro average (no positive or no negative in this fold).
    public var skippedLabels: [Int] {
        perLabel.indices.filter { perLabel[$0] == nil }
    }
    public var definedCount: Int { perLabel.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
}

/// Binary ROC-AUC of `scores` for 0/1 `labels` (any nonzero counts as positive).
/// Returns nil when the labels are all one class (sklearn raises in that case).
public func rocAUC(scores: [Double], labels: [UInt8]) -> Double? {
    precondition(scores.count == labels.count, "rocAUC: \(scores.count) scores vs \(labels.count) labels")
    let n = scores.count
    var positives = 0
    for l in labels where l != 0 { positives += 1 }
    let negatives = n - positives
    if positives == 0 || negatives == 0 { return nil }

    let order = (0..<n).sorted { scores[$0] < scores[$1] }
    var positiveRankSum = 0.0
    var start = 0
    while start < n {
        // [start, end) is one run of equal scores; its members all get the average of ranks start+1...end.
        var end = start + 1
        while end < n && scores[order[end]] == scores[order[start]] { end += 1 }
        let averageRank = Double(start + 1 + end) / 2
        var positivesInRun = 0
        for i in start..<end where labels[order[i]] != 0 { positivesInRun += 1 }
        positiveRankSum += averageRank * Double(positivesInRun)
        start = end
    }
    let p = Double(positives), q = Double(negatives)
    return (positiveRankSum - p * (p + 1) / 2) / (p * q)
}

/// Macro ROC-AUC of row-major `scores` [rows × labelCount] against row-major 0/1 `labels` of the
/// same shape. Labels without both classes are skipped (reported in `skippedLabels`), not fatal:
/// a small test fold often lacks rare statements.
public func macroAUC(scores: [Float], labels: [UInt8], rows: Int, labelCount: Int) -> AUCResult {
    macroAUC(scores: scores.map(Double.init), labels: labels, rows: rows, labelCount: labelCount)
}

public func macroAUC(scores: [Double], labels: [UInt8], rows: Int, labelCount: Int) -> AUCResult {
    precondition(scores.count == rows * labelCount && labels.count == rows * labelCount,
                 "macroAUC: shapes disagree with rows \(rows) × labels \(labelCount)")
    var perLabel: [Double?] = []
    perLabel.reserveCapacity(labelCount)
    var columnScores = [Double](repeating: 0, count: rows)
    var columnLabels = [UInt8](repeating: 0, count: rows)
    for j in 0..<labelCount {
        for i in 0..<rows {
            columnScores[i] = scores[i * labelCount + j]
            columnLabels[i] = labels[i * labelCount + j]
        }
        perLabel.append(rocAUC(scores: columnScores, labels: columnLabels))
    }
    let defined = perLabel.compactMap { $0 }
    let macro = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    return AUCResult(perLabel: perLabel, macro: macro)
}
