import Model

// Recording noise, added per ELECTRODE (RA, LA, LL, V1..V6) rather than per lead, so the limb leads
// computed from the electrodes keep Einthoven's law exactly, as in a real recording.
// Three sources: muscle (EMG) noise, baseline wander (respiration / electrode drift) and powerline
// interference at 50 or 60 Hz. Everything is built from lookup tables and piecewise-linear
// interpolation: no libm call per sample.

/// Noise textures shared by all records of one generator.
struct NoiseTables {
    /// Band-limited muscle-noise texture with unit RMS (high-passed white noise); records read it
    /// at random offsets. Length is a power of two plus one record so any offset < tableLength works.
    let emg: [Float]
    let emgPeriod: Int
    /// sin and cos of 2 pi f k / 500 for k in 0..<50 (50 samples hold whole periods of 50 and 60 Hz).
    let powerSin50: [Float], powerCos50: [Float], powerSin60: [Float], powerCos60: [Float]
    /// k / block for k in 0..<block: the linear-interpolation ramp of baseline wander.
    let wanderRamp: [Float]
    static let block = 50

    init(seed: UInt64, recordLength: Int) {
        emgPeriod = 1 << 16
        var rng = SplitMix64(seed: seed, stream: RNGStream.synth.rawValue, counter: UInt64.max)
        var white = [Float](repeating: 0, count: emgPeriod)
        for i in 0..<emgPeriod { white[i] = rng.nextNormal() }
        // First difference of a 2-tap average: a band-pass peaking near 125 Hz, like surface EMG.
        var t = [Float](repeating: 0, count: emgPeriod + recordLength)
        var sumSq: Double = 0
        for i in 0..<emgPeriod {
            let a = white[i], b = white[(i + emgPeriod - 1) % emgPeriod], c = white[(i + emgPeriod - 2) % emgPeriod]
            let v = 0.5 * (a - c) + 0.25 * (a - 2 * b + c)
            t[i] = v
            sumSq += Double(v * v)
        }
        let rms = Float((sumSq / Double(emgPeriod)).squareRoot())
        for i in 0..<emgPeriod { t[i] /= rms }
        for i in 0..<recordLength { t[emgPeriod + i] = t[i] }
        emg = t
        func table(_ f: Double, _ trig: (Double) -> Double) -> [Float] {
            (0..<NoiseTables.block).map { Float(trig(2 * Double.pi * f * Double($0) / 500)) }
        }
        powerSin50 = table(50, sinD); powerCos50 = table(50, cosD)
        powerSin60 = table(60, sinD); powerCos60 = table(60, cosD)
        wanderRamp = (0..<NoiseTables.block).map { Float($0) / Float(NoiseTables.block) }
    }
}

/// Per-record noise parameters of one electrode.
struct ElectrodeNoise {
    var emgRMS: Float
    var emgOffset: Int
    /// Baseline wander: two slow sinusoids (amplitude mV, frequency Hz, phase).
    var wander: [(amplitude: Double, frequency: Double, phase: Double)]
    /// Powerline: a*sin + b*cos of the mains frequency.
    var powerSin: Float, powerCos: Float
}

/// Per-record noise draw: an overall noise level, then per-electrode variation around it.
struct RecordNoise {
    static let electrodeCount = 9  // RA, LA, LL, V1..V6
    var mains60Hz: Bool
    var electrodes: [ElectrodeNoise]

    static func draw(_ rng: inout SplitMix64, emgPeriod: Int) -> RecordNoise {
        let emgLevel = 0.003 + 0.022 * rng.nextDouble() * rng.nextDouble()   // mostly clean, sometimes noisy
        let wanderLevel = 0.02 + 0.18 * rng.nextDouble()
        let mains60 = rng.nextDouble() < 0.5
        let powerLevel = rng.nextDouble() < 0.5 ? 0.002 : 0.005 + 0.03 * rng.nextDouble()
        let respiration = 0.15 + 0.25 * rng.nextDouble()
        var electrodes: [ElectrodeNoise] = []
        electrodes.reserveCapacity(electrodeCount)
        for _ in 0..<electrodeCount {
            let emg = Float(emgLevel * (0.5 + rng.nextDouble()))
            let offset = rng.nextInt(below: emgPeriod)
            let w1 = (amplitude: wanderLevel * rng.nextDouble(), frequency: respiration,
                      phase: 2 * Double.pi * rng.nextDouble())
            let w2 = (amplitude: wanderLevel * rng.nextDouble(), frequency: 0.03 + 0.12 * rng.nextDouble(),
                      phase: 2 * Double.pi * rng.nextDouble())
            let pa = powerLevel * (0.5 + rng.nextDouble()), pp = 2 * Double.pi * rng.nextDouble()
            electrodes.append(ElectrodeNoise(emgRMS: emg, emgOffset: offset, wander: [w1, w2],
                                             powerSin: Float(pa * cosD(pp)), powerCos: Float(pa * sinD(pp))))
        }
        return RecordNoise(mains60Hz: mains60, electrodes: electrodes)
    }

    /// Writes electrode e's noise into `out[0..<count]` (count a multiple of NoiseTables.block).
    func render(electrode e: Int, into out: UnsafeMutablePointer<Float>, count: Int, sampleRate: Double,
                tables: NoiseTables) {
        let p = electrodes[e]
        let block = NoiseTables.block
        let blocks = count / block
        // Wander at block boundaries: sin() only at 1 + count/block knots, linear in between.
        var knots = [Float](repeating: 0, count: blocks + 1)
        for (a, f, ph) in p.wander {
            let step = 2 * Double.pi * f * Double(block) / sampleRate
            // Rotation recurrence for the knots too: (s, c) advanced by `step`.
            var s = sinD(ph), c = cosD(ph)
            let cs = cosD(step), ss = sinD(step)
            for k in 0...blocks {
                knots[k] += Float(a * s)
                let ns = s * cs + c * ss
                c = c * cs - s * ss
                s = ns
            }
        }
        tables.emg.withUnsafeBufferPointer { emgAll in
        tables.wanderRamp.withUnsafeBufferPointer { ramp in
        (mains60Hz ? tables.powerSin60 : tables.powerSin50).withUnsafeBufferPointer { ps in
        (mains60Hz ? tables.powerCos60 : tables.powerCos50).withUnsafeBufferPointer { pc in
            let emg = emgAll.baseAddress! + p.emgOffset
            let rms = p.emgRMS, a = p.powerSin, b = p.powerCos
            for blk in 0..<blocks {
                let w0 = knots[blk], dw = knots[blk + 1] - knots[blk]
                let base = blk * block
                for k in 0..<block {
                    out[base + k] = rms * emg[base + k] + w0 + dw * ramp[k] + a * ps[k] + b * pc[k]
                }
            }
        }}}}
    }
}
