import Foundation
import XCTest
@testable import ECGData
import Model

/// CSV quoting, the scp_codes dict, the six benchmark tasks on the ptbxl-mini fixture, and a row
/// pointing at a missing record.
final class PTBXLReaderTests: XCTestCase {
    static let root = WFDBReaderTests.fixtureRoot

    func testCSVQuoting() throws {
        let text = "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n"
        let table = try CSVTable.parse(Array(text.utf8), path: "t.csv")
        XCTAssertEqual(table.columns, ["a", "b", "c"])
        XCTAssertEqual(table.rows, [["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""]])
    }

    func testCSVErrorsNameTheFile() {
        XCTAssertThrowsError(try CSVTable.parse(Array("a,b\n1,\"open\n".utf8), path: "bad.csv")) { error in
            XCTAssertTrue("\(error)".contains("bad.csv") && "\(error)".contains("never closed"), "\(error)")
        }
        XCTAssertThrowsError(try CSVTable.parse(Array("a,b\n1,2,3\n".utf8), path: "bad.csv")) { error in
            XCTAssertTrue("\(error)".contains("3 fields"), "\(error)")
        }
    }

    func testPythonDict() throws {
        let pairs = try XCTUnwrap(parsePythonStringDict("{'NORM': 100.0, 'SR': 0.0, \"IMI\": 15}"))
        XCTAssertEqual(pairs.map(\.key), ["NORM", "SR", "IMI"])
        XCTAssertEqual(pairs.map(\.value), [100, 0, 15])
        XCTAssertEqual(parsePythonStringDict("{}")?.count, 0)
        XCTAssertNil(parsePythonStringDict("{'NORM' 100.0}"))
        XCTAssertNil(parsePythonStringDict("NORM"))
    }

    func testBenchmarkTaskSizes() throws {
        let database = try PTBXLDatabase.load(root: Self.root)
        XCTAssertEqual(database.entries.count, 28)
        let sizes = Dictionary(uniqueKeysWithValues: database.tasks.map { ($0.name, $0.labelNames.count) })
        XCTAssertEqual(sizes, ["all": 71, "diagnostic": 44, "subdiagnostic": 23, "superdiagnostic": 5, "form": 19, "rhythm": 12])
        let superclasses = database.tasks.first { $0.name == "superdiagnostic" }!.labelNames
        XCTAssertEqual(superclasses, ["CD", "HYP", "MI", "NORM", "STTC"])
        for task in database.tasks { XCTAssertEqual(task.labelNames, task.labelNames.sorted()) }
    }

    func testRecordLabels() throws {
        let database = try PTBXLDatabase.load(root: Self.root)
        let first = database.entries[0] // {'NT_': 100.0, 'SR': 0.0}: NT_ is a form statement only
        XCTAssertEqual(first.ecgID, 1)
        XCTAssertEqual(first.fold, 1)
        XCTAssertEqual(first.filenameHR, "records500/00000/00001_hr")
        func positives(_ task: String, _ entry: PTBXLEntry) -> [String] {
            let t = database.tasks.first { $0.name == task }!
            return zip(t.labelNames, t.row(codes: entry.codes)).filter { $0.1 == 1 }.map(\.0)
        }
        XCTAssertEqual(positives("all", first), ["NT_", "SR"])
        XCTAssertEqual(positives("diagnostic", first), [])
        XCTAssertEqual(positives("form", first), ["NT_"])
        XCTAssertEqual(positives("rhythm", first), ["SR"])
        let second = database.entries[1] // {'SR': 0.0, 'NST_': 100.0}: NST_ is diagnostic (STTC / NST_) and form
        XCTAssertEqual(positives("diagnostic", second), ["NST_"])
        XCTAssertEqual(positives("subdiagnostic", second), ["NST_"])
        XCTAssertEqual(positives("superdiagnostic", second), ["STTC"])
        XCTAssertEqual(positives("form", second), ["NST_"])
    }

    func testMissingRecordNamesRowAndPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptbxl-missing-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Self.root + "/scp_statements.csv", toPath: directory + "/scp_statements.csv")
        var csv = try String(contentsOfFile: Self.root + "/ptbxl_database.csv", encoding: .utf8)
        csv = csv.replacingOccurrences(of: "records500/00000/00003_hr", with: "records500/00000/99999_hr")
        try csv.write(toFile: directory + "/ptbxl_database.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory + "/records500", withDestinationPath: Self.root + "/records500")
        let out = directory + "/out.h5"
        XCTAssertThrowsError(try CorpusPreparer.preparePTBXL(root: directory, out: out)) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? ECGDataError)?.kind, .missingRecord)
            XCTAssertTrue(text.contains("ecg_id 3") && text.contains("99999_hr") && text.contains("ptbxl_database.csv"), text)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("out.h5") }
        XCTAssertEqual(leftovers, [], "no partial output")
    }

    func testUnknownStatementIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptbxl-unknown-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Self.root + "/scp_statements.csv", toPath: directory + "/scp_statements.csv")
        var csv = try String(contentsOfFile: Self.root + "/ptbxl_database.csv", encoding: .utf8)
        csv = csv.replacingOccurrences(of: "{'NT_': 100.0, 'SR': 0.0}", with: "{'NOPE': 100.0, 'SR': 0.0}")
        try csv.write(toFile: directory + "/ptbxl_database.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PTBXLDatabase.load(root: directory)) { error in
            XCTAssertTrue("\(error)".contains("NOPE") && "\(error)".contains("ecg_id 1"), "\(error)")
        }
    }

    func testFolderThatIsNotAPTBXLRootSaysSo() throws {
        // The records folder (a common mistake: pointing at records500) has no tables.
        XCTAssertThrowsError(try PTBXLDatabase.load(root: Self.root + "/records500")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("not a PTB-XL root") && text.contains("records500")
                          && text.contains("ptbxl_database.csv and scp_statements.csv"), text)
        }
        XCTAssertThrowsError(try PTBXLDatabase.load(root: Self.root + "/no-such-folder")) { error in
            XCTAssertTrue("\(error)".contains("no such folder"), "\(error)")
        }
        XCTAssertThrowsError(try PTBXLDatabase.load(root: Self.root + "/scp_statements.csv")) { error in
            XCTAssertTrue("\(error)".contains("is a file, not a PTB-XL root"), "\(error)")
        }
    }
}
