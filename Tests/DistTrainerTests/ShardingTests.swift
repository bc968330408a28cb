import Foundation
import XCTest
@testable import DistTrainer
import ECGData

/// The sharded loader under MPI (the test script runs this class with `mpirun -np 2` and `-np 3`;
/// under plain `swift test` it runs with one rank). Each record's signal encodes its own index, so
/// the test checks both which records each rank read and that the bytes it got are that record's.
final class ShardingTests: XCTestCase {
    func testOneEpochReadsEveryRecordExactlyOnceAcrossRanks() throws {
        let comm = try Communicator.world()
        let records = 24, globalBatch = 6, samples = CorpusWriter.samples
        let path = try comm.broadcast(comm.rank == 0
            ? FileManager.default.temporaryDirectory.appendingPathComponent("sharding-\(getpid()).h5").path : "")
        if comm.rank == 0 {
            let writer = try CorpusWriter(path: path, source: "sharding-test", tasks: [])
            var signal = [Float](repeating: 0, count: samples * 12)
            for r in 0..<records {
                for i in 0..<signal.count { signal[i] = Float(r) * 0.01 + Float(i % 12) * 0.001 }
                try writer.add(signal: signal, id: Int64(r), name: "rec\(r)", fold: 0)
            }
            try writer.finish()
        }
        try comm.barrier()
        defer { if comm.rank == 0 { unlink(path) } }

        let loader = try ShardedLoader(paths: [path], comm: comm, globalBatch: globalBatch, cropSamples: samples, seed: 11)
        XCTAssertEqual(loader.recordCount, records)
        loader.start(fromStep: 0)
        var readCount = [Double](repeating: 0, count: records)
        let source = loader.sources[0] as! CorpusShardSource
        let mean = source.normalizationMean, std = source.normalizationStd
        for step in 0..<(records / globalBatch) {
            let batch = try loader.next()
            XCTAssertEqual(batch.step, step)
            XCTAssertEqual(batch.count, SampleStream.rankSlice(globalBatch: globalBatch, rank: comm.rank, size: comm.size).count)
            for (slot, r) in batch.records.enumerated() {
                readCount[r] += 1
                // Undo the normalization of one value and check it is this record's signal.
                let v = batch.data[slot * samples * 12 + 12 * 7 + 3] * std[3] + mean[3]
                XCTAssertEqual(v, Float(r) * 0.01 + 0.003, accuracy: 1e-4, "rank \(comm.rank) slot \(slot) holds the wrong record")
            }
        }
        loader.stop()
        let readByMe = source.reader.recordsRead
        // Read-ahead may have fetched the first batch of the next epoch; count only this epoch.
        XCTAssertLessThanOrEqual(readByMe, records / comm.size + globalBatch)
        if comm.size > 1 {
            XCTAssertLessThan(Int(readCount.reduce(0, +)), records, "one rank read the whole epoch")
        }
        try comm.allReduceSum(&readCount)
        XCTAssertEqual(readCount, [Double](repeating: 1, count: records), "every record exactly once per epoch")
    }

    func testRankSlicesPartitionTheGlobalBatch() {
        for size in 1...5 {
            for batch in [1, 7, 8, 2048] {
                let slices = (0..<size).map { SampleStream.rankSlice(globalBatch: batch, rank: $0, size: size) }
                XCTAssertEqual(slices.first?.lowerBound, 0)
                XCTAssertEqual(slices.last?.upperBound, batch)
                for i in 1..<size { XCTAssertEqual(slices[i].lowerBound, slices[i - 1].upperBound) }
                XCTAssertLessThanOrEqual((slices.map(\.count).max() ?? 0) - (slices.map(\.count).min() ?? 0), 1)
            }
        }
    }

    func testStreamIsIndependentOfRankCount() {
        let stream = SampleStream(recordCount: 10, globalBatch: 4, seed: 3)
        var one: (epoch: Int, perm: [Int])?
        let single = (0..<6).flatMap { stream.samples(step: $0, rank: 0, size: 1, cache: &one).map(\.record) }
        var parts: [[Int]] = []
        for step in 0..<6 {
            var row: [Int] = []
            for r in 0..<3 {
                var cache: (epoch: Int, perm: [Int])?
                row += stream.samples(step: step, rank: r, size: 3, cache: &cache).map(\.record)
            }
            parts.append(row)
        }
        XCTAssertEqual(single, parts.flatMap { $0 })
        // Epoch 0 (first 10 samples) is a permutation of all records.
        XCTAssertEqual(Set(single.prefix(10)), Set(0..<10))
    }
}
