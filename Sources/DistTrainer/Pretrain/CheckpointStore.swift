import Foundation
import Model

/// Rank 0's checkpoints: `<out>/checkpoints/step-00001000.ckpt`, each a complete training state
/// (config, step, parameters, EMA target, AdamW moments) written atomically (temp file, fsync,
/// rename), keeping the newest `keep`. Masks, shuffles and crops are functions of (seed, step), so
/// the step is all the RNG state there is, and resuming at a different number of ranks is exact.
public struct CheckpointStore {
    public let directory: String
    public let keep: Int
    static let format = "ecg-dist-pretrain-v1"

    public init(directory: String, keep: Int) {
        self.directory = directory
        self.keep = keep
    }

    public func path(step: Int) -> String { directory + String(format: "/step-%08d.ckpt", step) }

    /// Checkpoint files, oldest first.
    public func list() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".ckpt") }.sorted().map { directory + "/" + $0 }
    }

    public func latest() -> String? { list().last }

    func save(_ state: TrainerState) throws {
        let model = state.model
        let metadata: [String: String] = [
            "format": CheckpointStore.format,
            "step": String(state.step),
            "adam_step": String(state.optimizer.stepCount),
            "config": state.config.json(),
            "model": try TrainingStateWriter.metadataString(state.vit),
            "rng": "stateless: masks, shuffles and crops derive from (seed \(state.config.seed), step)",
        ]
        let sections = [
            TrainingStateSection(name: "params", pointer: model.params.values, count: model.params.count),
            TrainingStateSection(name: "target", pointer: model.target.values, count: model.target.count),
            TrainingStateSection(name: "adam.m", pointer: state.optimizer.m, count: state.optimizer.count),
            TrainingStateSection(name: "adam.v", pointer: state.optimizer.v, count: state.optimizer.count),
        ]
        let target = path(step: state.step)
        try AtomicFile.write(to: target) { emit in
            try TrainingStateWriter.write(metadata: metadata, sections: sections, to: emit)
        }
        for old in list().dropLast(keep) { try? FileManager.default.removeItem(atPath: old) }
    }

    func load(_ bytes: [UInt8], path: String, into state: TrainerState) throws {
        let ckpt = try TrainingState(bytes: bytes, source: path)
        guard ckpt.metadata["format"] == CheckpointStore.format else {
            throw FileError(path, "not an ecg-dist pre-training checkpoint (format \(ckpt.metadata["format"] ?? "missing"))")
        }
        let vit = try ckpt.decodeMetadata(ViTConfig.self, key: "model")
        guard vit == state.vit else {
            throw FileError(path, "checkpoint model \(vit.name) does not match --model \(state.config.model)")
        }
        guard let step = Int(ckpt.metadata["step"] ?? ""), let adamStep = Int(ckpt.metadata["adam_step"] ?? "") else {
            throw FileError(path, "checkpoint metadata has no step")
        }
        let model = state.model
        try ckpt.copy("params", into: model.params.values, count: model.params.count)
        try ckpt.copy("target", into: model.target.values, count: model.target.count)
        try ckpt.copy("adam.m", into: state.optimizer.m, count: state.optimizer.count)
        try ckpt.copy("adam.v", into: state.optimizer.v, count: state.optimizer.count)
        state.optimizer.stepCount = adamStep
        state.step = step
    }
}
