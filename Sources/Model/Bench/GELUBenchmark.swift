import Foundation

// `ecg-dist bench --gelu`: CPU time per element of the GELU kernels on a buffer that stays in L2
// and on one of a vit-xs MLP tile (402 rows × 768, beyond L2), next to plain streams that move the
// same number of floats with no math. A kernel much slower than its stream on the small buffer is
// compute-bound; if the large-buffer times approach the streams', memory is the limit.

public extension EngineBenchmark {
    struct KernelTiming {
        public let name: String
        public let elements: Int
        public let nanosecondsPerElement: Double
    }

    /// Best-of-`repeats` CPU ns per element of each kernel at each element count.
    static func geluKernelTimings(elementCounts: [Int], repeats: Int) -> [KernelTiming] {
        let capacity = elementCounts.max() ?? 0
        let h = FloatBuffer(capacity: capacity), a = FloatBuffer(capacity: capacity)
        let b = FloatBuffer(capacity: capacity), d = FloatBuffer(capacity: capacity), d0 = FloatBuffer(capacity: capacity)
        // Pre-activations of a trained MLP are spread over a few units; scale 2 covers both the
        // erfc tail and the near-linear part.
        let values = randomInput(count: capacity, seed: 7)
        for i in 0..<capacity { h.pointer[i] = 2 * values[i]; d0.pointer[i] = values[capacity - 1 - i] }
        let hp = UnsafePointer(h.pointer)
        let kernels: [(String, (Int) -> Void)] = [
            ("geluForward (1 in, 1 out)", { geluForward(out: a.pointer, h: hp, count: $0) }),
            ("geluForwardKeepingDerivative (1 in, 2 out)", {
                geluForwardKeepingDerivative(out: a.pointer, derivative: b.pointer, h: hp, count: $0)
            }),
            // The backward scales dh in place: restored before every call, or repeated products of
            // GELU' would reach denormals (slow) — its time includes that copy.
            ("geluBackward (2 in, 1 out) + copy", {
                d.pointer.update(from: d0.pointer, count: $0)
                geluBackward(dh: d.pointer, derivative: UnsafePointer(b.pointer), count: $0)
            }),
            ("stream copy (1 in, 1 out)", { a.pointer.update(from: hp, count: $0) }),
            ("stream accumulate (2 in, 1 out)", { accumulate(a.pointer, hp, count: $0) }),
        ]
        var timings: [KernelTiming] = []
        for count in elementCounts {
            geluForwardKeepingDerivative(out: a.pointer, derivative: b.pointer, h: hp, count: count)   // a valid GELU'
            // Enough calls per sample that the clock's resolution and the call overhead vanish.
            let calls = max(1, 20_000_000 / count)
            for (name, kernel) in kernels {
                kernel(count)
                let best = timeBest(repeats) { for _ in 0..<calls { kernel(count) } }
                timings.append(KernelTiming(name: name, elements: count, nanosecondsPerElement: best.cpu * 1e9 / Double(calls * count)))
            }
        }
        return timings
    }
}
