import ECGData
import Foundation
import Model

// The inputs `predict` reads, each brought to what the evaluation's corpus holds: the 12 standard
// leads selected by name, in mV, at 500 Hz, NaN gaps interpolated (ECGData's ECGPreprocessing,
// the code `prepare` uses). The classifier then sees the central 10 s, normalised with its own
// statistics (see Prediction.swift).
//   WFDB record (.hea) or folder of them   ids: the record's path below the folder, without .hea
//   PTB-XL root (ptbxl_database.csv)       ids: ecg_id; the 500 Hz records; --folds selects
//   corpus HDF5 (.h5/.hdf5)                ids: record_ids; --folds selects (needs strat_fold)
//   .npy array (N, T, leads) + fs + leads  ids: row index; --units (default mV)

/// One input record in the corpus form: sample-major, 12 standard leads, mV, 500 Hz.
struct StandardRecord {
    let id: String
    /// The file (and row) it came from, for error messages.
    let origin: String
    /// Sample-major: sample t of lead l is samples[t · 12 + l].
    let samples: [Float]
    let sampleCount: Int
    let warnings: [String]
}

public struct PredictInputOptions: Sendable {
    public var folds: [Int]?
    /// .npy only: sampling rate, lead names (one per last-axis entry) and units.
    public var samplingRate: Double?
    public var leadNames: [String]?
    public var units = "mV"
    public init() {}
}

/// Records of one input, loaded on demand by index.
final class PredictInput {
    let path: String
    let kind: String
    let count: Int
    private let load: (Int) throws -> StandardRecord

    private init(path: String, kind: String, count: Int, load: @escaping (Int) throws -> StandardRecord) {
        self.path = path
        self.kind = kind
        self.count = count
        self.load = load
    }

    func record(_ i: Int) throws -> StandardRecord { try load(i) }

    static func open(path: String, options: PredictInputOptions) throws -> PredictInput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw FileError(path, "no such file or folder") }
        let lower = path.lowercased()
        let isNpy = lower.hasSuffix(".npy")
        if !isNpy && (options.samplingRate != nil || options.leadNames != nil || options.units != "mV") {
            throw FileError(path, "--fs, --leads and --units describe .npy inputs only (WFDB headers and corpora carry their own)")
        }
        if isDirectory.boolValue {
            let database = (path as NSString).appendingPathComponent("ptbxl_database.csv")
            if FileManager.default.fileExists(atPath: database) { return try ptbxl(root: path, folds: options.folds) }
            try refuseFolds(options, path, "a WFDB folder")
            let headers = try CorpusPreparer.findHeaders(in: path)
            guard !headers.isEmpty else { throw FileError(path, "no .hea records in this folder (and no ptbxl_database.csv)") }
            let ids = headers.map { String($0.dropFirst(path.count).drop { $0 == "/" }.dropLast(4)) }
            return wfdb(path: path, kind: "WFDB folder", headers: headers, ids: ids)
        }
        if lower.hasSuffix(".hea") {
            try refuseFolds(options, path, "a WFDB record")
            return wfdb(path: path, kind: "WFDB record", headers: [path],
                        ids: [String(URL(fileURLWithPath: path).lastPathComponent.dropLast(4))])
        }
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { return try corpus(path: path, folds: options.folds) }
        if isNpy { try refuseFolds(options, path, "a .npy array"); return try npy(path: path, options: options) }
        throw FileError(path, "unknown input kind: give a WFDB record (.hea) or folder, a PTB-XL root, a corpus (.h5) or a .npy array")
    }

    private static func refuseFolds(_ options: PredictInputOptions, _ path: String, _ what: String) throws {
        if options.folds != nil { throw FileError(path, "--folds needs a PTB-XL root or a corpus with strat_fold; this is \(what)") }
    }

    private static func wfdb(path: String, kind: String, headers: [String], ids: [String]) -> PredictInput {
        var resamplers: [Double: PolyphaseResampler] = [:]
        return PredictInput(path: path, kind: kind, count: headers.count) { i in
            let leads = try ECGPreprocessing.standardize(headerPath: headers[i], resamplers: &resamplers)
            return StandardRecord(id: ids[i], origin: headers[i], samples: leads.samples, sampleCount: leads.sampleCount,
                                  warnings: leads.warnings)
        }
    }

    private static func ptbxl(root: String, folds: [Int]?) throws -> PredictInput {
        let database = try PTBXLDatabase.load(root: root)
        let entries = database.entries.filter { folds == nil || folds!.contains(Int($0.fold)) }
        guard !entries.isEmpty else {
            throw FileError(root, "no records in strat_fold \(folds!.map(String.init).joined(separator: ","))")
        }
        let headers = entries.map { (root as NSString).appendingPathComponent($0.filenameHR + ".hea") }
        return wfdb(path: root, kind: "PTB-XL root", headers: headers, ids: entries.map { String($0.ecgID) })
    }

    private static func corpus(path: String, folds: [Int]?) throws -> PredictInput {
        let reader = try CorpusReader(path: path)
        var rows = Array(0..<reader.count)
        if let folds {
            guard reader.folds.contains(where: { $0 != 0 }) else {
                throw FileError(path, "field /strat_fold is 0 for every record: --folds cannot select (predict every record instead)")
            }
            rows = rows.filter { folds.contains(Int(reader.folds[$0])) }
            guard !rows.isEmpty else { throw FileError(path, "no records in strat_fold \(folds.map(String.init).joined(separator: ","))") }
        }
        guard reader.samplingRate == ECGPreprocessing.samplingRate else {
            throw FileError(path, "attribute sampling_rate is \(reader.samplingRate) Hz, corpora hold \(ECGPreprocessing.samplingRate) Hz")
        }
        let order = try ECGPreprocessing.standardLeadIndices(signalNames: reader.leadNames, path: path)
        let leads = reader.leads, samples = reader.samples
        return PredictInput(path: path, kind: "corpus", count: rows.count) { i in
            var stored = [Float](repeating: 0, count: reader.recordElements)
            try stored.withUnsafeMutableBufferPointer { try reader.readSignals(indices: [rows[i]], into: $0.baseAddress!) }
            var standard = [Float](repeating: 0, count: samples * order.count)
            for t in 0..<samples { for (l, c) in order.enumerated() { standard[t * order.count + l] = stored[t * leads + c] } }
            return StandardRecord(id: String(reader.recordIDs[rows[i]]), origin: "\(path) row \(rows[i])",
                                  samples: standard, sampleCount: samples, warnings: [])
        }
    }

    private static func npy(path: String, options: PredictInputOptions) throws -> PredictInput {
        guard let rate = options.samplingRate else { throw FileError(path, ".npy input needs --fs (its sampling rate in Hz)") }
        guard let names = options.leadNames else { throw FileError(path, ".npy input needs --leads (one name per entry of the last axis)") }
        guard rate > 0, rate.isFinite else { throw FileError(path, "--fs \(rate) is not a positive sampling rate") }
        guard let scale = millivoltsPerUnit(options.units) else {
            throw FileError(path, "--units '\(options.units)' is not a voltage unit (mV, uV, V, ...)")
        }
        // The same reader and preprocessing as `prepare npy` (ECGData NPYFile + standardize): one
        // record at a time, so the array may be larger than memory.
        let file = try NPYFile(path: path)
        let shape = file.header.shape
        guard shape.count == 3 else {
            throw FileError(path, "field 'shape' is \(shape); expected (records, samples, leads)")
        }
        let (n, t, c) = (shape[0], shape[1], shape[2])
        guard c == names.count else {
            throw FileError(path, "wrong lead count: field 'shape' \(shape) has \(c) leads on its last axis, --leads names \(names.count)")
        }
        guard n > 0, t > 0 else { throw FileError(path, "field 'shape' \(shape) holds no samples") }
        let order = try ECGPreprocessing.standardLeadIndices(signalNames: names, path: path)
        var resamplers: [Double: PolyphaseResampler] = [:]
        return PredictInput(path: path, kind: ".npy array", count: n) { i in
            let raw = try file.readElements(first: i * t * c, count: t * c)
            let place = "\(path) row \(i)"
            let leads = try ECGPreprocessing.standardize(sampleCount: t, rate: rate, path: place, resamplers: &resamplers) { lead, out, stride in
                let source = order[lead]
                var sawNaN = false
                for s in 0..<t {
                    let value = raw[s * c + source]
                    if value.isNaN { sawNaN = true }
                    out[s * stride] = Float(value * scale)
                }
                return sawNaN
            }
            return StandardRecord(id: String(i), origin: place, samples: leads.samples, sampleCount: leads.sampleCount,
                                  warnings: leads.warnings)
        }
    }
}
