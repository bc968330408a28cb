import ECGData
import Model

// Entry point of the PTB-XL evaluation protocol, used by `ecg-dist eval` and by the pre-training
// loop (rank 0, every --eval-every steps). Single process, no MPI.

/// The crop plan for a dataset: `cropSamples`-long crops (2.5 s = 1250 at 500 Hz) with a half-crop
/// evaluation stride (1.25 s); records shorter than a crop use their whole length rounded down
/// to whole patches.
public func evalCropPlan(recordLength: Int, patchSize: Int, cropSamples: Int = 1250) throws -> CropPlan {
    guard cropSamples % patchSize == 0 else {
        throw EvalError.badOption("crop length \(cropSamples) is not a multiple of the \(patchSize)-sample patch")
    }
    let crop = min(cropSamples, recordLength / patchSize * patchSize)
    guard crop >= patchSize else {
        throw EvalError.badOption("records of \(recordLength) samples are shorter than one \(patchSize)-sample patch")
    }
    return CropPlan(recordLength: recordLength, cropLength: crop, evalStride: max(patchSize, crop / 2))
}

/// Runs every requested (task, mode, seed) and returns the report.
///
/// - Parameters:
///   - encoderWeights: the encoder's parameters in the flat layout of
///     `ViTEncoder(config:layout:prefix:)` declared first in an empty layout, i.e. exactly the
///     `target` store of `JEPAModel`, or `params.values` of a JEPA store (whose encoder comes first).
///     Must hold at least `encoderParameterCount(config)` floats. Not modified.
///   - config: the encoder's architecture.
///   - data: the labelled, normalized records (load once, reuse).
///   - checkpoint / randomInit: only recorded in the report.
///   - log: per-run result lines (nil = quiet).
///   - progress: the throttled "what runs now, ETA" line (nil = none).
///   - artifacts: where to save each run's classifier / test predictions (nil = nowhere).
public func evaluate(encoderWeights: UnsafeBufferPointer<Float>, config: ViTConfig, data: EvalDataset,
                     options: EvalOptions, checkpoint: String = "", randomInit: Bool = false,
                     log: ((String) -> Void)? = nil, progress: EvalProgress? = nil,
                     group: FeatureEncodingGroup? = nil, artifacts: EvalArtifactOptions? = nil) throws -> EvalReport {
    let start = ContinuousClock.now
    try options.validate()
    // Shared encoding (the trainer's periodic evaluation) is for the linear probe only: fine-tuning
    // trains the encoder itself, on rank 0.
    if group != nil && options.modes.contains(where: { $0 != .linear }) {
        throw EvalError.badOption("evaluation shared over ranks supports --mode linear only")
    }
    try config.validate()
    guard data.channels == config.channels else {
        throw EvalError.badData(path: data.source, message: "records have \(data.channels) leads, model \(config.name) expects \(config.channels)")
    }
    let needed = encoderParameterCount(config)
    guard let base = encoderWeights.baseAddress, encoderWeights.count >= needed else {
        throw EvalError.badCheckpoint(path: checkpoint, message: "encoder weights have \(encoderWeights.count) floats, \(config.name) needs \(needed)")
    }
    let plan = try evalCropPlan(recordLength: data.recordLength, patchSize: config.patchSize, cropSamples: options.cropSamples)
    let tasks = try selectTasks(options.tasks, data: data)

    var results: [TaskModeResult] = []
    var features: FrozenFeatures?
    // The probes linear mode trained, by "task/seed": finetune_after_linear starts from them.
    var trainedProbes: [String: [Float]] = [:]
    // Linear first: finetune_after_linear needs its probes.
    let modes = EvalMode.allCases.filter(options.modes.contains)
    let needsFeatures = modes.contains(.linear) || modes.contains(.finetuneAfterLinear)
    for mode in modes {
        if needsFeatures && features == nil {
            var layout = ParameterLayout()
            let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
            let t0 = ContinuousClock.now
            features = try FrozenFeatures(encoder: encoder, weights: base, data: data, plan: plan, options: options, log: log,
                                          progress: progress, group: group)
            if let group, group.rank != 0 {   // this rank's part is done; rank 0 trains the probe
                return EvalReport(checkpoint: checkpoint, data: data.source, model: config.name, randomInit: randomInit,
                                  options: options, results: [], seconds: secondsSince(start))
            }
            log?(String(format: "linear probe: encoded %d-crop pool per training record + %d windows per eval record (%.0f MB) in %.1f s",
                        features!.cropsPerRecord, features!.windowsPerRecord, Double(features!.bytes) / 1_048_576,
                        secondsSince(t0)))
        }
        for task in tasks {
            let split = data.split(task)
            // With --train-fraction each seed trains on its own subset, all of one size.
            let trainRecords = split.trainSubset(fraction: options.trainFraction, task: task, seed: options.baseSeed).train.count
            var row = TaskModeResult(task: task.name, mode: mode, labelNames: task.labelNames, trainRecords: trainRecords,
                                     valRecords: split.val.count, testRecords: split.test.count, seeds: [], note: nil)
            if split.train.isEmpty {
                row.note = "no labelled training records (folds 1-8)"
                log?("\(task.name) \(mode.rawValue): skipped, \(row.note!)")
                results.append(row)
                continue
            }
            for s in 0..<options.seeds {
                let seed = options.baseSeed &+ UInt64(s)
                let run = HeadRun(task: task, split: split.trainSubset(fraction: options.trainFraction, task: task, seed: seed),
                                  seed: seed, options: options, plan: plan, log: log, progress: progress)
                let key = "\(task.name)/\(run.seed)"
                let outcome: HeadOutcome
                switch mode {
                case .linear:
                    outcome = runLinearProbe(run, features: features!, heads: config.heads)
                    trainedProbes[key] = outcome.probe
                case .finetune:
                    outcome = runFineTune(run, mode: .finetune, config: config, encoderWeights: base, data: data)
                case .finetuneAfterLinear:
                    // Without a linear row in this run, train the same probe linear mode would (not reported).
                    let probe = trainedProbes[key] ?? runLinearProbe(run, features: features!, heads: config.heads).probe
                    outcome = runFineTune(run, mode: .finetuneAfterLinear, config: config, encoderWeights: base, data: data,
                                          initialProbe: probe)
                }
                var r = outcome.result
                if let artifacts, !artifacts.isEmpty {
                    try saveArtifacts(outcome, run: run, mode: mode, config: config, encoderWeights: base, data: data,
                                      options: artifacts, into: &r)
                }
                log?(String(format: "%@ %@ seed %llu: val AUC %@ test AUC %@ (best step %d, %.1f s)", task.name, mode.rawValue,
                            r.seed, r.valAUC.map { String(format: "%.4f", $0) } ?? "n/a",
                            r.testAUC.map { String(format: "%.4f", $0) } ?? "n/a", r.bestStep, r.seconds))
                row.seeds.append(r)
            }
            results.append(row)
        }
    }
    return EvalReport(checkpoint: checkpoint, data: data.source, model: config.name, randomInit: randomInit,
                      options: options, results: results, seconds: secondsSince(start))
}

/// Convenience for callers holding a raw pointer (e.g. `jepa.target.values`); the count is the
/// encoder's parameter count for `config`.
public func evaluate(encoderWeights: UnsafePointer<Float>, config: ViTConfig, data: EvalDataset, options: EvalOptions,
                     log: ((String) -> Void)? = nil, group: FeatureEncodingGroup? = nil) throws -> EvalReport {
    try evaluate(encoderWeights: UnsafeBufferPointer(start: encoderWeights, count: encoderParameterCount(config)),
                 config: config, data: data, options: options, log: log, group: group)
}

/// Resolves `--task`: empty or "every" = every task in the file; otherwise the named ones.
func selectTasks(_ names: [String], data: EvalDataset) throws -> [EvalTask] {
    if names.isEmpty || names == ["every"] { return data.tasks }
    return try names.map { name in
        guard let t = data.task(named: name) else {
            throw EvalError.badData(path: data.source,
                                    message: "no labels/\(name) in this file (tasks: \(data.tasks.map(\.name).joined(separator: ", ")))")
        }
        return t
    }
}
