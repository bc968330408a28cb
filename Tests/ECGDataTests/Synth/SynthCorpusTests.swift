import XCTest
@testable import ECGData
import Model

/// The synth corpus file: layout of docs/hdf5-layout.md, rows equal to the generator's records,
/// folds, labels and training-fold channel statistics.
final class SynthCorpusTests: XCTestCase {
    func testWritesCorpusLayoutThatMatchesGenerator() throws {
        let dir = NSTemporaryDirectory() + "synth-corpus-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.h5"
        let records = 23, seed: UInt64 = 11
        let report = try SynthCorpus.write(path: path, records: records, seed: seed, ranks: nil, batchSize: 5)
        XCTAssertEqual(report.records, records)
        XCTAssertEqual(report.labelCounts.reduce(0, +), (0..<records).map {
            ECGSynthesizer.recordClass(seed: seed, index: UInt64($0)).labels.count }.reduce(0, +))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))

        let corpus = try CorpusReader(path: path)
        XCTAssertEqual(corpus.count, records)
        XCTAssertEqual(corpus.samples, 5000)
        XCTAssertEqual(corpus.samplingRate, 500)
        XCTAssertEqual(corpus.leadNames, LeadVectors.leadNames)
        XCTAssertEqual(corpus.source, "synth")
        XCTAssertEqual(corpus.taskNames, ["synth"])
        XCTAssertEqual(corpus.folds, (0..<records).map { Int32($0 % 10 + 1) })
        XCTAssertEqual(corpus.recordIDs, (0..<records).map(Int64.init))
        let (names, matrix) = try corpus.labels(task: "synth")
        XCTAssertEqual(names, SynthLabel.names)
        for i in 0..<records {
            XCTAssertEqual(Array(matrix[(i * 9)..<(i * 9 + 9)]),
                           ECGSynthesizer.recordClass(seed: seed, index: UInt64(i)).multiHot, "row \(i)")
        }

        // Rows are the generator's records, bit for bit.
        var all = [Float](repeating: 0, count: records * 60_000)
        try all.withUnsafeMutableBufferPointer { try corpus.readSignals(rows: 0..<records, into: $0.baseAddress!) }
        let generator = ECGSynthesizer(seed: seed)
        for i in [0, 7, 22] {
            XCTAssertEqual(Array(all[(i * 60_000)..<((i + 1) * 60_000)]), generator.generate(index: UInt64(i)).signal, "row \(i)")
        }

        // channel_mean / channel_std over folds 1–8 only.
        var sum = [Double](repeating: 0, count: 12), sq = [Double](repeating: 0, count: 12), n = 0.0
        for i in 0..<records where (1...8).contains(i % 10 + 1) {
            for t in 0..<5000 {
                for l in 0..<12 { let v = Double(all[i * 60_000 + t * 12 + l]); sum[l] += v; sq[l] += v * v }
            }
            n += 5000
        }
        for l in 0..<12 {
            let mean = sum[l] / n, std = (sq[l] / n - mean * mean).squareRoot()
            XCTAssertEqual(Double(corpus.channelMean[l]), mean, accuracy: 1e-5)
            XCTAssertEqual(Double(corpus.channelStd[l]), std, accuracy: 1e-5)
        }
    }

    func testRejectsBadArguments() {
        XCTAssertThrowsError(try SynthCorpus.write(path: "/nonexistent-dir-xyz/s.h5", records: 3, seed: 0, ranks: nil)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent-dir-xyz"), "\(error)")
        }
        XCTAssertThrowsError(try SynthCorpus.write(path: NSTemporaryDirectory() + "zero.h5", records: 0, seed: 0, ranks: nil))
    }

    func testSlicesPartitionTheRecords() {
        for size in 1...5 {
            let slices = (0..<size).map { SynthCorpus.slice(records: 17, rank: $0, size: size) }
            XCTAssertEqual(slices.first?.lowerBound, 0)
            XCTAssertEqual(slices.last?.upperBound, 17)
            for k in 1..<size { XCTAssertEqual(slices[k - 1].upperBound, slices[k].lowerBound) }
        }
    }
}
