import Model

// Wave timing and dipole directions per class, and the RR-interval process.
// Directions are in Frank coordinates (x left, y feet, z back) and chosen so the projected leads
// show textbook patterns: small septal q in I/V6 and r in V1, R progression V1 -> V5, deep S in V2,
// upright T in I/II/V2–V6, and the conduction-block patterns described at each case.

enum BeatMorphology {
    /// T-wave peak offset from the R peak (s) at RR = 1 s; scaled by sqrt(RR) like QT (Bazett).
    static let tPeakOffset = 0.27

    /// The waves of one beat for a record of class `cls`, rotated to the record's electrical axis,
    /// with per-record amplitude and width jitter (±15 %).
    static func waves(for cls: SynthRecordClass, rotation: Rotation3, rng: inout SplitMix64) -> [WaveShape] {
        var w: [WaveShape] = []
        func add(_ offset: Double, _ sl: Double, _ sr: Double, _ d: Dipole, _ amp: Float, rr: Bool = false) {
            let a = amp * Float(uniform(&rng, 0.85, 1.15))
            let k = uniform(&rng, 0.9, 1.1)
            w.append(WaveShape(offset: offset, sigmaLeft: sl * k, sigmaRight: sr * k,
                               dipole: rotation.apply(d * a), scalesWithRR: rr))
        }
        let prInterval = uniform(&rng, 0.15, 0.19)
        if cls.rhythm != .atrialFibrillation {
            add(-prInterval, 0.022, 0.022, Dipole(0.45, 0.75, -0.25), 0.16)        // P: left-inferior atria
        }
        switch cls.conduction {
        case .normal:
            add(-0.022, 0.008, 0.008, Dipole(-0.35, -0.15, -0.55), 0.25)          // septal q: rightward, anterior
            add(0, 0.010, 0.009, Dipole(0.75, 0.55, 0.30), 1.2)                   // R: LV free wall
            add(0.024, 0.009, 0.010, Dipole(-0.30, -0.45, 0.55), 0.5)             // S: basal, posterior
            add(tPeakOffset, 0.06, 0.04, Dipole(0.65, 0.55, -0.30), 0.35, rr: true) // T concordant
        case .rightBundleBranchBlock:
            // Normal early QRS, then slow right-ventricular activation: a late rightward-anterior
            // R' (rSR' in V1, wide terminal S in I and V6); T opposite to R' in V1–V2.
            add(-0.022, 0.008, 0.008, Dipole(-0.35, -0.15, -0.55), 0.25)
            add(0, 0.010, 0.009, Dipole(0.75, 0.55, 0.30), 1.2)
            add(0.026, 0.010, 0.018, Dipole(-0.30, -0.45, 0.55), 0.45)
            add(0.066, 0.018, 0.020, Dipole(-0.45, -0.05, -0.75), 0.8)             // R'
            add(tPeakOffset, 0.06, 0.04, Dipole(0.65, 0.55, 0.25), 0.3, rr: true)
        case .leftBundleBranchBlock:
            // Septum activated from the right: no septal q; two slow leftward-posterior fronts give
            // a broad notched R in I/V5/V6 and a deep QS in V1; T discordant (opposite the QRS).
            add(-0.020, 0.020, 0.018, Dipole(0.6, 0.45, 0.6), 1.0)                 // R1
            add(0.026, 0.019, 0.022, Dipole(0.8, 0.35, 0.45), 1.1)                 // R2 (notch between)
            add(tPeakOffset, 0.06, 0.045, Dipole(-0.6, -0.2, -0.5), 0.4, rr: true)
        }
        return w
    }

    /// Injury-current direction of an ST elevation (not rotated: it points at the injured wall).
    /// Inferior: +y (II, III, aVF up; I/aVL reciprocal down). Anterior: -z (V1–V4 up).
    static func stElevation(for change: SynthSTChange, amplitude: Float) -> Dipole? {
        switch change {
        case .none: return nil
        case .inferiorElevation: return Dipole(0.0, 1.0, 0.05) * amplitude
        case .anteriorElevation: return Dipole(0.15, 0.05, -1.0) * amplitude
        }
    }
}

struct Beat {
    /// R-peak time (s); may be slightly negative or past the end (beats whose waves overlap the record).
    var time: Double
    /// Interval to the next beat (s).
    var rr: Double
}

enum RRProcess {
    /// Beats covering [0, duration). Sinus: RR modulated by Mayer waves (0.1 Hz) and respiratory
    /// sinus arrhythmia, plus 1 % jitter. AF: independent log-normal RR with 15–28 % spread.
    static func beats(rhythm: SynthRhythm, heartRate: Double, duration: Double, rng: inout SplitMix64) -> [Beat] {
        let rrMean = 60 / heartRate
        let mayerDepth = uniform(&rng, 0.01, 0.03), mayerPhase = uniform(&rng, 0, 2 * Double.pi)
        let rsaDepth = uniform(&rng, 0.01, 0.04), rsaPhase = uniform(&rng, 0, 2 * Double.pi)
        let rsaFreq = uniform(&rng, 0.15, 0.4)
        let afSpread = uniform(&rng, 0.15, 0.28)
        func nextRR(at t: Double) -> Double {
            if rhythm == .atrialFibrillation {
                let z = Double(rng.nextNormal())
                return min(max(rrMean * expD(afSpread * z - 0.5 * afSpread * afSpread), 0.3), 2.0)
            }
            let m = mayerDepth * sinD(2 * Double.pi * 0.1 * t + mayerPhase)
                + rsaDepth * sinD(2 * Double.pi * rsaFreq * t + rsaPhase)
            return rrMean * (1 + m + 0.01 * Double(rng.nextNormal()))
        }
        var out: [Beat] = []
        var t = -rrMean * rng.nextDouble()
        // Start one beat early so the previous beat's T wave can reach into the record.
        var rr = nextRR(at: t)
        t -= rr
        while t < duration + 0.3 {
            let next = nextRR(at: t + rr)
            out.append(Beat(time: t, rr: rr))
            t += rr
            rr = next
        }
        return out
    }
}
