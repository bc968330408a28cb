import Foundation

/// Turns a WFDB record into the corpus form: the 12 standard leads in order, mV, no NaN, 500 Hz,
/// cut into 10-s windows of 5000 samples.
public enum ECGPreprocessing {
    public static let leadNames = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    public static let samplingRate = 500
    public static let windowSamples = 5000

    /// How records longer than 10 s become corpus rows. Shorter records are zero-padded at the end.
    public enum LengthPolicy: String, CaseIterable, Sendable {
        /// One row: the central 10 s.
        case center
        /// Consecutive non-overlapping 10-s windows from the start; a final part shorter than 10 s is dropped.
        case split
    }

    /// For each standard lead, the index of the record signal carrying it (names matched case-insensitively).
    public static func standardLeadIndices(signalNames: [String], path: String) throws -> [Int] {
        let normalized = signalNames.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var indices: [Int] = []
        var missing: [String] = []
        for lead in leadNames {
            if let index = normalized.firstIndex(of: lead.lowercased()) { indices.append(index) } else { missing.append(lead) }
        }
        guard missing.isEmpty else {
            throw ECGDataError(.missingLead, path,
                "missing lead(s) \(missing.joined(separator: ", ")); record has \(signalNames.joined(separator: ", "))")
        }
        return indices
    }

    /// Fills NaN gaps by linear interpolation between the nearest valid samples; NaNs before the first
    /// (after the last) valid sample take its value. Returns false when every sample was NaN (then all become 0).
    @discardableResult
    public static func interpolateNaNs(_ x: UnsafeMutablePointer<Float>, count n: Int) -> Bool {
        interpolateNaNs(x, count: n, stride: 1)
    }

    /// Same, on x[t * stride] (one lead of a sample-major buffer).
    public static func interpolateNaNs(_ base: UnsafeMutablePointer<Float>, count n: Int, stride: Int) -> Bool {
        @inline(__always) func x(_ t: Int) -> Float { base[t * stride] }
        @inline(__always) func set(_ t: Int, _ v: Float) { base[t * stride] = v }
        var previous = -1 // index of the last valid sample seen
        var t = 0
        while t < n {
            if !x(t).isNaN { previous = t; t += 1; continue }
            var next = t
            while next < n && x(next).isNaN { next += 1 }
            if previous < 0 && next == n {
                for i in 0..<n { set(i, 0) }
                return false
            }
            for i in t..<next {
                if previous < 0 { set(i, x(next)) }
                else if next == n { set(i, x(previous)) }
                else {
                    let w = Float(i - previous) / Float(next - previous)
                    set(i, x(previous) + w * (x(next) - x(previous)))
                }
            }
            t = next
        }
        return true
    }

    /// Interpolates the NaN gaps of one decoded lead; a lead without any valid sample becomes zeros and a warning.
    static func repairNaNs(_ x: UnsafeMutablePointer<Float>, count n: Int, stride: Int, lead: Int, path: String,
                           warnings: inout [String]) {
        if !interpolateNaNs(x, count: n, stride: stride) {
            warnings.append("\(path): lead \(leadNames[lead]) has no valid samples; stored as zeros")
        }
    }

    /// Start sample of each 10-s corpus row cut from a record of `n` samples at 500 Hz.
    public static func windowStarts(sampleCount n: Int, policy: LengthPolicy) -> [Int] {
        guard n > windowSamples else { return [0] }
        switch policy {
        case .center: return [(n - windowSamples) / 2]
        case .split: return Array(stride(from: 0, through: n - windowSamples, by: windowSamples))
        }
    }

    /// A record's 12 standard leads at 500 Hz in mV, sample-major: sample t of lead l is
    /// `samples[t * 12 + l]`, so a 10-s window is one contiguous block of the corpus row layout.
    public struct StandardLeads {
        public var samples: [Float]
        public var sampleCount: Int
        public var warnings: [String]

        /// Calls `body` with the (5000, 12) window starting at sample `start`: a pointer straight into
        /// `samples` when the window is complete, else a zero-padded copy in `scratch`.
        public func withWindow<R>(start: Int, scratch: UnsafeMutablePointer<Float>,
                                  _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
            let leads = leadNames.count
            let available = max(0, min(windowSamples, sampleCount - start))
            return try samples.withUnsafeBufferPointer { all in
                let source = all.baseAddress! + start * leads
                if available == windowSamples { return try body(source) }
                scratch.update(from: source, count: available * leads)
                (scratch + available * leads).update(repeating: 0, count: (windowSamples - available) * leads)
                return try body(scratch)
            }
        }
    }

    /// Reads a WFDB record as its 12 standard leads: lead selection and unit check, NaN repair, and
    /// resampling to 500 Hz. A format-16 record is decoded frame by frame straight into the
    /// sample-major record (the fast path of `prepare`), other formats lead by lead.
    /// `resamplers` caches filters by input rate.
    public static func standardize(headerPath path: String, verifyChecksums: Bool = false,
                                   resamplers: inout [Double: PolyphaseResampler]) throws -> StandardLeads {
        let header = try WFDBHeader.load(path: path)
        let indices = try standardLeadIndices(signalNames: header.signals.map(\.description), path: path)
        for (lead, index) in zip(leadNames, indices) {
            let units = header.signals[index].units
            guard millivoltsPerUnit(units) != nil else {
                throw ECGDataError(.unsupported, path, "lead \(lead) has non-voltage units '\(units)'")
            }
        }
        let files = try WFDBSignalFiles(header: header, headerPath: path)
        return try standardize(sampleCount: files.sampleCount, rate: header.samplingFrequency, path: path,
                               resamplers: &resamplers) { frames in
            if let sawNaN = try files.decodeInterleaved16(signals: indices, into: frames, verifyChecksum: verifyChecksums) {
                return sawNaN
            }
            return try leadNames.indices.map {
                try files.decode(signal: indices[$0], into: frames + $0, stride: leadNames.count, verifyChecksum: verifyChecksums)
            }
        }
    }

    /// `standardize` for a source already laid out as the result is: `n` frames of the 12 standard
    /// leads in `leadNames` order, sample-major (CODE-15%'s tracings). One copy replaces twelve
    /// strided passes, and the NaN scan runs on whole frames (8 + 4 lanes); the result is the
    /// same, bit for bit (ResamplePreprocessTests).
    public static func standardize(frames: UnsafePointer<Float>, sampleCount n: Int, rate: Double, path: String,
                                   resamplers: inout [Double: PolyphaseResampler]) throws -> StandardLeads {
        try standardize(sampleCount: n, rate: rate, path: path, resamplers: &resamplers) { out in
            out.update(from: frames, count: n * leadNames.count)
            var low = SIMDMask<SIMD8<Int32>>(repeating: false), high = SIMDMask<SIMD4<Int32>>(repeating: false)
            let raw = UnsafeRawPointer(frames)
            for t in 0..<n {
                let a = raw.loadUnaligned(fromByteOffset: 48 * t, as: SIMD8<Float>.self)
                let b = raw.loadUnaligned(fromByteOffset: 48 * t + 32, as: SIMD4<Float>.self)
                low .|= a .!= a
                high .|= b .!= b
            }
            return (0..<8).map { low[$0] } + (0..<4).map { high[$0] }
        }
    }

    /// The source-independent part of `standardize`: NaN repair and resampling to 500 Hz of a
    /// record of `n` samples per lead at `rate` Hz, whatever file it comes from (WFDB, .npy).
    /// `decodeLead(lead, out, stride)` writes standard lead `lead` (index into `leadNames`) in mV to
    /// `out[t * stride]`, NaN for invalid samples, and returns whether it wrote any NaN.
    public static func standardize(sampleCount n: Int, rate: Double, path: String,
                                   resamplers: inout [Double: PolyphaseResampler],
                                   decodeLead: (Int, UnsafeMutablePointer<Float>, Int) throws -> Bool) throws -> StandardLeads {
        try standardize(sampleCount: n, rate: rate, path: path, resamplers: &resamplers) { frames in
            try leadNames.indices.map { try decodeLead($0, frames + $0, leadNames.count) }
        }
    }

    /// The one mechanism behind every `standardize`: `decodeFrames(out)` writes the record's `n`
    /// frames of the 12 standard leads, sample-major, in mV (NaN for invalid samples) and returns
    /// per lead whether it wrote any NaN; those leads are repaired, and the record is returned as
    /// it is at 500 Hz, else the resampler filters the 12 leads side by side.
    static func standardize(sampleCount n: Int, rate: Double, path: String, resamplers: inout [Double: PolyphaseResampler],
                            decodeFrames: (UnsafeMutablePointer<Float>) throws -> [Bool]) throws -> StandardLeads {
        guard n > 0 else { throw ECGDataError(.badHeader, path, "record has no samples") }
        let leads = leadNames.count
        var warnings: [String] = []
        var input = [Float](unsafeUninitializedCapacity: n * leads) { _, initialized in initialized = n * leads }
        try input.withUnsafeMutableBufferPointer { x in
            let sawNaN = try decodeFrames(x.baseAddress!)
            for lead in 0..<leads where sawNaN[lead] {
                repairNaNs(x.baseAddress! + lead, count: n, stride: leads, lead: lead, path: path, warnings: &warnings)
            }
        }
        if rate == Double(samplingRate) { return StandardLeads(samples: input, sampleCount: n, warnings: warnings) }
        if resamplers[rate] == nil {
            guard let resampler = PolyphaseResampler(from: rate, to: Double(samplingRate)) else {
                throw ECGDataError(.unsupported, path, "cannot resample \(rate) Hz to \(samplingRate) Hz")
            }
            resamplers[rate] = resampler
        }
        let resampler = resamplers[rate]!
        let m = resampler.outputCount(inputCount: n)
        let samples = [Float](unsafeUninitializedCapacity: m * leads) { out, initialized in
            input.withUnsafeBufferPointer { resampler.resampleLeads($0.baseAddress!, count: n, into: out.baseAddress!) }
            initialized = m * leads
        }
        return StandardLeads(samples: samples, sampleCount: m, warnings: warnings)
    }
}
