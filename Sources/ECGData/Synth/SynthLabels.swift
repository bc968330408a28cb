import Model

// The labelled classes of the synthetic corpus (task `synth`). Rhythm labels are exclusive (a
// record has exactly one of SR, SBRAD, STACH, AFIB); morphology labels (bundle-branch block,
// ST elevation, low voltage) are drawn independently of the rhythm, so records are multi-label,
// e.g. AFIB + LBBB.

/// One column of `/labels/synth`. Raw values are the column indices; the names are sorted so the
/// column order follows the same rule as the PTB-XL tasks (sorted label names).
public enum SynthLabel: Int, CaseIterable, Sendable {
    case atrialFibrillation = 0     // AFIB: irregular RR, no P waves, fibrillatory baseline
    case anteriorSTElevation        // ASTE: ST elevation in V1–V4
    case inferiorSTElevation        // ISTE: ST elevation in II, III, aVF
    case leftBundleBranchBlock      // LBBB: wide notched R in I/V5/V6, QS in V1, discordant T
    case lowVoltage                 // LVOLT: every limb lead QRS < 0.5 mV peak-to-peak
    case rightBundleBranchBlock     // RBBB: terminal R' in V1, wide S in I/V6
    case sinusBradycardia           // SBRAD: sinus rhythm < 60 bpm
    case sinusRhythm                // SR: sinus rhythm 60–100 bpm
    case sinusTachycardia           // STACH: sinus rhythm > 100 bpm

    public var name: String {
        switch self {
        case .atrialFibrillation: return "AFIB"
        case .anteriorSTElevation: return "ASTE"
        case .inferiorSTElevation: return "ISTE"
        case .leftBundleBranchBlock: return "LBBB"
        case .lowVoltage: return "LVOLT"
        case .rightBundleBranchBlock: return "RBBB"
        case .sinusBradycardia: return "SBRAD"
        case .sinusRhythm: return "SR"
        case .sinusTachycardia: return "STACH"
        }
    }

    public static var names: [String] { allCases.map(\.name) }
}

public enum SynthRhythm: Sendable, Equatable {
    case sinus, bradycardia, tachycardia, atrialFibrillation
}

public enum SynthConduction: Sendable, Equatable {
    case normal, leftBundleBranchBlock, rightBundleBranchBlock
}

public enum SynthSTChange: Sendable, Equatable {
    case none, inferiorElevation, anteriorElevation
}

/// The class of one record: everything a label says about it. Drawn first from the record's own
/// random stream, so the labels of record i are a pure function of (seed, i).
public struct SynthRecordClass: Sendable, Equatable {
    public var rhythm: SynthRhythm
    public var conduction: SynthConduction
    public var stChange: SynthSTChange
    public var lowVoltage: Bool

    public init(rhythm: SynthRhythm, conduction: SynthConduction = .normal,
                stChange: SynthSTChange = .none, lowVoltage: Bool = false) {
        self.rhythm = rhythm
        self.conduction = conduction
        self.stChange = stChange
        self.lowVoltage = lowVoltage
    }

    /// Class mixture: rhythm SR 40 %, SBRAD 20 %, STACH 20 %, AFIB 20 %; each BBB type 12 %;
    /// each ST elevation type 10 %; low voltage 12 %.
    public static func draw(_ rng: inout SplitMix64) -> SynthRecordClass {
        let r = rng.nextDouble()
        let rhythm: SynthRhythm = r < 0.4 ? .sinus : r < 0.6 ? .bradycardia : r < 0.8 ? .tachycardia : .atrialFibrillation
        let c = rng.nextDouble()
        let conduction: SynthConduction = c < 0.12 ? .leftBundleBranchBlock : c < 0.24 ? .rightBundleBranchBlock : .normal
        let s = rng.nextDouble()
        let st: SynthSTChange = s < 0.10 ? .inferiorElevation : s < 0.20 ? .anteriorElevation : .none
        let lowVoltage = rng.nextDouble() < 0.12
        return SynthRecordClass(rhythm: rhythm, conduction: conduction, stChange: st, lowVoltage: lowVoltage)
    }

    /// The labels this class sets.
    public var labels: [SynthLabel] {
        var out: [SynthLabel] = []
        switch rhythm {
        case .sinus: out.append(.sinusRhythm)
        case .bradycardia: out.append(.sinusBradycardia)
        case .tachycardia: out.append(.sinusTachycardia)
        case .atrialFibrillation: out.append(.atrialFibrillation)
        }
        switch conduction {
        case .normal: break
        case .leftBundleBranchBlock: out.append(.leftBundleBranchBlock)
        case .rightBundleBranchBlock: out.append(.rightBundleBranchBlock)
        }
        switch stChange {
        case .none: break
        case .inferiorElevation: out.append(.inferiorSTElevation)
        case .anteriorElevation: out.append(.anteriorSTElevation)
        }
        if lowVoltage { out.append(.lowVoltage) }
        return out.sorted { $0.rawValue < $1.rawValue }
    }

    /// Multi-hot row of `/labels/synth`.
    public var multiHot: [UInt8] {
        var row = [UInt8](repeating: 0, count: SynthLabel.allCases.count)
        for l in labels { row[l.rawValue] = 1 }
        return row
    }

    /// Mean heart-rate range (bpm) the generator draws from. Inside the clinical class range with a
    /// margin, so respiratory RR modulation never pushes a record's measured rate across a border.
    public var heartRateRange: ClosedRange<Double> {
        switch rhythm {
        case .sinus: return 64...95
        case .bradycardia: return 42...56
        case .tachycardia: return 106...140
        case .atrialFibrillation: return 65...135
        }
    }
}
