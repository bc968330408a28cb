import DistTrainer
import ECGData
import Foundation
import Model
import ModelIO

// What each fuzz target feeds its parser. One function per target, shared by the libFuzzer
// executable (Tests/Fuzz/Main, built only by scripts/fuzz.sh) and the regression tests, so a crash
// input found by the fuzzer is replayed through exactly the same code by `swift test`.
// A thrown error is the right answer to bad bytes; anything else (trap, sanitizer report, hang,
// allocation the input's size does not justify) is a bug in the parser.

public enum FuzzTarget: String, CaseIterable, Sendable {
    /// WFDB `.hea` text.
    case wfdbHeader = "wfdb-header"
    /// A WFDB header, a NUL byte, then the bytes of its signal file(s) (format 16, 212, ..., `.mat`).
    case wfdbSignal = "wfdb-signal"
    /// A CSV table, read as PTB-XL's `ptbxl_database.csv` (with its `scp_codes` dicts) and `scp_statements.csv`.
    case csv
    /// An HDF5 corpus file, opened and validated by `CorpusReader`, then read.
    case corpusHDF5 = "corpus-hdf5"
    /// A training-state checkpoint: parsed, diffed, its encoder picked, restored into a tiny model.
    case checkpoint
    /// A safetensors file: parsed, every F32 tensor read, loaded into a tiny encoder.
    case safetensors
    /// A PretrainConfig JSON file: parsed and validated.
    case configJSON = "config-json"

    /// The name the parser is told the bytes came from; every error it throws must carry it.
    public var sourceName: String {
        switch self {
        case .wfdbHeader, .wfdbSignal: return "fuzz/record.hea"
        case .csv: return "fuzz/table.csv"
        case .corpusHDF5: return FuzzScratch.corpusPath
        case .checkpoint: return "fuzz/state.ckpt"
        case .safetensors: return "fuzz/encoder.safetensors"
        case .configJSON: return "fuzz/config.json"
        }
    }

    /// Runs the parser on `bytes`; returns nil when they were accepted, else the error's text.
    public func run(_ bytes: [UInt8]) -> String? {
        do {
            switch self {
            case .wfdbHeader: try Self.wfdbHeader(bytes, path: sourceName)
            case .wfdbSignal: try Self.wfdbSignal(bytes, path: sourceName)
            case .csv: try Self.csv(bytes, path: sourceName)
            case .corpusHDF5: try Self.corpus(bytes)
            case .checkpoint: try Self.checkpoint(bytes, path: sourceName)
            case .safetensors: try Self.safetensors(bytes, path: sourceName)
            case .configJSON: try Self.config(bytes, path: sourceName)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func wfdbHeader(_ bytes: [UInt8], path: String) throws {
        let header = try WFDBHeader.parse(bytes: bytes, path: path)
        _ = header.signals.map { millivoltsPerUnit($0.units) }
    }

    static func wfdbSignal(_ bytes: [UInt8], path: String) throws {
        let split = bytes.firstIndex(of: 0) ?? bytes.count
        let header = try WFDBHeader.parse(bytes: Array(bytes[..<split]), path: path)
        let signalBytes = split < bytes.count ? Array(bytes[(split + 1)...]) : []
        // Every signal file the header names gets the same bytes.
        let record = try WFDBRecord.decode(header: header, headerPath: path, verifyChecksums: true) { _ in signalBytes }
        _ = record.samples.reduce(0, +)
    }

    static func csv(_ bytes: [UInt8], path: String) throws {
        let table = try CSVTable.parse(bytes, path: path)
        // Every field through the scp_codes parser; then the table as the PTB-XL table whose key
        // column it has (an error from that reading is the answer for these bytes).
        var codes = Set<String>()
        for row in table.rows { for field in row { for pair in parsePythonStringDict(field) ?? [] { codes.insert(pair.key) } } }
        if table.columns.contains("scp_codes") { _ = try PTBXLDatabase.entries(of: table, knownCodes: codes) }
        if table.columns.contains("diagnostic") {
            _ = PTBXLTask.benchmarkTasks(statements: try PTBXLDatabase.statements(of: table))
        }
    }

    static func corpus(_ bytes: [UInt8]) throws {
        let path = FuzzScratch.corpusPath
        try AtomicFile.write(bytes, to: path)
        let reader = try CorpusReader(path: path)
        _ = try reader.recordNames()
        for task in reader.taskNames { _ = try reader.labels(task: task) }
        if reader.count > 0 {
            var record = [Float](repeating: 0, count: reader.recordElements)
            try record.withUnsafeMutableBufferPointer { try reader.readSignals(rows: 0..<1, into: $0.baseAddress!) }
            try record.withUnsafeMutableBufferPointer { try reader.readSignals(indices: [reader.count - 1], into: $0.baseAddress!) }
        }
    }

    static func checkpoint(_ bytes: [UInt8], path: String) throws {
        let state = try TrainingState(bytes: bytes, source: path)
        _ = try PretrainCheckpoint.diff(state, state)
        var failure: Error?
        do { _ = try EncoderCheckpoint.encoder(in: state, path: path, model: nil) } catch { failure = error }
        let model = FuzzScratch.model
        do {
            _ = try PretrainCheckpoint.restore(bytes, path: path, into: model, optimizer: FuzzScratch.optimizer,
                                               modelFlag: model.config.name)
        } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    static func safetensors(_ bytes: [UInt8], path: String) throws {
        let file = try SafetensorsFile(bytes: bytes, source: path)
        for tensor in file.tensors where tensor.dtype == "F32" { _ = try file.values(tensor.name) }
        let model = FuzzScratch.model
        try file.load(into: model.target.values, layout: model.target.layout, prefix: "encoder.", allowMissing: true)
    }

    static func config(_ bytes: [UInt8], path: String) throws {
        let config = try PretrainConfig.parse(bytes, path: path)
        // validate() speaks of "pretrain config" (file and flags merged); here there is only the file.
        do { try config.validate() } catch { throw FileError(path, "\(error)") }
        _ = config.json()
    }
}

/// What the targets share between runs: a tiny model to restore into, the corpus file's path.
public enum FuzzScratch {
    /// Small enough that a whole checkpoint of it is a few KB (a good seed), big enough to have
    /// every kind of parameter (patch embedding, blocks, predictor).
    public static let config = ViTConfig(name: "fuzz-tiny", dim: 4, depth: 1, heads: 1, predDim: 4, predDepth: 1,
                                         predHeads: 1, patchSize: 5, channels: 1, mlpRatio: 1)
    public static let model = JEPAModel(config: config, samples: 50)
    public static let optimizer = AdamW(layout: model.layout)
    /// HDF5 opens files by name: the corpus target writes its bytes here (memory-backed /dev/shm
    /// when there is one), one file per process.
    /// Deleted at exit (libFuzzer ends a timed run with exit()), so runs leave no files behind.
    public static let corpusPath: String = {
        let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        atexit { unlink(FuzzScratch.corpusPath) }
        return "\(directory)/ecg-fuzz-\(getpid()).h5"
    }()
}
