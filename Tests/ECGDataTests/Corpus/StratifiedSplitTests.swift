import XCTest
@testable import ECGData
import Model

/// The seeded stratified 8/1/1 split of `prepare npy` without a fold column.
final class StratifiedSplitTests: XCTestCase {
    /// Multi-label rows with prevalences from 1 % to 50 % (label j positive with probability
    /// prevalence[j]); the rarer labels often co-occur with the common ones.
    static func labels(count: Int, seed: UInt64) -> (labels: [UInt8], width: Int) {
        let prevalence = [0.01, 0.03, 0.08, 0.2, 0.5]
        var rng = SplitMix64(seed: seed)
        var labels = [UInt8]()
        for _ in 0..<count { for p in prevalence { labels.append(rng.nextDouble() < p ? 1 : 0) } }
        return (labels, prevalence.count)
    }

    func testFoldSizesAre80_10_10WithinOneRecord() {
        for count in [10, 37, 100, 101, 257, 999, 1000, 2003] {
            let (labels, width) = Self.labels(count: count, seed: UInt64(count))
            let folds = StratifiedSplit.folds(labels: labels, labelCount: width, count: count, seed: 3)
            XCTAssertTrue(folds.allSatisfy { (1...10).contains($0) })
            for f in Int32(1)...10 {
                let size = folds.filter { $0 == f }.count
                XCTAssertTrue(size == count / 10 || size == (count + 9) / 10, "N \(count) fold \(f): \(size)")
            }
            let train = folds.filter { $0 <= 8 }.count, val = folds.filter { $0 == 9 }.count, test = folds.filter { $0 == 10 }.count
            XCTAssertLessThanOrEqual(abs(Double(train) - 0.8 * Double(count)), 1, "N \(count) train \(train)")
            XCTAssertLessThanOrEqual(abs(Double(val) - 0.1 * Double(count)), 1, "N \(count) val \(val)")
            XCTAssertLessThanOrEqual(abs(Double(test) - 0.1 * Double(count)), 1, "N \(count) test \(test)")
        }
    }

    func testEveryLabelsPositivesAreSpreadOverTheFolds() {
        let count = 2000
        let (labels, width) = Self.labels(count: count, seed: 11)
        for seed: UInt64 in [0, 1, 2] {
            let folds = StratifiedSplit.folds(labels: labels, labelCount: width, count: count, seed: seed)
            for j in 0..<width {
                let positives = (0..<count).filter { labels[$0 * width + j] != 0 }
                let perFold = (1...10).map { f in positives.filter { folds[$0] == Int32(f) }.count }
                let expected = Double(positives.count) / 10
                // Rarest-label strata are dealt evenly; labels shared with rarer ones come out
                // close to even: every fold within 35 % (or 3 records) of a tenth.
                for (f, n) in perFold.enumerated() {
                    XCTAssertLessThanOrEqual(abs(Double(n) - expected), max(3, 0.35 * expected),
                                             "seed \(seed) label \(j) (\(positives.count) positives): fold \(f + 1) has \(n), per fold \(perFold)")
                }
            }
            // The rarest label is its own stratum: exact to one record per fold.
            let rare = (0..<count).filter { labels[$0 * width] != 0 }
            let rarePerFold = (1...10).map { f in rare.filter { folds[$0] == Int32(f) }.count }
            XCTAssertLessThanOrEqual(rarePerFold.max()! - rarePerFold.min()!, 1, "rarest label per fold \(rarePerFold)")
        }
    }

    func testDeterministicPerSeed() {
        let (labels, width) = Self.labels(count: 500, seed: 5)
        let a = StratifiedSplit.folds(labels: labels, labelCount: width, count: 500, seed: 9)
        XCTAssertEqual(a, StratifiedSplit.folds(labels: labels, labelCount: width, count: 500, seed: 9))
        let b = StratifiedSplit.folds(labels: labels, labelCount: width, count: 500, seed: 10)
        XCTAssertNotEqual(a, b)
        // Another seed moves records, never the per-fold counts.
        XCTAssertEqual((1...10).map { f in a.filter { $0 == Int32(f) }.count }, (1...10).map { f in b.filter { $0 == Int32(f) }.count })
    }

    func testStrataAreTheRarestPositiveLabel() {
        // Label counts: A 3, B 2, C 1 → record 0 (A, B) is in B's stratum; record 3 (none) in the last.
        let labels: [UInt8] = [1, 1, 0,
                               1, 0, 0,
                               1, 1, 1,
                               0, 0, 0]
        XCTAssertEqual(StratifiedSplit.rarestPositiveStrata(labels: labels, labelCount: 3, records: [0, 1, 2, 3]), [1, 0, 2, 3])
    }
}
