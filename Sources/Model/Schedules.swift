import Glibc

// The I-JEPA / ECG-JEPA training schedules. Every value is a pure function of the step (no state
// advanced per call), so a resumed run computes exactly the values the uninterrupted run would have.
// Math in Double, returned as Float (the precision the optimizer uses).

/// Learning-rate, weight-decay and EMA-momentum schedules as functions of the optimizer step.
///
/// - Learning rate: linear warmup `lrStart -> lrPeak` over `warmupSteps`, then cosine
///   `lrPeak -> lrFinal` at `totalSteps` (held at `lrFinal` afterwards).
/// - Weight decay: cosine `weightDecayStart -> weightDecayEnd` over `totalSteps`.
/// - EMA momentum of the target encoder: linear `emaStart -> emaEnd` over `totalSteps`.
public struct TrainingSchedule: Codable, Equatable, Sendable {
    public var warmupSteps: Int
    public var totalSteps: Int
    public var lrStart: Double
    public var lrPeak: Double
    public var lrFinal: Double
    public var weightDecayStart: Double
    public var weightDecayEnd: Double
    public var emaStart: Double
    public var emaEnd: Double

    /// Defaults are the ECG-JEPA recipe: 10k warmup to 1e-3, cosine to 1e-6 at 100k steps,
    /// weight decay 0.01 -> 0.1, EMA momentum 0.998 -> 0.9995.
    public init(warmupSteps: Int = 10_000, totalSteps: Int = 100_000,
                lrStart: Double = 1e-6, lrPeak: Double = 1e-3, lrFinal: Double = 1e-6,
                weightDecayStart: Double = 0.01, weightDecayEnd: Double = 0.1,
                emaStart: Double = 0.998, emaEnd: Double = 0.9995) {
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.lrStart = lrStart
        self.lrPeak = lrPeak
        self.lrFinal = lrFinal
        self.weightDecayStart = weightDecayStart
        self.weightDecayEnd = weightDecayEnd
        self.emaStart = emaStart
        self.emaEnd = emaEnd
    }

    /// Learning rate for optimizer step `step` (0-based). Negative steps are treated as 0.
    public func learningRate(step: Int) -> Float {
        let s = max(step, 0)
        if s < warmupSteps {
            return Float(lrStart + (lrPeak - lrStart) * Double(s) / Double(warmupSteps))
        }
        let decaySteps = totalSteps - warmupSteps
        guard decaySteps > 0 else { return Float(lrFinal) }  // no decay phase: schedule is over
        return Float(cosine(from: lrPeak, to: lrFinal, progress: Double(s - warmupSteps) / Double(decaySteps)))
    }

    /// Decoupled weight decay for optimizer step `step`.
    public func weightDecay(step: Int) -> Float {
        Float(cosine(from: weightDecayStart, to: weightDecayEnd, progress: progress(step)))
    }

    /// Momentum of the target-encoder EMA after optimizer step `step`.
    public func emaMomentum(step: Int) -> Float {
        Float(emaStart + (emaEnd - emaStart) * progress(step))
    }

    /// Fraction of `totalSteps` done, clamped to [0, 1].
    private func progress(_ step: Int) -> Double {
        guard totalSteps > 0 else { return 1 }
        return min(max(Double(step) / Double(totalSteps), 0), 1)
    }

    /// Half-cosine interpolation from `a` (progress 0) to `b` (progress 1), progress clamped.
    private func cosine(from a: Double, to b: Double, progress: Double) -> Double {
        let t = min(max(progress, 0), 1)
        return b + (a - b) * 0.5 * (1 + cos(Double.pi * t))
    }
}
