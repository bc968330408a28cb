import Foundation
import XCTest
@testable import ECGData

/// `.npy` header parsing and element reads, the layout decision of `prepare npy`, and a small
/// `prepare npy` run read back (leads by name, units, padding, labels, folds).
final class NPYReaderTests: TemporaryDirectoryTestCase {

    /// A version-1.0 .npy file as numpy writes it: header padded with spaces to a multiple of 64, ending in \n.
    static func npy(header text: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let lengthField = version == 1 ? 2 : 4
        var header = Array(text.utf8)
        while (10 + (lengthField - 2) + header.count + 1) % 64 != 0 { header.append(UInt8(ascii: " ")) }
        header.append(UInt8(ascii: "\n"))
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let n = header.count
        bytes += lengthField == 2 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        return bytes + header + data
    }

    static func dict(_ descr: String, _ shape: String, fortran: String = "False") -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
    }

    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testParsesShapesDtypesAndVersions() throws {
        let cases: [(String, String, NPYElementType, [Int])] = [
            ("<f4", "(3, 5000, 12)", .float32, [3, 5000, 12]),
            ("<f8", "(2, 12, 2500)", .float64, [2, 12, 2500]),
            ("<i2", "(1, 1000, 8)", .int16, [1, 1000, 8]),
            ("<i8", "(5,)", .int64, [5]),
            ("<i4", "(7, )", .int32, [7]),
            ("<f4", "()", .float32, []),
        ]
        for (descr, shape, type, dims) in cases {
            for version: UInt8 in [1, 2, 3] {
                let header = try NPYHeader.parse(Self.npy(header: Self.dict(descr, shape), version: version), path: "x.npy")
                XCTAssertEqual(header.elementType, type, "\(descr) \(shape) v\(version)")
                XCTAssertEqual(header.shape, dims, "\(descr) \(shape) v\(version)")
                XCTAssertEqual(header.dataOffset % 64, 0, "numpy aligns the data to 64 bytes")
            }
        }
        // Keys in another order and double quotes are still a valid header.
        let reordered = try NPYHeader.parse(Self.npy(header: "{\"shape\": (4, 12, 10), \"fortran_order\": False, \"descr\": \"<f4\"}"), path: "x.npy")
        XCTAssertEqual(reordered.shape, [4, 12, 10])
    }

    func testRefusesBadHeadersWithAClearMessage() {
        let cases: [(String, [UInt8], String)] = [
            ("no magic", Array("NOTNUMPY".utf8) + [UInt8](repeating: 0, count: 40), "not a .npy file"),
            ("big-endian", Self.npy(header: Self.dict(">f4", "(2, 3)")), "big-endian"),
            ("unsigned bytes", Self.npy(header: Self.dict("|u1", "(2, 3)")), "dtype '|u1'"),
            ("complex", Self.npy(header: Self.dict("<c8", "(2, 3)")), "supported dtypes"),
            ("fortran order", Self.npy(header: Self.dict("<f4", "(2, 3)", fortran: "True")), "Fortran"),
            ("structured", Self.npy(header: "{'descr': [('a', '<f4'), ('b', '<i2')], 'fortran_order': False, 'shape': (2,), }"), "structured"),
            ("no shape", Self.npy(header: "{'descr': '<f4', 'fortran_order': False, }"), "no 'shape'"),
            ("shape not a tuple", Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': 'x', }"), "'shape' is not a tuple"),
            ("negative dimension", Self.npy(header: Self.dict("<f4", "(2, -3)")), "non-negative integer"),
            ("unterminated", Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"), "expected"),
            ("version 4", Array(Self.npy(header: Self.dict("<f4", "(2,)"))[0..<6]) + [4, 0, 0, 0, 0, 0], "version 4.0"),
            ("header cut short", Array(Self.npy(header: Self.dict("<f4", "(2, 3)")).prefix(40)), "declares"),
        ]
        for (name, bytes, message) in cases {
            XCTAssertThrowsError(try NPYHeader.parse(bytes, path: "bad.npy"), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("bad.npy: "), "\(name): \(text)")
                XCTAssertTrue(text.contains(message), "\(name): '\(text)' lacks '\(message)'")
            }
        }
    }

    func testReadsElementsOfEveryTypeAndChecksTheFileSize() throws {
        let f32: [Float] = [1.5, -2.25, 3e-3, 1000]
        let f64: [Double] = [0.1, -7.5, 2e5, 0]
        let i16: [Int16] = [-32768, -1, 0, 32767]
        let i64: [Int64] = [42, -5, 1 << 40, 7]
        let files: [(String, [UInt8], [Double])] = [
            ("<f4", bytes(f32), f32.map(Double.init)), ("<f8", bytes(f64), f64),
            ("<i2", bytes(i16), i16.map(Double.init)), ("<i8", bytes(i64), i64.map(Double.init)),
        ]
        for (descr, data, expected) in files {
            let path = try write("a\(descr.dropFirst()).npy", Self.npy(header: Self.dict(descr, "(2, 2)"), data: data))
            let file = try NPYFile(path: path)
            XCTAssertEqual(try file.readElements(first: 0, count: 4), expected, descr)
            XCTAssertEqual(try file.readElements(first: 2, count: 2), Array(expected[2...]), descr)
            XCTAssertThrowsError(try file.readElements(first: 3, count: 2))
        }
        let short = try write("short.npy", Self.npy(header: Self.dict("<f4", "(2, 3)"), data: bytes([Float](repeating: 0, count: 5))))
        XCTAssertThrowsError(try NPYFile(path: short)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let long = try write("long.npy", Self.npy(header: Self.dict("<f4", "(2, 3)"), data: bytes([Float](repeating: 0, count: 7))))
        XCTAssertThrowsError(try NPYFile(path: long)) { XCTAssertTrue("\($0)".contains("the file has"), "\($0)") }
        XCTAssertThrowsError(try NPYFile(path: directory + "/none.npy")) { XCTAssertTrue("\($0)".contains("not found"), "\($0)") }
    }

    func testLayoutFromShape() throws {
        XCTAssertEqual(try CorpusPreparer.signalLayout(shape: [5, 2500, 12], leadCount: 12, given: nil, path: "s.npy"), .ntl)
        XCTAssertEqual(try CorpusPreparer.signalLayout(shape: [5, 12, 2500], leadCount: 12, given: nil, path: "s.npy"), .nlt)
        XCTAssertEqual(try CorpusPreparer.signalLayout(shape: [5, 15, 1000], leadCount: 15, given: .nlt, path: "s.npy"), .nlt)
        XCTAssertEqual(try CorpusPreparer.signalLayout(shape: [5, 12, 12], leadCount: 12, given: .ntl, path: "s.npy"), .ntl)
        let bad: [([Int], Int, NPYSignalLayout?, String)] = [
            ([5, 12, 12], 12, nil, "give --layout"),
            ([5, 2500, 8], 12, nil, "neither axis"),
            ([5, 2500], 12, nil, "expected 3 axes"),
            ([5, 2500, 12], 12, .nlt, "axis 1 holds the leads"),
            ([0, 2500, 12], 12, nil, "empty"),
        ]
        for (shape, leads, given, message) in bad {
            XCTAssertThrowsError(try CorpusPreparer.signalLayout(shape: shape, leadCount: leads, given: given, path: "s.npy")) {
                XCTAssertTrue("\($0)".hasPrefix("s.npy: ") && "\($0)".contains(message), "\(shape): \($0)")
            }
        }
    }

    /// 500 Hz int16 µV in (N, leads, T) layout with 13 leads in a shuffled order, 6 s long: rows are
    /// the values / 1000 in standard lead order followed by zero padding; labels follow the CSV's
    /// ids (rows in another order than the signals), folds the CSV's fold column.
    func testPrepareNPYMapsLeadsUnitsLabelsAndFolds() throws {
        let order = ["V3", "I", "aVF", "V1", "II", "EXTRA", "V6", "aVR", "III", "V4", "aVL", "V2", "V5"]
        let n = 4, t = 3000
        var values = [Int16](repeating: 0, count: n * order.count * t)
        for r in 0..<n { for l in 0..<order.count { for s in 0..<t { values[(r * order.count + l) * t + s] = Int16(truncatingIfNeeded: r * 7000 + l * 400 + s % 397 - 2000) } } }
        let signals = try write("s.npy", Self.npy(header: Self.dict("<i2", "(\(n), \(order.count), \(t))"), data: bytes(values)))
        let labels = directory + "/l.csv"
        try "pid,fold,A,B\n3,10,1,0\n0,1,0,1\n2,9,1,1\n1,2,0,1\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let out = directory + "/c.h5"
        var options = NPYPrepareOptions(signalsPath: signals, samplingRate: 500, leadNames: order, labelsPath: labels, idColumn: "pid", out: out)
        options.units = "uV"
        options.foldColumn = "fold"
        _ = try CorpusPreparer.prepareNPY(options)
        let reader = try CorpusReader(path: out)
        XCTAssertEqual(reader.count, n)
        XCTAssertEqual(reader.recordIDs, [0, 1, 2, 3])
        XCTAssertEqual(reader.folds, [1, 2, 9, 10])
        XCTAssertEqual(reader.taskNames, ["labels"])
        let task = try reader.labels(task: "labels")
        XCTAssertEqual(task.names, ["A", "B"])
        XCTAssertEqual(task.matrix, [0, 1, 0, 1, 1, 1, 1, 0])
        var row = [Float](repeating: .nan, count: 5000 * 12)
        for r in 0..<n {
            try row.withUnsafeMutableBufferPointer { try reader.readSignals(rows: r..<(r + 1), into: $0.baseAddress!) }
            for (lead, name) in ECGPreprocessing.leadNames.enumerated() {
                let l = order.firstIndex(of: name)!
                for s in stride(from: 0, to: 5000, by: 7) {
                    let expected: Float = s < t ? Float(values[(r * order.count + l) * t + s]) / 1000 : 0
                    XCTAssertEqual(row[s * 12 + lead], expected, accuracy: 1e-6, "record \(r) lead \(name) sample \(s)")
                }
            }
        }
    }

    func testPrepareNPYRefusesMissingLeadsAndLeavesNoFile() throws {
        let signals = try write("s.npy", Self.npy(header: Self.dict("<f4", "(2, 100, 11)"), data: bytes([Float](repeating: 0, count: 2200))))
        let labels = directory + "/l.csv"
        try "id,A\n0,1\n1,0\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let out = directory + "/c.h5"
        let names = Array(ECGPreprocessing.leadNames.filter { $0 != "V4" })
        let options = NPYPrepareOptions(signalsPath: signals, samplingRate: 250, leadNames: names, labelsPath: labels, idColumn: "id", out: out)
        XCTAssertThrowsError(try CorpusPreparer.prepareNPY(options)) { XCTAssertTrue("\($0)".contains("missing lead(s) V4"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["l.csv", "s.npy"])
    }
}
