// The heart as a moving 3-D dipole, in the spirit of ECGSYN (McSharry et al. 2003): every beat is
// a sum of Gaussian bumps (P, Q, R, S, T, plus R'/split R for bundle-branch blocks) placed on the
// beat's time axis. Unlike ECGSYN's scalar z(t), each bump has its own 3-D direction, so the QRS
// traces a loop and every lead sees its own projection. Coordinates follow the Frank system:
// x to the patient's left, y to the feet (inferior), z to the back (posterior).

/// A 3-D vector (Frank x, y, z) in mV-equivalent dipole units.
public struct Dipole: Sendable, Equatable {
    public var x: Float, y: Float, z: Float
    public init(_ x: Float, _ y: Float, _ z: Float) { self.x = x; self.y = y; self.z = z }
    static func * (d: Dipole, s: Float) -> Dipole { Dipole(d.x * s, d.y * s, d.z * s) }
    static prefix func - (d: Dipole) -> Dipole { Dipole(-d.x, -d.y, -d.z) }
    func dot(_ o: Dipole) -> Float { x * o.x + y * o.y + z * o.z }
}

/// Dower-like lead vectors: the 8 independent leads as linear combinations of the Frank dipole.
/// Rows: I, II, V1..V6 (the coefficients of Dower's inverse transform, rounded). III, aVR, aVL and
/// aVF are derived from I and II (Einthoven/Goldberger), never projected on their own.
public enum LeadVectors {
    public static let independent: [Dipole] = [
        Dipole(0.632, -0.235, 0.059),   // I
        Dipole(0.235, 1.066, -0.132),   // II
        Dipole(-0.515, 0.157, -0.917),  // V1
        Dipole(0.044, 0.164, -1.387),   // V2
        Dipole(0.882, 0.098, -1.277),   // V3
        Dipole(1.213, 0.127, -0.601),   // V4
        Dipole(1.125, 0.127, -0.086),   // V5
        Dipole(0.831, 0.076, 0.230),    // V6
    ]
    /// Output order of the 12 leads (the corpus `lead_names`).
    public static let leadNames = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
}

/// A 3x3 rotation (row-major) used to vary the electrical axis per record.
struct Rotation3 {
    var m: [Float]
    /// Rotation by `frontal` radians in the x–y plane (frontal axis shift) then `horizontal`
    /// radians in the x–z plane (transition-zone shift).
    init(frontal: Double, horizontal: Double) {
        let cf = Float(cosD(frontal)), sf = Float(sinD(frontal))
        let ch = Float(cosD(horizontal)), sh = Float(sinD(horizontal))
        // Rz(frontal): x' = cf x - sf y, y' = sf x + cf y ; then Ry(horizontal) on (x', z).
        m = [ch * cf, -ch * sf, -sh,
             sf, cf, 0,
             sh * cf, -sh * sf, ch]
    }
    func apply(_ d: Dipole) -> Dipole {
        Dipole(m[0] * d.x + m[1] * d.y + m[2] * d.z,
               m[3] * d.x + m[4] * d.y + m[5] * d.z,
               m[6] * d.x + m[7] * d.y + m[8] * d.z)
    }
}

/// One wave of a beat: an asymmetric Gaussian in time with a fixed 3-D direction.
struct WaveShape {
    /// Offset of the peak from the R peak, in seconds (before heart-rate scaling).
    var offset: Double
    var sigmaLeft: Double
    var sigmaRight: Double
    var dipole: Dipole
    /// If true, offset and widths scale with sqrt(RR) (P–T timing, Bazett-like); QRS waves do not.
    var scalesWithRR: Bool
}

/// Lookup tables shared by all waves: no exp() in the per-sample loop.
struct WaveTables {
    /// exp(-u^2/2) for u = i / gaussStepsPerSigma, i in 0...gaussSigmas*steps (+1 guard zero).
    static let gaussStepsPerSigma = 256
    static let gaussSigmas = 4
    let gauss: [Float]
    /// Raised cosine 0 -> 1 over 256 steps (+1 guard), for the ST plateau's ramps.
    let ramp: [Float]

    init() {
        let n = WaveTables.gaussSigmas * WaveTables.gaussStepsPerSigma
        var g = [Float](repeating: 0, count: n + 2)
        for i in 0...n {
            let u = Double(i) / Double(WaveTables.gaussStepsPerSigma)
            g[i] = Float(expD(-0.5 * u * u))
        }
        gauss = g
        var r = [Float](repeating: 1, count: 258)
        for i in 0...256 { r[i] = Float(0.5 - 0.5 * cosD(Double.pi * Double(i) / 256)) }
        ramp = r
    }
}

/// Three planar buffers (x, y, z) of one record's dipole, and the routines that draw into them.
struct DipoleCanvas {
    let count: Int
    let sampleRate: Double
    var x: UnsafeMutablePointer<Float>
    var y: UnsafeMutablePointer<Float>
    var z: UnsafeMutablePointer<Float>

    func clear() {
        x.update(repeating: 0, count: count)
        y.update(repeating: 0, count: count)
        z.update(repeating: 0, count: count)
    }

    /// Adds an asymmetric Gaussian peaking at `center` seconds, clipped to 4 sigma each side.
    func addGaussian(center: Double, sigmaLeft: Double, sigmaRight: Double, dipole d: Dipole,
                     tables: UnsafePointer<Float>) {
        let c = center * sampleRate
        let sl = sigmaLeft * sampleRate, sr = sigmaRight * sampleRate
        let reach = Double(WaveTables.gaussSigmas)
        let lo = max(0, Int((c - reach * sl).rounded(.up)))
        let hi = min(count - 1, Int((c + reach * sr).rounded(.down)))
        guard lo <= hi else { return }
        let steps = Double(WaveTables.gaussStepsPerSigma)
        // Table index = |t - c| / sigma * steps, advanced by a constant per sample on each side.
        let peak = min(max(Int(c.rounded(.up)), lo), hi + 1)
        if lo < peak {
            let du = Float(steps / sl)
            var u = Float((c - Double(lo)) * steps / sl)
            for t in lo..<peak {
                let g = tables[Int(u)]
                x[t] += d.x * g; y[t] += d.y * g; z[t] += d.z * g
                u -= du
            }
        }
        if peak <= hi {
            let du = Float(steps / sr)
            var u = Float((Double(peak) - c) * steps / sr)
            for t in peak...hi {
                let g = tables[Int(u)]
                x[t] += d.x * g; y[t] += d.y * g; z[t] += d.z * g
                u += du
            }
        }
    }

    /// Adds a plateau (the ST segment shift): raised-cosine rise over [start, start+rise], flat,
    /// raised-cosine fall over [end-fall, end]. Times in seconds.
    func addPlateau(start: Double, rise: Double, end: Double, fall: Double, dipole d: Dipole,
                    ramp: UnsafePointer<Float>) {
        let s0 = start * sampleRate, s1 = (start + rise) * sampleRate
        let e0 = (end - fall) * sampleRate, e1 = end * sampleRate
        let lo = max(0, Int(s0.rounded(.up))), hi = min(count - 1, Int(e1.rounded(.down)))
        guard lo <= hi, s1 <= e0 else { return }
        let riseStep = 256 / (s1 - s0), fallStep = 256 / (e1 - e0)
        for t in lo...hi {
            let tt = Double(t)
            let w: Float
            if tt < s1 { w = ramp[Int((tt - s0) * riseStep)] }
            else if tt > e0 { w = ramp[Int((e1 - tt) * fallStep)] }
            else { w = 1 }
            x[t] += d.x * w; y[t] += d.y * w; z[t] += d.z * w
        }
    }

    /// Adds a sinusoid a*sin(2 pi f t + phase) along `d`, using the two-term recurrence
    /// s[n+1] = 2 cos(w) s[n] - s[n-1] (no sin() per sample). Used for fibrillatory waves.
    func addOscillation(frequency: Double, phase: Double, amplitude: Float, dipole d: Dipole) {
        let w = 2 * Double.pi * frequency / sampleRate
        let k = Float(2 * cosD(w))
        var prev = amplitude * Float(sinD(phase - w)), cur = amplitude * Float(sinD(phase))
        for t in 0..<count {
            x[t] += d.x * cur; y[t] += d.y * cur; z[t] += d.z * cur
            let next = k * cur - prev
            prev = cur; cur = next
        }
    }

    /// Projection of the dipole on a lead vector at one sample.
    func lead(_ v: Dipole, at t: Int) -> Float { v.x * x[t] + v.y * y[t] + v.z * z[t] }

    func scale(by s: Float) {
        for t in 0..<count { x[t] *= s; y[t] *= s; z[t] *= s }
    }
}

import Glibc
@inline(__always) func expD(_ v: Double) -> Double { Glibc.exp(v) }
@inline(__always) func cosD(_ v: Double) -> Double { Glibc.cos(v) }
@inline(__always) func sinD(_ v: Double) -> Double { Glibc.sin(v) }
