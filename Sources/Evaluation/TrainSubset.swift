import ECGData

// Label efficiency (`eval --train-fraction F`): the heads train on a seeded stratified subset of
// the training folds; validation and test folds stay whole. The subset depends only on the task's
// labels, the training records, F and the run's seed, never on the encoder, so a pre-trained and a
// random-init run of the same seed train on the same records.
//
// The subset is a prefix of one seeded order (`StratifiedSplit.interleavedOrder`, stratified by
// rarest positive label) after a few "coverage" records that give every label with a positive in
// the training folds one positive; subsets of one seed are therefore nested (F = 0.01 ⊂ 0.1 ⊂ 1).

extension EvalSplit {
    /// Records a `fraction` of the training folds keeps: round(F · n), at least 1 and at least the
    /// number of labels with a positive in the training folds (so each can keep one), at most n.
    /// Depends on labels and F only, not on the seed, so every seed's run has the same size.
    public static func subsetSize(trainRecords n: Int, labelsWithPositives: Int, fraction: Double) -> Int {
        guard fraction < 1 else { return n }
        return min(n, max(1, Int((fraction * Double(n)).rounded()), labelsWithPositives))
    }

    /// This split with `train` reduced to its seeded stratified `fraction` (F = 1: unchanged).
    /// The kept records are returned in ascending index order.
    public func trainSubset(fraction: Double, task: EvalTask, seed: UInt64) -> EvalSplit {
        guard fraction < 1, !train.isEmpty else { return self }
        let L = task.labelCount
        let positiveLabels = (0..<L).filter { j in train.contains { task.labels[$0 * L + j] != 0 } }
        let k = Self.subsetSize(trainRecords: train.count, labelsWithPositives: positiveLabels.count, fraction: fraction)
        let order = StratifiedSplit.interleavedOrder(labels: task.labels, labelCount: L, records: train, seed: seed)
        // Coverage first: rarest label first, the earliest record of the order carrying it, unless
        // an earlier pick already has it.
        var positives = [Int](repeating: 0, count: L)
        for i in train { for j in 0..<L where task.labels[i * L + j] != 0 { positives[j] += 1 } }
        var covered = [Bool](repeating: false, count: L)
        var picks: [Int] = []
        for j in positiveLabels.sorted(by: { (positives[$0], $0) < (positives[$1], $1) }) where !covered[j] {
            guard let record = order.first(where: { task.labels[$0 * L + j] != 0 }) else { continue }
            picks.append(record)
            for m in 0..<L where task.labels[record * L + m] != 0 { covered[m] = true }
        }
        let picked = Set(picks)
        let kept = (picks + order.filter { !picked.contains($0) }).prefix(k)
        var subset = self
        subset.train = kept.sorted()
        return subset
    }
}
