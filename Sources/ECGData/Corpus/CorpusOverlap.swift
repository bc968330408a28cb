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
        var hash: UInt64 = 0
        of(rows: signal, rowCount: 1, count: count, into: &hash)
        return hash
    }

    /// The hashes of `rowCount` consecutive rows of `count` floats, into hashes[0..<rowCount].
    /// Each hash is one serial chain of multiplies (about 5 cycles a value), so rows are hashed
    /// `lanes` at a time, their chains interleaved, and the µV rounding runs first over a block as
    /// a separate loop the compiler vectorises; the values equal `of` row by row.
    static func of(rows: UnsafePointer<Float>, rowCount: Int, count: Int, into hashes: UnsafeMutablePointer<UInt64>) {
        let counts = UnsafeMutablePointer<UInt32>.allocate(capacity: lanes * block)
        defer { counts.deallocate() }
        var first = 0
        while first < rowCount {
            let group = min(lanes, rowCount - first)
            var h = [UInt64](repeating: 0x243F_6A88_85A3_08D3 ^ UInt64(count), count: lanes)
            var start = 0
            while start < count {
                let n = min(block, count - start)
                for lane in 0..<group { microvolts(rows + (first + lane) * count + start, count: n, into: counts + lane * block) }
                if group == lanes {   // the three chains side by side
                    let (c0, c1, c2) = (counts, counts + block, counts + 2 * block)
                    var (h0, h1, h2) = (h[0], h[1], h[2])
                    for i in 0..<n { h0 = mix(h0, c0[i]); h1 = mix(h1, c1[i]); h2 = mix(h2, c2[i]) }
                    (h[0], h[1], h[2]) = (h0, h1, h2)
                } else {
                    for lane in 0..<group {
                        var value = h[lane]
                        for i in 0..<n { value = mix(value, counts[lane * block + i]) }
                        h[lane] = value
                    }
                }
                start += n
            }
            for lane in 0..<group { hashes[first + lane] = finish(h[lane]) }
            first += group
        }
    }

    /// Rows hashed side by side. Three, not four: LLVM's SLP vectoriser packs four 64-bit chains
    /// into one AVX2 register, where the 64-bit multiply has no instruction and is emulated with
    /// three 32-bit ones, slower than scalar imul (measured); it leaves three scalar.
    static let lanes = 3
    /// Samples converted per pass (3 lanes × 2 KB of counts stay in L1).
    static let block = 512

    /// Whole microvolts of `n` mV values as Int32 bits, rounded half away from zero and clamped to
    /// the Int32 range: trunc(y ± 0.5) equals y.rounded() here because y = Float × 1000 carries at
    /// most 34 significant bits, so y ± 0.5 is exact whenever its fraction matters; the integer is
    /// read from the bits of t + 1.5·2^52 (exact for |t| ≤ 2^31), which, unlike Int32(_:), cannot
    /// trap and so vectorises.
    @inline(__always)
    static func microvolts(_ x: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<UInt32>) {
        for i in 0..<n {
            let y = min(max(Double(x[i]) * 1000, -2_147_483_648), 2_147_483_647)
            let whole = (y + (y < 0 ? -0.5 : 0.5)).rounded(.towardZero)
            out[i] = UInt32(truncatingIfNeeded: (whole + 6_755_399_441_055_744).bitPattern)
        }
    }

    @inline(__always)
    static func mix(_ h: UInt64, _ microvolts: UInt32) -> UInt64 {
        let x = h ^ (UInt64(microvolts) &* 0x9E37_79B9_7F4A_7C15)
        return ((x << 27) | (x >> 37)) &* 0xBF58_476D_1CE4_E5B9
    }

    /// SplitMix64's finaliser.
    @inline(__always)
    static func finish(_ value: UInt64) -> UInt64 {
        var h = value
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
            let chunk = [UInt64](unsafeUninitializedCapacity: n) { out, initialized in
                RecordContentHash.of(rows: buffer, rowCount: n, count: recordElements, into: out.baseAddress!)
                initialized = n
            }
            hashes += chunk
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
