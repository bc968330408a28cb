import ArgumentParser
import DistTrainer
import ECGData
import Foundation

/// `ecg-dist synth`: a labelled synthetic 12-lead ECG corpus (docs/synthetic-ecg.svg shows a record).
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a labelled synthetic 12-lead ECG corpus (500 Hz, 10 s, mV) as a corpus HDF5 file.",
        discussion: """
            Records come from a 3-D cardiac dipole model (Gaussian P/Q/R/S/T waves per beat on an RR \
            process) projected to 12 leads, with electrode-level noise (EMG, baseline wander, 50/60 Hz). \
            Task 'synth' labels: AFIB ASTE ISTE LBBB LVOLT RBBB SBRAD SR STACH (multi-label). strat_fold is \
            index mod 10 + 1. Record i depends only on (seed, i): under mpirun/srun every rank generates \
            its own slice and writes its rows of the same file with parallel HDF5, and the file is the same \
            for any number of ranks.
            """)

    @Option(help: "Number of records.") var records: Int
    @Option(help: "Output corpus file (.h5).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Records per HDF5 write.") var batch: Int = 64
    @Option(help: "Storage of /signals: float32 | float16 (half the size; readers get float32 back).") var dtype = "float32"

    func validate() throws {
        guard records >= 1 else { throw ValidationError("--records must be at least 1 (got \(records))") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        guard SignalDType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be float32 or float16, not '\(dtype)'") }
    }

    func run() throws {
        let comm = launchedByMPI() ? try Communicator.world() : nil
        let report: SynthCorpusReport
        do {
            report = try SynthCorpus.write(path: out, records: records, seed: seed, ranks: comm, batchSize: batch,
                                         dtype: SignalDType(rawValue: dtype)!)
        } catch {
            // One failed rank would leave the others waiting in a collective: end the whole job.
            if let comm, comm.size > 1 {
                printError("ecg-dist synth: rank \(comm.rank): \(error)")
                comm.abort()
            }
            throw error
        }
        // Per-core generation rate: each rank generates on one core.
        var rate = report.localRecordsPerSecond
        if let comm, comm.size > 1 { rate = try comm.allReduceSum(rate) / Double(comm.size) }
        guard comm?.isRoot ?? true else { return }
        print(String(format: "wrote %@: %d records, %d rank(s), %.2f s total; generation %.0f records/s per core",
                     out, report.records, report.ranks, report.totalSeconds, rate))
        let counts = zip(SynthLabel.names, report.labelCounts).map { "\($0)=\($1)" }.joined(separator: " ")
        print("labels: \(counts)")
    }
}

/// True when started by mpirun (OpenMPI) or srun with PMIx/PMI: then MPI is initialised; a plain
/// run stays MPI-free.
func launchedByMPI() -> Bool {
    let env = ProcessInfo.processInfo.environment
    return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { env[$0] != nil }
}
