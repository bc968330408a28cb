import Foundation
import XCTest
@testable import ECGData

/// CODE-15%: finding a record inside its zero padding, and reading exams.csv + an HDF5 part.
final class CODE15ReaderTests: TemporaryDirectoryTestCase {
    /// A (samples, 12) tracing with `length` non-zero samples starting at `start`.
    func padded(samples: Int = 4096, start: Int, length: Int) -> [Float] {
        var x = [Float](repeating: 0, count: samples * 12)
        for t in start..<(start + length) {
            for lead in 0..<12 { x[t * 12 + lead] = Float(sin(Double(t) * 0.05 + Double(lead))) + 0.01 }
        }
        return x
    }

    func range(_ x: [Float], samples: Int = 4096) -> Range<Int>? {
        x.withUnsafeBufferPointer { CODE15Archive.recordRange($0.baseAddress!, samples: samples, leads: 12) }
    }

    func testTrimFindsTheCentredRecord() {
        XCTAssertEqual(range(padded(start: 588, length: 2920)), 588..<3508)   // a 7.3-s exam
        XCTAssertEqual(range(padded(start: 0, length: 4096)), 0..<4096)       // a complete 10.24-s exam
        XCTAssertEqual(range(padded(start: 48, length: 4000)), 48..<4048)     // 10 s
        XCTAssertNil(range([Float](repeating: 0, count: 4096 * 12)))
    }

    /// A sample where only some leads are zero belongs to the record; the padding is zero in all leads.
    func testTrimLooksAtAllLeads() {
        var x = padded(start: 100, length: 3000)
        for lead in 0..<11 { x[100 * 12 + lead] = 0 }      // first sample: only V6 non-zero
        x[99 * 12 + 4] = 0.2                               // one lead non-zero before it
        XCTAssertEqual(range(x), 99..<3100)
    }

    func writePart(_ name: String, ids: [Int64], tracings: [[Float]], samples: Int = 4096) throws {
        let file = try H5File.create(path: "\(directory!)/\(name)")
        let data = try file.createDataset("tracings", type: .float32, shape: [ids.count, samples, 12], chunk: [1, samples, 12])
        try data.write(tracings.flatMap { $0 })
        let idSet = try file.createDataset("exam_id", type: .int64, shape: [ids.count], chunk: [ids.count])
        try idSet.write(ids)
    }

    func testArchiveMapsExamsToRowsAndPreparesCompleteExams() throws {
        try writePart("exams_part0.hdf5", ids: [11, 22, 0], tracings: [padded(start: 588, length: 2920), padded(start: 0, length: 4096),
                                                                      [Float](repeating: 0, count: 4096 * 12)])
        try writePart("exams_part1.hdf5", ids: [33, 0], tracings: [padded(start: 48, length: 4000), [Float](repeating: 0, count: 4096 * 12)])
        let csv = """
            exam_id,age,is_male,1dAVb,RBBB,LBBB,SB,ST,AF,patient_id,trace_file
            33,50,True,False,True,False,False,False,False,1,exams_part1.hdf5
            22,60,False,True,False,False,False,False,True,2,exams_part0.hdf5
            11,70,True,False,False,False,False,False,False,3,exams_part0.hdf5

            """
        try csv.write(toFile: "\(directory!)/exams.csv", atomically: true, encoding: .utf8)
        let archive = try CODE15Archive(root: directory)
        XCTAssertEqual(archive.exams.map(\.examID), [33, 22, 11])
        XCTAssertEqual(archive.exams.map(\.row), [0, 1, 0])
        XCTAssertEqual(archive.exams[1].labels, [1, 0, 0, 0, 0, 1])
        XCTAssertEqual(try archive.tracing(archive.exams[1]), padded(start: 0, length: 4096))

        let out = "\(directory!)/code15.h5"
        let summary = try CorpusPreparer.prepareCODE15(root: directory, out: out)
        XCTAssertEqual(summary.sourceRecords, 3)
        XCTAssertEqual(summary.rows, 2, "the 7.3-s exam is dropped")
        XCTAssertEqual(summary.dropped, 1)
        let corpus = try CorpusReader(path: out)
        XCTAssertEqual(corpus.recordIDs, [33, 22])
        XCTAssertEqual(try corpus.recordNames(), ["exams_part1.hdf5/33", "exams_part0.hdf5/22"])
        XCTAssertEqual(try corpus.labels(task: "code15").matrix, [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
        XCTAssertTrue(try corpus.file.attributes.string("preprocessing").contains("\"trim_zero_padding\":true"))
    }

    func testMissingExamNamesTheCSVAndThePart() throws {
        try writePart("exams_part0.hdf5", ids: [11], tracings: [padded(start: 0, length: 4096)])
        try "exam_id,trace_file\n11,exams_part0.hdf5\n12,exams_part0.hdf5\n".write(toFile: "\(directory!)/exams.csv", atomically: true,
                                                                                 encoding: .utf8)
        XCTAssertThrowsError(try CODE15Archive(root: directory)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("exams.csv") && text.contains("exam_id 12") && text.contains("exams_part0.hdf5"), text)
        }
    }
}
