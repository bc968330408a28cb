import Model

// Seeded stratified splits of multi-label records, for corpora whose source has no folds
// (`prepare npy` without --fold-column) and for the label-efficiency subsets of `eval`.
//
// Stratification is by each record's RAREST POSITIVE LABEL: a record belongs to the stratum of
// whichever of its positive labels has the fewest positives overall (records without a positive
// form one more stratum). Rare labels are the ones a random split starves, so this puts their
// positives evenly into every fold; common labels, which every record with a rarer label also
// tends to carry, come out close to even as a side effect. It is simpler than iterative
// stratification (Sechidis et al. 2011, which PTB-XL's strat_fold used) and, unlike it, gives fold
// sizes that are exact to one record.

public enum StratifiedSplit {
    /// Stream of the shuffles (a private constant: independent of Model's named streams).
    static let rngStream: UInt64 = 0x5354_5241_5449_4659 // "STRATIFY"

    /// Fold dealing order: record k of the concatenated strata goes to fold cycle[k mod 10]. Every
    /// prefix of this cycle (the remainder of N / 10) is shared 8 : 1 : 1 to within one record, and
    /// it starts with the test fold, so the rarest label's first positive (dealt first) is a test one.
    public static let foldCycle: [Int32] = [10, 1, 2, 3, 4, 9, 5, 6, 7, 8]

    /// Stratum of each of `records` (row indices into the row-major `labels`, `labelCount` wide):
    /// the index of its rarest positive label counted over `records` (ties: the lower label
    /// index), or `labelCount` when the record has no positive.
    public static func rarestPositiveStrata(labels: [UInt8], labelCount: Int, records: [Int]) -> [Int] {
        var positives = [Int](repeating: 0, count: labelCount)
        for i in records { for j in 0..<labelCount where labels[i * labelCount + j] != 0 { positives[j] += 1 } }
        return records.map { i in
            var best = labelCount
            for j in 0..<labelCount where labels[i * labelCount + j] != 0 {
                if best == labelCount || positives[j] < positives[best] { best = j }
            }
            return best
        }
    }

    /// `records` grouped by stratum, rarest stratum first (the no-positive stratum last), each
    /// group in a seeded random order.
    public static func shuffledStrata(labels: [UInt8], labelCount: Int, records: [Int], seed: UInt64) -> [[Int]] {
        let strata = rarestPositiveStrata(labels: labels, labelCount: labelCount, records: records)
        var groups = [[Int]](repeating: [], count: labelCount + 1)
        for (record, stratum) in zip(records, strata) { groups[stratum].append(record) }
        for s in groups.indices {
            var rng = SplitMix64(seed: seed, stream: rngStream, counter: UInt64(s))
            for i in stride(from: groups[s].count - 1, to: 0, by: -1) { groups[s].swapAt(i, rng.nextInt(below: i + 1)) }
        }
        let order = (0..<labelCount).filter { !groups[$0].isEmpty }.sorted { (groups[$0].count, $0) < (groups[$1].count, $1) }
        return order.map { groups[$0] } + (groups[labelCount].isEmpty ? [] : [groups[labelCount]])
    }

    /// Folds 1–10 for `count` records with row-major 0/1 `labels` (count × labelCount): the strata
    /// are concatenated and dealt round-robin over `foldCycle`, so every fold gets ⌊count/10⌋ or
    /// ⌈count/10⌉ records, folds 1–8 / 9 / 10 hold 80 / 10 / 10 % to within one record, and each
    /// stratum's records are spread over the folds as evenly as its size allows. Deterministic in
    /// `seed`, which only changes which record of a stratum lands where.
    public static func folds(labels: [UInt8], labelCount: Int, count: Int, seed: UInt64) -> [Int32] {
        precondition(labels.count == count * labelCount, "labels must be count × labelCount")
        var folds = [Int32](repeating: 0, count: count)
        var position = 0
        for group in shuffledStrata(labels: labels, labelCount: labelCount, records: Array(0..<count), seed: seed) {
            for record in group {
                folds[record] = foldCycle[position % foldCycle.count]
                position += 1
            }
        }
        return folds
    }

    /// `records` in a seeded order whose every prefix is stratified: record r of a stratum of
    /// size n_s is placed at (r + ½) / n_s of the way through, so the first k records hold
    /// k · n_s / n ± 1 of each stratum. Taking prefixes of one order makes subsets nested.
    public static func interleavedOrder(labels: [UInt8], labelCount: Int, records: [Int], seed: UInt64) -> [Int] {
        let groups = shuffledStrata(labels: labels, labelCount: labelCount, records: records, seed: seed)
        var keyed: [(key: Double, stratum: Int, record: Int)] = []
        keyed.reserveCapacity(records.count)
        for (s, group) in groups.enumerated() {
            for (r, record) in group.enumerated() { keyed.append(((Double(r) + 0.5) / Double(group.count), s, record)) }
        }
        keyed.sort { ($0.key, $0.stratum) < ($1.key, $1.stratum) }
        return keyed.map(\.record)
    }
}
