import Foundation
import XCTest
@testable import ECGData
import Model

/// The HDF5 file format of corpora: ecg-dist writes the checksummed HDF5 1.10 format and refuses,
/// before libhdf5 reads it, a file in the old unchecksummed one (H5FormatCheck; docs/hdf5-layout.md).
final class CorpusFormatTests: TemporaryDirectoryTestCase {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Signature at offset 0, then the superblock version byte.
    func superblockVersion(_ path: String) throws -> Int {
        let head = try bytes(path).prefix(9)
        XCTAssertEqual(Array(head.prefix(8)), [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A], "\(path): no HDF5 signature at 0")
        return Int(head.last ?? 0)
    }

    func writeRecords(_ path: String, count: Int, append: Bool = false, task: String = "t") throws {
        let writer = try CorpusWriter(path: path, source: "test", tasks: [CorpusTaskSpec(name: task, labelNames: ["A", "B"])],
                                      append: append)
        let signal = [Float](repeating: 0.25, count: CorpusWriter.samples * CorpusWriter.leads)
        for r in 0..<count {
            try signal.withUnsafeBufferPointer {
                try writer.add(signal: $0.baseAddress!, id: Int64(r), name: "r\(r)", fold: Int32(r % 10 + 1), labels: [[1, 0]])
            }
        }
        try writer.finish()
    }

    func testEveryWriterWritesTheChecksummedFormat() throws {
        let synth = directory + "/synth.h5", prepared = directory + "/prepared.h5"
        _ = try SynthCorpus.write(path: synth, records: 3, seed: 2, ranks: nil)
        try writeRecords(prepared, count: 3)
        for path in [synth, prepared] {
            XCTAssertGreaterThanOrEqual(try superblockVersion(path), 2, path)
            XCTAssertEqual(try H5FormatCheck.superblock(path: path)?.rootHeaderIsVersion2, true, path)
        }
        // An append (which adds a task and so new datasets) keeps the format.
        try writeRecords(prepared, count: 2, append: true, task: "u")
        XCTAssertGreaterThanOrEqual(try superblockVersion(prepared), 2)
        XCTAssertEqual(try CorpusReader(path: prepared).taskNames, ["t", "u"])
    }

    func testOldFormatIsRefusedNamingTheFileAndTheFix() throws {
        // A corpus whose superblock says version 0: refused by the Swift check (libhdf5 never
        // reads it), with the file, the reason and the conversion command in the message.
        let good = directory + "/good.h5", old = directory + "/old.h5"
        try writeRecords(good, count: 2)
        var data = try bytes(good)
        data[8] = 0
        try Data(data).write(to: URL(fileURLWithPath: old))
        XCTAssertThrowsError(try CorpusReader(path: old)) { error in
            let text = "\(error)"
            for part in [old, "without metadata checksums", "superblock version 0", "h5repack --low=2 --high=2 \(old) \(directory!)/old-v110.h5",
                         "ecg-dist prepare"] {
                XCTAssertTrue(text.contains(part), "message lacks '\(part)': \(text)")
            }
        }
        // Version 2/3 superblock but an unchecksummed (version-1) root object header.
        data = try bytes(good)
        let root = try XCTUnwrap(H5FormatCheck.superblock(path: good))
        XCTAssertEqual(root.offset, 0)
        let offsetSize = Int(data[9])
        let rootAddress = data[(12 + 3 * offsetSize)..<(12 + 4 * offsetSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
        data[rootAddress] = UInt8(ascii: "X")
        try Data(data).write(to: URL(fileURLWithPath: old))
        XCTAssertThrowsError(try CorpusReader(path: old)) { XCTAssertTrue("\($0)".contains("root group's object header"), "\($0)") }
    }

    func testSignatureIsSearchedWhereLibhdf5LooksForIt() throws {
        // After a 512-byte user block (libhdf5 looks at 0, 512, 1024, 2048, ...).
        let good = directory + "/good.h5", shifted = directory + "/shifted.h5", text = directory + "/text.h5"
        try writeRecords(good, count: 1)
        var data = [UInt8](repeating: 0, count: 512) + (try bytes(good))
        try Data(data).write(to: URL(fileURLWithPath: shifted))
        let found = try XCTUnwrap(H5FormatCheck.superblock(path: shifted))
        XCTAssertEqual(found.offset, 512)
        XCTAssertGreaterThanOrEqual(found.version, 2)
        data[512 + 8] = 1
        try Data(data).write(to: URL(fileURLWithPath: shifted))
        XCTAssertThrowsError(try H5FormatCheck.requireChecksummedMetadata(path: shifted)) {
            XCTAssertTrue("\($0)".contains("superblock version 1"), "\($0)")
        }
        // A signature at 300 is not one libhdf5 would find.
        data = [UInt8](repeating: 0, count: 300) + (try bytes(good))
        try Data(data).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try CorpusReader(path: text)) { XCTAssertTrue("\($0)".contains("text.h5: not an HDF5 file"), "\($0)") }
    }

    func testLibhdf5CrashInputIsRefusedBeforeLibhdf5ReadsIt() throws {
        // The mutated old-format file that made libhdf5 1.10.8 read freed memory in H5Aexists.
        let input = Self.fuzzFolder.appendingPathComponent("regressions/corpus-hdf5/h5aexists-use-after-free.h5").path
        XCTAssertThrowsError(try CorpusReader(path: input)) { error in
            XCTAssertTrue("\(error)".contains(input) && "\(error)".contains("without metadata checksums"), "\(error)")
        }
    }

    /// h5repack (hdf5-tools) turns the corpus into the old format and back with the command the
    /// message gives; the result is accepted and holds the same data.
    func testH5repackCommandFromTheMessageConvertsAnOldCorpus() throws {
        guard let h5repack = ["/usr/bin/h5repack", "/usr/local/bin/h5repack"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("h5repack (hdf5-tools) is not installed")
        }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: h5repack)
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "h5repack \(arguments)")
        }
        let good = directory + "/good.h5", old = directory + "/old.h5"
        _ = try SynthCorpus.write(path: good, records: 4, seed: 3, ranks: nil)
        try run(["--low=0", "--high=2", good, old])
        XCTAssertEqual(try superblockVersion(old), 0)
        var message = ""
        XCTAssertThrowsError(try CorpusReader(path: old)) { message = "\($0)" }
        let command = try XCTUnwrap(message.range(of: #"h5repack --low=2 --high=2 [^`]+"#, options: .regularExpression).map { message[$0] })
        let arguments = command.split(separator: " ").dropFirst().map(String.init)
        try run(arguments)
        let converted = try XCTUnwrap(arguments.last)
        XCTAssertGreaterThanOrEqual(try superblockVersion(converted), 2)
        let a = try CorpusReader(path: good), b = try CorpusReader(path: converted)
        XCTAssertEqual(a.count, b.count)
        XCTAssertEqual(a.recordIDs, b.recordIDs)
        XCTAssertEqual(try a.recordNames(), try b.recordNames())
        XCTAssertEqual(a.channelMean, b.channelMean)
        XCTAssertEqual(try a.labels(task: SynthCorpus.taskName).matrix, try b.labels(task: SynthCorpus.taskName).matrix)
        var x = [Float](repeating: 0, count: a.count * a.recordElements), y = x
        try x.withUnsafeMutableBufferPointer { try a.readSignals(rows: 0..<a.count, into: $0.baseAddress!) }
        try y.withUnsafeMutableBufferPointer { try b.readSignals(rows: 0..<b.count, into: $0.baseAddress!) }
        XCTAssertEqual(x, y)
    }
}
