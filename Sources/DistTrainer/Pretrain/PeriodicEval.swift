import Foundation
import ECGData
import Evaluation
import Model

/// The evaluation during pre-training: an attentive probe on the current EMA target encoder,
/// trained on folds 1–8 of `dataPath` for one task, reported as val/test macro AUC. Every rank
/// encodes a share of the crops (the EMA encoder is identical on all of them) and rank 0 gathers
/// the tokens and trains the probe, so the pause shrinks with the number of ranks and rank 0 gets
/// the same bits as encoding alone. The labelled data is loaded once and kept.
final class PeriodicEvaluator {
    let dataPath: String
    let task: String
    let steps: Int
    let seed: UInt64
    /// Caps the training records the probe sees, so a periodic check on full PTB-XL stays minutes.
    let trainRecordLimit = 4000
    private var data: EvalDataset?

    init(dataPath: String, task: String, steps: Int, seed: UInt64) {
        self.dataPath = dataPath
        self.task = task
        self.steps = steps
        self.seed = seed
    }

    /// Call on every rank of `group`; rank 0 gets the AUCs, the others nil.
    func evaluate(weights: UnsafePointer<Float>, config: ViTConfig, group: FeatureEncodingGroup?) throws -> (valAUC: Double, testAUC: Double)? {
        if data == nil {
            // HDF5 is not thread-safe and the loader thread is reading the training corpus.
            hdf5Lock.lock()
            defer { hdf5Lock.unlock() }
            data = try EvalDataset.load(path: dataPath, tasks: [task], trainRecordLimit: trainRecordLimit)
        }
        var options = EvalOptions()
        options.tasks = [task]
        options.modes = [.linear]
        options.seeds = 1
        options.baseSeed = seed
        options.linearSteps = steps
        // Cheap enough to run often: one cached crop per training record.
        options.cropsPerRecord = 1
        let report = try runEvaluationHarness(weights: weights, config: config, data: data!, options: options, group: group)
        if let group, group.rank != 0 { return nil }
        guard let row = report.results.first else { throw TrainingError("evaluation on \(dataPath) returned no result") }
        return (row.val.mean ?? .nan, row.test.mean ?? .nan)
    }
}

// `evaluate` is also the name of this class's method; call the harness's free function explicitly.
private func runEvaluationHarness(weights: UnsafePointer<Float>, config: ViTConfig, data: EvalDataset, options: EvalOptions,
                                  group: FeatureEncodingGroup?) throws -> EvalReport {
    try evaluate(encoderWeights: weights, config: config, data: data, options: options, group: group)
}
