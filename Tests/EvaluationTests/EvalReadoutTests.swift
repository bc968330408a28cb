import Foundation
import XCTest
@testable import Evaluation
import Model

/// What a newcomer reads: the evaluation table (± only with two or more seeds, a legend for n/a),
/// the pre-trained vs random-init table and its result sentence, and the eval progress line.
final class EvalReadoutTests: XCTestCase {
    func seed(_ s: UInt64, test: Double?, skipped: [String] = []) -> SeedResult {
        SeedResult(seed: s, valAUC: test, testAUC: test, bestStep: 10, stepsRun: 10, finalTrainLoss: 0.5,
                   testSkippedLabels: skipped, testPerLabel: [], seconds: 1)
    }

    func report(tests: [Double?], task: String = "synth", labels: [String] = ["A", "B", "C"], skipped: [String] = [],
                testRecords: Int = 200, randomInit: Bool = false, linearSteps: Int = 500) -> EvalReport {
        var options = EvalOptions()
        options.seeds = tests.count
        options.linearSteps = linearSteps
        let row = TaskModeResult(task: task, mode: .linear, labelNames: labels, trainRecords: 1600, valRecords: 200,
                                 testRecords: testRecords,
                                 seeds: tests.enumerated().map { seed(UInt64($0.offset), test: $0.element, skipped: skipped) },
                                 note: nil)
        return EvalReport(checkpoint: randomInit ? "random-init" : "run/step-1000.ckpt", data: "eval.h5", model: "vit-tiny",
                          randomInit: randomInit, options: options, results: [row], seconds: 3)
    }

    func testPlusMinusOnlyWithTwoOrMoreSeeds() {
        XCTAssertEqual(MeanStd([0.8126]).formatted, "0.813")
        XCTAssertEqual(MeanStd([0.79, 0.81]).formatted, "0.800 ± 0.014")
        XCTAssertEqual(MeanStd([]).formatted, "n/a")
        let one = report(tests: [0.8]).markdown
        XCTAssertFalse(one.contains("±"), one)
        XCTAssertTrue(one.contains("1 seed"), one)
        let two = report(tests: [0.79, 0.81]).markdown
        XCTAssertTrue(two.contains("| 0.800 ± 0.014 |"), two)
        XCTAssertTrue(two.contains("Mean ± sd over 2 seeds"), two)
    }

    func testUndefinedAUCsAndSkippedLabelsAreExplained() {
        let md = report(tests: [nil], labels: ["A", "B", "C"], skipped: ["A", "B", "C"], testRecords: 4).markdown
        XCTAssertTrue(md.contains("| n/a | n/a | 0 of 3 |"), md)
        XCTAssertTrue(md.contains("n/a = the test fold"), md)
        XCTAssertTrue(md.contains("no positive (or no negative) record for any label of this task"), md)
        XCTAssertTrue(md.contains("test labels scored = labels with both a positive and a negative record"), md)
        XCTAssertTrue(md.contains("fewer than 50 records (here as few as 4)"), md)
        XCTAssertFalse(md.contains("test labels skipped"), md)
        // A clean table has no legend lines for problems it does not have.
        let clean = report(tests: [0.8, 0.82]).markdown
        XCTAssertTrue(clean.contains("| 3 of 3 |"), clean)
        XCTAssertFalse(clean.contains("n/a"), clean)
        XCTAssertFalse(clean.contains("fewer than"), clean)
    }

    func comparison(_ a: EvalReport, _ b: EvalReport) throws -> EvalComparison {
        try EvalComparison(pretrained: a, baseline: b, pretrainedPath: "a/eval.json", baselinePath: "b/eval.json")
    }

    func testSideBySideColumnsDifferenceAndSentence() throws {
        let c = try comparison(report(tests: [0.89, 0.91, 0.90]), report(tests: [0.80, 0.81, 0.79], randomInit: true))
        let md = c.markdown
        XCTAssertTrue(md.contains("| task | mode | pre-trained | random init | difference |"), md)
        XCTAssertTrue(md.contains("| synth | linear | 0.900 ± 0.010 | 0.800 ± 0.010 | +0.100 | 200 | 3 of 3 |"), md)
        XCTAssertEqual(c.rows[0].pairedDifferences.count, 3)
        XCTAssertEqual(c.rows[0].difference!, 0.1, accuracy: 1e-12)
        XCTAssertTrue(c.summary().contains("0.900 vs random init 0.800 (+0.100, 3 seeds, per seed +0.090 to +0.110)"), c.summary())
        XCTAssertTrue(c.summary().hasSuffix("pre-training helped on every seed."), c.summary())
        XCTAssertTrue(md.hasSuffix(c.summary() + "\n"))
        XCTAssertTrue(c.differingSettings.isEmpty, "\(c.differingSettings)")
    }

    func testSentenceStaysHonest() throws {
        let small = try comparison(report(tests: [0.81, 0.82]), report(tests: [0.80, 0.81], randomInit: true))
        XCTAssertTrue(small.summary().contains("a small difference (≤ 0.02), no clear effect"), small.summary())
        let mixed = try comparison(report(tests: [0.95, 0.80]), report(tests: [0.80, 0.85], randomInit: true))
        XCTAssertTrue(mixed.summary().contains("the seeds disagree"), mixed.summary())
        let single = try comparison(report(tests: [0.9]), report(tests: [0.8], randomInit: true))
        XCTAssertFalse(single.markdown.contains("±"), single.markdown)
        XCTAssertTrue(single.summary().contains("1 seed, no spread estimate"), single.summary())
        let worse = try comparison(report(tests: [0.70, 0.71]), report(tests: [0.80, 0.81], randomInit: true))
        XCTAssertTrue(worse.markdown.contains("| −0.100 |"), worse.markdown)
        XCTAssertTrue(worse.summary().contains("hurt on every seed"), worse.summary())
        let undefined = try comparison(report(tests: [nil], testRecords: 3), report(tests: [nil], randomInit: true))
        XCTAssertTrue(undefined.markdown.contains("| n/a | n/a | n/a |"), undefined.markdown)
        XCTAssertTrue(undefined.summary().contains("undefined"), undefined.summary())
    }

    func testDifferentSettingsAreNamedAndUnmatchedFilesRefused() throws {
        let c = try comparison(report(tests: [0.9]), report(tests: [0.8], randomInit: true, linearSteps: 200))
        XCTAssertEqual(c.differingSettings, ["linear.steps (500 vs 200)"])
        XCTAssertTrue(c.markdown.contains("Warning: the two evaluations differ in linear.steps (500 vs 200)"), c.markdown)
        XCTAssertThrowsError(try comparison(report(tests: [0.9]), report(tests: [0.8], task: "rhythm"))) { error in
            XCTAssertTrue("\(error)".contains("b/eval.json") && "\(error)".contains("rhythm/linear"), "\(error)")
        }
    }

    func testEvalJSONRoundTripsAndBadFilesNameThemselves() throws {
        let dir = NSTemporaryDirectory() + "eval-readout-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = report(tests: [0.8, nil])
        try original.write(toDirectory: dir)
        let back = try EvalReport.read(path: dir + "/eval.json")
        XCTAssertEqual(back.markdown, original.markdown)
        XCTAssertEqual(back.results[0].seeds, original.results[0].seeds)
        try "{\"checkpoint\": \"x\"}".write(toFile: dir + "/partial.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EvalReport.read(path: dir + "/partial.json")) { error in
            XCTAssertTrue("\(error)".contains("partial.json") && "\(error)".contains("missing"), "\(error)")
        }
        try "not json".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EvalReport.read(path: dir + "/bad.json")) { error in
            XCTAssertTrue("\(error)".contains("bad.json: not valid JSON"), "\(error)")
        }
    }

    func testProgressLineFormat() {
        XCTAssertEqual(EvalProgress.line(.training(task: "superdiagnostic", mode: .linear, seed: 1, seeds: 1, done: 120, total: 200), eta: 8),
                       "eval: task superdiagnostic, linear probe, seed 1/1, step 120/200, ETA 0:08")
        XCTAssertEqual(EvalProgress.line(.training(task: "rhythm", mode: .finetune, seed: 2, seeds: 3, done: 0, total: 10), eta: nil),
                       "eval: task rhythm, fine-tuning, seed 2/3, step 0/10, ETA ?")
        XCTAssertEqual(EvalProgress.line(.encoding(done: 56, total: 560), eta: 75),
                       "eval: encoding frozen features for the linear probe, crop 56/560, ETA 1:15")
        XCTAssertEqual(EvalProgress.clockText(3723), "1:02:03")
        XCTAssertEqual(EvalProgress.clockText(-1), "0:00")
    }

    func testProgressIsThrottledAndEstimatesTheCurrentRun() {
        var now = 0.0
        var out: [String] = []
        let p = EvalProgress(interval: 2, inPlace: false, write: { out.append($0) }, clock: { now })
        func step(_ done: Int, seed: Int = 1) {
            p.update(.training(task: "synth", mode: .linear, seed: seed, seeds: 2, done: done, total: 200))
        }
        step(0)                       // starts the run at t = 0
        for k in 1...19 { now = Double(k) * 0.1; step(k) }
        XCTAssertEqual(out, [], "nothing before the interval has passed")
        now = 2.0; step(50)           // 50 steps in 2 s: 150 left take 6 s
        XCTAssertEqual(out, ["eval: task synth, linear probe, seed 1/2, step 50/200, ETA 0:06\n"])
        now = 3.0; step(75)
        XCTAssertEqual(out.count, 1, "throttled")
        now = 4.0; step(0, seed: 2)   // a new run restarts the estimate: no rate yet
        XCTAssertEqual(out.last, "eval: task synth, linear probe, seed 2/2, step 0/200, ETA ?\n")
        now = 6.0; step(100, seed: 2)
        XCTAssertEqual(out.last, "eval: task synth, linear probe, seed 2/2, step 100/200, ETA 0:02\n")
    }

    func testProgressInPlaceIsClearedBeforeOtherOutput() {
        var now = 0.0
        var out = ""
        let p = EvalProgress(interval: 1, inPlace: true, write: { out += $0 }, clock: { now })
        p.clear()
        XCTAssertEqual(out, "", "nothing to clear before a line was drawn")
        now = 1; p.update(.encoding(done: 10, total: 20))
        XCTAssertTrue(out.hasPrefix("\r") && !out.contains("\n"), out.debugDescription)
        p.clear()
        XCTAssertTrue(out.hasSuffix("\r\u{1B}[K"), out.debugDescription)
    }
}
