import HDF5Shim

/// The ranks of a job writing one corpus file together (`ecg-dist synth` under mpirun). This target
/// knows no MPI: DistTrainer's `Communicator` conforms to this protocol, with MPI collectives and
/// an MPI-IO file access list (DistTrainer/Comm/ParallelHDF5.swift).
public protocol SharedFileGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    func barrier() throws
    /// Element-wise sum of `values` over the ranks, in place.
    func allReduceSum(_ values: inout [Double]) throws
    /// Creates `path` opened by every rank of the group (all ranks call together).
    func createSharedFile(path: String) throws -> H5File
}
