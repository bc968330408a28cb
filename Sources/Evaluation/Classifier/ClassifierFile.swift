import ECGData
import Foundation
import Model
import ModelIO

// A saved classifier: everything `ecg-dist predict` needs to turn raw ECGs into the probabilities
// the evaluation measured, in ONE safetensors file (written atomically):
//   tensors   encoder.* (the ViT, frozen or fine-tuned) and probe.* (the attentive probe), the flat
//             layout of `ClassifierNetwork` — the same one fine-tuning trains;
//   metadata  "format" = "ecg-dist-classifier", "format_version", "config" (the ViTConfig JSON, the
//             key encoder exports use too) and "classifier" (a `ClassifierDescription` JSON: task,
//             label names, lead names, sampling rate, the normalisation statistics and clip, the
//             crop plan, and where the model came from).
// The encoder's weights are stored even for the linear probe on a frozen encoder: the file then
// stands alone (no reference to a checkpoint that may move or change), at the cost of one encoder
// copy per file.

/// The network of a classifier: encoder at offset 0 (the standalone encoder's layout), then the probe.
public struct ClassifierNetwork {
    public let layout: ParameterLayout
    public let encoder: ViTEncoder
    public let probe: AttentiveProbe

    public init(config: ViTConfig, labels: Int) {
        var layout = ParameterLayout()
        encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        probe = AttentiveProbe(dim: config.dim, heads: config.heads, labels: labels, layout: &layout, prefix: "probe.")
        self.layout = layout
    }

    public var encoderCount: Int { encoder.parameterRange.upperBound }
    public var probeRange: Range<Int> { probe.parameterRange }
}

/// What a classifier file says about its model besides the weights.
public struct ClassifierDescription: Codable, Sendable, Equatable {
    public var task: String
    public var mode: String
    public var seed: UInt64
    public var labelNames: [String]
    /// Input leads in the model's channel order.
    public var leadNames: [String]
    public var samplingRate: Int
    /// Per-lead z-score statistics (mV) and the clip applied after it (in standard deviations).
    public var channelMean: [Float]
    public var channelStd: [Float]
    public var clipSigma: Float
    /// Samples of one record as the model sees it (10 s at 500 Hz) and the crop plan over it.
    public var recordLength: Int
    public var cropSamples: Int
    public var evalStride: Int
    public var evalOffsets: [Int]
    public var valAUC: Double?
    public var testAUC: Double?
    public var bestStep: Int
    /// The encoder the evaluation started from (checkpoint path or "random-init") and the corpus.
    public var encoderSource: String
    public var corpus: String

    public var cropPlan: CropPlan { CropPlan(recordLength: recordLength, cropLength: cropSamples, evalStride: evalStride) }
}

public struct ClassifierFile {
    public static let format = "ecg-dist-classifier"
    public static let formatVersion = "1"

    public let path: String
    public let config: ViTConfig
    public let description: ClassifierDescription
    /// Flat values of `ClassifierNetwork(config:labels:)`.
    public let weights: [Float]

    /// Writes a classifier atomically. `weights` is the flat buffer of `ClassifierNetwork(config, labels)`.
    public static func write(path: String, config: ViTConfig, description: ClassifierDescription,
                             weights: UnsafePointer<Float>) throws {
        let network = ClassifierNetwork(config: config, labels: description.labelNames.count)
        let metadata = ["format": format, "format_version": formatVersion,
                        "config": try TrainingStateWriter.metadataString(config),
                        "classifier": try TrainingStateWriter.metadataString(description)]
        try Safetensors.write(layout: network.layout, values: weights, prefix: "", metadata: metadata, toFile: path)
    }

    /// Reads and checks a classifier file; every refusal names the file and the field.
    public static func load(path: String) throws -> ClassifierFile {
        guard FileManager.default.fileExists(atPath: path) else { throw FileError(path, "no such file") }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOfFile: path) } catch {
            throw FileError(path, "not an ecg-dist classifier: not a readable safetensors file (\(error)); classifiers are written by `ecg-dist eval --out DIR`")
        }
        guard let kind = file.metadata["format"] else {
            let hint = file.metadata["config"] != nil ? " (it looks like an encoder export: classifiers also hold a probe, label names and normalisation)" : ""
            throw FileError(path, "not an ecg-dist classifier: metadata field 'format' is missing\(hint)")
        }
        guard kind == format else { throw FileError(path, "not an ecg-dist classifier: metadata field 'format' is '\(kind)', expected '\(format)'") }
        guard file.metadata["format_version"] == formatVersion else {
            throw FileError(path, "metadata field 'format_version' is '\(file.metadata["format_version"] ?? "")'; this ecg-dist reads version \(formatVersion)")
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key] else { throw FileError(path, "metadata field '\(key)' is missing") }
            do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
                throw FileError(path, "metadata field '\(key)' is not valid: \(error)")
            }
        }
        let config = try decode(ViTConfig.self, "config")
        do { try config.validate() } catch { throw FileError(path, "metadata field 'config': \(error)") }
        let description = try decode(ClassifierDescription.self, "classifier")
        try check(description, config: config, path: path)
        let network = ClassifierNetwork(config: config, labels: description.labelNames.count)
        var weights = [Float](repeating: 0, count: network.layout.count)
        let report = try weights.withUnsafeMutableBufferPointer {
            try file.load(into: $0.baseAddress!, layout: network.layout, prefix: "")
        }
        guard report.unused.isEmpty else {
            throw FileError(path, "tensors not part of a \(config.name) classifier with \(description.labelNames.count) labels: \(report.unused.prefix(5).joined(separator: ", "))")
        }
        return ClassifierFile(path: path, config: config, description: description, weights: weights)
    }

    static func check(_ d: ClassifierDescription, config: ViTConfig, path: String) throws {
        func bad(_ field: String, _ message: String) -> FileError { FileError(path, "metadata field 'classifier.\(field)' \(message)") }
        guard !d.labelNames.isEmpty else { throw bad("labelNames", "is empty") }
        guard d.leadNames.count == config.channels else {
            throw bad("leadNames", "has \(d.leadNames.count) leads, the \(config.name) encoder takes \(config.channels)")
        }
        guard d.channelMean.count == d.leadNames.count, d.channelStd.count == d.leadNames.count else {
            throw bad("channelMean/channelStd", "have \(d.channelMean.count)/\(d.channelStd.count) values for \(d.leadNames.count) leads")
        }
        guard d.channelStd.allSatisfy({ $0.isFinite && $0 > 0 }), d.channelMean.allSatisfy(\.isFinite) else {
            throw bad("channelStd", "must be finite and > 0 (and channelMean finite)")
        }
        guard d.samplingRate == ECGPreprocessing.samplingRate else {
            throw bad("samplingRate", "is \(d.samplingRate) Hz; predict prepares records at \(ECGPreprocessing.samplingRate) Hz")
        }
        guard d.cropSamples > 0, d.cropSamples <= d.recordLength, d.evalStride > 0, d.cropSamples % config.patchSize == 0 else {
            throw bad("cropSamples", "(\(d.cropSamples)) does not fit records of \(d.recordLength) samples and \(config.patchSize)-sample patches")
        }
        guard d.cropPlan.evalOffsets == d.evalOffsets else {
            throw bad("evalOffsets", "\(d.evalOffsets) disagree with the crop plan (\(d.cropPlan.evalOffsets))")
        }
        guard d.clipSigma > 0 else { throw bad("clipSigma", "must be positive") }
    }
}
