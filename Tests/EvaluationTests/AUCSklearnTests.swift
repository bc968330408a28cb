import Foundation
import XCTest
import ECGData
@testable import Evaluation
import Model

/// ecg-dist's ROC-AUC against sklearn's `roc_auc_score` on the committed fixture
/// (Tests/Fixtures/auc/make_fixture.py writes it), plus properties that need no fixture.
final class AUCSklearnTests: XCTestCase {
    struct Fixture: Decodable {
        let n: Int
        let labels_per_row: Int
        let scores: [[Double]]
        let labels: [[UInt8]]
        let expected_per_label: [Double?]
        let expected_macro: Double
    }

    static var fixtureURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/auc/auc_fixture.json")
    }

    func testMatchesSklearnPerLabelAndMacro() throws {
        let data = try Data(contentsOf: Self.fixtureURL)
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        let rows = fixture.n, cols = fixture.labels_per_row
        XCTAssertEqual(fixture.scores.count, rows)
        let result = macroAUC(scores: fixture.scores.flatMap { $0 }, labels: fixture.labels.flatMap { $0 },
                              rows: rows, labelCount: cols)
        XCTAssertEqual(result.perLabel.count, cols)
        for j in 0..<cols {
            switch (fixture.expected_per_label[j], result.perLabel[j]) {
            case (nil, nil): break
            case let (want?, got?): XCTAssertEqual(got, want, accuracy: 1e-9, "label \(j)")
            case let (want, got): XCTFail("label \(j): sklearn \(String(describing: want)) vs ours \(String(describing: got))")
            }
        }
        XCTAssertEqual(try XCTUnwrap(result.macro), fixture.expected_macro, accuracy: 1e-9)
        XCTAssertEqual(result.skippedLabels, fixture.expected_per_label.indices.filter { fixture.expected_per_label[$0] == nil })
    }

    /// Float32 scores (what the model produces) go through the same Double path.
    func testFloatScoresAgreeWithDouble() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.fixtureURL))
        let flat = fixture.scores.flatMap { $0 }
        // Rounding to Float can merge or split ties, so compare against Double on the rounded values.
        let asFloat = flat.map { Float($0) }
        let a = macroAUC(scores: asFloat, labels: fixture.labels.flatMap { $0 }, rows: fixture.n, labelCount: fixture.labels_per_row)
        let b = macroAUC(scores: asFloat.map(Double.init), labels: fixture.labels.flatMap { $0 }, rows: fixture.n, labelCount: fixture.labels_per_row)
        XCTAssertEqual(a, b)
    }

    /// Brute-force pair counting (positive above negative = 1, tie = 1/2) is the definition of AUC.
    func testAgreesWithPairCountingOnRandomTiedData() {
        var rng = SplitMix64(seed: 7, stream: 99)
        for trial in 0..<50 {
            let n = 2 + rng.nextInt(below: 40)
            let scores = (0..<n).map { _ in Double(rng.nextInt(below: 6)) }  // few distinct values: many ties
            let labels = (0..<n).map { _ in UInt8(rng.nextInt(below: 2)) }
            var wins = 0.0, pairs = 0.0
            for i in 0..<n where labels[i] == 1 {
                for k in 0..<n where labels[k] == 0 {
                    pairs += 1
                    wins += scores[i] > scores[k] ? 1 : (scores[i] == scores[k] ? 0.5 : 0)
                }
            }
            let got = rocAUC(scores: scores, labels: labels)
            if pairs == 0 {
                XCTAssertNil(got, "trial \(trial)")
            } else {
                XCTAssertEqual(try XCTUnwrap(got), wins / pairs, accuracy: 1e-12, "trial \(trial)")
            }
        }
    }

    func testAllLabelsUndefinedGivesNilMacro() {
        let r = macroAUC(scores: [Double](repeating: 0.3, count: 6), labels: [1, 0, 1, 0, 1, 0], rows: 3, labelCount: 2)
        XCTAssertNil(r.macro)
        XCTAssertEqual(r.skippedLabels, [0, 1])
    }
}
