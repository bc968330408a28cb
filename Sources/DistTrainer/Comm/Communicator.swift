import Foundation
import MPIShim

/// An MPI failure, with the rank that saw it so a log from 16 ranks says who failed.
public struct MPIError: Error, CustomStringConvertible {
    public let rank: Int
    public let call: String
    public let message: String
    public var description: String { "rank \(rank): \(call) failed: \(message)" }
}

/// The world communicator. MPI is initialised once per process (the first `Communicator.world()`),
/// with MPI_THREAD_MULTIPLE because the data loader reads through MPI-IO on a background thread
/// while the gradient thread all-reduces. MPI is finalized at process exit.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let comm: MPI_Comm
    public let threadLevel: Int32
    /// The ranks of this rank's node (NodeWriter.swift), made on first use.
    var node: NodeGroup?

    private static let lock = NSLock()
    private static var instance: Communicator?

    /// The world communicator, initialising MPI on first use (safe to call from tests repeatedly).
    public static func world() throws -> Communicator {
        lock.lock()
        defer { lock.unlock() }
        if let c = instance { return c }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var provided: Int32 = 0
        if initialized == 0 {
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
            if rc != MPI_SUCCESS { throw MPIError(rank: -1, call: "MPI_Init_thread", message: "error code \(rc)") }
            atexit {
                var finalized: Int32 = 0
                MPI_Finalized(&finalized)
                if finalized == 0 { MPI_Finalize() }
            }
        } else {
            MPI_Query_thread(&provided)
        }
        let world = shim_MPI_COMM_WORLD()
        // Errors come back as codes (mapped to MPIError) instead of aborting inside MPI.
        MPI_Comm_set_errhandler(world, shim_MPI_ERRORS_RETURN())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        let c = Communicator(comm: world!, rank: Int(r), size: Int(s), threadLevel: provided)
        instance = c
        return c
    }

    private init(comm: MPI_Comm, rank: Int, size: Int, threadLevel: Int32) {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.threadLevel = threadLevel
    }

    /// A private copy of this communicator: collectives on it never interleave with ours, so a
    /// background thread (gradient all-reduce) can use it while the main thread uses the original.
    public func duplicate() throws -> Communicator {
        var dup: MPI_Comm?
        try check(MPI_Comm_dup(comm, &dup), "MPI_Comm_dup")
        MPI_Comm_set_errhandler(dup, shim_MPI_ERRORS_RETURN())
        return Communicator(comm: dup!, rank: rank, size: size, threadLevel: threadLevel)
    }

    /// The raw communicator, for parallel HDF5 (`H5Pset_fapl_mpio`).
    public var mpiComm: MPI_Comm { comm }
    public var isRoot: Bool { rank == 0 }

    func check(_ rc: Int32, _ call: String) throws {
        guard rc != MPI_SUCCESS else { return }
        var buf = [CChar](repeating: 0, count: Int(shim_MPI_MAX_ERROR_STRING()) + 1)
        var len: Int32 = 0
        MPI_Error_string(rc, &buf, &len)
        throw MPIError(rank: rank, call: call, message: String(cString: buf))
    }

    /// Barrier that sleeps while waiting (a rank waiting for rank 0's checkpoint write or evaluation
    /// must not spin a core that rank 0 could use).
    public func barrier() throws {
        guard size > 1 else { return }
        var request: MPI_Request?
        try check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier")
        try waitPolling(&request, "MPI_Ibarrier")
    }

    private func waitPolling(_ request: inout MPI_Request?, _ call: String, pollMicroseconds: UInt32 = 50) throws {
        var done: Int32 = 0
        while true {
            try check(MPI_Test(&request, &done, shim_MPI_STATUS_IGNORE()), "MPI_Test(\(call))")
            if done != 0 { return }
            usleep(pollMicroseconds)
        }
    }

    /// In-place sum of `count` floats across ranks.
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        guard size > 1, count > 0 else { return }
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), buffer, Int32(count), shim_MPI_FLOAT(), shim_MPI_SUM(), comm),
                  "MPI_Allreduce(sum, \(count) floats)")
    }

    /// In-place sum of doubles (loss sums, metric reductions).
    public func allReduceSum(_ values: inout [Double]) throws {
        guard size > 1, !values.isEmpty else { return }
        let n = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { p in
            try check(MPI_Allreduce(shim_MPI_IN_PLACE(), p.baseAddress, n, shim_MPI_DOUBLE(), shim_MPI_SUM(), comm),
                      "MPI_Allreduce(sum, doubles)")
        }
    }

    public func allReduceSum(_ value: Double) throws -> Double {
        var v = [value]
        try allReduceSum(&v)
        return v[0]
    }

    /// In-place sum of floats across ranks without spinning a core: starts MPI_Iallreduce and polls
    /// it with short sleeps. OpenMPI busy-waits inside blocking collectives, which on a machine with
    /// one rank per core would steal the core from the backward pass this call is meant to overlap.
    public func allReduceSumPolling(_ buffer: UnsafeMutablePointer<Float>, count: Int, pollMicroseconds: UInt32 = 50) throws {
        guard size > 1, count > 0 else { return }
        var request: MPI_Request?
        try check(MPI_Iallreduce(shim_MPI_IN_PLACE(), buffer, Int32(count), shim_MPI_FLOAT(), shim_MPI_SUM(), comm, &request),
                  "MPI_Iallreduce(sum, \(count) floats)")
        try waitPolling(&request, "MPI_Iallreduce", pollMicroseconds: pollMicroseconds)
    }

    /// Max and min of one UInt64 over ranks (bit-identity checks: equal everywhere iff max == min).
    public func allReduceMinMax(_ value: UInt64) throws -> (min: UInt64, max: UInt64) {
        guard size > 1 else { return (value, value) }
        var lo = value, hi = value
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), &lo, 1, shim_MPI_UINT64_T(), shim_MPI_MIN(), comm), "MPI_Allreduce(min)")
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), &hi, 1, shim_MPI_UINT64_T(), shim_MPI_MAX(), comm), "MPI_Allreduce(max)")
        return (lo, hi)
    }

    /// Logical OR of a flag over ranks (e.g. "some rank got SIGTERM").
    public func allReduceAny(_ flag: Bool) throws -> Bool {
        guard size > 1 else { return flag }
        var v: Int32 = flag ? 1 : 0
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), &v, 1, shim_MPI_INT(), shim_MPI_MAX(), comm), "MPI_Allreduce(any)")
        return v != 0
    }

    /// Broadcast raw bytes from `root`; non-root ranks receive a buffer of the root's size.
    public func broadcast(_ bytes: inout [UInt8], root: Int = 0) throws {
        guard size > 1 else { return }
        var n = Int64(bytes.count)
        try check(MPI_Bcast(&n, 1, shim_MPI_INT64_T(), Int32(root), comm), "MPI_Bcast(size)")
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(n)) }
        // MPI counts are Int32: send large payloads (checkpoints of big models) in 1 GiB pieces.
        let piece = 1 << 30
        var offset = 0
        try bytes.withUnsafeMutableBytes { raw in
            while offset < Int(n) {
                let len = min(piece, Int(n) - offset)
                try check(MPI_Bcast(raw.baseAddress! + offset, Int32(len), shim_MPI_BYTE(), Int32(root), comm), "MPI_Bcast(bytes)")
                offset += len
            }
        }
    }

    /// Every rank's bytes, in rank order (lengths may differ): the round reports of a parallel
    /// prepare. Payloads are small (a round's row counts and moment sums), so Int32 counts suffice.
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard size > 1 else { return [bytes] }
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: size)
        try check(MPI_Allgather(&length, 1, shim_MPI_INT(), &lengths, 1, shim_MPI_INT(), comm), "MPI_Allgather(lengths)")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<size { offsets[r] = offsets[r - 1] + lengths[r - 1] }
        let total = Int(offsets[size - 1] + lengths[size - 1])
        var all = [UInt8](repeating: 0, count: max(total, 1))
        try bytes.withUnsafeBytes { own in
            try all.withUnsafeMutableBytes { gathered in
                try check(MPI_Allgatherv(own.baseAddress, length, shim_MPI_BYTE(), gathered.baseAddress, lengths, offsets,
                                         shim_MPI_BYTE(), comm), "MPI_Allgatherv(\(total) bytes)")
            }
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    /// Broadcast floats from `root` in place.
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) throws {
        guard size > 1 else { return }
        var offset = 0
        let piece = 1 << 28
        while offset < count {
            let len = min(piece, count - offset)
            try check(MPI_Bcast(buffer + offset, Int32(len), shim_MPI_FLOAT(), Int32(root), comm), "MPI_Bcast(floats)")
            offset += len
        }
    }

    /// Broadcast a string (config JSON, paths) from root.
    public func broadcast(_ string: String, root: Int = 0) throws -> String {
        var bytes = Array(string.utf8)
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Ends every rank of the job now: used when one rank hits an unrecoverable error, so the job
    /// never hangs in a collective waiting for a rank that is gone.
    public func abort(code: Int32 = 1) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}
