import ArgumentParser
import DistTrainer
import Foundation

/// `ecg-dist commbench`: all-reduce latency and bandwidth across the ranks it runs on (under
/// mpirun or srun), for the bucket sizes the trainer uses. A benchmark, not a test.
struct CommBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commbench",
        abstract: "Measure all-reduce latency and bandwidth across the MPI ranks (run under mpirun/srun).",
        discussion: """
            Prints, per message size, the median and minimum time of an in-place float sum and the \
            bus bandwidth 2(p-1)/p x bytes / time (what each rank moves in a ring all-reduce). Sizes \
            default to 1 float up to 4 Mi floats (16 MiB) and include the trainer's bucket (512 Ki floats).
            """)

    @Option(help: "Comma-separated sizes in floats (suffixes K and M = 1024 and 1024²).")
    var sizes = "1,256,4K,64K,256K,512K,1M,4M"
    @Flag(help: "Use blocking MPI_Allreduce instead of the trainer's MPI_Iallreduce + polling.") var blocking = false
    @Option(help: "Minimum seconds of repetitions per size.") var seconds = 0.3
    @Option(help: "Sleep between MPI_Test polls, µs (default: the trainer's gradient thread's).")
    var pollUs: UInt32 = GradientAllReducer.defaultPollMicroseconds
    @Flag(inversion: .prefixedNo, help: "Set the polling thread's timer slack to 1 µs, as the trainer does (Linux rounds sleeps up by 50 µs otherwise).")
    var timerSlack = true
    @Flag(help: "Also print machine-readable RESULT lines.") var machine = false

    func parsedSizes() throws -> [Int] {
        try sizes.split(separator: ",").map { s in
            var text = s.uppercased(), factor = 1
            if text.hasSuffix("K") { factor = 1024; text.removeLast() } else if text.hasSuffix("M") { factor = 1 << 20; text.removeLast() }
            guard let v = Int(text), v > 0 else { throw ValidationError("--sizes: '\(s)' is not a positive size") }
            return v * factor
        }
    }

    func run() throws {
        let list = try parsedSizes()
        let comm = try Communicator.world()
        guard comm.size > 1 else { throw ValidationError("commbench needs at least 2 ranks (run it under mpirun -np 2 or srun)") }
        let results = try AllReduceBenchmark.run(comm: comm, sizes: list, minSeconds: seconds, polling: !blocking,
                                                 pollMicroseconds: pollUs, timerSlack: timerSlack)
        guard comm.rank == 0 else { return }
        print("all-reduce across \(comm.size) ranks (\(blocking ? "MPI_Allreduce" : "MPI_Iallreduce + polling every \(pollUs) µs\(timerSlack ? ", timer slack 1 µs" : "")"))")
        print("   floats      bytes |  median µs     min µs | bus GB/s")
        for r in results {
            print(String(format: "%9d %10d | %10.1f %10.1f | %8.3f", r.floats, r.floats * 4, r.median * 1e6, r.minimum * 1e6, r.busBandwidth / 1e9))
            if machine {
                print(String(format: "RESULT allreduce ranks %d floats %d median_s %.9f min_s %.9f bus_gbps %.6f",
                             comm.size, r.floats, r.median, r.minimum, r.busBandwidth / 1e9))
            }
        }
    }
}
