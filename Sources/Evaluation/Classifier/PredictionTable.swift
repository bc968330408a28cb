import Foundation
import Model

// Per-record predictions of a classifier, as `predict` writes them and as `eval --save-predictions`
// writes the test fold: one row per record, one probability (sigmoid of the 7-window mean logit)
// per label name, optionally the logits and the true labels. CSV or JSON, chosen by the file's
// extension, written atomically.

public struct PredictionTable {
    public var labelNames: [String]
    public var recordIDs: [String]
    /// Row-major [records × labels].
    public var logits: [Float]
    /// Row-major [records × labels] 0/1, when known (the evaluation's test fold).
    public var targets: [UInt8]?
    /// Also write the logits (CSV: columns `logit:<label>`; JSON has them always).
    public var includeLogits: Bool
    /// Written into the JSON form (classifier, task, input).
    public var context: [String: String]

    public init(labelNames: [String], recordIDs: [String], logits: [Float], targets: [UInt8]? = nil,
                includeLogits: Bool = false, context: [String: String] = [:]) {
        precondition(logits.count == recordIDs.count * labelNames.count, "one logit per record and label")
        self.labelNames = labelNames
        self.recordIDs = recordIDs
        self.logits = logits
        self.targets = targets
        self.includeLogits = includeLogits
        self.context = context
    }

    public enum Format: String { case csv, json }

    /// The format of an output path, from its extension.
    public static func format(of path: String) throws -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".json") { return .json }
        throw FileError(path, "the output's extension must be .csv or .json (it chooses the format)")
    }

    public static func probability(_ logit: Float) -> Double { 1 / (1 + exp(-Double(logit))) }

    public func csv() -> String {
        let L = labelNames.count
        var header = ["record_id"] + labelNames
        if includeLogits { header += labelNames.map { "logit:\($0)" } }
        if targets != nil { header += labelNames.map { "label:\($0)" } }
        var lines = [header.map(Self.csvField).joined(separator: ",")]
        lines.reserveCapacity(recordIDs.count + 1)
        for (r, id) in recordIDs.enumerated() {
            var fields = [Self.csvField(id)]
            let row = logits[(r * L)..<((r + 1) * L)]
            // 17 significant digits: the probabilities read back as the same doubles.
            fields += row.map { String(format: "%.17g", Self.probability($0)) }
            if includeLogits { fields += row.map { String(format: "%.9g", Double($0)) } }
            if let targets { fields += targets[(r * L)..<((r + 1) * L)].map { String($0) } }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private struct JSONForm: Encodable {
        struct Row: Encodable {
            let record_id: String
            let probabilities: [Double]
            let logits: [Float]
            let labels: [UInt8]?
        }
        let context: [String: String]
        let label_names: [String]
        let records: [Row]
    }

    public func json() throws -> Data {
        let L = labelNames.count
        let rows = recordIDs.enumerated().map { r, id in
            let row = Array(logits[(r * L)..<((r + 1) * L)])
            return JSONForm.Row(record_id: id, probabilities: row.map(Self.probability), logits: row,
                                labels: targets.map { Array($0[(r * L)..<((r + 1) * L)]) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(JSONForm(context: context, label_names: labelNames, records: rows))
    }

    /// Writes the table to `path` atomically, CSV or JSON by its extension.
    public func write(to path: String) throws {
        switch try Self.format(of: path) {
        case .csv: try AtomicFile.write(csv(), to: path)
        case .json: try AtomicFile.write(Array(try json()), to: path)
        }
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
