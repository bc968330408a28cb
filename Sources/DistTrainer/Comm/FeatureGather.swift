import Evaluation
import MPIShim

/// The trainer's periodic evaluation spreads the encoding of the frozen features over every rank
/// (Evaluation/FeatureEncodingGroup.swift): the world communicator is that group, and rank 0
/// collects the tokens with one MPI_Gatherv.
extension Communicator: FeatureEncodingGroup {
    public func gatherToRoot(local: UnsafePointer<Float>, counts: [Int], root: UnsafeMutablePointer<Float>) throws {
        guard size > 1 else { return }
        precondition(counts.count == size, "one count per rank")
        guard counts.reduce(0, +) <= Int(Int32.max) else {
            throw MPIError(rank: rank, call: "MPI_Gatherv", message: "evaluation features of \(counts.reduce(0, +)) floats exceed one gather; lower the eval record limit")
        }
        var recvCounts = counts.map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<size { displacements[r] = displacements[r - 1] + recvCounts[r - 1] }
        if rank == 0 {
            // Rank 0's own share is already in place at displacement 0.
            try check(MPI_Gatherv(shim_MPI_IN_PLACE(), 0, shim_MPI_FLOAT(), root, &recvCounts, &displacements,
                                  shim_MPI_FLOAT(), 0, comm), "MPI_Gatherv(evaluation features)")
        } else {
            try check(MPI_Gatherv(UnsafeMutableRawPointer(mutating: local), recvCounts[rank], shim_MPI_FLOAT(), nil,
                                  &recvCounts, &displacements, shim_MPI_FLOAT(), 0, comm), "MPI_Gatherv(evaluation features)")
        }
    }
}
