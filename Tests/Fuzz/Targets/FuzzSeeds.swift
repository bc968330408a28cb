import DistTrainer
import ECGData
import Foundation
import Model
import ModelIO

/// The seeds that are easiest made by the writers themselves: a checkpoint and a safetensors
/// export of the tiny fuzz model, run configs, and two small corpora cut from `ecg-dist synth`
/// (written through `H5File`, so in the checksummed HDF5 1.10 format every corpus has). The WFDB
/// and CSV seeds are files from the fixtures (docs/fuzzing.md says where each came from).
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
        try writeCorpusSeeds(to: "\(directory)/corpus-hdf5")
    }

    /// Samples per record kept in the corpus seeds: small files mutate fast, and 25 samples still
    /// make every dataset and attribute of a corpus (docs/hdf5-layout.md) non-trivial.
    static let corpusSeedSamples = 25

    /// `synth-2x25.h5`: a 2-record `synth --seed 1` corpus cut to its first 25 samples per record,
    /// with every attribute and the label task. `synth-2x25-unscanned.h5`: the same without the
    /// labels and without `signals_finite`, so the reader scans every sample.
    static func writeCorpusSeeds(to directory: String) throws {
        let full = "\(directory)/.synth-full-\(getpid()).h5"
        defer { try? FileManager.default.removeItem(atPath: full) }
        _ = try SynthCorpus.write(path: full, records: 2, seed: 1, ranks: nil)
        let synth = try CorpusReader(path: full)
        let leads = synth.leads, n = corpusSeedSamples
        var records = [Float](repeating: 0, count: synth.count * synth.recordElements)
        try records.withUnsafeMutableBufferPointer { try synth.readSignals(rows: 0..<synth.count, into: $0.baseAddress!) }
        var cut: [Float] = []
        for row in 0..<synth.count { cut += records[(row * synth.recordElements)..<(row * synth.recordElements + n * leads)] }
        let (labelNames, labelMatrix) = try synth.labels(task: SynthCorpus.taskName)
        for withLabels in [true, false] {
            let path = "\(directory)/synth-2x25\(withLabels ? "" : "-unscanned").h5"
            let file = try H5File.create(path: path)
            let rows = synth.count
            try file.createDataset("signals", type: .float32, shape: [rows, n, leads], chunk: [1, n, leads], extendable: false).write(cut)
            try file.createDataset("record_ids", type: .int64, shape: [rows], chunk: [rows], extendable: false).write(synth.recordIDs)
            try file.createDataset("record_names", type: .fixedString(CorpusWriter.recordNameBytes), shape: [rows], chunk: [rows],
                                   extendable: false).writeStrings(try synth.recordNames(), rows: 0..<rows)
            try file.createDataset("strat_fold", type: .int32, shape: [rows], chunk: [rows], extendable: false).write(synth.folds)
            if withLabels {
                try file.createGroup("labels")
                try file.createDataset("labels/\(SynthCorpus.taskName)", type: .uint8, shape: [rows, labelNames.count],
                                       chunk: [rows, labelNames.count], extendable: false).write(labelMatrix)
                try file.createDataset("labels/\(SynthCorpus.taskName)_names", type: .fixedString(CorpusWriter.labelNameBytes),
                                       shape: [labelNames.count], chunk: [labelNames.count], extendable: false)
                    .writeStrings(labelNames, rows: 0..<labelNames.count)
            }
            let from = synth.file.attributes, to = file.attributes
            try to.set("sampling_rate", int32: Int32(synth.samplingRate))
            try to.set("n_samples", int32: Int32(n))
            try to.set("lead_names", strings: synth.leadNames)
            try to.set("source", string: synth.source)
            try to.set("synth_seed", string: try from.string("synth_seed"))
            try to.set("channel_mean", floats: synth.channelMean)
            try to.set("channel_std", floats: synth.channelStd)
            try to.set("channel_moments_train", doubles: try from.doubles("channel_moments_train"))
            try to.set("channel_moments_all", doubles: try from.doubles("channel_moments_all"))
            if withLabels { try to.set(CorpusReader.finiteAttribute, int32: 1) }
        }
    }
}
