import Glibc

/// A grow-only, 64-byte aligned Float scratch buffer. Activations are sized per (batch, tokens);
/// once the largest shape has been seen no more allocation happens, so RSS stays flat.
final class FloatBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 16)
        pointer = ParameterStore.allocateAligned(self.capacity)
    }

    deinit { free(pointer) }

    /// Returns storage for at least `count` floats. Contents are undefined after growing.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            free(pointer)
            capacity = cacheLineMultiple(count)
            pointer = ParameterStore.allocateAligned(capacity)
        }
        return pointer
    }
}

/// Total bytes currently held by all FloatBuffers of a set (for memory reports).
func totalBytes(_ buffers: [FloatBuffer]) -> Int { buffers.reduce(0) { $0 + $1.capacity * 4 } }

/// `count` floats rounded up to whole 64-byte cache lines (16 floats): buffer capacities,
/// parameter offsets, and the stride of per-thread slices of one buffer. Slices of 201·201 or
/// 201·225 floats would put the end of one thread's score tile and the start of the next thread's
/// in one cache line, written by both cores all through the attention loops. (Padding those made
/// no measurable change on Zen 4 at 2 threads: 0.782 vs 0.788 s per step over 8 alternations,
/// within the run-to-run spread of ±0.02 s.)
@inline(__always) func cacheLineMultiple(_ count: Int) -> Int { (count + 15) / 16 * 16 }
