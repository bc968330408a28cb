import ECGData
import Foundation
import Model
import ModelIO

// Per-record embeddings of a frozen encoder, for work outside ecg-dist (PyTorch, numpy, sklearn).
//
// Input: every record of a corpus, normalized exactly as pre-training and evaluation see it
// (per-lead z-score with the file's channel_mean/channel_std, clipped to ±5; ECGData/Normalize).
// Windows: by default the whole record in one forward pass (10 s = 200 patches, the input length
// pre-training uses, so each output token maps to one 50 ms patch of the record); with a shorter
// crop, the evaluation's windows (start 0, stride, 2·stride, …, plus one ending at the record's
// end; CropPlan.evalOffsets) and the record's embedding is the mean of the window embeddings.
// Pooling: the mean over the PATCH tokens of the encoder output (after the final LayerNorm); the
// register token is left out. It has no position and is never a JEPA target, so nothing in
// pre-training shapes its output as a summary of the signal, and the paper's global average pooling
// (ECG-JEPA ViTClassifier) drops registers the same way. `--tokens` keeps the full output, the
// register included (row 0), so any other pooling can be computed from it.

public struct EmbeddingOptions: Sendable {
    /// Window length in samples; nil = the whole record.
    public var cropSamples: Int?
    /// Window stride in samples; nil = half the window (the evaluation's 1.25 s for 2.5 s crops).
    public var strideSamples: Int?
    /// Also write every output token of every window.
    public var includeTokens = false
    /// Records encoded per forward call (all windows of a record go in the same call).
    public var recordsPerBatch = 16

    public init() {}
}

/// What `EmbeddingJob.run` produced.
public struct EmbeddingSummary: Sendable {
    public let records: Int
    public let dim: Int
    /// Encoder output tokens per window (1 register + patches).
    public let tokensPerWindow: Int
    public let windowOffsets: [Int]
    public let cropSamples: Int
    public let files: [String]
}

public enum EmbeddingJob {
    /// Encodes every record of the corpus at `corpusPath` with `encoder` and writes the result to
    /// `out` (`.h5`/`.hdf5`: one HDF5 file; `.npy`: `out` plus `<stem>.record_ids.npy` and, with
    /// tokens, `<stem>.tokens.npy`). Every file appears only complete: they are written under
    /// temporary names and renamed at the end; on any error nothing is left behind.
    /// `checkpoint` names the encoder's file in the output's attributes (its file name only).
    public static func run(encoder weights: EncoderWeights, checkpoint: String, corpusPath: String, out: String,
                           options: EmbeddingOptions, log: ((String) -> Void)? = nil) throws -> EmbeddingSummary {
        let format = try EmbeddingFileFormat(path: out)
        try refuseOverwritingInputs(out: out, format: format, inputs: [corpusPath, checkpoint])
        let reader = try CorpusReader(path: corpusPath)
        let config = weights.config
        guard reader.leads == config.channels else {
            throw EvalError.badData(path: corpusPath, message: "records have \(reader.leads) leads, the \(config.name) encoder takes \(config.channels)")
        }
        let plan = try windowPlan(recordLength: reader.samples, options: options, patchSize: config.patchSize, path: corpusPath)
        let offsets = plan.evalOffsets
        let tokens = config.tokens(forSamples: plan.cropLength)
        let shape = EmbeddingShape(records: reader.count, windows: offsets.count, tokens: tokens, dim: config.dim)
        let description = EmbeddingDescription(
            model: try TrainingStateWriter.metadataString(config),
            checkpoint: URL(fileURLWithPath: checkpoint).lastPathComponent,
            corpus: URL(fileURLWithPath: corpusPath).lastPathComponent,
            cropSamples: plan.cropLength, windowOffsets: offsets)
        let sink = try format.makeSink(path: out, shape: shape, tokens: options.includeTokens, description: description)
        do {
            try encode(reader: reader, weights: weights, plan: plan, shape: shape, options: options, sink: sink, log: log)
            try sink.finish(recordIDs: reader.recordIDs, folds: reader.folds)
        } catch {
            sink.abort()
            throw error
        }
        return EmbeddingSummary(records: shape.records, dim: shape.dim, tokensPerWindow: tokens, windowOffsets: offsets,
                                cropSamples: plan.cropLength, files: sink.files)
    }

    /// An output path that is one of the inputs would replace it: refuse before anything is read.
    static func refuseOverwritingInputs(out: String, format: EmbeddingFileFormat, inputs: [String]) throws {
        func resolved(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path }
        var outputs = [out]
        if format == .npy { outputs += ["record_ids", "tokens"].map { EmbeddingFileFormat.npySideFile(out, $0) } }
        let inputPaths = Set(inputs.map(resolved))
        for output in outputs where inputPaths.contains(resolved(output)) {
            throw EmbeddingOptionError("--out \(out) would overwrite the input \(output)")
        }
    }

    /// The windows of one record: the whole record, or crops of `cropSamples` with the stride.
    static func windowPlan(recordLength: Int, options: EmbeddingOptions, patchSize: Int, path: String) throws -> CropPlan {
        let crop = options.cropSamples ?? recordLength
        guard crop >= patchSize else {
            throw EmbeddingOptionError("a window of \(crop) samples is shorter than one \(patchSize)-sample patch")
        }
        guard crop <= recordLength else {
            throw EvalError.badData(path: path, message: "records have \(recordLength) samples, shorter than the \(crop)-sample window asked for")
        }
        let stride = options.strideSamples ?? max(1, crop / 2)
        guard stride > 0 else { throw EmbeddingOptionError("the window stride must be positive (got \(stride) samples)") }
        return CropPlan(recordLength: recordLength, cropLength: crop, evalStride: stride)
    }

    static func encode(reader: CorpusReader, weights: EncoderWeights, plan: CropPlan, shape: EmbeddingShape,
                       options: EmbeddingOptions, sink: EmbeddingSink, log: ((String) -> Void)?) throws {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: weights.config, layout: &layout, prefix: "encoder.")
        encoder.keepsActivationsForBackward = false
        precondition(weights.values.count == layout.count, "encoder weights do not match the encoder layout")
        let offsets = plan.evalOffsets, leads = reader.leads
        let perBatch = max(1, options.recordsPerBatch)
        let recordFloats = reader.recordElements, cropFloats = plan.cropLength * leads
        let records = UnsafeMutablePointer<Float>.allocate(capacity: perBatch * recordFloats)
        let crops = UnsafeMutablePointer<Float>.allocate(capacity: perBatch * offsets.count * cropFloats)
        let pooled = UnsafeMutablePointer<Float>.allocate(capacity: perBatch * shape.dim)
        defer { records.deallocate(); crops.deallocate(); pooled.deallocate() }
        var first = 0, lastReport = 0
        while first < shape.records {
            let n = min(perBatch, shape.records - first)
            try reader.readSignals(rows: first..<(first + n), into: records)
            normalize(records, rows: n * reader.samples, mean: reader.channelMean, std: reader.channelStd, clip: 5)
            for r in 0..<n {
                for (k, offset) in offsets.enumerated() {
                    copyCrop(record: records + r * recordFloats, offset: offset, cropLength: plan.cropLength,
                             channels: leads, into: crops + (r * offsets.count + k) * cropFloats)
                }
            }
            let output = weights.values.withUnsafeBufferPointer {
                encoder.forward(weights: $0.baseAddress!, input: crops, batch: n * offsets.count, samples: plan.cropLength)
            }
            poolPatchTokens(output, records: n, windows: offsets.count, tokens: shape.tokens, dim: shape.dim, into: pooled)
            try sink.append(embeddings: pooled, tokens: options.includeTokens ? output : nil, rows: first..<(first + n))
            first += n
            if first - lastReport >= 1_000 || first == shape.records {
                log?("embedded \(first)/\(shape.records) records")
                lastReport = first
            }
        }
    }

    /// out[r] = mean over the `windows` windows of record r of the mean over the patch tokens
    /// (rows 1..<tokens; row 0, the register, is skipped) of `output` [records·windows, tokens, dim].
    /// Sums in Double so the result does not depend on the token count's rounding.
    public static func poolPatchTokens(_ output: UnsafePointer<Float>, records: Int, windows: Int, tokens: Int, dim: Int,
                                       into out: UnsafeMutablePointer<Float>) {
        precondition(tokens >= 2, "pooling needs at least one patch token after the register")
        let scale = 1 / Double(windows * (tokens - 1))
        var sum = [Double](repeating: 0, count: dim)
        for r in 0..<records {
            for d in 0..<dim { sum[d] = 0 }
            for w in 0..<windows {
                let window = output + (r * windows + w) * tokens * dim
                for t in 1..<tokens {
                    let row = window + t * dim
                    for d in 0..<dim { sum[d] += Double(row[d]) }
                }
            }
            for d in 0..<dim { out[r * dim + d] = Float(sum[d] * scale) }
        }
    }
}

/// Sizes of one embedding output.
public struct EmbeddingShape: Equatable, Sendable {
    public let records: Int
    public let windows: Int
    public let tokens: Int
    public let dim: Int

    /// Shape of the per-token output: (N, T, dim) for one window per record, (N, W, T, dim) else.
    public var tokenShape: [Int] { windows == 1 ? [records, tokens, dim] : [records, windows, tokens, dim] }
    public var tokenFloatsPerRecord: Int { windows * tokens * dim }
}

/// What the output files record about how the embeddings were made (HDF5 attributes).
struct EmbeddingDescription {
    let model: String
    let checkpoint: String
    let corpus: String
    let cropSamples: Int
    let windowOffsets: [Int]
    static let pooling = "mean over the patch tokens of the encoder output (final LayerNorm), register token excluded; mean over windows"
    static let tokenLayout = "encoder output tokens: row 0 the register token, then one row per 25-sample patch in time order"
}

/// A wrong `embed` option (window, output name): the message says which and why.
public struct EmbeddingOptionError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
