import Foundation
import XCTest
@testable import ECGData
import Model

/// Polyphase resampling against known sines, NaN repair, lead mapping and the 10-s length policy.
final class ResamplePreprocessTests: XCTestCase {
    /// Resamples a 10-s sine from `rate` to 500 Hz and compares with the exact sine at the output times.
    func sineError(rate: Double, frequency: Double, seconds: Double = 10) throws -> (maxError: Float, count: Int) {
        let resampler = try XCTUnwrap(PolyphaseResampler(from: rate, to: 500))
        let n = Int(rate * seconds)
        let phase = 0.3
        let x = (0..<n).map { Float(sin(2 * Double.pi * frequency * Double($0) / rate + phase)) }
        let y = resampler.resample(x)
        var worst: Float = 0
        // Skip 0.2 s at each end: edge extension is exact for DC, not for a sine.
        for i in 100..<(y.count - 100) {
            let expected = Float(sin(2 * Double.pi * frequency * Double(i) / 500 + phase))
            worst = max(worst, abs(y[i] - expected))
        }
        return (worst, y.count)
    }

    func testSineThroughCommonRates() throws {
        for rate in [100.0, 250, 257, 360, 1000, 128, 500] {
            let (error, count) = try sineError(rate: rate, frequency: 7.5)
            XCTAssertEqual(count, Int((rate * 10 * 500 / rate).rounded(.up)), "rate \(rate)")
            XCTAssertLessThan(error, 2e-3, "rate \(rate): max error \(error)")
        }
        // A faster component still inside both passbands (40 Hz at 100 Hz input, Nyquist 50).
        XCTAssertLessThan(try sineError(rate: 360, frequency: 40).maxError, 5e-3)
    }

    func testDownsamplingRemovesAliases() throws {
        // 400 Hz is above the 250 Hz output Nyquist: it must be filtered, not folded onto 100 Hz.
        let resampler = PolyphaseResampler(up: 1, down: 2)
        let x = (0..<10_000).map { Float(sin(2 * Double.pi * 400 * Double($0) / 1000)) }
        let y = resampler.resample(x)
        let interiorPeak = y[200..<(y.count - 200)].map(abs).max()!
        XCTAssertLessThan(interiorPeak, 1e-2)
    }

    /// The 12-lead vector path gives every lead the floats the one-lead path gives it (400, 257,
    /// 1000 Hz; records shorter than the filter too, where every output reaches an edge).
    func testLeadsSideBySideEqualOneLeadAtATime() throws {
        for (rate, n) in [(400.0, 4096), (257.0, 2570), (1000.0, 9), (400.0, 3)] {
            let resampler = try XCTUnwrap(PolyphaseResampler(from: rate, to: 500))
            let x = (0..<(n * 12)).map { Float(sin(Double($0) * 0.37) + Double($0 % 12) * 0.1) }
            let m = resampler.outputCount(inputCount: n)
            var all = [Float](repeating: 0, count: m * 12)
            x.withUnsafeBufferPointer { source in
                all.withUnsafeMutableBufferPointer { resampler.resampleLeads(source.baseAddress!, count: n, into: $0.baseAddress!) }
            }
            for lead in 0..<12 {
                let one = resampler.resample((0..<n).map { x[$0 * 12 + lead] })
                XCTAssertEqual((0..<m).map { all[$0 * 12 + lead].bitPattern }, one.map(\.bitPattern), "\(rate) Hz, n \(n), lead \(lead)")
            }
        }
    }

    func testConstantIsPreservedToTheEdges() throws {
        let resampler = try XCTUnwrap(PolyphaseResampler(from: 257, to: 500))
        let y = resampler.resample([Float](repeating: 1.25, count: 2570))
        XCTAssertEqual(y.count, 5000)
        for v in y { XCTAssertEqual(v, 1.25, accuracy: 1e-4) }
    }

    func testNaNInterpolation() {
        var x: [Float] = [.nan, .nan, 1, .nan, .nan, 4, 5, .nan]
        XCTAssertTrue(x.withUnsafeMutableBufferPointer { ECGPreprocessing.interpolateNaNs($0.baseAddress!, count: $0.count) })
        XCTAssertEqual(x, [1, 1, 1, 2, 3, 4, 5, 5])
        var allMissing: [Float] = [.nan, .nan]
        XCTAssertFalse(allMissing.withUnsafeMutableBufferPointer { ECGPreprocessing.interpolateNaNs($0.baseAddress!, count: 2) })
        XCTAssertEqual(allMissing, [0, 0])
    }

    func testLeadMapping() throws {
        let names = ["V6", "V5", "V4", "V3", "V2", "V1", "AVF", "avl", "aVR", "III", "II", "I"]
        XCTAssertEqual(try ECGPreprocessing.standardLeadIndices(signalNames: names, path: "r.hea"), Array((0..<12).reversed()))
        XCTAssertThrowsError(try ECGPreprocessing.standardLeadIndices(signalNames: Array(names.dropFirst()), path: "r.hea")) { error in
            XCTAssertTrue("\(error)".contains("r.hea") && "\(error)".contains("V6"), "\(error)")
        }
    }

    func testWindowPolicy() {
        XCTAssertEqual(ECGPreprocessing.windowStarts(sampleCount: 3000, policy: .split), [0])
        XCTAssertEqual(ECGPreprocessing.windowStarts(sampleCount: 5000, policy: .split), [0])
        XCTAssertEqual(ECGPreprocessing.windowStarts(sampleCount: 14_999, policy: .split), [0, 5000])
        XCTAssertEqual(ECGPreprocessing.windowStarts(sampleCount: 15_000, policy: .split), [0, 5000, 10_000])
        XCTAssertEqual(ECGPreprocessing.windowStarts(sampleCount: 7000, policy: .center), [1000])
        // A short record is zero-padded at the end.
        let leads = ECGPreprocessing.StandardLeads(samples: (0..<36).map { Float($0 + 1) }, sampleCount: 3, warnings: [])
        var scratch = [Float](repeating: -1, count: 5000 * 12)
        let window = scratch.withUnsafeMutableBufferPointer { buffer in
            leads.withWindow(start: 0, scratch: buffer.baseAddress!) { Array(UnsafeBufferPointer(start: $0, count: 5000 * 12)) }
        }
        XCTAssertEqual(Array(window[0..<36]), (1...36).map(Float.init))
        XCTAssertTrue(window[36...].allSatisfy { $0 == 0 })
        // A complete window is passed straight from the record's buffer.
        let long = ECGPreprocessing.StandardLeads(samples: (0..<(6000 * 12)).map(Float.init), sampleCount: 6000, warnings: [])
        let first = scratch.withUnsafeMutableBufferPointer { buffer in
            long.withWindow(start: 1000, scratch: buffer.baseAddress!) { $0[0] }
        }
        XCTAssertEqual(first, 12_000)
    }

    func testStandardizeResamplesAndRepairs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("std-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 12 leads in scrambled order at 250 Hz, 20 s, constant value per lead (lead index + 1) in uV, one NaN.
        let order = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
        let n = 5000
        var values = [Int16](repeating: 0, count: n * 12)
        for t in 0..<n { for (s, lead) in order.enumerated() { values[t * 12 + s] = Int16((lead + 1) * 100) } }
        values[17 * 12 + 3] = Int16.min
        _ = FileManager.default.createFile(atPath: directory + "/r.dat", contents: values.withUnsafeBytes { Data($0) })
        var header = "r 12 250 \(n)\n"
        for lead in order { header += "r.dat 16 100/uV 16 0 0 0 0 \(ECGPreprocessing.leadNames[lead].uppercased())\n" }
        try header.write(toFile: directory + "/r.hea", atomically: true, encoding: .utf8)
        var resamplers: [Double: PolyphaseResampler] = [:]
        let leads = try ECGPreprocessing.standardize(headerPath: directory + "/r.hea", resamplers: &resamplers)
        XCTAssertEqual(leads.sampleCount, 10_000)
        XCTAssertEqual(leads.samples.count, 10_000 * 12)
        for lead in 0..<12 {
            let expected = Float(lead + 1) * 1e-3 // (lead+1)*100 adu / 100 adu/uV = (lead+1) uV in mV
            let column = stride(from: lead, to: leads.samples.count, by: 12).map { leads.samples[$0] }
            XCTAssertEqual(column.min()!, expected, accuracy: 1e-6)
            XCTAssertEqual(column.max()!, expected, accuracy: 1e-6)
        }
        // At 500 Hz the record is decoded straight into sample-major order, NaN repaired in place.
        var header500 = "r5 12 500 \(n)\n"
        for lead in order { header500 += "r.dat 16 100/uV 16 0 0 0 0 \(ECGPreprocessing.leadNames[lead])\n" }
        try header500.write(toFile: directory + "/r5.hea", atomically: true, encoding: .utf8)
        let direct = try ECGPreprocessing.standardize(headerPath: directory + "/r5.hea", resamplers: &resamplers)
        XCTAssertEqual(direct.sampleCount, n)
        for t in [0, 17, 4999] {
            for lead in 0..<12 { XCTAssertEqual(direct.samples[t * 12 + lead], Float(lead + 1) * 1e-3, accuracy: 1e-7) }
        }
    }

    /// CODE-15%'s path (whole frames copied, NaNs found per lead on the way) gives what the
    /// lead-by-lead decode gives, bit for bit: at 400 Hz (resampled) and 500 Hz, with NaN gaps in
    /// two leads (interpolated) and a lead that is all NaN (zeros and a warning).
    func testSampleMajorFramesEqualLeadByLeadDecode() throws {
        for rate in [400.0, 500.0] {
            let n = 4000, leads = 12
            var frames = (0..<(n * leads)).map { Float(sin(Double($0) * 0.0137) * 0.8 + Double($0 % 7) * 0.01) }
            for t in 100..<140 { frames[t * leads + 3] = .nan }   // a gap in aVR
            for t in [0, 1, 3999] { frames[t * leads + 9] = .nan }   // ends of V4
            for t in 0..<n { frames[t * leads + 11] = .nan }   // V6 has no valid sample
            var resamplersA: [Double: PolyphaseResampler] = [:], resamplersB: [Double: PolyphaseResampler] = [:]
            let fast = try frames.withUnsafeBufferPointer {
                try ECGPreprocessing.standardize(frames: $0.baseAddress!, sampleCount: n, rate: rate, path: "x", resamplers: &resamplersA)
            }
            let plain = try ECGPreprocessing.standardize(sampleCount: n, rate: rate, path: "x", resamplers: &resamplersB) { lead, out, stride in
                var sawNaN = false
                for t in 0..<n {
                    let value = frames[t * leads + lead]
                    if value.isNaN { sawNaN = true }
                    out[t * stride] = value
                }
                return sawNaN
            }
            XCTAssertEqual(fast.sampleCount, plain.sampleCount)
            XCTAssertEqual(fast.samples.map(\.bitPattern), plain.samples.map(\.bitPattern), "rate \(rate)")
            XCTAssertEqual(fast.warnings, plain.warnings)
            XCTAssertEqual(fast.warnings.count, 1, "\(fast.warnings)")
            XCTAssertFalse(fast.samples.contains { $0.isNaN })
        }
    }

    /// A format-16 WFDB record goes through the frame-by-frame decoder at every rate; the result
    /// equals decoding it lead by lead, bit for bit: the PTB-XL fixture at 100 Hz (resampled) and
    /// 500 Hz, and a record written here at 257 Hz with its leads in reverse order, another gain
    /// and baseline, and invalid-sample markers in two leads (repaired, one lead with none valid).
    func testFormat16FramesEqualLeadByLeadDecodeAtEveryRate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("f16-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let order = Array((0..<12).reversed()), n = 2570
        var values = [Int16](repeating: 0, count: n * 12)
        for t in 0..<n { for s in 0..<12 { values[t * 12 + s] = Int16(truncatingIfNeeded: (t * 37 + s * 1000) % 6001 - 3000) } }
        for t in 40..<60 { values[t * 12 + 2] = Int16.min }
        for t in 0..<n { values[t * 12 + 7] = Int16.min }
        _ = FileManager.default.createFile(atPath: directory + "/r.dat", contents: values.withUnsafeBytes { Data($0) })
        var header = "r 12 257 \(n)\n"
        for lead in order { header += "r.dat 16 200(-12)/mV 16 0 0 0 0 \(ECGPreprocessing.leadNames[lead])\n" }
        try header.write(toFile: directory + "/r.hea", atomically: true, encoding: .utf8)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/ptbxl-mini").path
        for path in [fixture + "/records100/00000/00001_lr.hea", fixture + "/records500/00000/00001_hr.hea", directory + "/r.hea"] {
            var resamplersA: [Double: PolyphaseResampler] = [:], resamplersB: [Double: PolyphaseResampler] = [:]
            let framed = try ECGPreprocessing.standardize(headerPath: path, resamplers: &resamplersA)
            let record = try WFDBHeader.load(path: path)
            let indices = try ECGPreprocessing.standardLeadIndices(signalNames: record.signals.map(\.description), path: path)
            let files = try WFDBSignalFiles(header: record, headerPath: path)
            let leadByLead = try ECGPreprocessing.standardize(sampleCount: files.sampleCount, rate: record.samplingFrequency, path: path,
                                                              resamplers: &resamplersB) { lead, out, stride in
                try files.decode(signal: indices[lead], into: out, stride: stride, verifyChecksum: false)
            }
            XCTAssertEqual(framed.samples.map(\.bitPattern), leadByLead.samples.map(\.bitPattern), path)
            XCTAssertEqual(framed.warnings, leadByLead.warnings, path)
        }
        var resamplers: [Double: PolyphaseResampler] = [:]
        let written = try ECGPreprocessing.standardize(headerPath: directory + "/r.hea", resamplers: &resamplers)
        XCTAssertEqual(written.warnings.count, 1, "\(written.warnings)")
        XCTAssertFalse(written.samples.contains { $0.isNaN })
    }
}
