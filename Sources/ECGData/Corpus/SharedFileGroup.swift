import HDF5Shim

/// The ranks of a job writing one corpus file together (`ecg-dist synth` and `prepare` under
/// mpirun). This target knows no MPI: DistTrainer's `Communicator` conforms to this protocol, with
/// MPI collectives and an MPI-IO file access list (DistTrainer/Comm/ParallelHDF5.swift).
public protocol SharedFileGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    func barrier() throws
    /// Element-wise sum of `values` over the ranks, in place.
    func allReduceSum(_ values: inout [Double]) throws
    /// Every rank's `bytes` (any length, may differ between ranks), in rank order (all ranks call together).
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Creates `path` opened by every rank of the group (all ranks call together).
    func createSharedFile(path: String) throws -> H5File
}

/// A rank of a parallel prepare stopped the job (a bad record, a signal): what the other ranks throw.
public struct SharedWriteFailure: Error, CustomStringConvertible {
    public let rank: Int
    public let message: String
    public var description: String { message }
}

/// What one rank of a parallel prepare tells the others after each round of records: its row
/// count, the fold and the channel-moment block sums of every row (so that every rank replays
/// all of them in row order), or why it stopped.
struct RoundReport {
    var rows: Int
    var folds: [Int32]
    var blockSums: [Float]
    var failure: String?

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(Int64(rows))
        let message = Array((failure ?? "").utf8)
        append(UInt8(failure == nil ? 0 : 1))
        append(Int64(message.count))
        bytes += message
        for fold in folds { append(fold) }
        for value in blockSums { append(value.bitPattern) }
        return bytes
    }

    /// Decodes `encoded` of a peer running this same binary (never outside input).
    init(decoding bytes: [UInt8], floatsPerRow: Int) {
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T {
            let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
            offset += MemoryLayout<T>.size
            return T(littleEndian: value)
        }
        rows = Int(read(Int64.self))
        let failed = read(UInt8.self) != 0
        let length = Int(read(Int64.self))
        failure = failed ? String(decoding: bytes[offset..<(offset + length)], as: UTF8.self) : nil
        offset += length
        folds = (0..<rows).map { _ in read(Int32.self) }
        blockSums = (0..<(rows * floatsPerRow)).map { _ in Float(bitPattern: read(UInt32.self)) }
    }

    init(rows: Int, folds: [Int32], blockSums: [Float], failure: String?) {
        self.rows = rows
        self.folds = folds
        self.blockSums = blockSums
        self.failure = failure
    }
}
