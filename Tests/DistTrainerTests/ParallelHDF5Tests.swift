import Foundation
import XCTest
@testable import DistTrainer
import ECGData

/// The trainer's MPI-IO open of a corpus (DistTrainer/Comm/ParallelHDF5.swift) reads what the
/// serial reader reads. Run by plain `swift test` as a singleton MPI process.
final class ParallelHDF5Tests: XCTestCase {
    func testSharedOpenReadsLikeSerialOpen() throws {
        let directory = NSTemporaryDirectory() + "parallel-hdf5-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.h5"
        _ = try SynthCorpus.write(path: path, records: 5, seed: 1, ranks: nil)
        let world = try Communicator.world()
        let shared = try CorpusReader(file: try H5File.openShared(path: path, comm: world))
        let serial = try CorpusReader(path: path)
        XCTAssertEqual(shared.count, 5)
        XCTAssertEqual(shared.channelMean, serial.channelMean)
        let width = serial.recordElements
        var a = [Float](repeating: 0, count: 2 * width), b = a
        try a.withUnsafeMutableBufferPointer { try shared.readSignals(indices: [4, 1], into: $0.baseAddress!) }
        try b.withUnsafeMutableBufferPointer { try serial.readSignals(indices: [4, 1], into: $0.baseAddress!) }
        XCTAssertEqual(a, b)
        XCTAssertEqual(shared.recordsRead, 2)
    }
}
