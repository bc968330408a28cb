// Cross-rank state helpers: the target-encoder EMA and a bitwise checksum of a float buffer.
//
// Both are elementwise/ordered with no floating-point reductions, so every rank that starts from the
// same bits ends with the same bits; the checksum is how ranks (and checkpoints) verify that.

/// Exponential moving average of the target encoder:
/// `target[i] = momentum * target[i] + (1 - momentum) * source[i]` for `i in 0..<count`.
/// Purely elementwise (bit-identical on every rank given identical inputs).
public func emaUpdate(target: UnsafeMutablePointer<Float>, source: UnsafePointer<Float>, count: Int, momentum: Float) {
    let keep = momentum, take = 1 - momentum
    var i = 0
    while i + 16 <= count {
        let t = load16(target + i), s = load16(source + i)
        store16(t * keep + s * take, target + i)
        i += 16
    }
    while i < count {
        target[i] = target[i] * keep + source[i] * take
        i += 1
    }
}

/// A 64-bit hash of the raw bits of `p[0..<count]` (xxHash64-style rounds over 4 independent lanes,
/// then the remaining floats, then an avalanche), used to verify that ranks hold bit-identical
/// parameters and that checkpoint sections were read back intact. Any change of any bit, including
/// 0.0 vs -0.0 or a NaN payload, changes the value with overwhelming probability. Order-sensitive.
/// Reads the host (little-endian) byte order.
public func parameterChecksum(_ p: UnsafePointer<Float>, count: Int) -> UInt64 {
    let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    @inline(__always) func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    @inline(__always) func round(_ acc: UInt64, _ input: UInt64) -> UInt64 { rotl(acc &+ input &* prime2, 31) &* prime1 }

    let raw = UnsafeRawPointer(p)
    var lane0 = prime1 &+ prime2, lane1 = prime2, lane2: UInt64 = 0, lane3 = 0 &- prime1
    var i = 0
    // 8 floats = 4 UInt64 words per iteration, one word per lane.
    while i + 8 <= count {
        let offset = i * 4
        lane0 = round(lane0, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        lane1 = round(lane1, raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        lane2 = round(lane2, raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
        lane3 = round(lane3, raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        i += 8
    }
    var hash = rotl(lane0, 1) &+ rotl(lane1, 7) &+ rotl(lane2, 12) &+ rotl(lane3, 18)
    hash ^= UInt64(count) &* prime3
    while i < count {
        hash = rotl(hash ^ (UInt64(p[i].bitPattern) &* prime1), 23) &* prime2 &+ prime3
        i += 1
    }
    hash ^= hash >> 33
    hash = hash &* prime2
    hash ^= hash >> 29
    hash = hash &* prime3
    hash ^= hash >> 32
    return hash
}
