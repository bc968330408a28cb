import Foundation
import Model
import ModelIO

/// Rank 0's checkpoints: `<out>/checkpoints/step-00001000.ckpt`, each a complete pre-training
/// checkpoint (Model/Checkpoints/PretrainCheckpoint.swift: config, step, parameters, EMA target,
/// AdamW moments) written atomically, keeping the newest `keep`. Masks, shuffles and crops are
/// functions of (seed, step), so resuming at a different number of ranks is exact.
public struct CheckpointStore {
    public let directory: String
    public let keep: Int

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
        try PretrainCheckpoint.write(to: path(step: state.step), step: state.step, configJSON: state.config.json(),
                                     seed: state.config.seed, model: state.model, optimizer: state.optimizer)
        for old in list().dropLast(keep) { try? FileManager.default.removeItem(atPath: old) }
    }

    func load(_ bytes: [UInt8], path: String, into state: TrainerState) throws {
        state.step = try PretrainCheckpoint.restore(bytes, path: path, into: state.model, optimizer: state.optimizer,
                                                    modelFlag: state.config.model)
    }
}
