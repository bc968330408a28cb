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
    /// Memory that the ranks of a node share (all ranks call together): `bytesPerRank` of its own
    /// for every rank but the node's writer, readable by the writer. nil when the node's shared
    /// memory (/dev/shm) has not room enough for it (then every rank writes its own rows).
    /// Released with `release()`, again together.
    func nodeSharedBuffer(bytesPerRank: Int) throws -> NodeSharedBuffer?
}

/// Each rank's part of a node-shared buffer (`SharedFileGroup.nodeSharedBuffer`). The ranks of a
/// node hand their rows to one writer this way because the kernel serialises writes to one file:
/// two ranks `pwrite`-ing into it take turns on the inode lock and the waiting one spins
/// (docs/prepare.md), while one writer copies at full speed, reading the others' rows in place.
public protocol NodeSharedBuffer: AnyObject {
    /// This rank's part (none on the node's writer).
    var own: UnsafeMutableRawPointer { get }
    /// Whether this rank writes for its node (the node's lowest rank).
    var isNodeWriter: Bool { get }
    /// Every rank of the node but the writer with its part, in rank order.
    var members: [(rank: Int, memory: UnsafeRawPointer)] { get }
    /// Makes this rank's stores visible to the node and the others' to it; call it after the
    /// exchange that orders them (a collective), on both sides.
    func synchronize()
    /// Frees the memory (all ranks of the group call together).
    func release()
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
    /// Seconds this rank spent on the round's records (from the end of its last exchange to this one).
    var workSeconds = 0.0
    /// Seconds its part of the previous round's writing took (the node writer's includes the node's rows).
    var writeSeconds = 0.0

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(Int64(rows))
        append(workSeconds.bitPattern)
        append(writeSeconds.bitPattern)
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
        workSeconds = Double(bitPattern: read(UInt64.self))
        writeSeconds = Double(bitPattern: read(UInt64.self))
        let failed = read(UInt8.self) != 0
        let length = Int(read(Int64.self))
        failure = failed ? String(decoding: bytes[offset..<(offset + length)], as: UTF8.self) : nil
        offset += length
        folds = (0..<rows).map { _ in read(Int32.self) }
        blockSums = (0..<(rows * floatsPerRow)).map { _ in Float(bitPattern: read(UInt32.self)) }
    }

    init(rows: Int, folds: [Int32], blockSums: [Float], failure: String?, workSeconds: Double = 0, writeSeconds: Double = 0) {
        self.rows = rows
        self.folds = folds
        self.blockSums = blockSums
        self.failure = failure
        self.workSeconds = workSeconds
        self.writeSeconds = writeSeconds
    }
}
