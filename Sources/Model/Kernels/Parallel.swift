import Dispatch
import CBLASShim

// The model's own (non-BLAS) work — attention's many small per-head GEMMs, softmax, GELU — is
// split over the same number of threads OpenBLAS uses (set through BLASThreads.set).

enum KernelThreads {
    nonisolated(unsafe) static var count = 1
}

/// Runs body on `count` items split into KernelThreads.count contiguous chunks (chunk index passed
/// for per-thread scratch). Runs inline when single-threaded or the work is tiny.
@inline(__always)
func parallelChunks(_ count: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    let threads = min(KernelThreads.count, count)
    if threads <= 1 { body(0, 0..<count); return }
    // Each worker calls BLAS itself: OpenBLAS must not also fan out (its pool would contend).
    openblas_set_num_threads(1)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        body(t, (count * t / threads)..<(count * (t + 1) / threads))
    }
    openblas_set_num_threads(Int32(KernelThreads.count))
}
