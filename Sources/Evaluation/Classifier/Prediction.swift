import ECGData
import Foundation
import Model

// `ecg-dist predict`: a saved classifier on new records, prepared exactly as its evaluation saw
// them. Per record: the input's 12 standard leads in mV at 500 Hz (PredictInput.swift), the
// central 10 s (prepare's `center` policy), z-score with the CLASSIFIER's channel statistics and
// clip (ECGData's `normalize`, the evaluation's kernel), then the classifier's 7 windows through
// encoder + probe and the mean of their logits (`classifierLogits`, the evaluation's forward).

public struct PredictOptions: Sendable {
    public var input = PredictInputOptions()
    /// Refuse a classifier trained on another task.
    public var expectedTask: String?
    /// Records prepared and run per forward batch.
    public var recordsPerBatch = 16
    /// Also write the logits (CSV columns `logit:<label>`).
    public var includeLogits = false
    public init() {}
}

public struct PredictSummary: Sendable {
    public let records: Int
    public let inputKind: String
    public let warnings: [String]
}

public enum PredictJob {
    /// Predicts every record of `inputPath` and writes the table to `out` (.csv or .json) atomically;
    /// nothing is written when any record fails.
    public static func run(classifier: ClassifierFile, inputPath: String, out: String, options: PredictOptions,
                           log: ((String) -> Void)? = nil) throws -> PredictSummary {
        _ = try PredictionTable.format(of: out)
        let d = classifier.description
        if let task = options.expectedTask, task != d.task {
            throw FileError(classifier.path, "metadata field 'classifier.task' is '\(d.task)', but --task \(task) was asked for")
        }
        guard d.leadNames.map({ $0.lowercased() }) == ECGPreprocessing.leadNames.map({ $0.lowercased() }) else {
            throw FileError(classifier.path, "metadata field 'classifier.leadNames' is \(d.leadNames); predict prepares the 12 standard leads \(ECGPreprocessing.leadNames)")
        }
        guard d.recordLength == ECGPreprocessing.windowSamples else {
            throw FileError(classifier.path, "metadata field 'classifier.recordLength' is \(d.recordLength); predict cuts records to \(ECGPreprocessing.windowSamples) samples (10 s)")
        }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        guard resolved(out) != resolved(inputPath), resolved(out) != resolved(classifier.path) else {
            throw FileError(out, "--out would overwrite an input")
        }
        let input = try PredictInput.open(path: inputPath, options: options.input)
        let network = ClassifierNetwork(config: classifier.config, labels: d.labelNames.count)
        let plan = d.cropPlan
        let leads = d.leadNames.count, length = d.recordLength, L = d.labelNames.count
        let perBatch = max(1, options.recordsPerBatch)
        let batch = UnsafeMutablePointer<Float>.allocate(capacity: perBatch * length * leads)
        defer { batch.deallocate() }
        var ids: [String] = [], logits: [Float] = [], warnings: [String] = []
        ids.reserveCapacity(input.count)
        logits.reserveCapacity(input.count * L)
        var first = 0
        while first < input.count {
            let n = min(perBatch, input.count - first)
            for r in 0..<n {
                let record = try input.record(first + r)
                guard record.sampleCount >= length else {
                    throw FileError(record.origin, "record too short: \(record.sampleCount) samples at \(d.samplingRate) Hz (\(String(format: "%.2f", Double(record.sampleCount) / Double(d.samplingRate))) s); the classifier needs \(length) (\(length / d.samplingRate) s)")
                }
                let start = ECGPreprocessing.windowStarts(sampleCount: record.sampleCount, policy: .center)[0]
                record.samples.withUnsafeBufferPointer {
                    normalize($0.baseAddress! + start * leads, into: batch + r * length * leads, rows: length,
                              mean: d.channelMean, std: d.channelStd, clip: d.clipSigma)
                }
                ids.append(record.id)
                warnings += record.warnings
                record.warnings.forEach { log?("warning: \($0)") }
            }
            let chunk = classifier.weights.withUnsafeBufferPointer { weights in
                classifierLogits(encoder: network.encoder, probe: network.probe, weights: weights.baseAddress!, plan: plan,
                                 channels: leads, records: n, batchCrops: 7 * perBatch,
                                 recordSignal: { UnsafePointer(batch + $0 * length * leads) })
            }
            logits += chunk
            first += n
            if first % 1000 < n || first == input.count { log?("predicted \(first)/\(input.count) records") }
        }
        let table = PredictionTable(labelNames: d.labelNames, recordIDs: ids, logits: logits, includeLogits: options.includeLogits,
                                    context: ["classifier": classifier.path, "task": d.task, "mode": d.mode,
                                              "input": inputPath, "input_kind": input.kind])
        try table.write(to: out)
        return PredictSummary(records: ids.count, inputKind: input.kind, warnings: warnings)
    }
}
