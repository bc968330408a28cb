import Glibc

// All trainable parameters of a model live in ONE flat, 64-byte aligned Float buffer, with their
// gradients in a second buffer of the same layout. Why: the optimizer, the EMA update, gradient
// all-reduce buckets, bit-identity checksums and checkpoints then work on plain ranges instead of
// walking a tree of tensors, and a layer's gradients being "final" is just a contiguous range.

/// One named parameter tensor inside a `ParameterLayout`.
public struct ParameterSpec: Equatable, Sendable {
    /// PyTorch-style name, e.g. `blocks.0.attn.qkv.weight` (used by safetensors export).
    public let name: String
    public let shape: [Int]
    /// Offset (in floats) of the first element inside the flat buffer.
    public let offset: Int
    /// Weight decay applies to weight matrices only (rank >= 2), never to norms or tokens.
    public let decay: Bool
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Builder and description of a flat parameter buffer. Modules declare their parameters in the
/// order their forward pass uses them; backward walks them in reverse.
public struct ParameterLayout: Sendable {
    public private(set) var specs: [ParameterSpec] = []
    public private(set) var count: Int = 0

    public init() {}

    /// Declares a parameter and returns its offset. Offsets are rounded up to 16 floats (64 B) so
    /// every tensor starts on a cache line and SIMD loads are aligned.
    @discardableResult
    public mutating func declare(_ name: String, _ shape: [Int], decay: Bool? = nil) -> Int {
        precondition(!specs.contains { $0.name == name }, "duplicate parameter \(name)")
        let offset = cacheLineMultiple(count)
        let spec = ParameterSpec(name: name, shape: shape, offset: offset, decay: decay ?? (shape.count >= 2))
        specs.append(spec)
        count = offset + spec.count
        return offset
    }

    public func spec(named name: String) -> ParameterSpec? { specs.first { $0.name == name } }
}

/// Owns the flat value and gradient buffers described by a layout.
public final class ParameterStore {
    public let layout: ParameterLayout
    public var count: Int { layout.count }
    public let values: UnsafeMutablePointer<Float>
    public let grads: UnsafeMutablePointer<Float>

    public init(layout: ParameterLayout) {
        self.layout = layout
        values = ParameterStore.allocateZeroed(layout.count)
        grads = ParameterStore.allocateZeroed(layout.count)
    }

    deinit {
        free(values)
        free(grads)
    }

    static func allocateAligned(_ n: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, 64, n * MemoryLayout<Float>.stride)
        precondition(rc == 0 && raw != nil, "posix_memalign failed for \(n) floats")
        return raw!.bindMemory(to: Float.self, capacity: n)
    }

    /// A zeroed, 64-byte aligned buffer of `n` floats (at least one), released with `free`.
    public static func allocateZeroed(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = allocateAligned(max(n, 1))
        p.initialize(repeating: 0, count: max(n, 1))
        return p
    }

    public func zeroGrads() { grads.update(repeating: 0, count: count) }

    public func values(of spec: ParameterSpec) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: values + spec.offset, count: spec.count)
    }

    public func grads(of spec: ParameterSpec) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: grads + spec.offset, count: spec.count)
    }

    /// Copies all values from another store with an identical layout.
    public func copyValues(from other: ParameterStore) {
        precondition(other.layout.count == layout.count, "layout mismatch")
        values.update(from: other.values, count: count)
    }
}

/// Called by a model's backward pass each time the gradients of a contiguous range of the flat
/// buffer are final (no later backward work writes them). Ranges arrive in backward order
/// (descending offsets); their union is every parameter that received a gradient. The
/// distributed trainer uses this to start all-reducing a bucket while backward continues.
public typealias GradientsReadyCallback = (Range<Int>) -> Void
