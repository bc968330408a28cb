import ECGData
import HDF5Shim
import MPIShim

// Parallel HDF5: the one place where HDF5 meets MPI. Every rank of a communicator opens the same
// file through the MPI-IO driver (a file access property list made with H5Pset_fapl_mpio); the
// serial HDF5 wrapper (ECGData/HDF5) then reads and writes it as any other file. Transfers stay
// independent: the loader's reads would otherwise have to be ordered against the gradient
// all-reduce running on another thread, and each record is one contiguous chunk anyway.

extension H5File {
    /// Creates `path` on every rank of `comm` (all ranks call together).
    public static func createShared(path: String, comm: Communicator) throws -> H5File {
        try withMPIIOAccess(comm: comm, path: path) { try create(path: path, accessList: $0) }
    }

    /// Opens `path` read-only on every rank of `comm` (all ranks call together).
    public static func openShared(path: String, comm: Communicator) throws -> H5File {
        try withMPIIOAccess(comm: comm, path: path) { try open(path: path, mode: .readOnly, accessList: $0) }
    }

    /// Runs `body` with an MPI-IO file access list for `comm`, closed afterwards (HDF5 keeps its
    /// own copy in every file opened with it).
    private static func withMPIIOAccess(comm: Communicator, path: String, _ body: (hid_t) throws -> H5File) throws -> H5File {
        let fapl = H5Pcreate(shim_H5P_FILE_ACCESS())
        guard fapl >= 0, H5Pset_fapl_mpio(fapl, comm.mpiComm, shim_MPI_INFO_NULL()) >= 0 else {
            if fapl >= 0 { H5Pclose(fapl) }
            throw HDF5Error(file: path, "cannot set up MPI-IO access (is MPI initialised?)")
        }
        defer { H5Pclose(fapl) }
        return try body(fapl)
    }
}

/// `ecg-dist synth` under mpirun: the ranks of the communicator write one corpus together.
extension Communicator: SharedFileGroup {
    public func createSharedFile(path: String) throws -> H5File { try H5File.createShared(path: path, comm: self) }
}
