import Foundation
import XCTest
@testable import ECGData

/// The baseline-wander filter (ZeroPhaseHighPass, 2nd-order Butterworth run forward and backward):
/// coefficients, DC, a 0.05-Hz drift, a 10-Hz sine, zero phase, and the length rule around it.
final class HighPassTests: XCTestCase {
    let rate = 500.0

    func sine(_ frequency: Double, seconds: Double, amplitude: Double = 1, phase: Double = 0.4) -> [Float] {
        (0..<Int(seconds * rate)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / rate + phase)) }
    }

    func rms(_ x: ArraySlice<Float>) -> Double {
        (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
    }

    /// scipy.signal.butter(2, 0.5, "highpass", fs=500) gives these (printed to 8 digits).
    func testCoefficientsMatchScipyButter() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        for (value, expected) in zip(filter.b + filter.a, [0.99556697, -1.99113394, 0.99556697, -1.99111429, 0.9911536]) {
            XCTAssertEqual(value, expected, accuracy: 1e-8)
        }
        XCTAssertNil(ZeroPhaseHighPass(cutoffHz: 0, samplingRate: rate))
        XCTAssertNil(ZeroPhaseHighPass(cutoffHz: 250, samplingRate: rate))
    }

    /// The ends are scipy's: sosfiltfilt(butter(2, 0.5, "highpass", fs=500, output="sos"), x) with its
    /// default padding (odd, padlen 9) on x = sin(2π·7t/500 + 0.3) + 0.3·t/500 + 0.5 (float32), t < 1000;
    /// reference values printed by scipy 1.17 to 7 decimals. A one-cutoff-period pad (the former
    /// choice) differs from these by up to 0.68 at the ends.
    func testEdgesMatchScipyDefaultPadding() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        XCTAssertEqual(filter.padLength(sampleCount: 1000), 9)
        XCTAssertEqual(filter.padLength(sampleCount: 5), 4, "capped at n - 1")
        let x = (0..<1000).map { t -> Float in
            Float(sin(2 * Double.pi * 7 * Double(t) / rate + 0.3) + 0.3 * Double(t) / rate + 0.5)
        }
        let y = filter.apply(x)
        let expected: [(Int, Float)] = [(0, 0.3743723), (1, 0.4568105), (2, 0.5363239), (9, 0.9631536), (10, 0.9998797),
                                        (500, 0.4370131), (990, -1.3639398), (997, -0.8378427), (998, -0.7585955), (999, -0.6803455)]
        for (t, value) in expected { XCTAssertEqual(y[t], value, accuracy: 1e-5, "sample \(t)") }
    }

    func testConstantRecordFiltersToZero() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        let y = filter.apply([Float](repeating: 3.7, count: 5000))
        let worst = y.map { abs($0) }.max()!
        XCTAssertLessThan(worst, 1e-5, "DC 3.7 mV left \(worst) mV")
    }

    /// Long record (200 s) so the measurement sees the steady state, then a 10-s record as prepare sees it.
    func testDriftAttenuatedAtLeast20dB() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        let long = sine(0.05, seconds: 200)
        let filtered = filter.apply(long)
        let middle = 25_000..<75_000
        let attenuation = 20 * log10(rms(long[middle]) / rms(filtered[middle]))
        XCTAssertGreaterThanOrEqual(attenuation, 20, "0.05 Hz attenuated by \(attenuation) dB")
        XCTAssertEqual(attenuation, -20 * log10(filter.magnitude(at: 0.05)), accuracy: 1, "measured vs analytic")
        // On a 10-s record a 0.05-Hz drift is half a period: nearly a ramp plus curvature.
        let short = sine(0.05, seconds: 10, phase: 1.0)
        let shortFiltered = filter.apply(short)
        let shortAttenuation = 20 * log10(rms(short[...]) / rms(shortFiltered[...]))
        XCTAssertGreaterThanOrEqual(shortAttenuation, 20, "10-s record: 0.05 Hz attenuated by \(shortAttenuation) dB")
        print(String(format: "high-pass 0.5 Hz: 0.05 Hz drift attenuated %.1f dB (200-s record, middle 100 s), %.1f dB (10-s record)",
                     attenuation, shortAttenuation))
    }

    /// A 10-Hz sine keeps its samples within 0.2 % of its amplitude 3 s or more from the ends,
    /// whatever its phase. Near the ends the filter starts from scipy's short odd extension (9
    /// samples), so the 0.5-Hz filter's own transient shows there as in scipy.signal.sosfiltfilt:
    /// scipy gives, on the same 24 phases, 0.00116 (≥ 3 s from the ends), 0.0157 (2–3 s), 1.662
    /// (within 2 s) and a whole-record gain of 1.0111; the bounds sit just above those.
    func testTenHertzPassesWithoutPhaseShiftAwayFromTheEnds() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        var interiorWorst: Float = 0, middleWorst: Float = 0, edgeWorst: Float = 0
        for k in 0..<24 {
            let x = sine(10, seconds: 10, phase: 2 * Double.pi * Double(k) / 24)
            let y = filter.apply(x)
            for t in 0..<x.count {
                let change = abs(x[t] - y[t]), fromEnd = min(t, x.count - 1 - t)
                if fromEnd >= 1500 { interiorWorst = max(interiorWorst, change) }
                else if fromEnd >= 1000 { middleWorst = max(middleWorst, change) }
                else { edgeWorst = max(edgeWorst, change) }
            }
        }
        // Zero phase: the output equals the input sample by sample, not just in amplitude.
        XCTAssertLessThan(interiorWorst, 0.002, "10 Hz sine of amplitude 1 changed by up to \(interiorWorst) 3 s or more from the ends")
        XCTAssertLessThan(middleWorst, 0.02, "2-3 s from the ends: \(middleWorst)")
        XCTAssertLessThan(edgeWorst, 1.7, "edge transient \(edgeWorst)")
        let x = sine(10, seconds: 10, phase: 0)
        let gain = rms(filter.apply(x)[...]) / rms(x[...])
        XCTAssertEqual(gain, 1.0111, accuracy: 0.001, "10 Hz gain over the whole record \(gain) (scipy: 1.0111)")
        XCTAssertEqual(filter.magnitude(at: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(filter.magnitude(at: 0.5), 0.5, accuracy: 1e-6, "forward-backward: -6 dB at the cutoff")
        print(String(format: "high-pass 0.5 Hz: 10 Hz: whole-record gain %.5f (zero-crossing start), max sample change %.4f (>= 3 s from the ends, 24 phases), %.4f (2-3 s), %.3f within 2 s of an end; |H|(0.5 Hz) = %.4f, |H|(10 Hz) = %.7f",
                     gain, interiorWorst, middleWorst, edgeWorst, filter.magnitude(at: 0.5), filter.magnitude(at: 10)))
    }

    /// The 12-lead vector path gives every lead the floats `apply` gives it (n = 5000, 40, 2, 1).
    func testLeadsSideBySideEqualOneLeadAtATime() throws {
        let filter = try XCTUnwrap(ZeroPhaseHighPass(cutoffHz: 0.5, samplingRate: rate))
        for n in [5000, 40, 2, 1] {
            var x = (0..<(n * 12)).map { (i: Int) -> Float in
                let wave = sin(Double(i) * 0.011) * 2
                return Float(wave + Double(i % 12) * 0.3)
            }
            let single: [[Float]] = (0..<12).map { lead in filter.apply((0..<n).map { x[$0 * 12 + lead] }) }
            x.withUnsafeMutableBufferPointer { filter.applyLeads($0.baseAddress!, count: n) }
            for lead in 0..<12 {
                let together: [UInt32] = (0..<n).map { x[$0 * 12 + lead].bitPattern }
                XCTAssertEqual(together, single[lead].map { $0.bitPattern }, "n \(n), lead \(lead)")
            }
        }
    }

    /// Filtering a lead of a sample-major record touches only that lead.
    func testStridedFilterLeavesOtherLeadsAlone() throws {
        let options = SourcePreprocessing(highpassHz: 0.5)
        let n = 3000
        var samples = [Float](repeating: 0, count: n * 12)
        for t in 0..<n { for lead in 0..<12 { samples[t * 12 + lead] = Float(lead) + 0.001 * Float(t) } }
        var leads = ECGPreprocessing.StandardLeads(samples: samples, sampleCount: n, warnings: [])
        options.filter(&leads, with: options.highPass)
        // Offsets (lead number) and the ramp are both removed from every lead.
        for lead in 0..<12 {
            let column = (0..<n).map { leads.samples[$0 * 12 + lead] }
            XCTAssertLessThan(column[500..<2500].map { abs($0) }.max()!, 0.01, "lead \(lead)")
        }
    }

    func testLengthRuleDropsOrPads() {
        let drop = SourcePreprocessing(length: .center, short: .drop)
        XCTAssertNil(drop.windowStarts(sourceSeconds: 7.3, sampleCount: 3650))
        XCTAssertEqual(drop.windowStarts(sourceSeconds: 10.24, sampleCount: 5120), [60])
        XCTAssertEqual(drop.windowStarts(sourceSeconds: 10, sampleCount: 5000), [0])
        let pad = SourcePreprocessing(length: .split, short: .pad, minSeconds: 5)
        XCTAssertEqual(pad.windowStarts(sourceSeconds: 8, sampleCount: 4000), [0])
        XCTAssertNil(pad.windowStarts(sourceSeconds: 4.9, sampleCount: 2450))
        XCTAssertEqual(pad.windowStarts(sourceSeconds: 35, sampleCount: 17500), [0, 5000, 10000])
    }

    func testPreprocessingJSONNamesEveryChoice() throws {
        let json = SourcePreprocessing(highpassHz: 0.5, length: .center, short: .drop, minSeconds: 10, trimZeroPadding: true).json
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["short"] as? String, "drop")
        XCTAssertEqual(object["length"] as? String, "center")
        XCTAssertEqual(object["min_seconds"] as? Double, 10)
        XCTAssertEqual(object["trim_zero_padding"] as? Bool, true)
        let highpass = try XCTUnwrap(object["highpass"] as? [String: Any])
        XCTAssertEqual(highpass["cutoff_hz"] as? Double, 0.5)
        XCTAssertEqual(highpass["order"] as? Int, 2)
        XCTAssertTrue(SourcePreprocessing().json.contains("\"highpass\":null"))
    }
}
