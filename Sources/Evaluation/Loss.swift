import ECGData
import Glibc

// Multi-label binary cross-entropy on logits (PyTorch's BCEWithLogitsLoss, reduction "mean" over
// every element). Written in the stable form
//     ℓ(x, y) = max(x, 0) − x·y + log(1 + e^(−|x|))
// which never exponentiates a positive number, so logits of ±1000 give finite loss and gradient.
// The gradient of the mean is (σ(x) − y) / count.

/// Mean BCE over `count` logits against 0/1 targets. When `dLogits` is given it receives the
/// gradient of the returned mean loss (overwritten, not accumulated). Loss summed in Double.
@discardableResult
public func bceWithLogits(logits: UnsafePointer<Float>, targets: UnsafePointer<UInt8>, count: Int,
                          dLogits: UnsafeMutablePointer<Float>? = nil) -> Float {
    precondition(count > 0, "bceWithLogits: empty batch")
    var total = 0.0
    let scale = 1 / Float(count)
    for i in 0..<count {
        let x = logits[i]
        let y: Float = targets[i] != 0 ? 1 : 0
        let e = expf(-abs(x))   // in (0, 1]
        total += Double(max(x, 0) - x * y + log1pf(e))
        if let d = dLogits {
            // σ(x) from the same e: x ≥ 0 → 1/(1+e), x < 0 → e/(1+e). No overflow either way.
            let sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e)
            d[i] = (sigmoid - y) * scale
        }
    }
    return Float(total / Double(count))
}
