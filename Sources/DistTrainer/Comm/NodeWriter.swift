import Foundation
import ECGData
import MPIShim

// One writer per node for a shared corpus file (SharedFileGroup.nodeSharedBuffer): the ranks of
// a node put their rows in an MPI-3 shared-memory window and the node's first rank writes them
// from there, with no message and no copy.

/// The ranks that share a node: a communicator of them and their world ranks in node order.
final class NodeGroup {
    let comm: MPI_Comm
    let rank: Int
    /// World rank of every node member, by node rank (node rank order = world rank order).
    let worldRanks: [Int]

    init(comm: MPI_Comm, rank: Int, worldRanks: [Int]) {
        self.comm = comm
        self.rank = rank
        self.worldRanks = worldRanks
    }
}

extension Communicator {
    /// Test-only: `ECG_DIST_TEST_RANKS_PER_NODE=k` groups world ranks as if every k consecutive ones
    /// shared a node, so one machine exercises the several-writers path of a multi-node job.
    static var simulatedRanksPerNode: Int? {
        ProcessInfo.processInfo.environment["ECG_DIST_TEST_RANKS_PER_NODE"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// This rank's node group (collective on first use).
    func nodeGroup() throws -> NodeGroup {
        if let node { return node }
        var split: MPI_Comm?
        if let perNode = Self.simulatedRanksPerNode {
            try check(MPI_Comm_split(comm, Int32(rank / perNode), Int32(rank), &split), "MPI_Comm_split(node)")
        } else {
            try check(MPI_Comm_split_type(comm, shim_MPI_COMM_TYPE_SHARED(), Int32(rank), shim_MPI_INFO_NULL(), &split),
                      "MPI_Comm_split_type(shared)")
        }
        MPI_Comm_set_errhandler(split, shim_MPI_ERRORS_RETURN())
        var nodeRank: Int32 = 0, nodeSize: Int32 = 0
        MPI_Comm_rank(split, &nodeRank)
        MPI_Comm_size(split, &nodeSize)
        var own = Int32(rank)
        var members = [Int32](repeating: 0, count: Int(nodeSize))
        try check(MPI_Allgather(&own, 1, shim_MPI_INT(), &members, 1, shim_MPI_INT(), split), "MPI_Allgather(node ranks)")
        let group = NodeGroup(comm: split!, rank: Int(nodeRank), worldRanks: members.map(Int.init))
        node = group
        return group
    }

    public func nodeSharedBuffer(bytesPerRank: Int) throws -> NodeSharedBuffer? {
        let node = try nodeGroup()
        // OpenMPI backs the window with a file in /dev/shm: a container's 64-MB /dev/shm would end
        // in SIGBUS on first touch, not in an error. Use at most half of what is free; the node's
        // ranks agree (the smallest reading wins) so that all or none of them take part.
        let need = Double(node.worldRanks.count - 1) * Double(bytesPerRank)
        var roomy: Int32 = Self.sharedMemoryAvailable() >= 2 * need ? 1 : 0
        try check(MPI_Allreduce(shim_MPI_IN_PLACE(), &roomy, 1, shim_MPI_INT(), shim_MPI_MIN(), node.comm), "MPI_Allreduce(room in /dev/shm)")
        guard roomy == 1 else { return nil }
        return try MPINodeSharedBuffer(node: node, bytesPerRank: node.rank == 0 ? 0 : bytesPerRank, comm: self)
    }

    /// Free bytes of /dev/shm (0 when there is none), or what the test-only
    /// `ECG_DIST_TEST_SHARED_MEMORY_BYTES` says.
    static func sharedMemoryAvailable() -> Double {
        if let forced = ProcessInfo.processInfo.environment["ECG_DIST_TEST_SHARED_MEMORY_BYTES"].flatMap(Double.init) { return forced }
        var stats = statvfs()
        guard statvfs("/dev/shm", &stats) == 0 else { return 0 }
        return Double(stats.f_bavail) * Double(stats.f_frsize)
    }
}

/// A shared-memory window over a node (MPI_Win_allocate_shared), locked for the whole of its life
/// (passive target, MPI_Win_lock_all): the ranks order their accesses by their own collectives and
/// make them visible with MPI_Win_sync.
final class MPINodeSharedBuffer: NodeSharedBuffer {
    private var window: MPI_Win?
    let own: UnsafeMutableRawPointer
    let isNodeWriter: Bool
    let members: [(rank: Int, memory: UnsafeRawPointer)]

    init(node: NodeGroup, bytesPerRank: Int, comm: Communicator) throws {
        var base: UnsafeMutableRawPointer?
        var window: MPI_Win?
        try withUnsafeMutablePointer(to: &base) { basePointer in
            try comm.check(MPI_Win_allocate_shared(MPI_Aint(max(bytesPerRank, 1)), 1, shim_MPI_INFO_NULL(), node.comm,
                                                   UnsafeMutableRawPointer(basePointer), &window),
                           "MPI_Win_allocate_shared(\(bytesPerRank) bytes per rank)")
        }
        guard let window, let base else { throw MPIError(rank: comm.rank, call: "MPI_Win_allocate_shared", message: "no memory returned") }
        self.window = window
        own = base
        isNodeWriter = node.rank == 0
        var members: [(rank: Int, memory: UnsafeRawPointer)] = []
        for (nodeRank, worldRank) in node.worldRanks.enumerated() where nodeRank > 0 {
            var size: MPI_Aint = 0, unit: Int32 = 0
            var memory: UnsafeMutableRawPointer?
            try withUnsafeMutablePointer(to: &memory) { memoryPointer in
                try comm.check(MPI_Win_shared_query(window, Int32(nodeRank), &size, &unit, UnsafeMutableRawPointer(memoryPointer)),
                               "MPI_Win_shared_query(rank \(worldRank))")
            }
            guard let memory else { throw MPIError(rank: comm.rank, call: "MPI_Win_shared_query", message: "rank \(worldRank) has no memory") }
            members.append((worldRank, UnsafeRawPointer(memory)))
        }
        self.members = members
        try comm.check(MPI_Win_lock_all(shim_MPI_MODE_NOCHECK(), window), "MPI_Win_lock_all")
    }

    func synchronize() {
        if let window { MPI_Win_sync(window) }
    }

    func release() {
        guard window != nil else { return }
        MPI_Win_unlock_all(window)
        MPI_Win_free(&window)
        window = nil
    }
}
