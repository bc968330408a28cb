import Foundation
import Synchronization
import CBLASShim
import Glibc

// Threading of the engine. OpenBLAS itself always runs single-threaded: its idle worker spins
// for a long time and fights our own threads on a 2-core machine. Instead the engine splits work
// itself over KernelThreads.count threads of a small persistent pool:
//   * a transformer stack runs each sample range through whole blocks on one thread (no joins
//     inside a block forward; one join per block backward for the weight-gradient reduction);
//   * a large GEMM issued outside such a region is split over output rows/columns (`sgemm`).
// Every output element is produced by one thread with a fixed summation order, so results are
// bit-identical for a given thread count (the distributed trainer relies on that).

enum KernelThreads {
    nonisolated(unsafe) static var count = 1
    /// True while a parallel region runs: GEMMs and kernels issued inside stay on their thread.
    nonisolated(unsafe) static var inRegion = false
}

/// The size of the engine's own thread pool (the WorkerPool below), over which GEMMs and
/// kernels are split; `--threads` sets it. OpenBLAS itself is pinned to one thread (its idle
/// workers spin and would fight the pool for the cores).
public enum EngineThreads {
    public static func set(_ count: Int) {
        openblas_set_num_threads(1)
        KernelThreads.count = max(1, count)
    }
    public static var count: Int { KernelThreads.count }
    /// Pool size when `--threads` is not given (pretrain and eval alike): `$OPENBLAS_NUM_THREADS`,
    /// which Slurm scripts and mpirun users already set per rank, else 1.
    public static var defaultCount: Int {
        max(1, Int(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "") ?? 1)
    }
}

/// Persistent workers that spin briefly for the next job, then park on a condition variable.
/// `run` is called from one (the engine's) thread at a time.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var sleepers = 0                      // guarded by mutex
    private var workerCount = 0
    private var participants = 0
    private var job: ((Int) -> Void)?
    /// Empty polls before a worker parks (~tens of µs: covers the gaps between regions).
    private let spinLimit = 1 << 14

    private init() {
        mutex = .allocate(capacity: 1); condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil); pthread_cond_init(condition, nil)
    }

    /// Runs body(0..<threads) with body(0) on the calling thread; returns when all are done.
    func run(_ threads: Int, _ body: (Int) -> Void) {
        while workerCount < threads - 1 { startWorker() }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            participants = threads
            pending.store(workerCount, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            generation.wrappingAdd(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
            escaping(0)
            var spins = 0
            while pending.load(ordering: .acquiring) != 0 {
                spins += 1
                if spins > 4096 { sched_yield() }
            }
            job = nil
        }
    }

    private func startWorker() {
        let index = workerCount + 1
        let startGeneration = generation.load(ordering: .acquiring)
        workerCount += 1
        let thread = Thread { [unowned self] in self.workerLoop(index: index, seen: startGeneration) }
        thread.stackSize = 1 << 22
        thread.start()
    }

    private func workerLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < spinLimit { continue }
                pthread_mutex_lock(mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(condition, mutex) }
                sleepers -= 1
                pthread_mutex_unlock(mutex)
            }
            // Every worker acknowledges every generation (run waits for all), so it advances by one.
            seen &+= 1
            if index < participants, let job { job(index) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}

/// Runs body on `count` items split into min(KernelThreads.count, count) contiguous chunks (chunk
/// index passed for per-thread scratch). Runs inline when single-threaded or already in a region.
@inline(__always)
func parallelChunks(_ count: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    let threads = parallelChunkCount(count)
    if threads == 1 { body(0, 0..<count); return }
    KernelThreads.inRegion = true
    WorkerPool.shared.run(threads) { t in body(t, (count * t / threads)..<(count * (t + 1) / threads)) }
    KernelThreads.inRegion = false
}

/// Number of chunks parallelChunks(count) would use right now.
@inline(__always)
func parallelChunkCount(_ count: Int) -> Int {
    KernelThreads.inRegion ? 1 : max(1, min(KernelThreads.count, count))
}
