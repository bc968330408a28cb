import Foundation

/// A 64-bit fingerprint of a record's signal, for finding the same recording in two corpora (the
/// PhysioNet Challenge 2021 collection, for one, contains PTB-XL).
///
/// It hashes the samples rounded to whole microvolts, not the float bits: corpora store mV
/// floats, and the same 1-µV ADC counts reach them through different gains and readers (WFDB
/// format 16 here, MATLAB .mat there), so float bits may differ in the last place where the
/// recording does not. Each 32-bit count is mixed in with a multiply–rotate step and the total gets
/// a SplitMix64 finaliser; 60,000 counts per record make accidental collisions between a million
/// records about as likely as 1 in 10^7.
public enum RecordContentHash {
    public static func of(_ signal: UnsafePointer<Float>, count: Int) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(count)
        for i in 0..<count {
            let microvolts = Int32(clamping: Int((Double(signal[i]) * 1000).rounded()))
            h ^= UInt64(UInt32(bitPattern: microvolts)) &* 0x9E37_79B9_7F4A_7C15
            h = ((h << 27) | (h >> 37)) &* 0xBF58_476D_1CE4_E5B9
        }
        h ^= h >> 30; h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27; h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }
}

extension CorpusReader {
    /// Dataset of one content hash per record (int64 holding the UInt64 bits), written by `prepare`.
    public static let contentHashDataset = "content_hash"

    /// Every record's content hash: stored ones when the file has them, else computed from the
    /// signals (one pass over the file).
    public func contentHashes() throws -> [UInt64] {
        if file.exists(Self.contentHashDataset) {
            let stored: [Int64] = try file.openDataset(Self.contentHashDataset).read()
            guard stored.count == count else {
                throw ECGDataError(.badCorpus, path, "\(Self.contentHashDataset) has \(stored.count) rows, signals has \(count)")
            }
            return stored.map { UInt64(bitPattern: $0) }
        }
        var hashes: [UInt64] = []
        hashes.reserveCapacity(count)
        try forEachRecordChunk { _, n, buffer in
            for r in 0..<n { hashes.append(RecordContentHash.of(buffer + r * recordElements, count: recordElements)) }
        }
        return hashes
    }
}

/// Records of one corpus that equal records of another (same content hash).
public struct CorpusOverlap {
    public struct Match: Equatable {
        public let row: Int, id: Int64
        public let otherRow: Int, otherID: Int64, otherFold: Int32
    }
    public let matches: [Match]

    /// The side looked up in: the first row of each content hash among a corpus's records in
    /// `folds` (all folds when nil). Built once, it serves any number of corpora compared with it.
    public struct Index {
        let firstRowOf: [UInt64: Int]
        let ids: [Int64], folds: [Int32]

        public init(_ other: CorpusReader, folds: Set<Int32>? = nil) throws {
            var firstRowOf: [UInt64: Int] = [:]
            for (row, hash) in try other.contentHashes().enumerated() where folds?.contains(other.folds[row]) ?? true {
                if firstRowOf[hash] == nil { firstRowOf[hash] = row }
            }
            self.firstRowOf = firstRowOf
            ids = other.recordIDs
            self.folds = other.folds
        }
    }

    /// Rows of `corpus` whose content equals a record of `other` in `folds` (all folds when nil).
    public init(_ corpus: CorpusReader, _ other: CorpusReader, folds: Set<Int32>? = nil) throws {
        self.init(hashes: try corpus.contentHashes(), ids: corpus.recordIDs, in: try Index(other, folds: folds))
    }

    /// The same from a corpus's content hashes and record ids (hashed once, compared with several indexes).
    public init(hashes: [UInt64], ids: [Int64], in index: Index) {
        matches = hashes.enumerated().compactMap { row, hash in
            index.firstRowOf[hash].map { Match(row: row, id: ids[row], otherRow: $0, otherID: index.ids[$0], otherFold: index.folds[$0]) }
        }
    }

    /// "3 records: row 5 (id 17) = row 20 (id 9, fold 10), …" with at most `limit` listed.
    public func summary(limit: Int = 5) -> String {
        let listed = matches.prefix(limit).map { "row \($0.row) (id \($0.id)) = row \($0.otherRow) (id \($0.otherID), fold \($0.otherFold))" }
        let more = matches.count > limit ? ", … (\(matches.count - limit) more)" : ""
        return "\(matches.count) record\(matches.count == 1 ? "" : "s"): " + listed.joined(separator: ", ") + more
    }
}
