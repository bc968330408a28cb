import Foundation
import Model

// Getting encoder weights for evaluation out of what pre-training writes:
//   - a training-state checkpoint (TrainingStateFormat.swift): the EMA target encoder section is used
//     when present (I-JEPA evaluates the target encoder), otherwise the encoder prefix of the online
//     parameter section (the JEPA layout declares the encoder first);
//   - a safetensors export of the encoder (tensor names without the `encoder.` prefix).
// The architecture comes from the file's metadata (`config`, a ViTConfig JSON) or from --model.

public struct EncoderWeights {
    public var config: ViTConfig
    /// Flat buffer in the standalone encoder layout (see `encoderParameterCount`).
    public var values: [Float]
    /// Human-readable origin, e.g. `run/ckpt.bin [section target]`.
    public var origin: String
}

public enum EncoderCheckpoint {
    /// Section names tried in order for the encoder, best first.
    static let targetSections = ["target", "target_encoder", "ema", "target.values"]
    static let onlineSections = ["params", "parameters", "online", "params.values", "model"]
    static let configKeys = ["model", "vit", "model_config", "config"]

    /// Loads the encoder from `path`. `model` (a `ViTConfig` name) is required only when the file
    /// carries no config, and must agree with it otherwise.
    public static func load(path: String, model: String?) throws -> EncoderWeights {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path, "no such file")
        }
        if path.hasSuffix(".safetensors") { return try loadSafetensors(path: path, model: model) }
        return try loadTrainingState(path: path, model: model)
    }

    /// Random-init baseline: the same init pre-training starts from, with `seed`.
    public static func random(config: ViTConfig, seed: UInt64) -> EncoderWeights {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: seed)
        return EncoderWeights(config: config, values: Array(UnsafeBufferPointer(start: store.values, count: store.count)),
                              origin: "random init (seed \(seed))")
    }

    static func resolveConfig(path: String, metadata: [String: String], model: String?) throws -> ViTConfig {
        var fromFile: ViTConfig?
        for key in configKeys {
            guard let text = metadata[key] else { continue }
            if let c = try? JSONDecoder().decode(ViTConfig.self, from: Data(text.utf8)) { fromFile = c; break }
            if let c = try? ViTConfig.parse(text) { fromFile = c; break }
        }
        // A config from a file sizes every buffer of the model: it must be a sane one.
        if let file = fromFile { try checkFileConfig(file, path: path, key: "model") }
        switch (fromFile, model) {
        case let (file?, name?):
            let asked = try ViTConfig.parse(name)
            guard asked.name == file.name && asked.dim == file.dim && asked.depth == file.depth else {
                throw FileError(path, "checkpoint holds a \(file.name) encoder but --model \(name) was given")
            }
            return file
        case let (file?, nil): return file
        case let (nil, name?): return try ViTConfig.parse(name)
        case (nil, nil):
            throw FileError(path, "no model config in the file's metadata; pass --model (vit-xs, vit-s, vit-b)")
        }
    }

    static func loadTrainingState(path: String, model: String?) throws -> EncoderWeights {
        let state: TrainingState
        do { state = try TrainingState(contentsOfFile: path) } catch {
            throw FileError(path, "not a readable training state or .safetensors file (\(error))")
        }
        return try encoder(in: state, path: path, model: model)
    }

    /// The encoder inside an already parsed training state (read from `path`).
    public static func encoder(in state: TrainingState, path: String, model: String?) throws -> EncoderWeights {
        let config = try resolveConfig(path: path, metadata: state.metadata, model: model)
        let needed = encoderParameterCount(config)
        func pick(_ candidates: [String], exact: Bool) -> String? {
            for name in candidates {
                if let c = state.count(of: name), exact ? c == needed : c >= needed { return name }
            }
            return nil
        }
        // Exact-size target first; then an online parameter section that starts with the encoder.
        let byName = pick(targetSections, exact: true) ?? pick(onlineSections, exact: false)
        let fallback = state.sectionNames.first { $0.lowercased().contains("target") && state.count(of: $0) == needed }
        guard let section = byName ?? fallback else {
            let listing = state.sectionNames.map { "\($0) (\(state.count(of: $0) ?? 0))" }.joined(separator: ", ")
            throw FileError(path, "no section holds a \(config.name) encoder (\(needed) floats); sections: \(listing)")
        }
        let all = try state.values(section)
        return EncoderWeights(config: config, values: Array(all.prefix(needed)), origin: "\(path) [section \(section)]")
    }

    static func loadSafetensors(path: String, model: String?) throws -> EncoderWeights {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOfFile: path) } catch {
            throw FileError(path, "\(error)")
        }
        let config = try resolveConfig(path: path, metadata: file.metadata, model: model)
        var layout = ParameterLayout()
        _ = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        do {
            try file.load(into: store.values, layout: layout, prefix: "encoder.")
        } catch {
            throw FileError(path, "cannot load a \(config.name) encoder: \(error)")
        }
        return EncoderWeights(config: config, values: Array(UnsafeBufferPointer(start: store.values, count: store.count)),
                              origin: path)
    }

    /// Largest dimension a config read from a file may ask for: ViT-B is 768 wide and 12 deep;
    /// a corrupt or hostile file must not make the reader allocate terabytes or overflow a size.
    static let largestFileDimension = 1 << 14

    /// Throws unless `config` (metadata `key` of `path`) is valid and of a size a real encoder has.
    public static func checkFileConfig(_ config: ViTConfig, path: String, key: String) throws {
        do { try config.validate() } catch {
            throw FileError(path, "metadata '\(key)': \(error)")
        }
        let sizes = [config.dim, config.depth, config.heads, config.predDim, config.predDepth, config.predHeads,
                     config.patchSize, config.channels, config.mlpRatio]
        guard sizes.allSatisfy({ $0 <= largestFileDimension }) else {
            throw FileError(path, "metadata '\(key)': model config \(config.name) has a dimension above \(largestFileDimension) "
                                + "(dim \(config.dim), depth \(config.depth), heads \(config.heads), patch \(config.patchSize), "
                                + "channels \(config.channels), mlp ratio \(config.mlpRatio)); the file is corrupt")
        }
    }
}
