import Foundation
import Model

// What a pre-training checkpoint holds: a training-state file (TrainingStateFormat.swift) with
//   metadata  format = "ecg-dist-pretrain-v1", step, adam_step, config (PretrainConfig JSON),
//             model (ViTConfig JSON), rng (a note: masks, shuffles and crops are functions of
//             (seed, step), so the step is all the RNG state there is)
//   sections  params (JEPA online parameters: encoder then predictor), target (EMA encoder),
//             adam.m, adam.v (AdamW moments)
// The trainer's CheckpointStore decides where checkpoints go and how many are kept; this file
// decides what is inside, and the `checkpoint` tools (diff, export) read it.

public enum PretrainCheckpoint {
    public static let format = "ecg-dist-pretrain-v1"

    /// Writes the complete training state of `model` and `optimizer` at `step` to `path`, atomically.
    /// `configJSON` is the run's PretrainConfig (stored so a run can be inspected and resumed).
    public static func write(to path: String, step: Int, configJSON: String, seed: UInt64,
                             model: JEPAModel, optimizer: AdamW) throws {
        let metadata: [String: String] = [
            "format": format,
            "step": String(step),
            "adam_step": String(optimizer.stepCount),
            "config": configJSON,
            "model": try TrainingStateWriter.metadataString(model.config),
            "rng": "stateless: masks, shuffles and crops derive from (seed \(seed), step)",
        ]
        let sections = [
            TrainingStateSection(name: "params", pointer: model.params.values, count: model.params.count),
            TrainingStateSection(name: "target", pointer: model.target.values, count: model.target.count),
            TrainingStateSection(name: "adam.m", pointer: optimizer.m, count: optimizer.count),
            TrainingStateSection(name: "adam.v", pointer: optimizer.v, count: optimizer.count),
        ]
        try AtomicFile.write(to: path) { emit in
            try TrainingStateWriter.write(metadata: metadata, sections: sections, to: emit)
        }
    }

    /// Restores `model` and `optimizer` from checkpoint `bytes` (read from `path`) and returns the
    /// step it was written at. The checkpoint's model must equal `model.config`.
    public static func restore(_ bytes: [UInt8], path: String, into model: JEPAModel, optimizer: AdamW,
                               modelFlag: String) throws -> Int {
        let ckpt = try TrainingState(bytes: bytes, source: path)
        guard ckpt.metadata["format"] == format else {
            throw FileError(path, "not an ecg-dist pre-training checkpoint (format \(ckpt.metadata["format"] ?? "missing"))")
        }
        let vit = try ckpt.decodeMetadata(ViTConfig.self, key: "model")
        guard vit == model.config else {
            throw FileError(path, "checkpoint model \(vit.name) does not match --model \(modelFlag)")
        }
        guard let step = Int(ckpt.metadata["step"] ?? ""), let adamStep = Int(ckpt.metadata["adam_step"] ?? "") else {
            throw FileError(path, "checkpoint metadata has no step")
        }
        try ckpt.copy("params", into: model.params.values, count: model.params.count)
        try ckpt.copy("target", into: model.target.values, count: model.target.count)
        try ckpt.copy("adam.m", into: optimizer.m, count: optimizer.count)
        try ckpt.copy("adam.v", into: optimizer.v, count: optimizer.count)
        optimizer.stepCount = adamStep
        return step
    }

    /// How one section of two checkpoints differs.
    public struct SectionDiff: Equatable {
        public let name: String
        /// Largest |a - b| over the section; infinity when NaNs differ.
        public let maxAbsDifference: Double
        public let bitIdentical: Bool
    }

    /// Compares every section of `a` with the same section of `b` (same float counts required).
    public static func diff(_ a: TrainingState, _ b: TrainingState) throws -> [SectionDiff] {
        try a.sectionNames.map { name in
            guard b.count(of: name) == a.count(of: name) else {
                throw FileError(a.source, "section \(name) has \(a.count(of: name)!) floats here but "
                                        + "\(b.count(of: name).map(String.init) ?? "none") in \(b.source)")
            }
            let x = try a.values(name), y = try b.values(name)
            var maxDiff = 0.0, identical = true
            for i in 0..<x.count {
                if x[i].bitPattern != y[i].bitPattern { identical = false }
                maxDiff = max(maxDiff, Double(abs(x[i] - y[i])))
            }
            if maxDiff.isNaN || x.contains(where: \.isNaN) != y.contains(where: \.isNaN) { maxDiff = .infinity }
            return SectionDiff(name: name, maxAbsDifference: maxDiff, bitIdentical: identical)
        }
    }

    /// Exports the encoder of checkpoint `path` as safetensors at `out` with PyTorch-style names
    /// (no `encoder.` prefix): the EMA target encoder, or with `online` the trained context encoder.
    /// Returns the encoder's config and the metadata written.
    @discardableResult
    public static func exportEncoder(checkpoint path: String, online: Bool, to out: String) throws
    -> (config: ViTConfig, metadata: [String: String]) {
        let state = try TrainingState(contentsOfFile: path)
        let vit = try state.decodeMetadata(ViTConfig.self, key: "model")
        try EncoderCheckpoint.checkFileConfig(vit, path: path, key: "model")
        let jepa = JEPAModel(config: vit, samples: 1250)
        // The JEPA store starts with the encoder under "encoder.", so one buffer serves both sections.
        let section = online ? "params" : "target"
        let count = online ? jepa.params.count : jepa.target.count
        try state.copy(section, into: jepa.params.values, count: count)
        // The checkpoint's file name, not its path: an exported file is shared, and a path would
        // leak the exporting machine's directory layout (and mean nothing elsewhere).
        let sourceName = URL(fileURLWithPath: path).lastPathComponent
        var metadata = ["model": try TrainingStateWriter.metadataString(vit), "source": sourceName,
                        "encoder": online ? "online" : "ema-target"]
        metadata["step"] = state.metadata["step"]
        try Safetensors.write(layout: jepa.target.layout, values: jepa.params.values, prefix: "encoder.",
                              metadata: metadata, toFile: out)
        return (vit, metadata)
    }
}
