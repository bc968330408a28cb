import DistTrainer
import Foundation
import Model
import ModelIO

/// The seeds that are easiest made by the writers themselves: a checkpoint and a safetensors
/// export of the tiny fuzz model, and run configs. The WFDB, CSV and HDF5 seeds are files from the
/// fixtures (Tests/Fuzz/README.md says where each came from).
public enum FuzzSeeds {
    public static func write(to directory: String) throws {
        let model = FuzzScratch.model
        model.initialize(seed: 1)
        let optimizer = FuzzScratch.optimizer
        optimizer.stepCount = 3
        var config = PretrainConfig()
        config.data = ["corpus.h5"]
        config.model = FuzzScratch.config.name
        try PretrainCheckpoint.write(to: "\(directory)/checkpoint/tiny-step3.ckpt", step: 3, configJSON: config.json(),
                                     seed: 0, model: model, optimizer: optimizer)
        let metadata = ["model": try TrainingStateWriter.metadataString(FuzzScratch.config), "step": "3"]
        try Safetensors.write(layout: model.target.layout, values: model.target.values, prefix: "encoder.",
                              metadata: metadata, toFile: "\(directory)/safetensors/tiny-encoder.safetensors")
        try AtomicFile.write(config.json(), to: "\(directory)/config-json/full.json")
        try AtomicFile.write(#"{"data": ["a.h5", "b.h5"], "steps": 20, "globalBatch": 8, "evalEvery": 5, "evalData": "e.h5"}"#,
                             to: "\(directory)/config-json/overrides.json")
    }
}
