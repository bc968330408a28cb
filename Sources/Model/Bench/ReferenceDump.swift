import Foundation

// Writes one small JEPA step (input, weights, mask, loss, encoder output, gradients) as raw
// little-endian Float32 files plus meta.json, so bench/torch_reference.py can recompute it in
// PyTorch and compare. Used by the hidden `ecg-dist bench --dump DIR`.

public enum ReferenceDump {
    /// One sample per mask. When the masks differ, meta.json also holds "contexts" and "targets",
    /// one list per sample, which bench/torch_reference.py uses instead of "context" and "target".
    public static func write(directory: String, config: ViTConfig, samples: Int = 5000, masks: [JEPAMask]) throws -> Double {
        let batch = masks.count
        let perSample = masks.contains { $0 != masks[0] }
        let url = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let model = JEPAModel(config: config, samples: samples)
        model.initialize(seed: 42)
        // Let the target differ from the encoder (as after some EMA steps).
        var rng = SplitMix64(seed: 5, stream: RNGStream.synth.rawValue)
        for i in 0..<model.target.count { model.target.values[i] += 0.01 * rng.nextNormal() }
        let input = (0..<(batch * samples * config.channels)).map { _ in rng.nextNormal() }
        model.params.zeroGrads()
        let gradScale: Float = 0.5
        _ = input.withUnsafeBufferPointer { model.step(input: $0.baseAddress!, masks: masks, gradScale: gradScale, onGradientsReady: nil) }
        let loss = model.lastLoss
        model.encoder.keepsActivationsForBackward = false
        let tokens = config.tokens(forSamples: samples)
        let encOut = model.encoder.forward(weights: model.params.values, input: input, batch: batch, samples: samples)
        func save(_ name: String, _ p: UnsafePointer<Float>, _ count: Int) throws {
            try AtomicFile.write(Array(UnsafeRawBufferPointer(start: p, count: count * 4)), to: url.appendingPathComponent(name).path)
        }
        try input.withUnsafeBufferPointer { try save("input.bin", $0.baseAddress!, $0.count) }
        try save("params.bin", model.params.values, model.params.count)
        try save("target.bin", model.target.values, model.target.count)
        try save("grads.bin", model.params.grads, model.params.count)
        try save("encoder_out.bin", encOut, batch * tokens * config.dim)
        let specs = model.layout.specs.map { ["name": $0.name, "shape": $0.shape, "offset": $0.offset] as [String: Any] }
        var meta: [String: Any] = [
            "config": ["name": config.name, "dim": config.dim, "depth": config.depth, "heads": config.heads,
                       "pred_dim": config.predDim, "pred_depth": config.predDepth, "pred_heads": config.predHeads,
                       "patch_size": config.patchSize, "channels": config.channels, "mlp_ratio": config.mlpRatio],
            "batch": batch, "samples": samples, "context": masks[0].contextIndices, "target": masks[0].targetIndices,
            "loss": loss, "grad_scale": Double(gradScale), "params": specs, "param_count": model.params.count,
            "target_count": model.target.count,
        ]
        if perSample {
            meta["contexts"] = masks.map(\.contextIndices)
            meta["targets"] = masks.map(\.targetIndices)
        }
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys])),
                             to: url.appendingPathComponent("meta.json").path)
        return loss
    }
}
