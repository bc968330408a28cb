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
            capacity = (count + 15) / 16 * 16
            pointer = ParameterStore.allocateAligned(capacity)
        }
        return pointer
    }
}

/// Total bytes currently held by all FloatBuffers of a set (for memory reports).
func totalBytes(_ buffers: [FloatBuffer]) -> Int { buffers.reduce(0) { $0 + $1.capacity * 4 } }
