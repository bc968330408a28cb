import Foundation
import Model

/// Everything that defines a pre-training run. Defaults are the paper's recipe (Weimann & Conrad
/// 2024): ViT-XS, 100k steps, global batch 2048, LR warmup 1e-6→1e-3 over 10k steps then cosine to
/// 1e-6, weight decay cosine 0.01→0.1, EMA momentum 0.998→0.9995. The config is stored in every
/// checkpoint; flags and an optional JSON config file override these values.
public struct PretrainConfig: Codable, Equatable, Sendable {
    public var data: [String] = []
    public var out: String = "runs/pretrain"
    public var model: String = "vit-xs"
    public var steps: Int = 100_000
    public var globalBatch: Int = 2048
    /// Largest batch one rank pushes through the model at once; a bigger per-rank share of the
    /// global batch is split into micro-batches whose gradients accumulate before the all-reduce.
    public var microBatch: Int = 64
    public var seed: UInt64 = 0
    public var cropSeconds: Double = 10
    /// Masking: the visible fraction is drawn from U[maskMinKeep, maskMaxKeep]; every masked block
    /// is at least maskMinBlock patches long (paper: 0.15, 0.25, 10).
    public var maskMinKeep: Double = 0.15
    public var maskMaxKeep: Double = 0.25
    public var maskMinBlock: Int = 10
    /// One visible count per step but a block layout per sample, as the paper's code draws them
    /// (true, the default), or one mask shared by the whole global batch (false).
    public var maskPerSample: Bool = true
    /// Weight initialisation: "paper" (the reference code's: Xavier encoder, scaled trunc-normal
    /// predictor) or "ijepa" (trunc-normal everywhere, per-layer residual scaling). Model/WeightInit.swift.
    public var initScheme: String = WeightInitScheme.paper.rawValue
    /// Train the LayerNorm biases (false = kept at zero, the paper's bias-free norms).
    public var layerNormBias = false
    public var warmupSteps: Int = 10_000
    public var lrStart: Double = 1e-6
    public var lrPeak: Double = 1e-3
    public var lrEnd: Double = 1e-6
    public var weightDecayStart: Double = 0.01
    public var weightDecayEnd: Double = 0.1
    public var emaStart: Double = 0.998
    public var emaEnd: Double = 0.9995
    /// Global gradient-norm clipping threshold; 0 disables it (the paper's recipe does not clip).
    public var gradClip: Double = 0
    public var checkpointEvery: Int = 1000
    public var keepCheckpoints: Int = 3
    /// Every this many steps all ranks compare checksums of parameters and EMA weights.
    public var verifyEvery: Int = 100
    public var logEvery: Int = 10
    /// Rank 0 evaluates on `evalData` every this many steps (0 = never); other ranks wait.
    public var evalEvery: Int = 0
    public var evalData: String? = nil
    public var evalTask: String = "superdiagnostic"
    public var evalSteps: Int = 200
    /// Leakage guard: corpora whose held-out folds no pre-training record may equal (content hash).
    /// Empty = `evalData` when set. Records found stop the run unless `dropHoldoutDuplicates`.
    public var holdout: [String] = []
    public var holdoutFolds: [Int32] = [9, 10]
    public var dropHoldoutDuplicates = false
    /// Floats per gradient all-reduce bucket.
    public var bucketFloats: Int = 1 << 19
    /// Microseconds between the gradient thread's MPI_Test polls (docs/scaling.md).
    public var allReducePollMicroseconds = Int(GradientAllReducer.defaultPollMicroseconds)

    public init() {}

    public var cropSamples: Int { Int((cropSeconds * 500).rounded()) }
    /// An hour: far beyond any ECG record a corpus holds, far below what overflows `cropSamples`.
    static let longestCropSeconds = 3600.0

    /// Loads a JSON config file; unknown keys are an error (a typo must not silently do nothing).
    public static func load(path: String) throws -> PretrainConfig {
        try parse(try readFileBytes(path), path: path)
    }

    /// Parses the bytes of a JSON config file read from `path` (named in errors).
    public static func parse(_ bytes: [UInt8], path: String) throws -> PretrainConfig {
        let data = Data(bytes)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FileError(path, "config is not a JSON object")
        }
        let known = Set(PretrainConfig().asDictionary().keys)
        let unknown = object.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty { throw FileError(path, "unknown config keys: \(unknown.joined(separator: ", "))") }
        // Start from the defaults and overlay the file's keys.
        var merged = PretrainConfig().asDictionary()
        for (k, v) in object { merged[k] = v }
        do {
            let bytes = try JSONSerialization.data(withJSONObject: merged)
            return try JSONDecoder().decode(PretrainConfig.self, from: bytes)
        } catch {
            throw FileError(path, "invalid config value: \(error)")
        }
    }

    func asDictionary() -> [String: Any] {
        let enc = JSONEncoder()
        let bytes = try! enc.encode(self)
        var dict = (try! JSONSerialization.jsonObject(with: bytes)) as! [String: Any]
        if evalData == nil { dict["evalData"] = NSNull() }
        return dict
    }

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    /// Checks values that would otherwise fail deep inside training.
    public func validate() throws {
        func bad(_ m: String) -> FileError { FileError("pretrain config", m) }
        if data.isEmpty { throw bad("no --data corpus given") }
        _ = try DataSpec.weights(try data.map(DataSpec.init))
        if steps < 1 { throw bad("--steps must be ≥ 1") }
        if globalBatch < 1 { throw bad("--global-batch must be ≥ 1") }
        if microBatch < 1 { throw bad("--micro-batch must be ≥ 1") }
        if warmupSteps < 0 { throw bad("--warmup-steps must be ≥ 0") }
        if checkpointEvery < 1 { throw bad("--checkpoint-every must be ≥ 1") }
        if keepCheckpoints < 1 { throw bad("--keep-checkpoints must be ≥ 1") }
        // Checked before cropSamples converts it to Int, which traps on a huge value.
        guard cropSeconds > 0, cropSeconds <= Self.longestCropSeconds else {
            throw bad("--crop-seconds must be > 0 and ≤ \(Int(Self.longestCropSeconds)) (got \(cropSeconds))")
        }
        if cropSamples % 25 != 0 { throw bad("--crop-seconds must give a multiple of 25 samples at 500 Hz") }
        guard maskMinKeep > 0, maskMinKeep <= maskMaxKeep, maskMaxKeep <= 1 else {
            throw bad("mask keep fractions must satisfy 0 < maskMinKeep ≤ maskMaxKeep ≤ 1 (got \(maskMinKeep), \(maskMaxKeep))")
        }
        if evalEvery > 0 && evalData == nil { throw bad("--eval-every needs --eval-data") }
        if WeightInitScheme(rawValue: initScheme) == nil {
            throw bad("--init must be \(WeightInitScheme.allCases.map(\.rawValue).joined(separator: " or ")), not '\(initScheme)'")
        }
        if bucketFloats < 1024 { throw bad("--bucket-floats must be ≥ 1024 (got \(bucketFloats))") }
    }
}
