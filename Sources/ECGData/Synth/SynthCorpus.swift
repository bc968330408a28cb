import Foundation
import Model

/// Result of writing a synthetic corpus (per rank, plus the world totals).
public struct SynthCorpusReport: Sendable {
    public var records: Int
    public var localRecords: Int
    public var ranks: Int
    /// CPU seconds this rank's thread spent generating its records (signal synthesis only, no I/O).
    /// CPU time, not wall time, so the rate is per core even on an oversubscribed machine.
    public var generateSeconds: Double
    /// Seconds for the whole write, including HDF5 I/O and the statistics all-reduce.
    public var totalSeconds: Double
    public var labelCounts: [Int]
    public var localRecordsPerSecond: Double { generateSeconds > 0 ? Double(localRecords) / generateSeconds : 0 }
}

/// Writes `ecg-dist synth` corpora in the layout of docs/hdf5-layout.md. Under MPI each rank
/// generates a contiguous slice of record indices and writes its rows of the SAME file through
/// parallel HDF5 (a `SharedFileGroup`); because record i depends only on (seed, i), the file is
/// identical for any number of ranks. The file is written to `<out>.tmp` and moved into place by
/// rank 0 when complete.
public enum SynthCorpus {
    public static let sampleCount = 5000
    public static let sampleRate = 500
    public static let taskName = "synth"

    /// Fold of record i: 1–10 round-robin, so folds 1–8 / 9 / 10 are train / validation / test.
    public static func fold(of index: Int) -> Int32 { Int32(index % 10 + 1) }

    public static func recordName(seed: UInt64, index: Int) -> String { "synth/s\(seed)/\(index)" }

    /// Rows [lo, hi) of rank `rank` out of `size` for `records` records.
    public static func slice(records: Int, rank: Int, size: Int) -> Range<Int> {
        (records * rank / size)..<(records * (rank + 1) / size)
    }

    /// Generates `records` records and writes them to `path`. `ranks` = nil writes serially;
    /// otherwise every rank of `ranks` must call this with the same arguments.
    /// `dtype` float16 rounds every sample to half before the statistics, which then describe what is stored.
    public static func write(path: String, records: Int, seed: UInt64, ranks: SharedFileGroup?,
                             batchSize: Int = 64, dtype: SignalDType = .float32) throws -> SynthCorpusReport {
        guard records > 0 else { throw FileError(path, "--records must be at least 1 (got \(records))") }
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw FileError(path, "output directory \(directory) does not exist")
        }
        let start = Date()
        let rank = ranks?.rank ?? 0, size = ranks?.size ?? 1
        let parallel = size > 1 ? ranks : nil
        let temporary = path + ".tmp"
        if rank == 0 { try? FileManager.default.removeItem(atPath: temporary) }
        try parallel?.barrier()

        // All HDF5 handles live inside writeFile, so they are closed (collectively) when it returns.
        let generateSeconds: Double, labelCounts: [Int]
        do {
            (generateSeconds, labelCounts) = try writeFile(temporary, records: records, seed: seed, rank: rank, size: size,
                                                           ranks: parallel, batchSize: batchSize, dtype: dtype)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)   // never leave a partial corpus behind
            throw error
        }
        try parallel?.barrier()
        if rank == 0 {
            try AtomicFile.moveIntoPlace(temporary, to: path)
        }
        try parallel?.barrier()
        return SynthCorpusReport(records: records, localRecords: slice(records: records, rank: rank, size: size).count,
                                 ranks: size, generateSeconds: generateSeconds,
                                 totalSeconds: Date().timeIntervalSince(start), labelCounts: labelCounts)
    }

    private static func writeFile(_ temporary: String, records: Int, seed: UInt64, rank: Int, size: Int,
                                  ranks parallel: SharedFileGroup?, batchSize: Int, dtype: SignalDType) throws -> (Double, [Int]) {
        let file = try parallel?.createSharedFile(path: temporary) ?? H5File.create(path: temporary)
        let n = sampleCount, leads = ECGSynthesizer.leadCount
        let labelNames = SynthLabel.names
        // Dataset creation is collective under MPI-IO: every rank creates the same full-size datasets.
        let signals = try SignalRows(file.createDataset("signals", type: dtype.elementType, shape: [records, n, leads],
                                                        chunk: [1, n, leads], extendable: false), dtype: dtype)
        let ids = try file.createDataset("record_ids", type: .int64, shape: [records], chunk: [min(records, 4096)], extendable: false)
        let names = try file.createDataset("record_names", type: .fixedString(CorpusWriter.recordNameBytes), shape: [records],
                                           chunk: [min(records, 1024)], extendable: false)
        let folds = try file.createDataset("strat_fold", type: .int32, shape: [records], chunk: [min(records, 4096)], extendable: false)
        try file.createGroup("labels")
        let labels = try file.createDataset("labels/\(taskName)", type: .uint8, shape: [records, labelNames.count],
                                            chunk: [min(records, 1024), labelNames.count], extendable: false)
        let labelNameSet = try file.createDataset("labels/\(taskName)_names", type: .fixedString(CorpusWriter.labelNameBytes),
                                                  shape: [labelNames.count], chunk: [labelNames.count], extendable: false)
        if rank == 0 { try labelNameSet.writeStrings(labelNames, rows: 0..<labelNames.count) }

        let mine = slice(records: records, rank: rank, size: size)
        let generator = ECGSynthesizer(seed: seed, sampleCount: n, sampleRate: Double(sampleRate))
        let batch = max(1, batchSize)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: batch * n * leads)
        defer { buffer.deallocate() }
        var train = ChannelMoments(), all = ChannelMoments()
        var labelCounts = [Int](repeating: 0, count: labelNames.count)
        var generateSeconds = 0.0
        var nonFinite = 0
        var lo = mine.lowerBound
        while lo < mine.upperBound {
            let rows = lo..<min(lo + batch, mine.upperBound)
            var rowLabels: [UInt8] = [], rowIDs: [Int64] = [], rowFolds: [Int32] = [], rowNames: [String] = []
            let t0 = threadCPUSeconds()
            for (k, index) in rows.enumerated() {
                let info = generator.generate(index: UInt64(index), into: buffer + k * n * leads)
                let hot = info.recordClass.multiHot
                rowLabels += hot
                for (c, v) in hot.enumerated() { labelCounts[c] += Int(v) }
                rowIDs.append(Int64(index))
                rowFolds.append(fold(of: index))
                rowNames.append(recordName(seed: seed, index: index))
            }
            generateSeconds += threadCPUSeconds() - t0
            if dtype == .float16 { HalfPrecision.roundInPlace(buffer, count: rows.count * n * leads) }
            for k in 0..<rows.count {
                let record = UnsafePointer(buffer + k * n * leads)
                for i in 0..<(n * leads) where !record[i].isFinite { nonFinite += 1 }
                all.add(record, samples: n)
                if (1...8).contains(rowFolds[k]) { train.add(record, samples: n) }
            }
            try signals.write(rows, from: UnsafePointer(buffer))
            try rowIDs.withUnsafeBufferPointer { try ids.writeRows(rows, from: $0.baseAddress!) }
            try rowFolds.withUnsafeBufferPointer { try folds.writeRows(rows, from: $0.baseAddress!) }
            try rowLabels.withUnsafeBufferPointer { try labels.writeRows(rows, from: $0.baseAddress!) }
            try names.writeStrings(rowNames, rows: rows)
            lo = rows.upperBound
        }

        // World statistics: moments and label counts summed over ranks.
        var packed = train.packed + all.packed + labelCounts.map(Double.init) + [Double(nonFinite)]
        if let parallel { try parallel.allReduceSum(&packed) }
        // Every rank sees the same sum, so every rank takes the same branch.
        guard packed[packed.count - 1] == 0 else {
            throw FileError(temporary, "the generator produced \(Int(packed[packed.count - 1])) non-finite samples (a bug): nothing was kept")
        }
        packed.removeLast()
        let trainTotal = ChannelMoments(packed: Array(packed[0..<25]))!
        let allTotal = ChannelMoments(packed: Array(packed[25..<50]))!
        let worldLabelCounts = packed[50...].map { Int($0) }
        // Attribute writes are collective metadata operations: all ranks write identical values.
        let attributes = file.attributes
        try attributes.set("sampling_rate", int32: Int32(sampleRate))
        try attributes.set("n_samples", int32: Int32(n))
        try attributes.set("lead_names", strings: LeadVectors.leadNames)
        try attributes.set("source", string: "synth")
        try attributes.set("synth_seed", string: String(seed))
        let (mean, std) = (trainTotal.count > 0 ? trainTotal : allTotal).meanAndStd
        try attributes.set("channel_mean", floats: mean)
        try attributes.set("channel_std", floats: std)
        try attributes.set("channel_moments_train", doubles: trainTotal.packed)
        try attributes.set("channel_moments_all", doubles: allTotal.packed)
        try attributes.set(CorpusReader.finiteAttribute, int32: 1)   // checked above, every record
        return (generateSeconds, worldLabelCounts)
    }
}
