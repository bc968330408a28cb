import Foundation
import XCTest
@testable import ECGData
import Model

/// WFDB header parsing, signal formats and the bad-input errors, on records written by the test itself.
final class WFDBReaderTests: TemporaryDirectoryTestCase {

    static let fixtureRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/ptbxl-mini").path

    func write(_ name: String, _ text: String) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: path, contents: text.data(using: .utf8))
        return path
    }
    func write(_ name: String, bytes: [UInt8]) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
    func int16LE(_ values: [Int]) -> [UInt8] { values.flatMap { v -> [UInt8] in let u = UInt16(bitPattern: Int16(v)); return [UInt8(u & 0xFF), UInt8(u >> 8)] } }

    func assertError(_ kind: ECGDataError.Kind, naming file: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let error = error as? ECGDataError else { return XCTFail("not an ECGDataError: \(error)", line: line) }
            XCTAssertEqual(error.kind, kind, "\(error)", line: line)
            XCTAssertTrue(error.description.contains((file as NSString).lastPathComponent), "\(error) does not name \(file)", line: line)
        }
    }

    func testParsesFixtureHeader() throws {
        let header = try WFDBHeader.load(path: Self.fixtureRoot + "/records500/00000/00001_hr.hea")
        XCTAssertEqual(header.recordName, "00001_hr")
        XCTAssertEqual(header.signalCount, 12)
        XCTAssertEqual(header.samplingFrequency, 500)
        XCTAssertEqual(header.sampleCount, 5000)
        XCTAssertEqual(header.signals[0].gain, 1000)
        XCTAssertEqual(header.signals[0].units, "mV")
        XCTAssertEqual(header.signals[1].initialValue, -20)
        XCTAssertEqual(header.signals[1].checksum, 53737)
        XCTAssertEqual(header.signals.map(\.description).suffix(2), ["V5", "V6"])
    }

    func testHeaderDefaultsAndComments() throws {
        let text = "rec 2 360\n# age: 63\nrec.dat 212 0 11 1024\nrec.dat 212 200(-5)/uV 11 7 0 0 0 lead V1\n"
        let header = try WFDBHeader.parse(text, path: "x.hea")
        XCTAssertNil(header.sampleCount)
        XCTAssertEqual(header.comments, ["age: 63"])
        XCTAssertEqual(header.signals[0].gain, 200, "gain 0 means the default 200")
        XCTAssertEqual(header.signals[0].baseline, 1024, "baseline defaults to ADC zero")
        XCTAssertEqual(header.signals[1].baseline, -5)
        XCTAssertEqual(header.signals[1].adcZero, 7)
        XCTAssertEqual(header.signals[1].units, "uV")
        XCTAssertEqual(header.signals[1].description, "lead V1")
    }

    func testFixtureRecordMatchesRawBytes() throws {
        let base = Self.fixtureRoot + "/records500/00000/00001_hr"
        let record = try WFDBRecord.read(headerPath: base + ".hea", verifyChecksums: true)
        let raw = try Data(contentsOf: URL(fileURLWithPath: base + ".dat"))
        XCTAssertEqual(record.sampleCount, 5000)
        for (t, s) in [(0, 0), (1, 3), (2500, 7), (4999, 11)] {
            let i = (t * 12 + s) * 2
            let digital = Int16(bitPattern: UInt16(raw[i]) | UInt16(raw[i + 1]) << 8)
            XCTAssertEqual(record.samples[s * 5000 + t], Float(digital) / 1000, accuracy: 1e-6)
        }
        XCTAssertEqual(record.samples[1 * 5000], -0.020, accuracy: 1e-6, "first sample equals the header's initial value")
    }

    func testFormat16WithBaselineAndMicrovolts() throws {
        // 2 signals, 3 samples: digital values interleaved frame by frame.
        _ = write("a.dat", bytes: int16LE([100, -32768, 300, 50, -100, 250]))
        let header = write("a.hea", "a 2 500 3\na.dat 16 100(10)/mV 16 0 100 0 0 I\na.dat 16 2/uV 16 0 0 0 0 II\n")
        let record = try WFDBRecord.read(headerPath: header)
        XCTAssertEqual(Array(record.samples[0..<3]), [0.9, 2.9, -1.1].map { Float($0) })
        XCTAssertTrue(record.samples[3].isNaN, "-32768 marks an invalid sample")
        XCTAssertEqual(record.samples[4], 0.025, accuracy: 1e-7, "50 adu / 2 adu/uV = 25 uV")
        XCTAssertTrue(record.hasNaN)
    }

    func testFormat212And80And24() throws {
        // 212: samples 1000, -5, 2047, -2000 (two signals, two frames).
        func pack212(_ a: Int, _ b: Int) -> [UInt8] {
            let ua = UInt16(bitPattern: Int16(a)) & 0x0FFF, ub = UInt16(bitPattern: Int16(b)) & 0x0FFF
            return [UInt8(ua & 0xFF), UInt8((ua >> 8) | ((ub >> 8) << 4)), UInt8(ub & 0xFF)]
        }
        _ = write("b.dat", bytes: pack212(1000, -5) + pack212(2047, -2000))
        let h212 = write("b.hea", "b 2 250 2\nb.dat 212 1 12 0 0 0 0 x\nb.dat 212 1 12 0 0 0 0 y\n")
        let r212 = try WFDBRecord.read(headerPath: h212)
        XCTAssertEqual(r212.samples, [1000, 2047, -5, -2000])

        _ = write("c.dat", bytes: [128, 0, 255, 130])  // offset binary: 0, -128 (invalid), 127, 2
        let h80 = write("c.hea", "c 1 100 4\nc.dat 80 1 8 0\n")
        let r80 = try WFDBRecord.read(headerPath: h80)
        XCTAssertEqual(r80.samples[0], 0)
        XCTAssertTrue(r80.samples[1].isNaN)
        XCTAssertEqual(Array(r80.samples[2...]), [127, 2])

        _ = write("d.dat", bytes: [0x01, 0x00, 0x80, 0xFF, 0xFF, 0x7F]) // -8388607, 8388607
        let h24 = write("d.hea", "d 1 100 2\nd.dat 24 1 24 0\n")
        XCTAssertEqual(try WFDBRecord.read(headerPath: h24).samples, [-8_388_607, 8_388_607])
    }

    func testMatlabV4CinCStyle() throws {
        // CinC 2020/2021: `val` is nsig × n int16 (type 30), column-major, behind a 20-byte header + "val\0".
        let header: [Int32] = [30, 2, 3, 0, 4]
        var bytes = header.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        bytes += Array("val".utf8) + [0]
        bytes += int16LE([1, 10, 2, 20, 3, 30]) // frames (1,10), (2,20), (3,30)
        _ = write("m.mat", bytes: bytes)
        let h = write("m.hea", "m 2 500 3\nm.mat 16+24 1000/mV 16 0 1 0 0 I\nm.mat 16+24 1000/mV 16 0 10 0 0 II\n")
        let record = try WFDBRecord.read(headerPath: h)
        for (value, expected) in zip(record.samples, [0.001, 0.002, 0.003, 0.010, 0.020, 0.030]) {
            XCTAssertEqual(value, Float(expected), accuracy: 1e-7)
        }
        // The same data declared with a wrong signal count is caught against the matrix shape.
        let wrong = write("m2.hea", "m2 1 500 3\nm.mat 16+24 1000/mV 16 0 0 0 0 I\n")
        assertError(.signalCountMismatch, naming: "m.mat") { _ = try WFDBRecord.read(headerPath: wrong) }
    }

    func testChecksumVerification() throws {
        _ = write("k.dat", bytes: int16LE([5, 6, 7]))
        let good = write("k.hea", "k 1 500 3\nk.dat 16 1 16 0 5 18 0 I\n")
        XCTAssertNoThrow(try WFDBRecord.read(headerPath: good, verifyChecksums: true))
        let bad = write("k2.hea", "k2 1 500 3\nk.dat 16 1 16 0 5 19 0 I\n")
        XCTAssertNoThrow(try WFDBRecord.read(headerPath: bad), "checksums are only checked on request")
        assertError(.checksum, naming: "k.dat") { _ = try WFDBRecord.read(headerPath: bad, verifyChecksums: true) }
    }

    func testTruncatedSignalFile() {
        _ = write("t.dat", bytes: int16LE(Array(repeating: 1, count: 11)))
        let h = write("t.hea", "t 2 500 6\nt.dat 16 1 16 0 0 0 0 I\nt.dat 16 1 16 0 0 0 0 II\n")
        assertError(.truncated, naming: "t.dat") { _ = try WFDBRecord.read(headerPath: h) }
    }

    func testMissingSignalLines() {
        let h = write("s.hea", "s 12 500 5000\ns.dat 16 1000/mV 16 0 0 0 0 I\ns.dat 16 1000/mV 16 0 0 0 0 II\n")
        assertError(.badHeader, naming: "s.hea") { _ = try WFDBHeader.load(path: h) }
    }

    func testWrongSignalCount() {
        let h = write("w.hea", "w 1 500 10\nw.dat 16 1000/mV 16 0 0 0 0 I\nw.dat 16 1000/mV 16 0 0 0 0 II\n")
        assertError(.signalCountMismatch, naming: "w.hea") { _ = try WFDBHeader.load(path: h) }
    }

    func testZeroByteFiles() {
        let h = write("z.hea", "")
        assertError(.emptyFile, naming: "z.hea") { _ = try WFDBHeader.load(path: h) }
        _ = write("e.dat", bytes: [])
        let h2 = write("e.hea", "e 1 500 10\ne.dat 16 1 16 0 0 0 0 I\n")
        assertError(.emptyFile, naming: "e.dat") { _ = try WFDBRecord.read(headerPath: h2) }
    }

    func testNonUTF8Header() {
        let h = write("u.hea", bytes: Array("u 1 500 10\nu.dat 16 1 16 0 0 0 0 I".utf8) + [0xFF, 0xFE, 0x0A])
        assertError(.notUTF8, naming: "u.hea") { _ = try WFDBHeader.load(path: h) }
    }

    func testMissingFiles() {
        assertError(.missingFile, naming: "nothere.hea") { _ = try WFDBHeader.load(path: self.directory + "/nothere.hea") }
        let h = write("n.hea", "n 1 500 10\nn.dat 16 1 16 0 0 0 0 I\n")
        assertError(.missingFile, naming: "n.dat") { _ = try WFDBRecord.read(headerPath: h) }
    }

    func testUnsupportedFormatIsAnError() {
        _ = write("f.dat", bytes: [1, 2, 3, 4])
        let h = write("f.hea", "f 1 500 2\nf.dat 8 1 8 0 0 0 0 I\n")
        assertError(.unsupported, naming: "f.dat") { _ = try WFDBRecord.read(headerPath: h) }
    }
}
