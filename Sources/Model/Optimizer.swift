import Glibc

// AdamW (Loshchilov & Hutter) over the flat parameter buffer, plus global gradient-norm clipping.
// The update follows torch.optim.AdamW step for step (decay first, lerp for the first moment,
// division by the bias-corrected sqrt(v) + eps) so our numbers can be checked against PyTorch; the
// only deviation is multiplying by 1 / sqrt(1 - beta2^t) instead of dividing (one divide less per
// element, a relative difference of ~1 ulp).
// Memory-bound at ViT sizes: 7 streams (param, grad, m, v in; param, m, v out) per element, done
// in SIMD16 chunks with load16/store16 from Kernels/SIMDMath.swift.

/// AdamW with bias correction and decoupled weight decay applied only to tensors whose
/// `ParameterSpec.decay` is true (weight matrices; never norms, biases or tokens).
///
/// The moment buffers `m` and `v` have the same flat layout as the parameter store, so a
/// checkpoint saves them as two more float sections and restores `stepCount` from its metadata.
public final class AdamW {
    public let layout: ParameterLayout
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// Number of completed `step` calls; bias correction uses `stepCount` after incrementing.
    /// Set it when restoring a checkpoint.
    public var stepCount: Int = 0
    /// First moment (EMA of gradients), `count` floats, same layout as the parameters.
    public let m: UnsafeMutablePointer<Float>
    /// Second moment (EMA of squared gradients), `count` floats.
    public let v: UnsafeMutablePointer<Float>
    /// Parameters (by name) that `step` leaves as they are, moments included: LayerNorm biases
    /// kept at zero make the norms bias-free, as the paper's model has them, without changing the
    /// parameter layout (checkpoints, exports and the PyTorch module keep the tensors, all zero).
    public var frozen: Set<String> = []
    /// Number of floats in each moment buffer (== `layout.count`).
    public var count: Int { layout.count }

    /// Creates an optimizer with zeroed moments for parameters of `layout`.
    /// Defaults are the ECG-JEPA values (beta2 = 0.99 rather than PyTorch's 0.999).
    public init(layout: ParameterLayout, beta1: Float = 0.9, beta2: Float = 0.99, epsilon: Float = 1e-6) {
        self.layout = layout
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = ParameterStore.allocateZeroed(layout.count)
        v = ParameterStore.allocateZeroed(layout.count)
    }

    /// The LayerNorm biases of `layout` (every `norm*.bias`).
    public static func layerNormBiasNames(_ layout: ParameterLayout) -> Set<String> {
        Set(layout.specs.map(\.name).filter { name in
            name.hasSuffix(".bias") && (name.split(separator: ".").dropLast().last.map { $0.hasPrefix("norm") } ?? false)
        })
    }

    deinit {
        free(m)
        free(v)
    }

    /// Zeroes the moments and the step counter.
    public func reset() {
        m.update(repeating: 0, count: max(count, 1))
        v.update(repeating: 0, count: max(count, 1))
        stepCount = 0
    }

    /// One AdamW update of `params.values` from `params.grads` (gradients must already be
    /// averaged over ranks and clipped). Increments `stepCount`.
    /// - Parameters:
    ///   - lr: learning rate of this step (see `TrainingSchedule.learningRate`).
    ///   - weightDecay: decoupled decay coefficient; the update multiplies decayed weights by `1 - lr * wd`.
    public func step(_ params: ParameterStore, lr: Float, weightDecay: Float) {
        precondition(params.count == layout.count, "AdamW: parameter store has \(params.count) floats, optimizer \(layout.count)")
        stepCount += 1
        let t = Double(stepCount)
        let biasCorrection1 = 1 - pow(Double(beta1), t)
        let biasCorrection2Sqrt = (1 - pow(Double(beta2), t)).squareRoot()
        let constants = UpdateConstants(
            stepSize: Float(Double(lr) / biasCorrection1), inverseBiasCorrection2Sqrt: Float(1 / biasCorrection2Sqrt),
            beta1: beta1, beta2: beta2, epsilon: epsilon, decayFactor: 1)
        var decayed = constants
        decayed.decayFactor = 1 - lr * weightDecay
        for spec in layout.specs where !frozen.contains(spec.name) {
            update(range: spec.range, params: params, spec.decay ? decayed : constants)
        }
    }

    struct UpdateConstants {
        var stepSize: Float
        var inverseBiasCorrection2Sqrt: Float
        var beta1: Float
        var beta2: Float
        var epsilon: Float
        var decayFactor: Float
    }

    /// The AdamW kernel on one contiguous range of the flat buffers, 16 floats at a time.
    /// SIMD16 sqrt becomes vsqrtps only when the build passes `-Xcc -fno-math-errno`; otherwise Swift
    /// on Linux lowers it to 16 scalar sqrtf calls (errno semantics) and the step is ~3x slower.
    private func update(range: Range<Int>, params: ParameterStore, _ c: UpdateConstants) {
        let p = params.values, g = params.grads
        let oneMinusBeta1 = 1 - c.beta1, oneMinusBeta2 = 1 - c.beta2
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end {
            let grad = load16(g + i)
            var mi = load16(m + i)
            var vi = load16(v + i)
            var pi = load16(p + i) * c.decayFactor
            mi += oneMinusBeta1 * (grad - mi)
            vi = vi * c.beta2 + oneMinusBeta2 * grad * grad
            let denominator = vi.squareRoot() * c.inverseBiasCorrection2Sqrt + c.epsilon
            pi -= c.stepSize * (mi / denominator)
            store16(mi, m + i)
            store16(vi, v + i)
            store16(pi, p + i)
            i += 16
        }
        while i < end {
            let grad = g[i]
            m[i] += oneMinusBeta1 * (grad - m[i])
            v[i] = v[i] * c.beta2 + oneMinusBeta2 * grad * grad
            let denominator = v[i].squareRoot() * c.inverseBiasCorrection2Sqrt + c.epsilon
            p[i] = p[i] * c.decayFactor - c.stepSize * (m[i] / denominator)
            i += 1
        }
    }
}

/// Global L2 norm of `grads[0..<count]`, summed in Double in a fixed order (so every rank holding
/// the same gradients gets the same bits). If the norm exceeds `maxNorm` the gradients are scaled
/// by `maxNorm / (norm + 1e-6)` as in `torch.nn.utils.clip_grad_norm_`. Clipping is skipped when
/// `maxNorm` is not a positive finite number or when the norm is NaN/infinite (the caller should
/// check the returned value and skip the step).
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradientNorm(_ grads: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
    let norm = gradientSumOfSquares(grads, count: count).squareRoot()
    if maxNorm > 0, maxNorm.isFinite, norm.isFinite, norm > Double(maxNorm) {
        let scale = Float(Double(maxNorm) / (norm + 1e-6))
        var i = 0
        while i + 16 <= count {
            store16(load16(grads + i) * scale, grads + i)
            i += 16
        }
        while i < count {
            grads[i] *= scale
            i += 1
        }
    }
    return Float(norm)
}

/// Sum of squares of `x[0..<count]` in Double, with 16 fixed lanes (deterministic for a given count).
func gradientSumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var low = SIMD8<Double>(repeating: 0), high = SIMD8<Double>(repeating: 0)
    var i = 0
    while i + 16 <= count {
        let chunk = load16(x + i)
        let a = SIMD8<Double>(chunk.lowHalf), b = SIMD8<Double>(chunk.highHalf)
        low.addProduct(a, a)
        high.addProduct(b, b)
        i += 16
    }
    var total = (low + high).sum()
    while i < count {
        total += Double(x[i]) * Double(x[i])
        i += 1
    }
    return total
}
