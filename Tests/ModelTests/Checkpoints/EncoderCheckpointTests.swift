import Foundation
import XCTest
@testable import Model
@testable import ModelIO

/// Encoder weights for evaluation from pre-training checkpoints (EMA target preferred) and from
/// safetensors exports; clear errors for files that do not hold the encoder.
final class EncoderCheckpointTests: XCTestCase {
    let config = ViTConfig(name: "tiny", dim: 16, depth: 1, heads: 2, predDim: 16, predDepth: 1, predHeads: 2,
                           patchSize: 25, channels: 12, mlpRatio: 2)
    var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "eval-ckpt-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A JEPA-shaped state: online params (encoder first, then predictor) and a different target.
    func writeState(sections names: [String], metadata: [String: String]) throws -> (path: String, online: [Float], target: [Float]) {
        let jepa = JEPAModel(config: config, samples: 250)
        jepa.initialize(seed: 3)
        for i in 0..<jepa.target.count { jepa.target.values[i] = Float(i % 97) * 0.01 - 0.3 }  // ≠ online encoder
        var sections: [TrainingStateSection] = []
        if names.contains("params") { sections.append(TrainingStateSection(name: "params", pointer: jepa.params.values, count: jepa.params.count)) }
        if names.contains("target") { sections.append(TrainingStateSection(name: "target", pointer: jepa.target.values, count: jepa.target.count)) }
        let path = dir + "/state-\(names.joined(separator: "-")).ckpt"
        try AtomicFile.write(TrainingStateWriter.serialize(metadata: metadata, sections: sections), to: path)
        return (path, Array(UnsafeBufferPointer(start: jepa.params.values, count: jepa.target.count)),
                Array(UnsafeBufferPointer(start: jepa.target.values, count: jepa.target.count)))
    }

    func testPrefersTargetThenOnlineEncoder() throws {
        let meta = ["model": try TrainingStateWriter.metadataString(config), "config": "{\"model\":\"tiny\"}"]
        let both = try writeState(sections: ["params", "target"], metadata: meta)
        let a = try EncoderCheckpoint.load(path: both.path, model: nil)
        XCTAssertEqual(a.config, config)
        XCTAssertEqual(a.values, both.target)
        XCTAssertTrue(a.origin.contains("target"))
        XCTAssertEqual(a.values.count, encoderParameterCount(config))

        let online = try writeState(sections: ["params"], metadata: meta)
        let b = try EncoderCheckpoint.load(path: online.path, model: nil)
        XCTAssertEqual(b.values, online.online)
        XCTAssertNotEqual(b.values, both.target)
    }

    func testSafetensorsExportRoundTrip() throws {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: 8)
        let path = dir + "/enc.safetensors"
        try Safetensors.write(layout: layout, values: store.values, prefix: "encoder.",
                              metadata: ["model": try TrainingStateWriter.metadataString(config)], toFile: path)
        let loaded = try EncoderCheckpoint.load(path: path, model: nil)
        XCTAssertEqual(loaded.values, Array(UnsafeBufferPointer(start: store.values, count: store.count)))
    }

    func testErrorsNameTheFileAndTheProblem() throws {
        let noConfig = try writeState(sections: ["params", "target"], metadata: [:])
        XCTAssertThrowsError(try EncoderCheckpoint.load(path: noConfig.path, model: nil)) {
            XCTAssertTrue("\($0)".contains(noConfig.path) && "\($0)".contains("--model"), "\($0)")
        }
        // A vit-xs encoder cannot come out of a tiny model's sections.
        XCTAssertThrowsError(try EncoderCheckpoint.load(path: noConfig.path, model: "vit-xs")) {
            XCTAssertTrue("\($0)".contains("no section holds a vit-xs encoder"), "\($0)")
        }
        let garbage = dir + "/garbage.ckpt"
        try AtomicFile.write("not a checkpoint", to: garbage)
        XCTAssertThrowsError(try EncoderCheckpoint.load(path: garbage, model: "vit-xs")) {
            XCTAssertTrue("\($0)".contains(garbage), "\($0)")
        }
        XCTAssertThrowsError(try EncoderCheckpoint.load(path: dir + "/missing.ckpt", model: nil)) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
    }

    /// What `ecg-dist checkpoint diff` and `export` do: a checkpoint equals itself bit for bit, one
    /// changed float shows up in its section only, and the exported encoder is the EMA target.
    func testPretrainCheckpointDiffAndExport() throws {
        let jepa = JEPAModel(config: config, samples: 250)
        jepa.initialize(seed: 5)
        let optimizer = AdamW(layout: jepa.layout)
        optimizer.stepCount = 7
        let first = dir + "/a.ckpt", second = dir + "/b.ckpt"
        try PretrainCheckpoint.write(to: first, step: 3, configJSON: "{}", seed: 5, model: jepa, optimizer: optimizer)
        let same = try PretrainCheckpoint.diff(TrainingState(contentsOfFile: first), TrainingState(contentsOfFile: first))
        XCTAssertEqual(same.map(\.name), ["params", "target", "adam.m", "adam.v"])
        XCTAssertTrue(same.allSatisfy { $0.bitIdentical && $0.maxAbsDifference == 0 })

        jepa.target.values[4] += 0.25
        try PretrainCheckpoint.write(to: second, step: 3, configJSON: "{}", seed: 5, model: jepa, optimizer: optimizer)
        let changed = try PretrainCheckpoint.diff(TrainingState(contentsOfFile: first), TrainingState(contentsOfFile: second))
        XCTAssertEqual(changed.filter { !$0.bitIdentical }.map(\.name), ["target"])
        XCTAssertEqual(changed.first { $0.name == "target" }!.maxAbsDifference, 0.25, accuracy: 1e-6)

        let restored = JEPAModel(config: config, samples: 250), restoredOptimizer = AdamW(layout: restored.layout)
        let step = try PretrainCheckpoint.restore(try readFileBytes(second), path: second, into: restored,
                                                  optimizer: restoredOptimizer, modelFlag: "tiny")
        XCTAssertEqual(step, 3)
        XCTAssertEqual(restoredOptimizer.stepCount, 7)
        XCTAssertEqual(restored.target.values[4], jepa.target.values[4])

        let exported = dir + "/enc.safetensors"
        let written = try PretrainCheckpoint.exportEncoder(checkpoint: second, online: false, to: exported)
        // An exported file is shared: it names its source checkpoint, never this machine's paths.
        XCTAssertEqual(written.metadata["source"], URL(fileURLWithPath: second).lastPathComponent)
        let storedMetadata = try SafetensorsFile(contentsOfFile: exported).metadata
        XCTAssertFalse(storedMetadata.values.contains { $0.contains(dir) }, "\(storedMetadata)")
        let encoder = try EncoderCheckpoint.load(path: exported, model: nil)
        XCTAssertEqual(encoder.values, Array(UnsafeBufferPointer(start: jepa.target.values, count: jepa.target.count)))
    }
}
