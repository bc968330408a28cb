import Foundation
import XCTest
import TestSupport
import ECGData
@testable import Evaluation
import Model

/// The evaluation harness end to end on a small synthetic, learnable dataset with a tiny encoder
/// (debug builds are slow): both modes learn the labels, runs are reproducible, the report is
/// complete and written atomically, and bad inputs give clear errors.
final class EvalPipelineTests: XCTestCase {
    static let tiny = ViTConfig(name: "tiny", dim: 16, depth: 1, heads: 2, predDim: 16, predDepth: 1, predHeads: 2,
                                patchSize: 25, channels: 12, mlpRatio: 2)

    /// 120 records of 500 samples (1 s). Label "big" = lead 0 sits on a +1.5 mV baseline; label
    /// "fast" = lead 1 carries a rectified 40 Hz wave instead of a slow 3 Hz sine. Both survive
    /// averaging over patches, so even a probe on a RANDOM frozen encoder can read them (a zero-mean
    /// oscillation would average out in the near-uniform attention of an untrained probe). Folds 1..10 round robin. A second task "one" has a
    /// single label that is positive everywhere (undefined AUC: must be reported, not crash).
    func makeDataset() throws -> EvalDataset {
        let n = 120, T = 500, C = 12
        var rng = SplitMix64(seed: 11, stream: 0)
        var signals = [Float](repeating: 0, count: n * T * C)
        var labels = [UInt8](repeating: 0, count: n * 2)
        var folds: [Int] = []
        for i in 0..<n {
            let big = rng.nextInt(below: 2) == 1, fast = rng.nextInt(below: 2) == 1
            labels[i * 2] = big ? 1 : 0
            labels[i * 2 + 1] = fast ? 1 : 0
            if !big && !fast { labels[i * 2] = 0 }  // all-zero rows are allowed (dropped from the task)
            folds.append(1 + i % 10)
            for t in 0..<T {
                let time = Float(t) / 500
                for c in 0..<C { signals[(i * T + t) * C + c] = 0.1 * rng.nextNormal() }
                signals[(i * T + t) * C] += (big ? 1.5 : 0) + 0.3 * sin(2 * .pi * 10 * time)
                signals[(i * T + t) * C + 1] += fast ? 2 * abs(sin(2 * .pi * 40 * time)) : sin(2 * .pi * 3 * time)
            }
        }
        let tasks = [EvalTask(name: "synth", labelNames: ["big", "fast"], labels: labels),
                     EvalTask(name: "one", labelNames: ["always"], labels: [UInt8](repeating: 1, count: n))]
        return try signals.withUnsafeBufferPointer {
            try EvalDataset(source: "synthetic-test", signals: $0.baseAddress!, count: n, recordLength: T, channels: C,
                            folds: folds, tasks: tasks, channelMean: [Float](repeating: 0, count: C),
                            channelStd: [Float](repeating: 1, count: C))
        }
    }

    func options(_ modes: [EvalMode]) -> EvalOptions {
        var o = EvalOptions()
        o.modes = modes
        o.seeds = 2
        o.linearSteps = 100
        o.finetuneSteps = 30
        o.batchSize = 12
        o.validateEvery = 10
        o.cropsPerRecord = 2
        o.encodeBatchCrops = 16
        o.cropSamples = 250   // 3 evaluation windows per 1 s record
        o.linearLR = 1e-2     // few steps: a larger probe LR
        return o
    }

    func randomEncoder(seed: UInt64) -> [Float] {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: Self.tiny, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: seed)
        return Array(UnsafeBufferPointer(start: store.values, count: store.count))
    }

    func testBothModesLearnAndReportEveryTask() throws {
        let data = try makeDataset()
        XCTAssertEqual(try evalCropPlan(recordLength: 500, patchSize: 25, cropSamples: 250).evalOffsets, [0, 125, 250])
        let weights = randomEncoder(seed: 5)
        let report = try weights.withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: options([.linear, .finetune]),
                         checkpoint: "random", randomInit: true)
        }
        XCTAssertEqual(report.results.map { "\($0.task)/\($0.mode.rawValue)" },
                       ["synth/linear", "one/linear", "synth/finetune", "one/finetune"])
        for r in report.results where r.task == "synth" {
            XCTAssertEqual(r.seeds.count, 2)
            XCTAssertEqual(r.trainRecords + r.valRecords + r.testRecords, data.split(data.tasks[0]).train.count
                           + data.split(data.tasks[0]).val.count + data.split(data.tasks[0]).test.count)
            let test = try XCTUnwrap(r.test.mean, "\(r.mode)")
            print("synthetic \(r.mode.rawValue): val \(r.val.formatted) test \(r.test.formatted)", r.seeds.map { ($0.finalTrainLoss, $0.bestStep, $0.testPerLabel) })
            XCTAssertGreaterThan(test, 0.75, "\(r.mode) should learn amplitude/frequency labels")
            XCTAssertTrue(r.seeds.allSatisfy { $0.finalTrainLoss.isFinite && $0.bestStep > 0 })
        }
        for r in report.results where r.task == "one" {
            XCTAssertNil(r.test.mean)  // single always-positive label: AUC undefined, reported as n/a
            XCTAssertEqual(r.seeds.first?.testSkippedLabels, ["always"])
        }
        XCTAssertTrue(report.markdown.contains("| synth | linear | 2 |"))
        XCTAssertTrue(report.markdown.contains("n/a"))
        XCTAssertNotNil(report.metrics["eval/synth/finetune/test_auc"])
    }

    /// The linear probe's cached-feature path must give the same record logits as running the
    /// encoder on the evaluation windows directly (the fine-tuning path).
    func testCachedFeaturesMatchDirectEncoding() throws {
        let data = try makeDataset()
        let config = Self.tiny
        var o = options([.linear])
        o.cropsPerRecord = 3
        let plan = try evalCropPlan(recordLength: data.recordLength, patchSize: 25, cropSamples: o.cropSamples)
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        let probe = AttentiveProbe(dim: config.dim, heads: config.heads, labels: 2, layout: &layout, prefix: "probe.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: 4)
        probe.initialize(store.values, seed: 4)
        let features = try FrozenFeatures(encoder: encoder, weights: store.values, data: data, plan: plan, options: o, log: nil)
        let split = data.split(data.tasks[0])
        let cached = recordLogitsLinear(probe: probe, weights: store.values, features: features, labelCount: 2,
                                        records: split.test, recordsPerChunk: 5)
        let direct = recordLogitsEncoder(encoder: encoder, probe: probe, weights: store.values, data: data, plan: plan,
                                         labelCount: 2, records: split.test, batchCrops: 7)
        assertClose(cached, direct, rtol: 1e-4, "cached features vs direct encoder")
        // Training pool: crop k of a record is the encoder output of the crop at its recorded offset.
        let record = split.train[3]
        var slot = 0
        for i in 0..<data.count where (1...8).contains(data.folds[i]) { if i == record { break }; slot += 1 }
        let offset = plan.trainingOffset(seed: o.baseSeed, counter: UInt64(slot * 3 + 2))
        let crop = UnsafeMutablePointer<Float>.allocate(capacity: plan.cropLength * 12)
        defer { crop.deallocate() }
        copyCrop(record: data.signal(record), offset: offset, cropLength: plan.cropLength, channels: 12, into: crop)
        let out = encoder.forward(weights: store.values, input: crop, batch: 1, samples: plan.cropLength)
        let pooled = features.trainTokens(record: record, crop: 2)
        assertClose(Array(UnsafeBufferPointer(start: pooled, count: features.crop)), Array(UnsafeBufferPointer(start: out, count: features.crop)), rtol: 1e-4)
    }

    func testRunsAreReproducibleAndSeedsDiffer() throws {
        let data = try makeDataset()
        let weights = randomEncoder(seed: 9)
        var o = options([.linear])
        o.tasks = ["synth"]
        o.linearSteps = 20
        let a = try weights.withUnsafeBufferPointer { try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o) }
        let b = try weights.withUnsafeBufferPointer { try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o) }
        XCTAssertEqual(a.results[0].seeds.map(\.finalTrainLoss), b.results[0].seeds.map(\.finalTrainLoss))
        XCTAssertEqual(a.results[0].seeds.map(\.testPerLabel), b.results[0].seeds.map(\.testPerLabel))
        XCTAssertNotEqual(a.results[0].seeds[0].finalTrainLoss, a.results[0].seeds[1].finalTrainLoss)
    }

    func testReportFilesAreWrittenAndParse() throws {
        let data = try makeDataset()
        let weights = randomEncoder(seed: 2)
        var o = options([.linear])
        o.tasks = ["synth"]
        o.seeds = 1
        o.linearSteps = 5
        let report = try weights.withUnsafeBufferPointer { try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o) }
        let dir = NSTemporaryDirectory() + "eval-report-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try report.write(toDirectory: dir)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/eval.json"))) as? [String: Any]
        let results = try XCTUnwrap(json?["results"] as? [[String: Any]])
        XCTAssertEqual(results.first?["task"] as? String, "synth")
        XCTAssertEqual(try String(contentsOfFile: dir + "/eval.md", encoding: .utf8), report.markdown)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    func testBadInputsThrowClearErrors() throws {
        let data = try makeDataset()
        let weights = randomEncoder(seed: 2)
        var o = options([.linear])
        o.tasks = ["rhythm"]
        XCTAssertThrowsError(try weights.withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o)
        }) { XCTAssertTrue("\($0)".contains("no labels/rhythm"), "\($0)") }
        o.tasks = []
        XCTAssertThrowsError(try weights.dropLast(10).withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o, checkpoint: "ck.bin")
        }) { XCTAssertTrue("\($0)".contains("ck.bin"), "\($0)") }
        o.seeds = 0
        XCTAssertThrowsError(try weights.withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: Self.tiny, data: data, options: o)
        }) { XCTAssertTrue("\($0)".contains("--seeds"), "\($0)") }
        XCTAssertThrowsError(try [Float](repeating: 0, count: 10).withUnsafeBufferPointer {
            try EvalDataset(source: "x.h5", signals: $0.baseAddress!, count: 1, recordLength: 5, channels: 2, folds: [1],
                            tasks: [EvalTask(name: "t", labelNames: ["a"], labels: [1, 0])],
                            channelMean: [0, 0], channelStd: [1, 1])
        }) { XCTAssertTrue("\($0)".contains("x.h5") && "\($0)".contains("labels/t"), "\($0)") }
    }
}
