import ArgumentParser
import Evaluation
import Foundation
import Model
import ModelIO

/// `ecg-dist embed`: per-record embeddings of a (frozen) encoder for use outside ecg-dist.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write per-record encoder embeddings (and optionally every token) of a corpus to HDF5 or .npy.",
        discussion: """
        Records are normalized as in pre-training and evaluation (z-score with the corpus's \
        channel_mean/channel_std, clip ±5). A record's embedding is the mean over the encoder's patch \
        tokens (after the final LayerNorm; the register token is left out: it is never a JEPA target). \
        Default window: the whole 10-s record in one pass, the length pre-training uses. \
        --crop-seconds 2.5 encodes the evaluation's windows (stride --stride-seconds, default half a \
        window, plus one window ending at the record's end) and averages their embeddings. \
        Output by extension: .h5/.hdf5 → datasets embeddings (N, dim), record_ids, strat_fold, tokens \
        (N, T, dim) or (N, windows, T, dim) with --tokens; .npy → OUT.npy (N, dim), \
        STEM.record_ids.npy, STEM.tokens.npy. Files appear complete or not at all.
        """)

    @Option(help: "Encoder: a training state (.ckpt; the EMA target encoder is used) or an encoder .safetensors.")
    var checkpoint: String
    @Option(help: "Corpus file (docs/hdf5-layout.md), e.g. from ecg-dist prepare or synth.") var data: String
    @Option(help: "Output: .h5/.hdf5 (one HDF5 file) or .npy (embeddings; ids and tokens in side files).") var out: String
    @Flag(help: "Also write every output token of every window (register first).") var tokens = false
    @Option(help: "Window length in seconds (default: the whole record). 2.5 = the evaluation's crops.")
    var cropSeconds: Double?
    @Option(help: "Window stride in seconds with --crop-seconds (default: half a window).") var strideSeconds: Double?
    @Option(help: "Records per forward pass.") var batch = 16
    @Option(help: "Model config (vit-xs, vit-s, ...) for a checkpoint without one in its metadata.") var model: String?
    @Option(help: "Engine threads (its own pool; OpenBLAS stays at 1). Default: $OPENBLAS_NUM_THREADS, else 1.")
    var threads: Int?
    @Flag(help: "Print only the final line.") var quiet = false

    /// Seconds → samples at the corpus rate (500 Hz), refusing values that are not whole samples.
    static func samples(_ seconds: Double?, flag: String) throws -> Int? {
        guard let seconds else { return nil }
        let samples = seconds * 500
        guard seconds > 0, samples.isFinite, abs(samples - samples.rounded()) < 1e-6 else {
            throw ValidationError("\(flag) \(seconds) is not a positive whole number of 2-ms samples")
        }
        return Int(samples.rounded())
    }

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if strideSeconds != nil && cropSeconds == nil { throw ValidationError("--stride-seconds needs --crop-seconds") }
        _ = try Self.samples(cropSeconds, flag: "--crop-seconds")
        _ = try Self.samples(strideSeconds, flag: "--stride-seconds")
    }

    func run() throws {
        EngineThreads.set(threads ?? EngineThreads.defaultCount)
        var options = EmbeddingOptions()
        options.cropSamples = try Self.samples(cropSeconds, flag: "--crop-seconds")
        options.strideSamples = try Self.samples(strideSeconds, flag: "--stride-seconds")
        options.includeTokens = tokens
        options.recordsPerBatch = batch
        let encoder = try EncoderCheckpoint.load(path: checkpoint, model: model)
        let log: ((String) -> Void)? = quiet ? nil : { line in print(line); fflush(stdout) }
        log?("encoder: \(encoder.origin), \(encoder.config.name) (dim \(encoder.config.dim), depth \(encoder.config.depth))")
        let summary = try EmbeddingJob.run(encoder: encoder, checkpoint: checkpoint, corpusPath: data, out: out,
                                           options: options, log: log)
        let windows = summary.windowOffsets.count
        print("wrote \(summary.files.joined(separator: ", ")): \(summary.records) records × \(summary.dim)"
              + " (\(windows) window\(windows == 1 ? "" : "s") of \(summary.cropSamples) samples, \(summary.tokensPerWindow) tokens each"
              + (tokens ? ", tokens kept" : "") + ")")
    }
}
