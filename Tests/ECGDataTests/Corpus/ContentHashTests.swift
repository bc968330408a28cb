import Foundation
import XCTest
@testable import ECGData

/// Content hashes behind the leakage guard: the same recording gives the same hash whatever float
/// rounding its reader produced, any 1-µV change gives another, and every corpus has them.
final class ContentHashTests: TemporaryDirectoryTestCase {
    func signal(_ seed: Int) -> [Float] { (0..<(5000 * 12)).map { Float(($0 * 7919 + seed * 104729) % 4001 - 2000) / 1000 } }

    func testHashIsOfMicrovoltsNotFloatBits() {
        let x = signal(1)
        let h = x.withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }
        // The same µV counts through another gain (float rounding in the last place): same hash.
        let viaOtherGain = x.map { Float(Double($0) * 2.5 / 2.5) * (1 + 1e-7) }
        XCTAssertEqual(viaOtherGain.withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }, h)
        // One sample 1 µV off, or two samples swapped: another hash.
        var changed = x; changed[30_000] += 0.001
        XCTAssertNotEqual(changed.withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }, h)
        var swapped = x; swapped.swapAt(10, 11)
        XCTAssertNotEqual(swapped.withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }, h)
        XCTAssertNotEqual(signal(2).withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }, h)
    }

    /// The batched hash (several rows' chains side by side, vectorised µV rounding) equals the
    /// definition written plainly, on rows of 1, 2, 3, 4 and 7 (every lane remainder) with values
    /// at rounding ties (±0.0005 mV), tiny, negative zero and beyond the Int32 µV range.
    func testBatchedHashEqualsPlainDefinition() {
        func plain(_ x: ArraySlice<Float>) -> UInt64 {
            var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(x.count)
            for value in x {
                let microvolts = Int32(clamping: Int((Double(value) * 1000).rounded()))
                h ^= UInt64(UInt32(bitPattern: microvolts)) &* 0x9E37_79B9_7F4A_7C15
                h = ((h << 27) | (h >> 37)) &* 0xBF58_476D_1CE4_E5B9
            }
            h ^= h >> 30; h = h &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 27; h = h &* 0x94D0_49BB_1331_11EB
            return h ^ (h >> 31)
        }
        let special: [Float] = [0.0005, -0.0005, 0.0015, -0.0025, 1e-30, -0.0, 2_147_483.5, -2_147_483.7, 3e6, -1e7, 0.49999997e-3]
        let width = 1300   // not a multiple of the 512-sample block
        for rows in [1, 2, 3, 4, 7] {
            var x = (0..<(rows * width)).map { Float(($0 * 7919) % 20001 - 10000) / 3000 }
            for (i, value) in special.enumerated() { x[(i * 389) % x.count] = value }
            var hashes = [UInt64](repeating: 0, count: rows)
            x.withUnsafeBufferPointer { RecordContentHash.of(rows: $0.baseAddress!, rowCount: rows, count: width, into: &hashes) }
            XCTAssertEqual(hashes, (0..<rows).map { plain(x[($0 * width)..<(($0 + 1) * width)]) }, "\(rows) rows")
        }
    }

    func testWriterStoresHashesAndOverlapFindsThePlantedCopy() throws {
        let a = directory + "/a.h5", b = directory + "/b.h5"
        let writerA = try CorpusWriter(path: a, source: "a", tasks: [], batchSize: 2)
        for r in 0..<5 { try signal(r).withUnsafeBufferPointer { try writerA.add(signal: $0.baseAddress!, name: "a\(r)", fold: Int32(r + 6)) } }
        try writerA.finish()
        let writerB = try CorpusWriter(path: b, source: "b", tasks: [], batchSize: 2)
        for r in [10, 11, 3, 12] { try signal(r).withUnsafeBufferPointer { try writerB.add(signal: $0.baseAddress!, name: "b\(r)", fold: 0) } }
        try writerB.finish()
        let readerA = try CorpusReader(path: a), readerB = try CorpusReader(path: b)
        XCTAssertTrue(readerA.file.exists(CorpusReader.contentHashDataset))
        let stored = try readerA.contentHashes()
        XCTAssertEqual(stored, (0..<5).map { r in signal(r).withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) } })
        // b's row 2 is a's record 3, which is in fold 9.
        let all = try CorpusOverlap(readerB, readerA)
        XCTAssertEqual(all.matches, [CorpusOverlap.Match(row: 2, id: 2, otherRow: 3, otherID: 3, otherFold: 9)])
        XCTAssertEqual(try CorpusOverlap(readerB, readerA, folds: [9, 10]).matches.count, 1)
        XCTAssertEqual(try CorpusOverlap(readerB, readerA, folds: [10]).matches.count, 0, "fold 9 only")
        XCTAssertTrue(all.summary().contains("1 record: row 2 (id 2) = row 3 (id 3, fold 9)"), all.summary())
    }

    func testCorpusWithoutStoredHashesIsHashedFromItsSignals() throws {
        let path = directory + "/synth.h5"
        _ = try SynthCorpus.write(path: path, records: 3, seed: 4, ranks: nil)
        let synth = try CorpusReader(path: path)
        XCTAssertFalse(synth.file.exists(CorpusReader.contentHashDataset), "synth writes none (computed on demand)")
        var row = [Float](repeating: 0, count: synth.recordElements)
        let expected = try (0..<3).map { r -> UInt64 in
            try row.withUnsafeMutableBufferPointer { try synth.readSignals(rows: r..<(r + 1), into: $0.baseAddress!) }
            return row.withUnsafeBufferPointer { RecordContentHash.of($0.baseAddress!, count: $0.count) }
        }
        XCTAssertEqual(try synth.contentHashes(), expected)
        XCTAssertEqual(Set(expected).count, 3)
    }
}
