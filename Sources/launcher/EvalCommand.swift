import ArgumentParser
import ECGData
import Evaluation
import Foundation
import Model

/// `ecg-dist eval`: the PTB-XL benchmark protocol on a pre-trained (or random) encoder.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate an encoder on PTB-XL tasks: attentive probe (linear) and/or fine-tuning, macro ROC-AUC.",
        discussion: """
        Folds 1-8 train, 9 validation (best head kept), 10 test. Training uses random 2.5 s crops; \
        validation/test average the logits of 7 crops (stride 1.25 s). Prints a task × mode table \
        (mean ± sd over seeds, the number alone with one seed; a legend explains n/a) and, with --out, \
        writes eval.json and eval.md atomically. `ecg-dist compare` puts two such eval.json files \
        (pre-trained, random init) side by side.

        Progress: a line on stderr says what runs now and when it ends, e.g. "eval: task synth, \
        linear probe, seed 1/3, step 120/500, ETA 0:08" (the ETA is for the current encoding phase \
        or (task, mode, seed) run). On a terminal it is redrawn in place about once a second; \
        otherwise (a log file, a pipe) it is a new line every 5 s. It is printed with --quiet too; \
        --no-progress turns it off.
        """)

    @Option(help: "Checkpoint: a training state (the EMA target encoder is used) or an encoder .safetensors.")
    var checkpoint: String?
    @Option(help: "Corpus file with labels (ecg-dist prepare ptbxl ...).") var data: String
    @Option(help: "Task(s), comma-separated: any labels/<task> of the corpus (PTB-XL: all, diagnostic, subdiagnostic, superdiagnostic, form, rhythm; synth: synth; prepare npy: its --task-name), or every.")
    var task = "every"
    @Option(help: "linear, finetune or both.") var mode = "linear"
    @Option(help: "Runs per task and mode (seeds base-seed, base-seed+1, ...).") var seeds = 1
    @Option(help: "First seed.") var baseSeed: UInt64 = 0
    @Option(help: "Sets both --linear-steps and --finetune-steps.") var steps: Int?
    @Option(help: "Attentive-probe steps (paper: 5000).") var linearSteps = 5_000
    @Option(help: "Fine-tuning steps (paper: 10000).") var finetuneSteps = 10_000
    @Option(help: "Records per step.") var batchSize = 64
    @Option(help: "Validate every N steps (0 = 20 times per run).") var validateEvery = 0
    @Option(help: "Linear probe: cached random crops per training record.") var cropsPerRecord = 4
    @Option(help: "Linear probe: memory cap of the feature cache (MB).") var featureCacheMB = 4_096
    @Option(help: "Probe learning rate (cosine to 0).") var linearLR = 1e-3
    @Option(help: "Fine-tuning peak learning rate (warmup, then cosine to --finetune-final-lr).") var finetuneLR = 1e-3
    @Option(help: "Fine-tuning final learning rate.") var finetuneFinalLR = 1e-5
    @Option(help: "AdamW weight decay.") var weightDecay = 0.1
    @Option(help: "Label efficiency: train the heads on this seeded stratified share of folds 1-8 (0 < F <= 1).")
    var trainFraction = 1.0
    @Flag(help: "Baseline: evaluate a randomly initialised encoder (needs --model).") var randomInit = false
    @Option(help: "Model config (vit-xs, vit-s, vit-b) for --random-init or a checkpoint without config.")
    var model: String?
    @Option(help: "Directory for eval.json and eval.md.") var out: String?
    @Option(help: "Engine threads (its own pool; OpenBLAS stays at 1). Default: $OPENBLAS_NUM_THREADS, else 1.")
    var threads: Int?
    @Flag(help: "Only print the final table on stdout (the stderr progress line stays; see --no-progress).")
    var quiet = false
    @Flag(help: "No progress line on stderr.") var noProgress = false

    func options() throws -> EvalOptions {
        var o = EvalOptions()
        o.tasks = task.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        switch mode {
        case "linear": o.modes = [.linear]
        case "finetune": o.modes = [.finetune]
        case "both": o.modes = [.linear, .finetune]
        default: throw ValidationError("--mode must be linear, finetune or both (got '\(mode)')")
        }
        o.seeds = seeds
        o.baseSeed = baseSeed
        o.linearSteps = steps ?? linearSteps
        o.finetuneSteps = steps ?? finetuneSteps
        o.batchSize = batchSize
        o.validateEvery = validateEvery
        o.cropsPerRecord = cropsPerRecord
        o.featureCacheMB = featureCacheMB
        o.linearLR = linearLR
        o.finetuneLR = finetuneLR
        o.finetuneFinalLR = finetuneFinalLR
        o.weightDecay = weightDecay
        o.trainFraction = trainFraction
        try o.validate()
        return o
    }

    func run() throws {
        let options = try options()
        EngineThreads.set(threads ?? EngineThreads.defaultCount)
        let onTerminal = isatty(STDERR_FILENO) != 0
        let progress = noProgress ? nil : EvalProgress(interval: onTerminal ? 1 : 5, inPlace: onTerminal, write: { text in
            FileHandle.standardError.write(Data(text.utf8))
        })
        let log: ((String) -> Void)? = quiet ? nil : { line in progress?.clear(); print(line); fflush(stdout) }
        let encoder: EncoderWeights
        let checkpointName: String
        if randomInit {
            guard let model else { throw ValidationError("--random-init needs --model (vit-xs, vit-s, vit-b)") }
            if checkpoint != nil { throw ValidationError("--random-init and --checkpoint exclude each other") }
            encoder = EncoderCheckpoint.random(config: try ViTConfig.parse(model), seed: options.baseSeed)
            checkpointName = "random-init"
        } else {
            guard let checkpoint else { throw ValidationError("--checkpoint is required (or --random-init --model NAME)") }
            encoder = try EncoderCheckpoint.load(path: checkpoint, model: model)
            checkpointName = checkpoint
        }
        log?("encoder: \(encoder.origin), \(encoder.config.name) (dim \(encoder.config.dim), depth \(encoder.config.depth))")
        let t0 = Date()
        let dataset = try EvalDataset.load(path: data, tasks: options.tasks)
        log?("data: \(data), \(dataset.count) records, tasks \(dataset.tasks.map(\.name).joined(separator: ", ")) (loaded in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s)")
        let report = try encoder.values.withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: encoder.config, data: dataset, options: options,
                         checkpoint: checkpointName, randomInit: randomInit, log: log, progress: progress)
        }
        progress?.clear()
        print("")
        print(report.markdown, terminator: "")
        if let out {
            try report.write(toDirectory: out)
            print("wrote \(out)/eval.json and \(out)/eval.md")
        }
    }
}
