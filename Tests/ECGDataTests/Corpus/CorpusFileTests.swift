import Foundation
import XCTest
@testable import ECGData
import Model

/// HDF5 wrapper and corpus writer/reader round trips, append, failure cleanup and shape validation.
final class CorpusFileTests: TemporaryDirectoryTestCase {

    static let width = 5000 * 12
    /// A record whose every value encodes (record, sample, lead), so misplaced rows are caught.
    func record(_ r: Int) -> [Float] { (0..<Self.width).map { Float(r) * 1000 + Float($0 % 997) * 0.5 + Float($0 % 12) } }

    func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory).sorted() }

    func writeCorpus(_ path: String, count: Int, folds: (Int) -> Int32, batch: Int = 3, append: Bool = false,
                     tasks: [CorpusTaskSpec] = [CorpusTaskSpec(name: "t", labelNames: ["A", "B", "C"])], firstRecord: Int = 0) throws {
        let writer = try CorpusWriter(path: path, source: "test", tasks: tasks, append: append, batchSize: batch)
        for r in firstRecord..<(firstRecord + count) {
            let labels = tasks.map { task in (0..<task.labelNames.count).map { UInt8(($0 + r) % 2) } }
            try record(r).withUnsafeBufferPointer {
                try writer.add(signal: $0.baseAddress!, id: Int64(100 + r), name: "rec/\(r)", fold: folds(r), labels: labels)
            }
        }
        try writer.finish()
    }

    func testRoundTrip() throws {
        let path = directory + "/c.h5"
        try writeCorpus(path, count: 7, folds: { Int32($0 % 10 + 1) })
        XCTAssertEqual(try files(), ["c.h5"], "temporary file renamed away")
        let reader = try CorpusReader(path: path)
        XCTAssertEqual(reader.count, 7)
        XCTAssertEqual(reader.samples, 5000)
        XCTAssertEqual(reader.leads, 12)
        XCTAssertEqual(reader.samplingRate, 500)
        XCTAssertEqual(reader.leadNames, ECGPreprocessing.leadNames)
        XCTAssertEqual(reader.recordIDs, (100..<107).map(Int64.init))
        XCTAssertEqual(reader.folds, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(try reader.recordNames(), (0..<7).map { "rec/\($0)" })
        XCTAssertEqual(reader.taskNames, ["t"])
        let (names, matrix) = try reader.labels(task: "t")
        XCTAssertEqual(names, ["A", "B", "C"])
        XCTAssertEqual(Array(matrix[0..<6]), [0, 1, 0, 1, 0, 1])
        var buffer = [Float](repeating: 0, count: 3 * Self.width)
        try buffer.withUnsafeMutableBufferPointer { try reader.readSignals(rows: 2..<5, into: $0.baseAddress!) }
        XCTAssertEqual(Array(buffer[0..<Self.width]), record(2))
        XCTAssertEqual(Array(buffer[(2 * Self.width)...]), record(4))
        // Unsorted indices with a repeat: buffer row i = record indices[i].
        try buffer.withUnsafeMutableBufferPointer { try reader.readSignals(indices: [6, 0, 6], into: $0.baseAddress!) }
        XCTAssertEqual(Array(buffer[0..<Self.width]), record(6))
        XCTAssertEqual(Array(buffer[Self.width..<(2 * Self.width)]), record(0))
        XCTAssertEqual(Array(buffer[(2 * Self.width)...]), record(6))
        XCTAssertEqual(reader.recordsRead, 6)
        XCTAssertEqual(reader.bytesRead, 6 * Self.width * 4)
        // Mean/std over folds 1-8 only: records 0...6 all qualify here.
        let lead0 = (0..<7).flatMap { r in let x = record(r); return stride(from: 0, to: Self.width, by: 12).map { Double(x[$0]) } }
        let mean = lead0.reduce(0, +) / Double(lead0.count)
        XCTAssertEqual(Double(reader.channelMean[0]), mean, accuracy: 1e-2)
    }

    func testTrainingFoldStatistics() throws {
        let path = directory + "/folds.h5"
        try writeCorpus(path, count: 4, folds: { $0 < 2 ? 3 : 9 }) // records 2 and 3 are not training folds
        let reader = try CorpusReader(path: path)
        let lead5 = (0..<2).flatMap { r in let x = record(r); return stride(from: 5, to: Self.width, by: 12).map { Double(x[$0]) } }
        let mean = lead5.reduce(0, +) / Double(lead5.count)
        let std = (lead5.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(lead5.count)).squareRoot()
        XCTAssertEqual(Double(reader.channelMean[5]), mean, accuracy: 1e-3)
        XCTAssertEqual(Double(reader.channelStd[5]), std, accuracy: 1e-3)
    }

    func testAppendAddsRowsAndKeepsOldOnes() throws {
        let path = directory + "/a.h5"
        try writeCorpus(path, count: 4, folds: { _ in 0 }, tasks: [])
        try writeCorpus(path, count: 3, folds: { _ in 0 }, append: true, tasks: [], firstRecord: 4)
        let reader = try CorpusReader(path: path)
        XCTAssertEqual(reader.count, 7)
        XCTAssertEqual(reader.recordIDs, (100..<107).map(Int64.init))
        var buffer = [Float](repeating: 0, count: Self.width)
        for r in [0, 3, 4, 6] {
            try buffer.withUnsafeMutableBufferPointer { try reader.readSignals(rows: r..<(r + 1), into: $0.baseAddress!) }
            XCTAssertEqual(buffer, record(r), "record \(r)")
        }
        // Statistics are updated over all 7 records, not just the appended ones.
        let lead0 = (0..<7).flatMap { r in let x = record(r); return stride(from: 0, to: Self.width, by: 12).map { Double(x[$0]) } }
        XCTAssertEqual(Double(reader.channelMean[0]), lead0.reduce(0, +) / Double(lead0.count), accuracy: 1e-2)
        // Labelled rows appended to an unlabelled corpus: a new task with zero rows for the old records.
        try writeCorpus(path, count: 2, folds: { _ in 1 }, append: true, firstRecord: 7)
        let labelled = try CorpusReader(path: path)
        let (_, matrix) = try labelled.labels(task: "t")
        XCTAssertEqual(matrix.count, 9 * 3)
        XCTAssertTrue(matrix[0..<21].allSatisfy { $0 == 0 })
        XCTAssertEqual(Array(matrix[21...]), [1, 0, 1, 0, 1, 0])
        XCTAssertEqual(try files(), ["a.h5"])
    }

    func testFailureLeavesNoFile() throws {
        let path = directory + "/f.h5"
        do {
            let writer = try CorpusWriter(path: path, source: "test", tasks: [], batchSize: 2)
            try record(0).withUnsafeBufferPointer { try writer.add(signal: $0.baseAddress!, name: "r", fold: 0) }
            XCTAssertEqual(try files().count, 1, "only the temporary file exists while writing")
            XCTAssertTrue(try files()[0].hasPrefix("f.h5.tmp-"))
            writer.abort()
        }
        XCTAssertEqual(try files(), [])
        // A writer dropped without finish() cleans up too.
        do {
            let writer = try CorpusWriter(path: path, source: "test", tasks: [])
            _ = writer
        }
        XCTAssertEqual(try files(), [])
        // An existing corpus survives a failed append untouched.
        try writeCorpus(path, count: 2, folds: { _ in 0 }, tasks: [])
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try writeCorpus(path, count: 1, folds: { _ in 0 }, append: true,
                                             tasks: [CorpusTaskSpec(name: "x", labelNames: [])]))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try files(), ["f.h5"])
    }

    func testWrongShapeIsRejectedWithFileName() throws {
        let path = directory + "/bad.h5"
        do {
            let file = try H5File.create(path: path)
            _ = try file.createDataset("signals", type: .float32, shape: [2, 5000, 8], chunk: [1, 5000, 8])
            try file.attributes.set("lead_names", strings: Array(ECGPreprocessing.leadNames.prefix(8)))
        }
        XCTAssertThrowsError(try CorpusReader(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bad.h5") && text.contains("(2, 5000, 8)"), text)
        }
        XCTAssertThrowsError(try CorpusReader(path: directory + "/none.h5")) { error in
            XCTAssertTrue("\(error)".contains("none.h5"), "\(error)")
        }
        _ = FileManager.default.createFile(atPath: directory + "/text.h5", contents: Data("hello".utf8))
        XCTAssertThrowsError(try CorpusReader(path: directory + "/text.h5")) { error in
            XCTAssertTrue("\(error)".contains("not an HDF5 file"), "\(error)")
        }
    }

    func testH5AttributesAndStrings() throws {
        let path = directory + "/attr.h5"
        let file = try H5File.create(path: path)
        let attributes = file.attributes
        try attributes.set("n", int32: 42)
        try attributes.set("v", floats: [1.5, -2])
        try attributes.set("s", string: "hello")
        try attributes.set("names", strings: ["I", "aVR", "V6"])
        try attributes.set("n", int32: 7) // replaces
        XCTAssertEqual(try attributes.int32("n"), 7)
        XCTAssertEqual(try attributes.floats("v"), [1.5, -2])
        XCTAssertEqual(try attributes.doubles("v"), [1.5, -2], "numeric attributes convert on read")
        XCTAssertEqual(try attributes.string("s"), "hello")
        XCTAssertEqual(try attributes.strings("names"), ["I", "aVR", "V6"])
        XCTAssertThrowsError(try attributes.int32("missing")) { XCTAssertTrue("\($0)".contains("attr.h5") && "\($0)".contains("missing"), "\($0)") }
        let ds = try file.createDataset("x", type: .int32, shape: [5, 2], chunk: [2, 2])
        try ds.write((0..<10).map(Int32.init))
        XCTAssertEqual(ds.shape, [5, 2])
        var two = [Int32](repeating: 0, count: 4)
        try two.withUnsafeMutableBufferPointer { try ds.readRows(at: [4, 1], into: $0.baseAddress!) }
        XCTAssertEqual(two, [8, 9, 2, 3])
        XCTAssertThrowsError(try two.withUnsafeMutableBufferPointer { try ds.readRows(5..<6, into: $0.baseAddress!) }) {
            XCTAssertTrue("\($0)".contains("x") && "\($0)".contains("out of range"), "\($0)")
        }
    }
}
