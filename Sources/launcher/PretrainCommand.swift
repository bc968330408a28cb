import ArgumentParser
import DistTrainer
import Foundation

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

    @Option(name: .customLong("data"), help: "Corpus HDF5 file (repeat to mix several, sampled by size).")
    var data: [String] = []
    @Option(help: "Run folder for checkpoints and metrics.jsonl.") var out: String?
    @Option(help: "JSON config file; flags override its values.") var config: String?
    @Option(help: "Model: vit-xs, vit-s, vit-b (or a tiny test config).") var model: String?
    @Option(help: "Total optimizer steps (paper: 100000).") var steps: Int?
    @Option(help: "Global batch over all ranks (paper: 2048).") var globalBatch: Int?
    @Option(help: "Largest per-rank micro-batch; larger shares accumulate gradients.") var microBatch: Int?
    @Option(help: "Seed for weights, masks, shuffles and crops.") var seed: UInt64?
    @Option(help: "Crop length in seconds (10 = whole PTB-XL record).") var cropSeconds: Double?
    @Option(help: "Smallest visible fraction of patches per mask (paper: 0.15).") var maskMinKeep: Double?
    @Option(help: "Largest visible fraction of patches per mask (paper: 0.25).") var maskMaxKeep: Double?
    @Option(help: "Minimum length of a masked block in patches (paper: 10).") var maskMinBlock: Int?
    @Option(help: "LR warmup steps (paper: 10000).") var warmupSteps: Int?
    @Option(help: "Peak learning rate (paper: 1e-3).") var lr: Double?
    @Option(help: "Global gradient-norm clip, 0 = off.") var gradClip: Double?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Checkpoints to keep.") var keepCheckpoints: Int?
    @Option(help: "Verify parameters/EMA bit-identical across ranks every N steps.") var verifyEvery: Int?
    @Option(help: "Progress line and metrics every N steps.") var logEvery: Int?
    @Option(help: "Rank 0 evaluates every N steps (0 = never); other ranks wait.") var evalEvery: Int?
    @Option(help: "PTB-XL-layout HDF5 for the periodic evaluation.") var evalData: String?
    @Option(help: "Task for the periodic evaluation.") var evalTask: String?
    @Option(help: "Probe training steps for the periodic evaluation.") var evalSteps: Int?
    @Option(help: "Resume: a checkpoint path, or 'auto' for the newest in --out (fresh start if none).")
    var resume: String?
    @Option(help: "Stop (with a checkpoint) after this many steps of this invocation (testing resume).")
    var stopAfter: Int?
    @Option(help: "BLAS threads per rank (default: $OPENBLAS_NUM_THREADS or 1).") var threads: Int?

    func run() throws {
        var cfg = try config.map { try PretrainConfig.load(path: $0) } ?? PretrainConfig()
        if !data.isEmpty { cfg.data = data }
        if let out { cfg.out = out }
        if let model { cfg.model = model }
        if let steps { cfg.steps = steps }
        if let globalBatch { cfg.globalBatch = globalBatch }
        if let microBatch { cfg.microBatch = microBatch }
        if let seed { cfg.seed = seed }
        if let cropSeconds { cfg.cropSeconds = cropSeconds }
        if let maskMinKeep { cfg.maskMinKeep = maskMinKeep }
        if let maskMaxKeep { cfg.maskMaxKeep = maskMaxKeep }
        if let maskMinBlock { cfg.maskMinBlock = maskMinBlock }
        if let warmupSteps { cfg.warmupSteps = warmupSteps }
        if let lr { cfg.lrPeak = lr }
        if let gradClip { cfg.gradClip = gradClip }
        if let checkpointEvery { cfg.checkpointEvery = checkpointEvery }
        if let keepCheckpoints { cfg.keepCheckpoints = keepCheckpoints }
        if let verifyEvery { cfg.verifyEvery = verifyEvery }
        if let logEvery { cfg.logEvery = logEvery }
        if let evalEvery { cfg.evalEvery = evalEvery }
        if let evalData { cfg.evalData = evalData }
        if let evalTask { cfg.evalTask = evalTask }
        if let evalSteps { cfg.evalSteps = evalSteps }
        do {
            try cfg.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let blasThreads = threads ?? Int(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "") ?? 1
        try runPretraining(config: cfg, resume: resume, stopAfter: stopAfter, blasThreads: blasThreads)
    }
}
