import Foundation
import XCTest
@testable import Evaluation
import Model
import ModelIO

/// The classifier file: what eval writes is what predict reads (weights and description), and
/// files of another kind are refused naming the field.
final class ClassifierFileTests: XCTestCase {
    static let tiny = ViTConfig(name: "tiny", dim: 16, depth: 1, heads: 2, predDim: 16, predDepth: 1, predHeads: 2,
                                patchSize: 25, channels: 12, mlpRatio: 2)

    func description() -> ClassifierDescription {
        let plan = CropPlan.ptbxl
        return ClassifierDescription(task: "rhythm", mode: "linear", seed: 3, labelNames: ["SR", "AFIB"],
                                     leadNames: ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"],
                                     samplingRate: 500, channelMean: (0..<12).map { Float($0) * 0.01 },
                                     channelStd: (0..<12).map { 0.1 + Float($0) / 3 }, clipSigma: 5,
                                     recordLength: plan.recordLength, cropSamples: plan.cropLength, evalStride: plan.evalStride,
                                     evalOffsets: plan.evalOffsets, valAUC: 0.5, testAUC: nil, bestStep: 100,
                                     encoderSource: "random-init", corpus: "x.h5")
    }

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return "\(dir)/\(name)"
    }

    func testRoundTripKeepsWeightsAndDescription() throws {
        let network = ClassifierNetwork(config: Self.tiny, labels: 2)
        let weights = (0..<network.layout.count).map { Float($0 % 97) * 0.001 - 0.03 }
        let path = temporaryPath("c.safetensors")
        try weights.withUnsafeBufferPointer {
            try ClassifierFile.write(path: path, config: Self.tiny, description: description(), weights: $0.baseAddress!)
        }
        let loaded = try ClassifierFile.load(path: path)
        XCTAssertEqual(loaded.weights, weights)
        XCTAssertEqual(loaded.description, description())
        XCTAssertEqual(loaded.config, Self.tiny)
    }

    func testEncoderExportIsNotAClassifier() throws {
        let path = temporaryPath("encoder.safetensors")
        let encoder = EncoderCheckpoint.random(config: Self.tiny, seed: 1)
        var layout = ParameterLayout()
        _ = ViTEncoder(config: Self.tiny, layout: &layout, prefix: "encoder.")
        try encoder.values.withUnsafeBufferPointer {
            try Safetensors.write(layout: layout, values: $0.baseAddress!, prefix: "encoder.",
                                  metadata: ["config": try TrainingStateWriter.metadataString(Self.tiny)], toFile: path)
        }
        XCTAssertThrowsError(try ClassifierFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("field 'format' is missing"), "\(error)")
        }
    }

    func testInconsistentDescriptionIsRefused() throws {
        var d = description()
        d.channelStd = [1, 2]
        let network = ClassifierNetwork(config: Self.tiny, labels: 2)
        let weights = [Float](repeating: 0, count: network.layout.count)
        let path = temporaryPath("bad.safetensors")
        try weights.withUnsafeBufferPointer {
            try ClassifierFile.write(path: path, config: Self.tiny, description: d, weights: $0.baseAddress!)
        }
        XCTAssertThrowsError(try ClassifierFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("classifier.channelMean/channelStd"), "\(error)")
        }
    }
}
