import ArgumentParser
import ECGData
import Evaluation
import Foundation
import Model
import ModelIO

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
    @Option(help: ArgumentHelp("Mode(s), comma-separated: linear, finetune_after_linear, finetune; both = linear,finetune; paper = linear,finetune_after_linear.",
                               discussion: "finetune_after_linear starts from the probe linear mode trains (configs/eval/finetune_after_linear.yaml); finetune is the ST-MEM-style fine-tuning with a fresh probe (configs/eval/finetune.yaml)."))
    var mode = "linear"
    @Option(help: "Runs per task and mode (seeds base-seed, base-seed+1, ...); the report gives mean ± std (the paper: 10).") var seeds = 1
    @Option(help: "First seed.") var baseSeed: UInt64 = 0
    @Option(help: "Sets the step count of every mode.") var steps: Int?
    @Option(help: "Attentive-probe steps (paper's linear.yaml: 5000).") var linearSteps = HeadProtocol.paperLinear.steps
    @Option(help: "Probe learning rate (paper: 1e-3).") var linearLR = HeadProtocol.paperLinear.learningRate
    @Option(help: "Probe final learning rate, cosine from --linear-lr (paper: 1e-3, i.e. constant).")
    var linearFinalLR = HeadProtocol.paperLinear.finalLearningRate
    @Option(help: "finetune_after_linear steps (paper's finetune_after_linear.yaml: 5000).")
    var afterLinearSteps = HeadProtocol.paperFinetuneAfterLinear.steps
    @Option(help: "finetune_after_linear peak learning rate (paper: 1e-4).") var afterLinearLR = HeadProtocol.paperFinetuneAfterLinear.learningRate
    @Option(help: "finetune_after_linear final learning rate (paper: 1e-6).")
    var afterLinearFinalLR = HeadProtocol.paperFinetuneAfterLinear.finalLearningRate
    @Option(help: "finetune_after_linear warm-up steps (paper: 200).") var afterLinearWarmupSteps = HeadProtocol.paperFinetuneAfterLinear.warmupSteps
    @Option(help: "finetune (ST-MEM-style) steps (paper's finetune.yaml: 10000).") var finetuneSteps = HeadProtocol.paperFinetune.steps
    @Option(help: "finetune peak learning rate (paper: 1e-3).") var finetuneLR = HeadProtocol.paperFinetune.learningRate
    @Option(help: "finetune final learning rate (paper: 1e-5).") var finetuneFinalLR = HeadProtocol.paperFinetune.finalLearningRate
    @Option(help: "finetune warm-up steps (paper: 200).") var finetuneWarmupSteps = HeadProtocol.paperFinetune.warmupSteps
    @Option(help: "AdamW weight decay for every mode (default: the paper's per mode: linear 0.1, finetune_after_linear 0, finetune 0.01).")
    var weightDecay: Double?
    @Option(help: "Gradient-norm clip for every mode, 0 = off (default: the paper's: 1.0, 1.0, off for finetune).")
    var gradClip: Double?
    @Option(help: "Early-stopping patience in steps for every mode, 0 = off (default: the paper's: 5000, 2000, 2000).")
    var patience: Int?
    @Option(help: "Encoder dropout (after attn.proj, GELU, fc2) while fine-tuning, both fine-tuning modes (default: the paper's: finetune_after_linear 0.1, finetune 0.05; the linear probe's frozen encoder has none).")
    var dropout: Double?
    @Option(help: "Records per step (paper: 128).") var batchSize = 128
    @Option(help: "Validate every N steps and keep the best model (paper: 100; 0 = 20 times per run).") var validateEvery = 100
    @Option(help: "Linear probe: cached random crops per training record.") var cropsPerRecord = 4
    @Option(help: "Linear probe: memory cap of the feature cache (MB).") var featureCacheMB = 4_096
    @Option(help: "Label efficiency: train the heads on this seeded stratified share of folds 1-8 (0 < F <= 1).")
    var trainFraction = 1.0
    @Flag(help: "Baseline: evaluate a randomly initialised encoder (needs --model).") var randomInit = false
    @Option(help: "Model config (vit-xs, vit-s, vit-b) for --random-init or a checkpoint without config.")
    var model: String?
    @Option(help: "Directory for eval.json, eval.md and the saved classifiers (classifiers/<task>.<mode>.seed<N>.safetensors).")
    var out: String?
    @Flag(help: "With --out: do not save the classifiers.") var noClassifiers = false
    @Flag(help: "With --out: write each run's test-fold predictions (test_predictions/<task>.<mode>.seed<N>.csv: probabilities, logits, labels).")
    var savePredictions = false
    @Option(help: "Engine threads (its own pool; OpenBLAS stays at 1). Default: $OPENBLAS_NUM_THREADS, else 1.")
    var threads: Int?
    @Flag(help: "Only print the final table on stdout (the stderr progress line stays; see --no-progress).")
    var quiet = false
    @Flag(help: "No progress line on stderr.") var noProgress = false

    func options() throws -> EvalOptions {
        var o = EvalOptions()
        o.tasks = task.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        o.modes = try Self.parseModes(mode)
        o.seeds = seeds
        o.baseSeed = baseSeed
        o.linear.steps = steps ?? linearSteps
        o.linear.learningRate = linearLR
        o.linear.finalLearningRate = linearFinalLR
        o.finetuneAfterLinear.steps = steps ?? afterLinearSteps
        o.finetuneAfterLinear.learningRate = afterLinearLR
        o.finetuneAfterLinear.finalLearningRate = afterLinearFinalLR
        o.finetuneAfterLinear.warmupSteps = afterLinearWarmupSteps
        o.finetune.steps = steps ?? finetuneSteps
        o.finetune.learningRate = finetuneLR
        o.finetune.finalLearningRate = finetuneFinalLR
        o.finetune.warmupSteps = finetuneWarmupSteps
        for keyPath in [\EvalOptions.linear, \EvalOptions.finetune, \EvalOptions.finetuneAfterLinear] {
            if let weightDecay { o[keyPath: keyPath].weightDecay = weightDecay }
            if let gradClip { o[keyPath: keyPath].gradClip = gradClip }
            if let patience { o[keyPath: keyPath].earlyStoppingPatience = patience }
        }
        if let dropout { o.finetune.dropout = dropout; o.finetuneAfterLinear.dropout = dropout }
        o.batchSize = batchSize
        o.validateEvery = validateEvery
        o.cropsPerRecord = cropsPerRecord
        o.featureCacheMB = featureCacheMB
        o.trainFraction = trainFraction
        try o.validate()
        return o
    }

    static func parseModes(_ text: String) throws -> [EvalMode] {
        var modes: [EvalMode] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "_") }) {
            switch name {
            case "both": modes += [.linear, .finetune]
            case "paper": modes += [.linear, .finetuneAfterLinear]
            default:
                guard let m = EvalMode(rawValue: name) else {
                    throw ValidationError("--mode: unknown mode '\(name)' (linear, finetune_after_linear, finetune, both, paper)")
                }
                modes.append(m)
            }
        }
        guard !modes.isEmpty else { throw ValidationError("--mode is empty") }
        return EvalMode.allCases.filter(modes.contains)
    }

    func run() throws {
        let options = try options()
        if (savePredictions || noClassifiers) && out == nil { throw ValidationError("--save-predictions / --no-classifiers need --out") }
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
        let artifacts = out.map { EvalArtifactOptions(directory: $0, saveClassifiers: !noClassifiers, savePredictions: savePredictions,
                                                      encoderSource: checkpointName) }
        let report = try encoder.values.withUnsafeBufferPointer {
            try evaluate(encoderWeights: $0, config: encoder.config, data: dataset, options: options,
                         checkpoint: checkpointName, randomInit: randomInit, log: log, progress: progress, artifacts: artifacts)
        }
        progress?.clear()
        print("")
        print(report.markdown, terminator: "")
        if let out {
            try report.write(toDirectory: out)
            let saved = report.results.flatMap(\.seeds).compactMap(\.classifier).count
            print("wrote \(out)/eval.json and \(out)/eval.md" + (saved > 0 ? " and \(saved) classifier file\(saved == 1 ? "" : "s") in \(out)/classifiers" : ""))
        }
    }
}
