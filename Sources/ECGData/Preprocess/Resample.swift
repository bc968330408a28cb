import Foundation

/// Rational-rate polyphase resampler: upsample by `up`, low-pass, downsample by `down`, without ever
/// forming the upsampled stream. The low-pass is a Kaiser-windowed sinc cut at the lower of the two
/// Nyquist rates; each phase is normalised to unit DC gain. Samples beyond the ends repeat the edge
/// value, so a record's first and last samples do not droop.
public struct PolyphaseResampler: Sendable {
    public let up: Int
    public let down: Int
    public let tapsPerPhase: Int
    /// Phase-major filter table: taps of phase p are table[p * tapsPerPhase ..< (p + 1) * tapsPerPhase].
    let table: [Float]
    /// Half the prototype length in taps of the upsampled stream.
    let halfLength: Int

    /// Zero crossings of the sinc on each side and the Kaiser shape: about 1e-4 passband ripple, -80 dB stopband.
    public static let zeroCrossings = 16
    public static let kaiserBeta = 8.0

    public init(up: Int, down: Int) {
        let g = gcd(up, down)
        self.up = up / g
        self.down = down / g
        let rate = max(self.up, self.down)
        halfLength = Self.zeroCrossings * rate
        let length = 2 * halfLength + 1
        tapsPerPhase = (length + self.up - 1) / self.up
        let cutoff = 0.5 / Double(rate) // cycles per upsampled sample
        let i0Beta = besselI0(Self.kaiserBeta)
        var taps = [Double](repeating: 0, count: self.up * tapsPerPhase)
        for p in 0..<self.up {
            var sum = 0.0
            for j in 0..<tapsPerPhase {
                let k = p + j * self.up
                guard k < length else { continue }
                let offset = Double(k - halfLength)
                let x = 2 * cutoff * offset
                let sinc = offset == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                let r = offset / Double(halfLength)
                let window = besselI0(Self.kaiserBeta * (1 - r * r).squareRoot()) / i0Beta
                taps[p * tapsPerPhase + j] = sinc * window
                sum += sinc * window
            }
            for j in 0..<tapsPerPhase { taps[p * tapsPerPhase + j] /= sum }
        }
        table = taps.map { Float($0) }
    }

    /// Resampler from `inputRate` to `outputRate` Hz. Rates must be rational with a small denominator
    /// (e.g. 257, 360, 128.5 Hz); `up` is kept below 20,000 so the filter table stays small.
    public init?(from inputRate: Double, to outputRate: Double) {
        for scale in [1.0, 10, 100, 1000] {
            let a = (inputRate * scale).rounded(), b = (outputRate * scale).rounded()
            guard abs(a - inputRate * scale) < 1e-6, abs(b - outputRate * scale) < 1e-6, a > 0, b > 0 else { continue }
            let g = gcd(Int(a), Int(b))
            guard Int(b) / g <= 20_000 else { return nil }
            self.init(up: Int(b) / g, down: Int(a) / g)
            return
        }
        return nil
    }

    public func outputCount(inputCount n: Int) -> Int { (n * up + down - 1) / down }

    /// y[i] = Σ_j h[p + j·up] · x[q/up - j] with q = i·down + halfLength and p = q mod up.
    public func resample(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        guard n > 0 else { return }
        let outCount = outputCount(inputCount: n)
        let taps = tapsPerPhase
        table.withUnsafeBufferPointer { h in
            for i in 0..<outCount {
                let q = i * down + halfLength
                let phase = q % up
                let newest = q / up
                let oldest = newest - (taps - 1)
                let row = h.baseAddress! + phase * taps
                var acc: Float = 0
                if oldest >= 0 && newest < n {
                    let src = x + newest
                    for j in 0..<taps { acc += row[j] * src[-j] }
                } else {
                    for j in 0..<taps { acc += row[j] * x[min(max(newest - j, 0), n - 1)] }
                }
                y[i] = acc
            }
        }
    }

    /// `resample` of all 12 columns of a sample-major (n, 12) record at once, into (outputCount, 12).
    /// The columns share every output's phase and taps, so they run side by side in vector lanes
    /// (8 + 4) instead of one 33-deep chain of dependent adds per column and output: each lane adds
    /// the same products in the same order as `resample` (multiply, then add: no fused
    /// multiply-add), so the floats are the same. Away from the record's ends four outputs run
    /// together, so that their chains overlap.
    public func resampleLeads(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        guard n > 0 else { return }
        let taps = tapsPerPhase, stride = 12 * MemoryLayout<Float>.size
        let source = UnsafeRawPointer(x), target = UnsafeMutableRawPointer(y)
        table.withUnsafeBufferPointer { h in
            let count = outputCount(inputCount: n)
            func newest(_ i: Int) -> Int { (i * down + halfLength) / up }
            func row(_ i: Int) -> UnsafePointer<Float> { h.baseAddress! + ((i * down + halfLength) % up) * taps }
            func store(_ low: SIMD8<Float>, _ high: SIMD4<Float>, at i: Int) {
                target.storeBytes(of: low, toByteOffset: i * stride, as: SIMD8<Float>.self)
                target.storeBytes(of: high, toByteOffset: i * stride + 32, as: SIMD4<Float>.self)
            }
            var i = 0
            while i < count {
                // Four outputs whose taps all lie inside the record run side by side: each keeps its
                // own sums in the same order as alone (the same bits), and four chains of adds hide
                // each other's latency, which bounds a single output's loop.
                if i + 4 <= count, newest(i) - (taps - 1) >= 0, newest(i + 3) < n {
                    let (r0, r1, r2, r3) = (row(i), row(i + 1), row(i + 2), row(i + 3))
                    // Frame pointers walked back one frame per tap (pointer steps, no checked index maths).
                    var (p0, p1, p2, p3) = (source + newest(i) * stride, source + newest(i + 1) * stride,
                                            source + newest(i + 2) * stride, source + newest(i + 3) * stride)
                    var (l0, l1, l2, l3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                    var (k0, k1, k2, k3) = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                    for j in 0..<taps {
                        l0 += r0[j] * p0.loadUnaligned(as: SIMD8<Float>.self)
                        k0 += r0[j] * p0.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                        l1 += r1[j] * p1.loadUnaligned(as: SIMD8<Float>.self)
                        k1 += r1[j] * p1.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                        l2 += r2[j] * p2.loadUnaligned(as: SIMD8<Float>.self)
                        k2 += r2[j] * p2.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                        l3 += r3[j] * p3.loadUnaligned(as: SIMD8<Float>.self)
                        k3 += r3[j] * p3.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                        p0 -= stride; p1 -= stride; p2 -= stride; p3 -= stride
                    }
                    store(l0, k0, at: i); store(l1, k1, at: i + 1); store(l2, k2, at: i + 2); store(l3, k3, at: i + 3)
                    i += 4
                    continue
                }
                let last = newest(i), r = row(i)
                var low = SIMD8<Float>(), high = SIMD4<Float>()
                let inside = last - (taps - 1) >= 0 && last < n
                for j in 0..<taps {
                    let t = inside ? last - j : min(max(last - j, 0), n - 1)
                    low += r[j] * source.loadUnaligned(fromByteOffset: t * stride, as: SIMD8<Float>.self)
                    high += r[j] * source.loadUnaligned(fromByteOffset: t * stride + 32, as: SIMD4<Float>.self)
                }
                store(low, high, at: i)
                i += 1
            }
        }
    }

    /// Convenience: resample an array.
    public func resample(_ x: [Float]) -> [Float] {
        let count = outputCount(inputCount: x.count)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            x.withUnsafeBufferPointer { resample($0.baseAddress!, count: x.count, into: buffer.baseAddress!) }
            initialized = count
        }
    }
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (abs(a), abs(b))
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the betas used).
func besselI0(_ x: Double) -> Double {
    var sum = 1.0, term = 1.0
    let quarterSquare = x * x / 4
    for k in 1..<60 {
        term *= quarterSquare / Double(k * k)
        sum += term
        if term < sum * 1e-17 { break }
    }
    return sum
}
