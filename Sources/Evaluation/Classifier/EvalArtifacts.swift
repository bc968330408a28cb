import ECGData
import Foundation
import Model

// What `eval --out DIR` keeps of each (task, mode, seed) run besides the report: the
// best-validation classifier (one file per seed, so every row of the report can be reproduced)
// and, with --save-predictions, the test fold's predictions. Paths in eval.json are relative to DIR:
//   DIR/classifiers/<task>.<mode>.seed<N>.safetensors
//   DIR/test_predictions/<task>.<mode>.seed<N>.csv     (record_id, probabilities, logits, labels)

public struct EvalArtifactOptions: Sendable {
    public var directory: String
    public var saveClassifiers = true
    public var savePredictions = false
    /// Where the evaluated encoder came from (recorded in each classifier).
    public var encoderSource: String

    public init(directory: String, saveClassifiers: Bool = true, savePredictions: Bool = false, encoderSource: String) {
        self.directory = directory
        self.saveClassifiers = saveClassifiers
        self.savePredictions = savePredictions
        self.encoderSource = encoderSource
    }

    var isEmpty: Bool { !saveClassifiers && !savePredictions }
}

/// The description a classifier trained on `data` with `plan` carries.
func classifierDescription(run: HeadRun, mode: EvalMode, result: SeedResult, data: EvalDataset, plan: CropPlan,
                           encoderSource: String) -> ClassifierDescription {
    ClassifierDescription(task: run.task.name, mode: mode.rawValue, seed: run.seed, labelNames: run.task.labelNames,
                          leadNames: data.leadNames, samplingRate: ECGPreprocessing.samplingRate,
                          channelMean: data.channelMean, channelStd: data.channelStd, clipSigma: data.clipSigma,
                          recordLength: plan.recordLength, cropSamples: plan.cropLength, evalStride: plan.evalStride,
                          evalOffsets: plan.evalOffsets, valAUC: result.valAUC, testAUC: result.testAUC,
                          bestStep: result.bestStep, encoderSource: encoderSource,
                          corpus: URL(fileURLWithPath: data.source).lastPathComponent)
}

/// Writes the artifacts of one run and records their relative paths in `result`.
func saveArtifacts(_ outcome: HeadOutcome, run: HeadRun, mode: EvalMode, config: ViTConfig,
                   encoderWeights: UnsafePointer<Float>, data: EvalDataset, options: EvalArtifactOptions,
                   into result: inout SeedResult) throws {
    let stem = "\(run.task.name).\(mode.rawValue).seed\(run.seed)"
    if options.saveClassifiers {
        let relative = "classifiers/\(stem).safetensors"
        let description = classifierDescription(run: run, mode: mode, result: result, data: data, plan: run.plan,
                                                encoderSource: options.encoderSource)
        let path = "\(options.directory)/\(relative)"
        if let network = outcome.trainedNetwork {
            try network.withUnsafeBufferPointer {
                try ClassifierFile.write(path: path, config: config, description: description, weights: $0.baseAddress!)
            }
        } else {
            // Frozen encoder: the input encoder followed by the probe, in `ClassifierNetwork`'s layout.
            let layout = ClassifierNetwork(config: config, labels: run.task.labelCount)
            var values = [Float](repeating: 0, count: layout.layout.count)
            values.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.update(from: encoderWeights, count: layout.encoderCount)
                (buffer.baseAddress! + layout.probeRange.lowerBound).update(from: outcome.probe, count: outcome.probe.count)
            }
            try values.withUnsafeBufferPointer {
                try ClassifierFile.write(path: path, config: config, description: description, weights: $0.baseAddress!)
            }
        }
        result.classifier = relative
    }
    if options.savePredictions {
        let relative = "test_predictions/\(stem).csv"
        let test = run.split.test
        let table = PredictionTable(labelNames: run.task.labelNames, recordIDs: test.map { String(data.recordIDs[$0]) },
                                    logits: outcome.testLogits, targets: run.task.labels(of: test), includeLogits: true)
        try table.write(to: "\(options.directory)/\(relative)")
        result.testPredictions = relative
    }
}
