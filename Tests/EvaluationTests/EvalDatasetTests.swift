import Foundation
import XCTest
import ECGData
@testable import Evaluation
import Model

/// Loading the real PTB-XL sample for evaluation: folds, tasks, label rows, normalization.
final class EvalDatasetTests: XCTestCase {
    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ptbxl-mini").path
    }

    func testLoadsPreparedPTBXLSample() throws {
        let dir = NSTemporaryDirectory() + "eval-ds-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mini.h5"
        _ = try CorpusPreparer.preparePTBXL(root: Self.root, out: path)
        let data = try EvalDataset.load(path: path)
        XCTAssertEqual(data.count, 28)
        XCTAssertEqual(data.recordLength, 5000)
        XCTAssertEqual(Set(data.tasks.map(\.name)), ["all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"])
        XCTAssertEqual(data.task(named: "superdiagnostic")?.labelCount, 5)
        XCTAssertEqual(data.task(named: "all")?.labelCount, 71)
        let reader = try CorpusReader(path: path)
        XCTAssertEqual(data.folds, reader.folds.map { Int($0) })
        for task in data.tasks {
            let split = data.split(task)
            XCTAssertTrue(split.train.allSatisfy { (1...8).contains(data.folds[$0]) })
            XCTAssertTrue(split.val.allSatisfy { data.folds[$0] == 9 })
            XCTAssertTrue(split.test.allSatisfy { data.folds[$0] == 10 })
            // Every kept record has a positive label; every dropped one has none.
            let kept = Set(split.train + split.val + split.test)
            for i in 0..<data.count {
                let row = task.labels(of: [i])
                XCTAssertEqual(kept.contains(i), row.contains(1), "\(task.name) record \(i)")
            }
        }
        // Normalized with the training-fold statistics: per-lead mean ≈ 0 and std ≈ 1 on folds 1–8,
        // and nothing beyond the ±5 clip.
        let train = (0..<data.count).filter { (1...8).contains(data.folds[$0]) }
        var sum = [Double](repeating: 0, count: 12), sq = [Double](repeating: 0, count: 12)
        var maxAbs: Float = 0
        for i in train {
            let s = data.signal(i)
            for t in 0..<5000 {
                for c in 0..<12 {
                    let v = s[t * 12 + c]
                    sum[c] += Double(v); sq[c] += Double(v) * Double(v)
                    maxAbs = max(maxAbs, abs(v))
                }
            }
        }
        let n = Double(train.count * 5000)
        for c in 0..<12 {
            let mean = sum[c] / n, std = (sq[c] / n - mean * mean).squareRoot()
            XCTAssertEqual(mean, 0, accuracy: 0.05, "lead \(c)")
            XCTAssertEqual(std, 1, accuracy: 0.1, "lead \(c)")
        }
        XCTAssertLessThanOrEqual(maxAbs, 5)
        XCTAssertThrowsError(try EvalDataset.load(path: path, tasks: ["rhythm", "beats"])) {
            XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("labels/beats"), "\($0)")
        }
        XCTAssertEqual(try EvalDataset.load(path: path, tasks: ["rhythm"]).tasks.map(\.name), ["rhythm"])
        let limited = try EvalDataset.load(path: path, trainRecordLimit: 5)
        XCTAssertEqual(limited.folds.filter { $0 <= 8 }.count, 5)
        XCTAssertEqual(limited.folds.filter { $0 > 8 }.count, data.folds.filter { $0 > 8 }.count)
        // Raw value check on one sample: (x − mean)/std, clipped.
        var raw = [Float](repeating: 0, count: 5000 * 12)
        try raw.withUnsafeMutableBufferPointer { try reader.readSignals(rows: 3..<4, into: $0.baseAddress!) }
        for k in [0, 777, 30_001, 59_999] {
            let c = k % 12
            let expected = min(max((raw[k] - reader.channelMean[c]) / reader.channelStd[c], -5), 5)
            XCTAssertEqual(data.signal(3)[k], expected, accuracy: 1e-5)
        }
    }

    func testMissingFileIsAClearError() throws {
        XCTAssertThrowsError(try EvalDataset.load(path: "/nonexistent/x.h5")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.h5"), "\($0)")
        }
    }
}
