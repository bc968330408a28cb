import ArgumentParser
import DistTrainer
import Foundation
import Model

/// `ecg-dist pretrain`: JEPA pre-training across MPI ranks (`mpirun -np N ecg-dist pretrain ...`).
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "JEPA pre-training of an ECG ViT on HDF5 corpora, data-parallel over MPI ranks.",
        discussion: """
        Run under MPI: `mpirun -np 16 ecg-dist pretrain --data corpus.h5 --out runs/xs`. Every rank reads \
        only its shard of each step's global batch (parallel HDF5), gradients are all-reduced in buckets \
        overlapped with backward, and the EMA target encoder is verified bit-identical across ranks. \
        Rank 0 writes checkpoints (atomically) and metrics.jsonl to --out. Defaults are the paper's recipe; \
        a JSON --config file sets any field (keys as in checkpoint config.json) and flags override it. \
        SIGTERM or SIGUSR1 makes the run checkpoint and exit 0; --resume auto continues from the newest \
        checkpoint in --out (at any number of ranks).
        """)

    @Option(name: .customLong("data"), help: "Corpus HDF5 file; repeat to mix several (sampled by size), or give each a weight: --data a.h5:0.7 --data b.h5:0.3.")
    var data: [String] = []
    @Option(help: "Run folder for checkpoints and metrics.jsonl (default: \(PretrainCommandDefaults.config.out)).") var out: String?
    @Option(help: "JSON config file; flags override its values.") var config: String?
    @Option(help: "Model: \(ViTConfig.named.map(\.name).joined(separator: ", ")), or a spec like dim=64,depth=4,heads=2,pred-dim=32,pred-depth=2,pred-heads=2 (default: \(PretrainCommandDefaults.config.model)).")
    var model: String?
    @Option(help: "Total optimizer steps (default: \(PretrainCommandDefaults.config.steps), the paper's).") var steps: Int?
    @Option(help: "Global batch over all ranks (default: \(PretrainCommandDefaults.config.globalBatch), the paper's).") var globalBatch: Int?
    @Option(help: "Largest per-rank micro-batch; larger shares accumulate gradients (default: \(PretrainCommandDefaults.config.microBatch)).") var microBatch: Int?
    @Option(help: "Seed for weights, masks, shuffles and crops (default: \(PretrainCommandDefaults.config.seed)).") var seed: UInt64?
    @Option(help: "Crop length in seconds (default: \(PretrainCommandDefaults.config.cropSeconds), a whole PTB-XL record).") var cropSeconds: Double?
    @Option(help: "Smallest visible fraction of patches per mask (default: \(PretrainCommandDefaults.config.maskMinKeep), the paper's).") var maskMinKeep: Double?
    @Option(help: "Largest visible fraction of patches per mask (default: \(PretrainCommandDefaults.config.maskMaxKeep), the paper's).") var maskMaxKeep: Double?
    @Option(help: "Minimum length of a masked block in patches (default: \(PretrainCommandDefaults.config.maskMinBlock), the paper's).") var maskMinBlock: Int?
    @Option(help: "Masks: per-sample (the paper's: one visible count per step, a block layout per sample) or shared (one mask for the whole batch). Default: per-sample.")
    var masks: MaskMode?
    @Option(name: .customLong("init"), help: "Weight init: paper (the reference code's: Xavier-uniform encoder, trunc-normal(0.02) predictor with scaled residual projections) or ijepa (trunc-normal(0.02) everywhere, per-layer residual scaling). Default: paper.")
    var initScheme: String?
    @Flag(help: "Train the LayerNorm biases (default: kept at zero, the paper's bias-free LayerNorm).")
    var layerNormBias = false
    @Option(help: "Floats per gradient all-reduce bucket (default 524288; larger buckets pay the network latency fewer times, see docs/scaling.md).")
    var bucketFloats: Int?
    @Option(help: "LR warmup steps (default: \(PretrainCommandDefaults.config.warmupSteps), the paper's).") var warmupSteps: Int?
    @Option(help: "Peak learning rate (default: \(PretrainCommandDefaults.config.lrPeak), the paper's).") var lr: Double?
    @Option(help: "Global gradient-norm clip, 0 = off (default: \(PretrainCommandDefaults.config.gradClip)).") var gradClip: Double?
    @Option(help: "Checkpoint every N steps (default: \(PretrainCommandDefaults.config.checkpointEvery)).") var checkpointEvery: Int?
    @Option(help: "Checkpoints to keep (default: \(PretrainCommandDefaults.config.keepCheckpoints)).") var keepCheckpoints: Int?
    @Option(help: "Verify parameters/EMA bit-identical across ranks every N steps (default: \(PretrainCommandDefaults.config.verifyEvery); 0 = never).") var verifyEvery: Int?
    @Option(help: "Progress line and metrics every N steps (default: \(PretrainCommandDefaults.config.logEvery)).") var logEvery: Int?
    @Option(help: "Evaluate every N steps (default: \(PretrainCommandDefaults.config.evalEvery); 0 = never): every rank encodes a share, rank 0 trains the probe.") var evalEvery: Int?
    @Option(help: "PTB-XL-layout HDF5 for the periodic evaluation.") var evalData: String?
    @Option(help: "Task for the periodic evaluation (default: \(PretrainCommandDefaults.config.evalTask)).") var evalTask: String?
    @Option(help: "Probe training steps for the periodic evaluation (default: \(PretrainCommandDefaults.config.evalSteps)).") var evalSteps: Int?
    @Option(help: "Leakage guard: a corpus (e.g. PTB-XL) whose --holdout-folds records must not be pre-trained on; repeatable (default: --eval-data).")
    var holdout: [String] = []
    @Option(help: "Folds of the --holdout corpora that are held out (default: 9,10, PTB-XL's validation and test folds).")
    var holdoutFolds: String?
    @Flag(help: "Leave pre-training records equal to held-out records out of training instead of refusing to start.")
    var dropHoldoutDuplicates = false
    @Option(help: "Resume: a checkpoint path, or 'auto' for the newest in --out (fresh start if none).")
    var resume: String?
    @Option(help: "Stop (with a checkpoint) after this many steps of this invocation (testing resume).")
    var stopAfter: Int?
    @Option(help: """
        Engine threads per rank: the size of ecg-dist's own thread pool (OpenBLAS stays at 1). \
        Default: $OPENBLAS_NUM_THREADS, else 1; ranks × threads = cores.
        """)
    var threads: Int?

    /// Each flag and the config field it overrides when given (nil = not given: the --config file's
    /// value, else the default, stays).
    var overrides: [ConfigOverride<PretrainConfig>] {
        [
            .init(out, \.out), .init(model, \.model), .init(steps, \.steps), .init(globalBatch, \.globalBatch),
            .init(microBatch, \.microBatch), .init(seed, \.seed), .init(cropSeconds, \.cropSeconds),
            .init(maskMinKeep, \.maskMinKeep), .init(maskMaxKeep, \.maskMaxKeep), .init(maskMinBlock, \.maskMinBlock),
            .init(masks.map { $0 == .perSample }, \.maskPerSample), .init(bucketFloats, \.bucketFloats),
            .init(warmupSteps, \.warmupSteps), .init(lr, \.lrPeak), .init(gradClip, \.gradClip),
            .init(checkpointEvery, \.checkpointEvery), .init(keepCheckpoints, \.keepCheckpoints),
            .init(verifyEvery, \.verifyEvery), .init(logEvery, \.logEvery), .init(evalEvery, \.evalEvery),
            .init(evalData, optional: \.evalData), .init(evalTask, \.evalTask), .init(evalSteps, \.evalSteps),
            .init(data.isEmpty ? nil : data, \.data), .init(holdout.isEmpty ? nil : holdout, \.holdout),
            .init(dropHoldoutDuplicates ? true : nil, \.dropHoldoutDuplicates),
            .init(initScheme, \.initScheme), .init(layerNormBias ? true : nil, \.layerNormBias),
        ]
    }

    func run() throws {
        var cfg = try config.map { try PretrainConfig.load(path: $0) } ?? PretrainConfig()
        for override in overrides { override.apply(&cfg) }
        if let holdoutFolds { cfg.holdoutFolds = try parseFolds(holdoutFolds, flag: "--holdout-folds").sorted() }
        do {
            try cfg.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        try runPretraining(config: cfg, resume: resume, stopAfter: stopAfter,
                           engineThreads: threads ?? EngineThreads.defaultCount)
    }
}

/// A command-line value that replaces one field of a config when it was given.
struct ConfigOverride<Config> {
    let apply: (inout Config) -> Void

    init<Value>(_ value: Value?, _ field: WritableKeyPath<Config, Value>) {
        apply = { config in if let value { config[keyPath: field] = value } }
    }

    /// For optional fields (e.g. `evalData`): a given value sets them, nothing given leaves them.
    init<Value>(_ value: Value?, optional field: WritableKeyPath<Config, Value?>) {
        apply = { config in if let value { config[keyPath: field] = value } }
    }
}

/// `pretrain --masks`: how the JEPA masks of a step are drawn (Model/Masking.swift).
enum MaskMode: String, ExpressibleByArgument, CaseIterable {
    case perSample = "per-sample", shared
}

/// The defaults `pretrain --help` shows: the paper's recipe as PretrainConfig holds it, so the help
/// cannot drift from what a run uses.
enum PretrainCommandDefaults {
    static let config = PretrainConfig()
}
