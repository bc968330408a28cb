import Foundation
import HDF5Shim

/// CODE-15% as distributed: `exams.csv` (one row per exam: exam_id, …, the six label columns,
/// trace_file) and `exams_part0.hdf5` … `exams_part17.hdf5`, each holding `tracings`
/// (N, 4096, 12) float32 — 400 Hz, leads I, II, III, aVR, aVL, aVF, V1–V6, mV, records of 7–10.24 s
/// centred in zero padding — and `exam_id` (N,), whose row i names tracing i. (The parts end with a
/// row of exam_id 0 that no CSV row names; rows no CSV row names are simply not read.)
/// Files are opened once (by every rank of a parallel prepare) and read one exam at a time.
public final class CODE15Archive {
    public static let samplingRate = 400.0
    /// Lead order of `tracings` (the database's documentation; the paper's code reads the same order).
    public static let leadNames = ECGPreprocessing.leadNames
    /// Diagnosis columns of exams.csv, kept as the optional task `code15`.
    public static let labelColumns = ["1dAVb", "RBBB", "LBBB", "SB", "ST", "AF"]

    public struct Exam: Sendable {
        public let examID: Int64
        public let traceFile: String
        /// Row of the exam in its file's `tracings`.
        public let row: Int
        /// One 0/1 per `labelNames` entry.
        public let labels: [UInt8]
    }

    public let root: String
    public let csvPath: String
    public let exams: [Exam]
    /// The label columns exams.csv has (a subset of `labelColumns`, in that order).
    public let labelNames: [String]
    /// Samples per tracing (4096 in the release).
    public let tracingSamples: Int
    private let tracings: [String: H5Dataset]

    /// Reads exams.csv and every HDF5 part it names, and checks before any record is read that every
    /// exam exists in its part and every part has `tracings` of shape (N, T, 12) matching `exam_id`.
    public init(root: String) throws {
        self.root = root
        csvPath = (root as NSString).appendingPathComponent("exams.csv")
        guard FileManager.default.fileExists(atPath: csvPath) else {
            throw ECGDataError(.missingFile, csvPath, "exams.csv not found (is --root the CODE-15% folder?)")
        }
        let table = try CSVTable.load(path: csvPath)
        let idColumn = try table.column("exam_id"), fileColumn = try table.column("trace_file")
        let present = Self.labelColumns.filter { table.columns.contains($0) }
        labelNames = present
        let labelIndices = present.map { table.columns.firstIndex(of: $0)! }

        var rowOfExam: [String: [Int64: Int]] = [:]
        var parts: [String: H5Dataset] = [:]
        var samples: Int?
        var exams: [Exam] = []
        exams.reserveCapacity(table.rows.count)
        var seen = Set<Int64>()
        for (index, row) in table.rows.enumerated() {
            let line = index + 2
            guard let examID = Int64(row[idColumn].trimmingCharacters(in: .whitespaces)) else {
                throw ECGDataError(.badTable, csvPath, "line \(line): exam_id '\(row[idColumn])' is not an integer")
            }
            guard seen.insert(examID).inserted else {
                throw ECGDataError(.badTable, csvPath, "line \(line): exam_id \(examID) is listed twice")
            }
            let traceFile = row[fileColumn].trimmingCharacters(in: .whitespaces)
            guard !traceFile.isEmpty, !traceFile.contains("/") else {
                throw ECGDataError(.badTable, csvPath, "line \(line): trace_file '\(traceFile)' is not a file name")
            }
            if rowOfExam[traceFile] == nil {
                let (dataset, rows) = try Self.openPart(root: root, name: traceFile, csvPath: csvPath, line: line)
                if let samples, samples != dataset.shape[1] {
                    throw ECGDataError(.badCorpus, dataset.file.path,
                        "tracings has \(dataset.shape[1]) samples per exam, other parts have \(samples)")
                }
                samples = dataset.shape[1]
                parts[traceFile] = dataset
                rowOfExam[traceFile] = rows
            }
            guard let tracingRow = rowOfExam[traceFile]![examID] else {
                throw ECGDataError(.missingRecord, csvPath,
                    "line \(line): exam_id \(examID) is not in \(traceFile) (its exam_id dataset does not list it)")
            }
            var labels: [UInt8] = []
            for (name, column) in zip(present, labelIndices) {
                guard let value = Self.truthValue(row[column]) else {
                    throw ECGDataError(.badTable, csvPath, "line \(line): \(name) '\(row[column])' is not True/False/1/0")
                }
                labels.append(value ? 1 : 0)
            }
            exams.append(Exam(examID: examID, traceFile: traceFile, row: tracingRow, labels: labels))
        }
        guard let samples, !exams.isEmpty else { throw ECGDataError(.badTable, csvPath, "no exams listed") }
        self.exams = exams
        tracingSamples = samples
        tracings = parts
    }

    static func truthValue(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "1.0": return true
        case "false", "0", "0.0": return false
        default: return nil
        }
    }

    /// Opens one part and maps its exam ids to rows.
    private static func openPart(root: String, name: String, csvPath: String, line: Int) throws -> (H5Dataset, [Int64: Int]) {
        let path = (root as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ECGDataError(.missingFile, csvPath, "line \(line): trace_file \(name) not found (no \(path))")
        }
        let file: H5File
        // h5py writes these parts in the old, unchecksummed HDF5 format: the metadata check that
        // guards corpora would refuse every one (docs/hdf5-layout.md: the residual risk).
        do { file = try H5File.open(path: path, allowUnchecksummedMetadata: true) } catch let error as HDF5Error {
            throw ECGDataError(.badCorpus, path, "\(error.message) (truncated or damaged download?)")
        }
        guard file.exists("tracings") else { throw ECGDataError(.badCorpus, path, "dataset 'tracings' is missing") }
        guard file.exists("exam_id") else { throw ECGDataError(.badCorpus, path, "dataset 'exam_id' is missing") }
        let tracings = try file.openDataset("tracings")
        let shape = tracings.shape
        guard shape.count == 3, shape[2] == leadNames.count, shape[1] > 0 else {
            throw ECGDataError(.badCorpus, path,
                "tracings has shape (\(shape.map(String.init).joined(separator: ", "))), expected (exams, samples, 12)")
        }
        guard tracings.storedType.typeClass == H5T_FLOAT else {
            throw ECGDataError(.badCorpus, path, "tracings is not a floating-point dataset")
        }
        let idSet = try file.openDataset("exam_id")
        guard idSet.shape.count == 1, idSet.shape[0] == shape[0] else {
            throw ECGDataError(.badCorpus, path,
                "exam_id has shape (\(idSet.shape.map(String.init).joined(separator: ", "))), tracings has \(shape[0]) exams")
        }
        let ids: [Int64]
        do { ids = try idSet.read(as: Int64.self) } catch let error as HDF5Error {
            throw ECGDataError(.badCorpus, path, "cannot read exam_id: \(error.message)")
        }
        var rows: [Int64: Int] = [:]
        for (row, id) in ids.enumerated() where rows[id] == nil { rows[id] = row }
        return (tracings, rows)
    }

    /// The exam's tracing as stored, sample-major (T, 12).
    public func tracing(_ exam: Exam) throws -> [Float] {
        guard let dataset = tracings[exam.traceFile] else {
            throw ECGDataError(.missingFile, csvPath, "trace_file \(exam.traceFile) is not open")
        }
        let count = tracingSamples * Self.leadNames.count
        do {
            return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try dataset.readRows(exam.row..<(exam.row + 1), into: buffer.baseAddress!)
                initialized = count
            }
        } catch let error as HDF5Error {
            throw ECGDataError(.truncated, dataset.file.path,
                "exam_id \(exam.examID) (row \(exam.row)): \(error.message) (truncated or damaged file?)")
        }
    }

    /// Samples between the first and the last sample where any lead is non-zero: the record inside
    /// its zero padding (the padding is exact zeros; a real sample of 0.000 in all twelve leads at
    /// once does not occur in practice). nil when every sample is zero.
    public static func recordRange(_ x: UnsafePointer<Float>, samples: Int, leads: Int) -> Range<Int>? {
        func anyNonZero(_ t: Int) -> Bool {
            for l in 0..<leads where x[t * leads + l] != 0 { return true }
            return false
        }
        guard let first = (0..<samples).first(where: anyNonZero) else { return nil }
        let last = (0..<samples).reversed().first(where: anyNonZero)!
        return first..<(last + 1)
    }
}
