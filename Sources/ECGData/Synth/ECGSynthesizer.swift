import Model

/// What the generator decided for one record (ground truth for tests and plots).
public struct SynthRecordInfo: Sendable {
    public var recordClass: SynthRecordClass
    /// Mean heart rate the RR process was drawn around (bpm).
    public var heartRate: Double
    /// R-peak times (seconds) of the beats inside the record.
    public var rPeakTimes: [Double]
    /// Gain applied to the cardiac dipole (amplitude variation / low-voltage scaling).
    public var gain: Float
}

/// A 12-lead ECG generator: 3-D dipole beats on an RR process, projected to 8 independent leads
/// with Dower-like lead vectors, electrode noise, and limb leads derived by Einthoven/Goldberger.
/// Record i is a pure function of (seed, i): `SplitMix64(seed:stream: .synth, counter: i)`.
/// Not thread-safe (it owns its work buffers): use one generator per thread.
public final class ECGSynthesizer {
    public static let leadCount = 12
    public let sampleCount: Int
    public let sampleRate: Double
    public let seed: UInt64
    /// false = cardiac signal only (for morphology measurements in tests).
    public let noise: Bool

    let waveTables: WaveTables
    let noiseTables: NoiseTables
    /// Work buffers: dipole x, y, z | 8 independent leads | 9 electrodes | Wilson terminal.
    private let work: UnsafeMutablePointer<Float>
    private static let workPlanes = 3 + 8 + RecordNoise.electrodeCount + 1

    public init(seed: UInt64, sampleCount: Int = 5000, sampleRate: Double = 500, noise: Bool = true) {
        precondition(sampleCount > 0 && sampleCount % NoiseTables.block == 0,
                     "sample count must be a positive multiple of \(NoiseTables.block)")
        self.seed = seed
        self.sampleCount = sampleCount
        self.sampleRate = sampleRate
        self.noise = noise
        waveTables = WaveTables()
        noiseTables = NoiseTables(seed: seed, recordLength: sampleCount)
        work = .allocate(capacity: ECGSynthesizer.workPlanes * sampleCount)
    }

    deinit { work.deallocate() }

    /// The class (labels) of record `index` without generating its signal: the class is the first
    /// thing drawn from the record's stream.
    public static func recordClass(seed: UInt64, index: UInt64) -> SynthRecordClass {
        var rng = SplitMix64(seed: seed, stream: RNGStream.synth.rawValue, counter: index)
        return SynthRecordClass.draw(&rng)
    }

    /// Generates record `index` and returns it as a (sampleCount x 12) row-major array.
    public func generate(index: UInt64) -> (signal: [Float], info: SynthRecordInfo) {
        var info: SynthRecordInfo?
        let signal = [Float](unsafeUninitializedCapacity: sampleCount * ECGSynthesizer.leadCount) { buf, n in
            info = generate(index: index, into: buf.baseAddress!)
            n = sampleCount * ECGSynthesizer.leadCount
        }
        return (signal, info!)
    }

    /// Generates record `index` into `out` (sampleCount x 12 floats, row-major: sample, then lead).
    @discardableResult
    public func generate(index: UInt64, into out: UnsafeMutablePointer<Float>) -> SynthRecordInfo {
        var rng = SplitMix64(seed: seed, stream: RNGStream.synth.rawValue, counter: index)
        let cls = SynthRecordClass.draw(&rng)
        let n = sampleCount
        let canvas = DipoleCanvas(count: n, sampleRate: sampleRate, x: work, y: work + n, z: work + 2 * n)
        canvas.clear()

        // ---- per-record morphology ----
        let hrRange = cls.heartRateRange
        let heartRate = hrRange.lowerBound + (hrRange.upperBound - hrRange.lowerBound) * rng.nextDouble()
        let rotation = Rotation3(frontal: uniform(&rng, -0.35, 0.35), horizontal: uniform(&rng, -0.25, 0.25))
        let waves = BeatMorphology.waves(for: cls, rotation: rotation, rng: &rng)
        let stDipole = BeatMorphology.stElevation(for: cls.stChange, amplitude: Float(uniform(&rng, 0.15, 0.3)))

        // ---- RR process and beats ----
        let duration = Double(n) / sampleRate
        let beats = RRProcess.beats(rhythm: cls.rhythm, heartRate: heartRate, duration: duration, rng: &rng)
        let respFreq = uniform(&rng, 0.15, 0.4), respPhase = uniform(&rng, 0, 2 * Double.pi)
        let respDepth = uniform(&rng, 0.02, 0.06)
        waveTables.gauss.withUnsafeBufferPointer { gauss in
            for beat in beats {
                let beatGain = Float(1 + respDepth * sinD(2 * Double.pi * respFreq * beat.time + respPhase))
                let s = beat.rr.squareRoot()
                for w in waves {
                    let k = w.scalesWithRR ? s : 1
                    canvas.addGaussian(center: beat.time + w.offset * k, sigmaLeft: w.sigmaLeft * k,
                                       sigmaRight: w.sigmaRight * k, dipole: w.dipole * beatGain,
                                       tables: gauss.baseAddress!)
                }
            }
        }

        // ---- amplitude: R in II for normal voltage, limb-lead peak-to-peak for low voltage ----
        let gain: Float
        if cls.lowVoltage {
            gain = Float(uniform(&rng, 0.2, 0.38)) / max(limbPeakToPeak(canvas, beats: beats, duration: duration), 0.01)
        } else {
            let target = cls.conduction == .normal ? uniform(&rng, 0.7, 1.8) : uniform(&rng, 0.55, 1.2)
            gain = Float(target) / max(leadIIPeak(canvas, beats: beats, duration: duration), 0.05)
        }
        canvas.scale(by: gain)

        // ---- absolute-mV additions: ST elevation plateau, fibrillatory waves ----
        if let st = stDipole {
            waveTables.ramp.withUnsafeBufferPointer { ramp in
                for beat in beats {
                    let s = beat.rr.squareRoot()
                    let end = beat.time + BeatMorphology.tPeakOffset * s + 0.04
                    canvas.addPlateau(start: beat.time + 0.01, rise: 0.05, end: end, fall: 0.1 * s,
                                      dipole: st, ramp: ramp.baseAddress!)
                }
            }
        }
        if cls.rhythm == .atrialFibrillation {
            let f1 = uniform(&rng, 4.5, 7.5), a1 = uniform(&rng, 0.03, 0.09)
            canvas.addOscillation(frequency: f1, phase: uniform(&rng, 0, 6.28), amplitude: Float(a1),
                                  dipole: Dipole(0.1, 0.4, -0.9))
            canvas.addOscillation(frequency: f1 * uniform(&rng, 1.1, 1.3), phase: uniform(&rng, 0, 6.28),
                                  amplitude: Float(a1 * uniform(&rng, 0.3, 0.7)), dipole: Dipole(0.3, 0.6, -0.4))
        }

        // ---- project to the 8 independent leads, add electrode noise ----
        let leads = work + 3 * n
        for (l, v) in LeadVectors.independent.enumerated() {
            let dst = leads + l * n
            for t in 0..<n { dst[t] = v.x * canvas.x[t] + v.y * canvas.y[t] + v.z * canvas.z[t] }
        }
        if noise {
            let noiseDraw = RecordNoise.draw(&rng, emgPeriod: noiseTables.emgPeriod)
            let electrodes = work + 11 * n, wct = work + 20 * n
            for e in 0..<RecordNoise.electrodeCount {
                noiseDraw.render(electrode: e, into: electrodes + e * n, count: n, sampleRate: sampleRate,
                                 tables: noiseTables)
            }
            let ra = electrodes, la = electrodes + n, ll = electrodes + 2 * n
            for t in 0..<n { wct[t] = (ra[t] + la[t] + ll[t]) * (1.0 / 3.0) }
            for t in 0..<n { leads[t] += la[t] - ra[t] }            // I  = LA - RA
            for t in 0..<n { leads[n + t] += ll[t] - ra[t] }        // II = LL - RA
            for v in 0..<6 {                                         // Vi = Vi - Wilson terminal
                let dst = leads + (2 + v) * n, src = electrodes + (3 + v) * n
                for t in 0..<n { dst[t] += src[t] - wct[t] }
            }
        }

        // ---- interleave to (sample, lead), deriving III, aVR, aVL, aVF from I and II ----
        let leadI = leads, leadII = leads + n
        for t in 0..<n {
            let i = leadI[t], ii = leadII[t]
            let row = out + t * 12
            row[0] = i
            row[1] = ii
            row[2] = ii - i
            row[3] = -0.5 * (i + ii)
            row[4] = i - 0.5 * ii
            row[5] = ii - 0.5 * i
            for v in 0..<6 { row[6 + v] = leads[(2 + v) * n + t] }
        }

        let inside = beats.map(\.time).filter { $0 >= 0 && $0 < duration }
        return SynthRecordInfo(recordClass: cls, heartRate: heartRate, rPeakTimes: inside, gain: gain)
    }

    /// Largest lead-II value in the QRS window of the first complete beat.
    private func leadIIPeak(_ canvas: DipoleCanvas, beats: [Beat], duration: Double) -> Float {
        var best: Float = 0
        forReferenceWindow(beats: beats, duration: duration) { t in
            best = max(best, canvas.lead(LeadVectors.independent[1], at: t))
        }
        return best
    }

    /// Largest peak-to-peak over the six limb leads in the QRS window of the first complete beat.
    private func limbPeakToPeak(_ canvas: DipoleCanvas, beats: [Beat], duration: Double) -> Float {
        // Min/max of I and II and of the four derived leads, without per-sample allocation.
        var lo = SIMD8<Float>(repeating: .greatestFiniteMagnitude), hi = SIMD8<Float>(repeating: -.greatestFiniteMagnitude)
        forReferenceWindow(beats: beats, duration: duration) { t in
            let i = canvas.lead(LeadVectors.independent[0], at: t), ii = canvas.lead(LeadVectors.independent[1], at: t)
            let limb = SIMD8<Float>(i, ii, ii - i, -0.5 * (i + ii), i - 0.5 * ii, ii - 0.5 * i, 0, 0)
            lo = pointwiseMin(lo, limb)
            hi = pointwiseMax(hi, limb)
        }
        return (hi - lo).max()
    }

    private func forReferenceWindow(beats: [Beat], duration: Double, _ body: (Int) -> Void) {
        let ref = beats.first { $0.time >= 0.15 && $0.time <= duration - 0.2 } ?? beats[beats.count / 2]
        let lo = max(0, Int((ref.time - 0.09) * sampleRate)), hi = min(sampleCount - 1, Int((ref.time + 0.11) * sampleRate))
        if lo <= hi { for t in lo...hi { body(t) } }
    }
}

@inline(__always) func uniform(_ rng: inout SplitMix64, _ lo: Double, _ hi: Double) -> Double {
    lo + (hi - lo) * rng.nextDouble()
}
