import ArgumentParser
import Evaluation
import Foundation
import Model

/// `ecg-dist predict`: a classifier saved by `eval --out` on new records.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a saved classifier (eval --out DIR → DIR/classifiers/*.safetensors) on ECG records; write probabilities.",
        discussion: """
        Input (--input): a WFDB record (.hea) or a folder of them (searched recursively), a PTB-XL root \
        (ptbxl_database.csv; --folds 10 picks the test fold), a corpus HDF5 (.h5), or a .npy array \
        (records, samples, leads) with --fs and --leads. Records are prepared as the evaluation's corpus: \
        the 12 standard leads chosen by name, mV, 500 Hz (polyphase resampling), NaN gaps interpolated, the \
        central 10 s (shorter records are refused), z-score with the classifier's channel statistics, clip \
        ±5; the probabilities are the sigmoid of the mean logit over the classifier's 7 windows of 2.5 s. \
        Output by extension: .csv (record_id, one probability column per label; --logits adds logit:<label>) \
        or .json (probabilities and logits). Written atomically; nothing is written on any error.
        """)

    @Option(help: "Classifier file written by ecg-dist eval --out (classifiers/<task>.<mode>.seed<N>.safetensors).")
    var model: String
    @Option(help: "WFDB .hea record or folder, PTB-XL root, corpus .h5, or .npy array.") var input: String
    @Option(help: "Output .csv or .json.") var out: String
    @Option(help: "PTB-XL root or corpus: only these strat_fold values, comma-separated (e.g. 10).") var folds: String?
    @Option(help: ".npy input: sampling rate in Hz.") var fs: Double?
    @Option(help: ".npy input: lead names of the last axis, comma-separated (e.g. I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6).")
    var leads: String?
    @Option(help: ".npy input: units of the values (mV, uV, V).") var units = "mV"
    @Option(help: "Refuse a classifier trained on another task.") var task: String?
    @Flag(help: "CSV: also write the logits (columns logit:<label>).") var logits = false
    @Option(help: "Records per forward batch.") var batch = 16
    @Option(help: "Engine threads (its own pool; OpenBLAS stays at 1). Default: $OPENBLAS_NUM_THREADS, else 1.")
    var threads: Int?
    @Flag(help: "Print only the final line.") var quiet = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        EngineThreads.set(threads ?? EngineThreads.defaultCount)
        var options = PredictOptions()
        options.expectedTask = task
        options.recordsPerBatch = batch
        options.includeLogits = logits
        if let folds {
            options.input.folds = try folds.split(separator: ",").map {
                guard let f = Int($0.trimmingCharacters(in: .whitespaces)), (1...10).contains(f) else {
                    throw ValidationError("--folds: '\($0)' is not a fold number 1-10")
                }
                return f
            }
        }
        options.input.samplingRate = fs
        options.input.leadNames = leads.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        options.input.units = units
        let log: ((String) -> Void)? = quiet ? nil : { line in print(line); fflush(stdout) }
        let classifier = try ClassifierFile.load(path: model)
        let d = classifier.description
        log?("classifier: \(model): task \(d.task), mode \(d.mode), seed \(d.seed), \(d.labelNames.count) labels, \(classifier.config.name)")
        let summary = try PredictJob.run(classifier: classifier, inputPath: input, out: out, options: options, log: log)
        print("wrote \(out): \(summary.records) records (\(summary.inputKind)) × \(d.labelNames.count) labels")
    }
}
