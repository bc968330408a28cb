import XCTest
import ECGData
@testable import Evaluation
import Model

/// `eval --train-fraction`: size, a positive for every label, determinism, nesting, stratification.
final class TrainSubsetTests: XCTestCase {
    /// 1000 records (800 training), 6 labels; label 0 has a single training positive, label 1 three.
    static func task() -> (EvalTask, EvalSplit) {
        let count = 1000, width = 6
        var rng = SplitMix64(seed: 21)
        var labels = [UInt8](repeating: 0, count: count * width)
        for i in 0..<count {
            labels[i * width + 5] = 1 // every record has a label, as the split requires
            for (j, p) in [(2, 0.05), (3, 0.2), (4, 0.5)] where rng.nextDouble() < p { labels[i * width + j] = 1 }
        }
        labels[123 * width + 0] = 1
        for i in [10, 400, 777] { labels[i * width + 1] = 1 }
        let split = EvalSplit(train: Array(0..<800), val: Array(800..<900), test: Array(900..<1000))
        return (EvalTask(name: "t", labelNames: ["a", "b", "c", "d", "e", "f"], labels: labels), split)
    }

    func positives(_ records: [Int], _ task: EvalTask, label j: Int) -> Int {
        records.filter { task.labels[$0 * task.labelCount + j] != 0 }.count
    }

    func testSizeAndAPositiveForEveryLabel() {
        let (task, split) = Self.task()
        for fraction in [0.001, 0.01, 0.05, 0.1, 0.5] {
            for seed: UInt64 in 0..<5 {
                let subset = split.trainSubset(fraction: fraction, task: task, seed: seed)
                XCTAssertEqual(subset.train.count, max(6, Int((fraction * 800).rounded())), "F \(fraction) seed \(seed)")
                XCTAssertEqual(Set(subset.train).count, subset.train.count, "no record twice")
                XCTAssertTrue(Set(subset.train).isSubset(of: split.train))
                XCTAssertEqual(subset.val, split.val)
                XCTAssertEqual(subset.test, split.test)
                for j in 0..<6 { XCTAssertGreaterThanOrEqual(positives(subset.train, task, label: j), 1, "F \(fraction) seed \(seed) label \(j)") }
            }
        }
        XCTAssertEqual(split.trainSubset(fraction: 1, task: task, seed: 3).train, split.train)
        XCTAssertEqual(EvalSplit.subsetSize(trainRecords: 800, labelsWithPositives: 6, fraction: 0.1), 80)
        XCTAssertEqual(EvalSplit.subsetSize(trainRecords: 800, labelsWithPositives: 6, fraction: 0.001), 6)
        XCTAssertEqual(EvalSplit.subsetSize(trainRecords: 4, labelsWithPositives: 6, fraction: 0.5), 4)
        XCTAssertEqual(EvalSplit.subsetSize(trainRecords: 800, labelsWithPositives: 0, fraction: 1e-6), 1)
    }

    func testDeterministicNestedAndSeedDependent() {
        let (task, split) = Self.task()
        let a = split.trainSubset(fraction: 0.1, task: task, seed: 4).train
        XCTAssertEqual(a, split.trainSubset(fraction: 0.1, task: task, seed: 4).train)
        XCTAssertNotEqual(a, split.trainSubset(fraction: 0.1, task: task, seed: 5).train)
        for seed: UInt64 in 0..<3 {
            let fractions = [0.01, 0.1, 0.3, 0.7, 1]
            let subsets = fractions.map { Set(split.trainSubset(fraction: $0, task: task, seed: seed).train) }
            for k in 1..<subsets.count {
                XCTAssertTrue(subsets[k - 1].isSubset(of: subsets[k]), "seed \(seed): F \(fractions[k - 1]) ⊄ F \(fractions[k])")
            }
        }
    }

    func testSubsetsAreStratified() {
        let (task, split) = Self.task()
        let strata = StratifiedSplit.rarestPositiveStrata(labels: task.labels, labelCount: task.labelCount, records: split.train)
        let stratumOf = Dictionary(uniqueKeysWithValues: zip(split.train, strata))
        for seed: UInt64 in 0..<5 {
            let subset = split.trainSubset(fraction: 0.25, task: task, seed: seed).train
            let share = Double(subset.count) / Double(split.train.count)
            // Each stratum (rarest positive label) keeps its share to within one record, plus the
            // at most 6 coverage records picked ahead of the stratified order.
            for s in Set(strata) {
                let size = strata.filter { $0 == s }.count
                let kept = subset.filter { stratumOf[$0] == s }.count
                XCTAssertLessThanOrEqual(abs(Double(kept) - share * Double(size)), 1 + 6, "seed \(seed) stratum \(s): \(kept) of \(size)")
            }
            // Labels that are not a record's rarest come out close to their prevalence.
            for j in 2...4 {
                let full = Double(positives(split.train, task, label: j)) / Double(split.train.count)
                let kept = Double(positives(subset, task, label: j)) / Double(subset.count)
                XCTAssertEqual(kept, full, accuracy: 0.05, "seed \(seed) label \(j)")
            }
        }
    }

    func testOptionRange() {
        var options = EvalOptions()
        for bad in [0, -0.1, 1.5, .nan] {
            options.trainFraction = bad
            XCTAssertThrowsError(try options.validate()) { XCTAssertTrue("\($0)".contains("--train-fraction"), "\($0)") }
        }
        options.trainFraction = 0.01
        XCTAssertNoThrow(try options.validate())
    }
}
