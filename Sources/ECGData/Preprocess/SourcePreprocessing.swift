import Foundation

/// The per-source choices of `prepare` (the paper treats its sources differently: baseline wander
/// removed for CODE-15 and St-Petersburg only, records shorter than 10 s dropped). Every choice is
/// written to the corpus as the JSON attribute `preprocessing` (`json`), so a corpus says how it was made.
///
/// Order of the steps for every record: leads picked by name and converted to mV, NaN gaps
/// interpolated, (CODE-15: zero padding trimmed), resampled to 500 Hz, high-pass filtered over the
/// whole record, then the length rule decides whether and how the record becomes 10-s rows.
public struct SourcePreprocessing: Sendable, Equatable {
    /// What happens to a record shorter than 10 s (5000 samples at 500 Hz).
    public enum ShortRecords: String, CaseIterable, Sendable {
        /// Zero-padded at the end to 10 s.
        case pad
        /// Left out (counted in the summary).
        case drop
    }

    /// Cutoff of the zero-phase Butterworth high-pass (ZeroPhaseHighPass); nil = no filter.
    public var highpassHz: Double?
    /// Records longer than 10 s.
    public var length: ECGPreprocessing.LengthPolicy
    /// Records shorter than 10 s.
    public var short: ShortRecords
    /// Records shorter than this (seconds of the source signal) are dropped whatever `short` says.
    public var minSeconds: Double
    /// CODE-15: leading/trailing all-lead zero samples are padding and are cut before resampling.
    public var trimZeroPadding: Bool

    public init(highpassHz: Double? = nil, length: ECGPreprocessing.LengthPolicy = .split, short: ShortRecords = .pad,
                minSeconds: Double = 0, trimZeroPadding: Bool = false) {
        self.highpassHz = highpassHz
        self.length = length
        self.short = short
        self.minSeconds = minSeconds
        self.trimZeroPadding = trimZeroPadding
    }

    /// Checks the values a user can give (flags `--highpass`, `--min-seconds`); `what` names the source.
    public func validate(_ what: String) throws {
        if let highpassHz, !(highpassHz > 0 && highpassHz < Double(ECGPreprocessing.samplingRate) / 2) {
            throw ECGDataError(.unsupported, what, "--highpass must be between 0 and 250 Hz, not \(highpassHz)")
        }
        guard minSeconds >= 0, minSeconds.isFinite else {
            throw ECGDataError(.unsupported, what, "--min-seconds must be 0 or more, not \(minSeconds)")
        }
    }

    /// The high-pass at the corpus rate, or nil when off.
    public var highPass: ZeroPhaseHighPass? {
        highpassHz.flatMap { ZeroPhaseHighPass(cutoffHz: $0, samplingRate: Double(ECGPreprocessing.samplingRate)) }
    }

    /// Filters every lead of a standardized record in place (sample-major, 12 leads).
    public func filter(_ leads: inout ECGPreprocessing.StandardLeads, with highPass: ZeroPhaseHighPass?) {
        guard let highPass else { return }
        let count = leads.sampleCount
        leads.samples.withUnsafeMutableBufferPointer { highPass.applyLeads($0.baseAddress!, count: count) }
    }

    /// Start samples of the 10-s rows of a record, or nil when the record is dropped.
    /// `sourceSeconds` is its duration before resampling, `sampleCount` its length at 500 Hz.
    public func windowStarts(sourceSeconds: Double, sampleCount: Int) -> [Int]? {
        if sourceSeconds + 1e-9 < minSeconds { return nil }
        if sampleCount < ECGPreprocessing.windowSamples && short == .drop { return nil }
        return ECGPreprocessing.windowStarts(sampleCount: sampleCount, policy: length)
    }

    /// Why `windowStarts` dropped a record (for warnings).
    public func dropReason(sourceSeconds: Double) -> String {
        sourceSeconds + 1e-9 < minSeconds
            ? String(format: "%.2f s is shorter than --min-seconds %g", sourceSeconds, minSeconds)
            : String(format: "%.2f s is shorter than 10 s (--short drop)", sourceSeconds)
    }

    /// The corpus attribute: keys sorted, so equal settings give equal strings.
    public var json: String {
        var object: [String: Any] = [
            "nan": "linear interpolation (edges: nearest valid sample)",
            "resample": "polyphase Kaiser-windowed sinc (beta 8, 16 zero crossings) to 500 Hz",
            "length": length.rawValue,
            "short": short.rawValue,
            "min_seconds": minSeconds,
            "trim_zero_padding": trimZeroPadding,
            "window_seconds": 10,
        ]
        if let filter = highPass {
            object["highpass"] = [
                "filter": "butterworth, forward-backward (zero phase)",
                "order": ZeroPhaseHighPass.order,
                "cutoff_hz": filter.cutoffHz,
                "pad": "odd reflection of \(ZeroPhaseHighPass.scipyDefaultPad) samples (scipy sosfiltfilt default)",
                "applied_at_hz": ECGPreprocessing.samplingRate,
            ] as [String: Any]
        } else {
            object["highpass"] = NSNull()
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

extension ECGPreprocessing.StandardLeads {
    /// Duration at the corpus rate (within one sample of the source duration).
    public var seconds: Double { Double(sampleCount) / Double(ECGPreprocessing.samplingRate) }
}
