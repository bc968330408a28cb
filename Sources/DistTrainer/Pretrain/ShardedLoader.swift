import ECGData
import Foundation
import Model

/// What the loader needs from a corpus file.
protocol ShardSource: AnyObject {
    var path: String { get }
    var recordCount: Int { get }
    var samplesPerRecord: Int { get }
    var leadCount: Int { get }
    var normalizationMean: [Float] { get }
    var normalizationStd: [Float] { get }
    /// Reads record `index` ([samples, leads], mV) into `buffer`.
    func readRecord(_ index: Int, into buffer: UnsafeMutablePointer<Float>) throws
    var recordsRead: Int { get }
}

/// One step's local share of the global batch: `count` samples of [cropSamples, leads], normalized.
public struct LoadedBatch {
    public let step: Int
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// Global record indices (over the concatenated corpora) of the samples, in order.
    public let records: [Int]
}

/// Reads this rank's shard of each global batch, ahead of time, on a background thread.
///
/// Every rank opens all corpus files with MPI-IO (parallel HDF5) and reads only the records of its
/// own slice of each step's global batch (see `SampleStream`), with independent I/O: collective
/// transfers would have to be ordered against the gradient all-reduce running on another thread,
/// and each record is one contiguous chunk anyway. Several corpora are concatenated, so each is
/// sampled in proportion to its size. Samples are cropped (random start from the shared stream) and
/// normalised (ECGData's `normalize`: per-lead z-score with the file's training-fold mean/std, ±5).
public final class ShardedLoader {
    public let recordCount: Int
    public let localBatch: Int
    public let cropSamples: Int
    /// Leads per sample, from the corpora (all must agree).
    public let leads: Int
    let sources: [ShardSource]
    let starts: [Int]          // first global index of each source
    let stream: SampleStream
    /// Set when the corpora are mixed by weight; it then decides every slot's record.
    public let mixture: WeightedSampleStream?
    let rank: Int, size: Int

    /// Steps read ahead of the one the trainer holds. One was enough on average (loader wait 0.5 %
    /// of the step in bench/mixture_pretrain.sh) but let a single slow read — a page-cache miss, or
    /// the loader thread waiting for a core — stall a step by 20–40 ms; a second step of slack
    /// absorbs such a stall at the cost of one more batch buffer.
    static let readAheadSteps = 2

    private let cond = NSCondition()
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var ready: [Int: (records: [Int], slot: Int)] = [:]
    private var nextToProduce = 0
    private var consumed = -1           // the step whose buffer the trainer currently holds
    private var failure: Error?
    private var stopping = false
    private var thread: Thread?
    private var permCache: (epoch: Int, perm: [Int])?

    /// Records this rank has read so far (proves sharding in tests).
    public var recordsRead: Int { sources.reduce(0) { $0 + $1.recordsRead } }
    /// Samples handed to the trainer per corpus, in `--data` order (read-ahead not counted): the
    /// realised mixture, once summed over ranks.
    public private(set) var samplesTakenPerCorpus: [Int] = []
    public var corpusPaths: [String] { sources.map(\.path) }
    public var corpusRecordCounts: [Int] { sources.map(\.recordCount) }

    /// `excludedRows[c]`: rows of corpus c that training never sees (the leakage guard's drops).
    public convenience init(paths: [String], weights: [Double]? = nil, excludedRows: [Set<Int>]? = nil, comm: Communicator,
                            globalBatch: Int, cropSamples: Int, seed: UInt64) throws {
        let sources: [ShardSource] = try paths.enumerated().map { c, path in
            try CorpusShardSource(path: path, comm: comm, excludedRows: excludedRows?[c] ?? [])
        }
        try self.init(sources: sources, weights: weights, rank: comm.rank, size: comm.size, globalBatch: globalBatch,
                      cropSamples: cropSamples, seed: seed)
    }

    init(sources: [ShardSource], weights: [Double]? = nil, rank: Int, size: Int, globalBatch: Int,
         cropSamples: Int, seed: UInt64) throws {
        var starts: [Int] = []
        var total = 0
        for s in sources {
            guard s.leadCount == sources[0].leadCount else {
                throw FileError(s.path, "has \(s.leadCount) leads, \(sources[0].path) has \(sources[0].leadCount)")
            }
            guard s.samplesPerRecord >= cropSamples else {
                throw FileError(s.path, "records have \(s.samplesPerRecord) samples, shorter than the \(cropSamples)-sample crop")
            }
            guard s.recordCount > 0 else { throw FileError(s.path, "corpus has no records") }
            starts.append(total)
            total += s.recordCount
        }
        guard total > 0 else { throw TrainingError("no records in the training corpora") }
        self.sources = sources
        self.starts = starts
        recordCount = total
        self.rank = rank
        self.size = size
        self.cropSamples = cropSamples
        leads = sources[0].leadCount
        stream = SampleStream(recordCount: total, globalBatch: globalBatch, seed: seed)
        samplesTakenPerCorpus = Array(repeating: 0, count: sources.count)
        mixture = try weights.map {
            try WeightedSampleStream(weights: $0, recordCounts: sources.map(\.recordCount), globalBatch: globalBatch, seed: seed)
        }
        localBatch = SampleStream.rankSlice(globalBatch: globalBatch, rank: rank, size: size).count
        for _ in 0...Self.readAheadSteps {
            buffers.append(UnsafeMutablePointer<Float>.allocate(capacity: max(1, localBatch * cropSamples * leads)))
        }
    }

    deinit {
        stop()
        for b in buffers { b.deallocate() }
    }

    /// Starts reading ahead from `step`.
    public func start(fromStep step: Int) {
        nextToProduce = step
        consumed = step - 1
        let t = Thread { [unowned self] in self.produceLoop() }
        t.name = "ecg-dist-loader"
        thread = t
        t.start()
    }

    public func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
        // Wait for the thread to leave HDF5 before files close.
        while let t = thread, !t.isFinished { usleep(1000) }
        thread = nil
    }

    /// The batch of the next step. Its buffer stays valid until the following `next()`.
    public func next() throws -> LoadedBatch {
        cond.lock()
        defer { cond.unlock() }
        let step = consumed + 1
        consumed = step
        cond.broadcast()    // the previous step's buffer is free again
        while ready[step] == nil && failure == nil { cond.wait() }
        if let failure { throw failure }
        let item = ready.removeValue(forKey: step)!
        for record in item.records { samplesTakenPerCorpus[locate(record).0] += 1 }
        return LoadedBatch(step: step, count: item.records.count, data: buffers[item.slot], records: item.records)
    }

    private func produceLoop() {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: (sources.map(\.samplesPerRecord).max() ?? 1) * leads)
        defer { scratch.deallocate() }
        while true {
            cond.lock()
            // readAheadSteps + 1 buffers: steps k+1 … k+readAheadSteps may be filled while the
            // trainer holds step k.
            while !stopping && nextToProduce > consumed + Self.readAheadSteps { cond.wait() }
            if stopping { cond.unlock(); return }
            let step = nextToProduce
            cond.unlock()
            do {
                let slot = step % buffers.count
                let records = try fill(step: step, into: buffers[slot], scratch: scratch)
                cond.lock()
                ready[step] = (records, slot)
                nextToProduce += 1
                cond.broadcast()
                cond.unlock()
            } catch {
                cond.lock()
                failure = error
                cond.broadcast()
                cond.unlock()
                return
            }
        }
    }

    /// Reads, crops and normalizes this rank's samples of `step` into `out`.
    func fill(step: Int, into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws -> [Int] {
        let samples = mixture?.samples(step: step, rank: rank, size: size)
            ?? stream.samples(step: step, rank: rank, size: size, cache: &permCache)
        var records: [Int] = []
        records.reserveCapacity(samples.count)
        for (slot, sample) in samples.enumerated() {
            let (source, local) = locate(sample.record)
            let src = sources[source]
            hdf5Lock.lock()
            do { try src.readRecord(local, into: scratch) } catch { hdf5Lock.unlock(); throw error }
            hdf5Lock.unlock()
            let start = stream.cropOffset(position: sample.position, recordSamples: src.samplesPerRecord, cropSamples: cropSamples)
            normalize(scratch + start * leads, into: out + slot * cropSamples * leads, rows: cropSamples,
                      mean: src.normalizationMean, std: src.normalizationStd)
            records.append(sample.record)
        }
        return records
    }

    func locate(_ global: Int) -> (Int, Int) {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= global { lo = mid } else { hi = mid - 1 }
        }
        return (lo, global - starts[lo])
    }
}

/// A corpus file opened with MPI-IO on every rank.
final class CorpusShardSource: ShardSource {
    let reader: CorpusReader
    /// File rows the loader's record indices map to (all rows unless some are excluded).
    let rows: [Int]?
    init(path: String, comm: Communicator, excludedRows: Set<Int> = []) throws {
        reader = comm.size > 1 ? try CorpusReader(file: try H5File.openShared(path: path, comm: comm))
                               : try CorpusReader(path: path)
        rows = excludedRows.isEmpty ? nil : (0..<reader.count).filter { !excludedRows.contains($0) }
    }
    var path: String { reader.path }
    var recordCount: Int { rows?.count ?? reader.count }
    var samplesPerRecord: Int { reader.samples }
    var leadCount: Int { reader.leads }
    var normalizationMean: [Float] { reader.channelMean }
    var normalizationStd: [Float] { reader.channelStd }
    var recordsRead: Int { reader.recordsRead }
    func readRecord(_ index: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        let row = rows?[index] ?? index
        try reader.readSignals(rows: row..<(row + 1), into: buffer)
    }
}
