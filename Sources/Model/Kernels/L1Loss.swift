// Mean absolute error between prediction and (fixed) target, with its gradient.

/// Returns mean |pred − target| (in Double) over `count` elements and writes
/// dPred = sign(pred − target) · gradScale / count (sign(0) = 0, as torch).
func l1LossForwardBackward(pred: UnsafePointer<Float>, target: UnsafePointer<Float>,
                           dPred: UnsafeMutablePointer<Float>, count: Int, gradScale: Float) -> Double {
    let g = gradScale / Float(count)
    var total: Double = 0
    var i = 0
    // Accumulate 16 lanes in Float per block of 256, then fold into Double: precise and fast.
    while i < count {
        let blockEnd = min(count, i + 256)
        var acc = F16()
        while i + 16 <= blockEnd {
            let d = load16(pred + i) - load16(target + i)
            acc += unsafeBitCast(unsafeBitCast(d, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: F16.self)
            var s = F16(repeating: 0)
            s = s.replacing(with: g, where: d .> 0)
            s = s.replacing(with: -g, where: d .< 0)
            store16(s, dPred + i)
            i += 16
        }
        var tail: Float = 0
        while i < blockEnd {
            let d = pred[i] - target[i]
            tail += abs(d)
            dPred[i] = d > 0 ? g : (d < 0 ? -g : 0)
            i += 1
        }
        total += Double(hsum(acc)) + Double(tail)
    }
    return total / Double(count)
}
