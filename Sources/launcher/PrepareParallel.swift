import ArgumentParser
import DistTrainer
import ECGData
import Foundation

/// Flags every `prepare` source shares: signal storage, and the ranks when started under mpirun.
struct PrepareStorageOptions: ParsableArguments {
    @Option(help: "Storage of /signals: float32 | float16 (half the size; readers get float32 back). Default float32; an --append keeps the corpus's own.")
    var dtype: String?
    @Option(help: "Source records per rank per round (one HDF5 write each); rows and statistics do not depend on it.")
    var batch = 128

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        if let dtype, SignalDType(rawValue: dtype) == nil {
            throw ValidationError("--dtype must be float32 or float16, not '\(dtype)'")
        }
    }

    var signalDType: SignalDType? { dtype.flatMap(SignalDType.init(rawValue:)) }
}

/// Runs one prepare `body` serially or, under mpirun/srun, on every rank of the world writing one
/// corpus through parallel HDF5 (CorpusWriter's group mode). SIGTERM/SIGINT stop the run at the
/// next record and keep nothing. Failures reach every rank at the same round, so each rank exits
/// non-zero on its own (no MPI_Abort) and only rank 0 prints the message. Returns the summary on
/// the rank that should print it (rank 0), nil on the others.
func runPrepare(_ options: PrepareStorageOptions, _ body: (PrepareRun) throws -> PrepareSummary) throws -> PrepareSummary? {
    keepFreedMemoryForReuse()
    let comm = launchedByMPI() ? try Communicator.world() : nil
    StopSignals.install()
    var run = PrepareRun()
    run.dtype = options.signalDType
    run.batchSize = options.batch
    run.group = comm
    run.stopRequested = { StopSignals.received != 0 ? StopSignals.name(StopSignals.received) : nil }
    run.progress = { printError($0) }
    do {
        let summary = try body(run)
        return (comm?.isRoot ?? true) ? summary : nil
    } catch {
        guard let comm, comm.size > 1, !comm.isRoot else { throw error }
        throw ExitCode.failure
    }
}

/// Commands that write a file from one process only refuse to run on several ranks (each rank
/// would write and rename the same output).
func requireSingleProcess(_ command: String) throws {
    if launchedByMPI(), try Communicator.world().size > 1 {
        throw ValidationError("\(command) runs on one process; start it without mpirun")
    }
}

/// A record's buffers (a decoded record, its resampled and filtered copies: 0.2–0.5 MB each) are
/// allocated and freed once per record. By default glibc returns such memory to the kernel when
/// it is freed (heap trimming, mmap for blocks above its adaptive threshold), so every record paid
/// for fresh zeroed pages again: on a 2-core Zen 2, `prepare code15` spent 1.1 s of system time per
/// 3,000 exams in page faults, and with freed memory kept for reuse 0.35 s (973 → 1,436 exams/s),
/// peak RSS unchanged (76 MB): what is kept is what the next record needs anyway.
func keepFreedMemoryForReuse() {
    // glibc's mallopt (malloc.h is not in Swift's Glibc module): found by name, a no-op elsewhere.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    _ = mallopt(mmapThreshold, 32 << 20)   // the largest threshold glibc takes
    _ = mallopt(trimThreshold, 256 << 20)
}
