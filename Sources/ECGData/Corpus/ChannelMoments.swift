/// Per-lead running sums behind `channel_mean`/`channel_std`, kept as attributes so appends can update them.
///
/// A record contributes Float SIMD partial sums over blocks of 250 samples (12 leads = one 8-wide +
/// one 4-wide vector per sample), which are accumulated in Double block by block. The partial sums
/// of a record (`blockSums`) are what ranks of a parallel prepare exchange: every rank replays all
/// of them in row order, so the Double sums, added in the same order as a serial run, are
/// bit-identical to it for any number of ranks.
struct ChannelMoments {
    static let leads = 12
    static let blockSamples = 250
    /// Floats per block in `blockSums`: Σx of the 12 leads, then Σx².
    static let floatsPerBlock = 2 * leads

    var count = 0.0
    var sum = [Double](repeating: 0, count: 12)
    var sumOfSquares = [Double](repeating: 0, count: 12)

    var packed: [Double] { [count] + sum + sumOfSquares }
    init() {}
    init?(packed: [Double]) {
        guard packed.count == 25 else { return nil }
        count = packed[0]
        sum = Array(packed[1...12])
        sumOfSquares = Array(packed[13...24])
    }

    static func blockCount(samples: Int) -> Int { (samples + blockSamples - 1) / blockSamples }

    /// Writes the block partial sums of one (samples, 12) record to `out` (blockCount × floatsPerBlock floats).
    static func blockSums(_ x: UnsafePointer<Float>, samples: Int, into out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(x)
        var t = 0, block = 0
        while t < samples {
            let end = min(samples, t + blockSamples)
            var s8 = SIMD8<Float>(), q8 = SIMD8<Float>(), s4 = SIMD4<Float>(), q4 = SIMD4<Float>()
            for u in t..<end {
                let a = raw.loadUnaligned(fromByteOffset: u * 48, as: SIMD8<Float>.self)
                let b = raw.loadUnaligned(fromByteOffset: u * 48 + 32, as: SIMD4<Float>.self)
                s8 += a
                q8 += a * a
                s4 += b
                q4 += b * b
            }
            let o = out + block * floatsPerBlock
            for lead in 0..<8 { o[lead] = s8[lead]; o[leads + lead] = q8[lead] }
            for lead in 0..<4 { o[8 + lead] = s4[lead]; o[leads + 8 + lead] = q4[lead] }
            t = end
            block += 1
        }
    }

    /// Adds one record given by its block partial sums.
    mutating func add(blockSums: UnsafePointer<Float>, samples: Int) {
        for block in 0..<Self.blockCount(samples: samples) {
            let o = blockSums + block * Self.floatsPerBlock
            for lead in 0..<Self.leads {
                sum[lead] += Double(o[lead])
                sumOfSquares[lead] += Double(o[Self.leads + lead])
            }
        }
        count += Double(samples)
    }

    /// Adds one (samples, 12) record.
    mutating func add(_ x: UnsafePointer<Float>, samples: Int) {
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: Self.blockCount(samples: samples) * Self.floatsPerBlock)
        defer { partials.deallocate() }
        Self.blockSums(x, samples: samples, into: partials)
        add(blockSums: partials, samples: samples)
    }

    /// Mean and standard deviation per lead; a lead with (almost) no variance gets std 1 so dividing by it is safe.
    var meanAndStd: (mean: [Float], std: [Float]) {
        guard count > 0 else { return ([Float](repeating: 0, count: 12), [Float](repeating: 1, count: 12)) }
        let mean = sum.map { $0 / count }
        let std = (0..<12).map { lead -> Double in
            let variance = max(0, sumOfSquares[lead] / count - mean[lead] * mean[lead])
            return variance > 1e-12 ? variance.squareRoot() : 1
        }
        return (mean.map { Float($0) }, std.map { Float($0) })
    }
}
