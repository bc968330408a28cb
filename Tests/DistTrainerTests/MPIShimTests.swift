import Foundation
import MPIShim
import XCTest
@testable import DistTrainer

/// Exercises the MPI/HDF5 shim. Single-rank under `swift test`; the test script also runs this
/// class under `mpirun -np 2`, where the cross-rank expectations become non-trivial.
final class MPIShimTests: XCTestCase {
    func testAllReduceOfKnownValues() throws {
        let comm = try Communicator.world()
        let n = 1000
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { buf.deallocate() }
        for i in 0..<n { buf[i] = Float(comm.rank + 1) * Float(i % 7) }
        try comm.allReduceSum(buf, count: n)
        let ranksSum = Float(comm.size * (comm.size + 1) / 2)
        for i in 0..<n { XCTAssertEqual(buf[i], ranksSum * Float(i % 7), "element \(i)") }

        let total = try comm.allReduceSum(Double(comm.rank))
        XCTAssertEqual(total, Double(comm.size * (comm.size - 1) / 2))
        let any = try comm.allReduceAny(comm.rank == comm.size - 1)
        XCTAssertTrue(any)
        let mm = try comm.allReduceMinMax(UInt64(comm.rank))
        XCTAssertEqual(mm.min, 0)
        XCTAssertEqual(mm.max, UInt64(comm.size - 1))
    }

    func testBroadcastBytesAndString() throws {
        let comm = try Communicator.world()
        var bytes: [UInt8] = comm.rank == 0 ? Array("checkpoint-bytes".utf8) : []
        try comm.broadcast(&bytes)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "checkpoint-bytes")
        let s = try comm.broadcast(comm.rank == 0 ? "{\"step\":7}" : "")
        XCTAssertEqual(s, "{\"step\":7}")
    }

    /// Buckets reported out of order, with gaps the callbacks never mention, all get reduced.
    func testGradientAllReducerCoversEveryRange() throws {
        let comm = try Communicator.world()
        let n = 10_000
        let grads = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { grads.deallocate() }
        for i in 0..<n { grads[i] = Float(comm.rank + 1) }
        let reducer = GradientAllReducer(comm: try comm.duplicate(), grads: grads, count: n, bucketFloats: 1500)
        defer { reducer.shutdown() }
        reducer.beginStep()
        // Backward order: descending ranges, with 0..<100 never reported.
        for upper in stride(from: n, to: 100, by: -700) {
            reducer.gradientsReady(max(100, upper - 700)..<upper)
        }
        try reducer.finish()
        let expected = Float(comm.size * (comm.size + 1) / 2)
        for i in 0..<n where grads[i] != expected {
            XCTFail("gradient \(i) = \(grads[i]), expected \(expected)")
            break
        }
    }

    /// Every rank writes its own rows of one file through MPI-IO, then reads the whole file back.
    /// `shutdown()` ends the communication thread, after which nothing keeps the reducer alive.
    func testGradientAllReducerShutdownStopsItsThread() throws {
        let comm = try Communicator.world()
        let count = 64
        let grads = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { grads.deallocate() }
        grads.update(repeating: 1, count: count)
        weak var released: GradientAllReducer?
        do {
            let reducer = GradientAllReducer(comm: try comm.duplicate(), grads: grads, count: count, bucketFloats: 16)
            released = reducer
            XCTAssertEqual(reducer.isCommunicating, comm.size > 1)
            reducer.beginStep()
            reducer.gradientsReady(0..<count)
            try reducer.finish()
            XCTAssertEqual(grads[count - 1], Float(comm.size))
            reducer.shutdown()
            XCTAssertFalse(reducer.isCommunicating)
            reducer.shutdown()   // idempotent
        }
        XCTAssertNil(released, "the reducer outlived its last reference")
    }

    func testParallelHDF5WriteThenRead() throws {
        let comm = try Communicator.world()
        // Every rank must use the same path: rank 0 picks it and broadcasts.
        let path = try comm.broadcast(comm.rank == 0
            ? FileManager.default.temporaryDirectory.appendingPathComponent("mpishim-\(getpid()).h5").path : "")
        let rowsPerRank = 3, cols = 4
        let totalRows = rowsPerRank * comm.size

        let fapl = H5Pcreate(shim_H5P_FILE_ACCESS())
        XCTAssertEqual(H5Pset_fapl_mpio(fapl, comm.mpiComm, shim_MPI_INFO_NULL()), 0)
        let file = H5Fcreate(path, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), fapl)
        XCTAssertGreaterThanOrEqual(file, 0)
        var dims: [hsize_t] = [hsize_t(totalRows), hsize_t(cols)]
        let space = H5Screate_simple(2, &dims, nil)
        let dset = H5Dcreate2(file, "values", shim_H5T_NATIVE_FLOAT(), space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        var start: [hsize_t] = [hsize_t(comm.rank * rowsPerRank), 0]
        var count: [hsize_t] = [hsize_t(rowsPerRank), hsize_t(cols)]
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &count, nil)
        let memspace = H5Screate_simple(2, &count, nil)
        var mine = [Float](repeating: 0, count: rowsPerRank * cols)
        for r in 0..<rowsPerRank { for c in 0..<cols { mine[r * cols + c] = Float((comm.rank * rowsPerRank + r) * 10 + c) } }
        XCTAssertGreaterThanOrEqual(H5Dwrite(dset, shim_H5T_NATIVE_FLOAT(), memspace, space, shim_H5P_DEFAULT(), &mine), 0)
        H5Sclose(memspace); H5Sclose(space); H5Dclose(dset); H5Fclose(file)

        let rfile = H5Fopen(path, shim_H5F_ACC_RDONLY(), fapl)
        XCTAssertGreaterThanOrEqual(rfile, 0)
        let rdset = H5Dopen2(rfile, "values", shim_H5P_DEFAULT())
        var all = [Float](repeating: -1, count: totalRows * cols)
        XCTAssertGreaterThanOrEqual(H5Dread(rdset, shim_H5T_NATIVE_FLOAT(), shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), &all), 0)
        H5Dclose(rdset); H5Fclose(rfile); H5Pclose(fapl)
        for row in 0..<totalRows { for c in 0..<cols { XCTAssertEqual(all[row * cols + c], Float(row * 10 + c)) } }
        try comm.barrier()
        if comm.rank == 0 { unlink(path) }
    }
}
