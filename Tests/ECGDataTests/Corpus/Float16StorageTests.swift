import Foundation
import XCTest
import HDF5Shim
@testable import ECGData

/// float16 storage of /signals: the conversion kernels against Swift's scalar Float16 (IEEE round
/// to nearest even), readers getting float32 back, the error float16 introduces on the PTB-XL
/// sample and a synthetic corpus (printed: docs/hdf5-layout.md quotes these figures), and the
/// speed of Swift's widening against HDF5's own half → float conversion.
final class Float16StorageTests: TemporaryDirectoryTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/ptbxl-mini").path

    func testKernelsMatchScalarRounding() {
        // Ties, subnormals, the largest half, overflow, signed zero, and a count that is not a multiple of 8.
        var values: [Float] = [0, -0, 1, 1 + 1.0 / 2048, 1 + 3.0 / 2048, 65504, 65519, 65520, -70000, 6e-8, 3e-8, 1e-5,
                               Float.pi, -Float.pi / 7, 0.1, -2.5e-3, 1234.5678, .infinity, -.infinity]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 { values.append(Float.random(in: -20...20, using: &generator)) }
        let n = values.count
        var halves = [UInt16](repeating: 0, count: n)
        HalfPrecision.narrow(values, into: &halves, count: n)
        for i in 0..<n { XCTAssertEqual(halves[i], Float16(values[i]).bitPattern, "value \(values[i])") }
        var widened = [Float](repeating: 0, count: n)
        HalfPrecision.widen(halves, into: &widened, count: n)
        var rounded = values
        HalfPrecision.roundInPlace(&rounded, count: n)
        for i in 0..<n {
            XCTAssertEqual(widened[i].bitPattern, Float(Float16(values[i])).bitPattern, "value \(values[i])")
            XCTAssertEqual(rounded[i].bitPattern, widened[i].bitPattern)
        }
        // In place: halves in the upper half of the float buffer, as CorpusReader reads them.
        var buffer = [Float](repeating: .nan, count: n)
        buffer.withUnsafeMutableBytes { raw in
            halves.withUnsafeBytes { (raw.baseAddress! + 2 * n).copyMemory(from: $0.baseAddress!, byteCount: 2 * n) }
        }
        buffer.withUnsafeMutableBufferPointer { HalfPrecision.widenInPlace($0.baseAddress!, count: n) }
        for i in 0..<n { XCTAssertEqual(buffer[i].bitPattern, widened[i].bitPattern, "in-place value \(i)") }
    }

    /// max / RMS |float16 − float32| in mV over every sample of two corpora of the same records.
    private func storageError(_ a: CorpusReader, _ b: CorpusReader) throws -> (max: Double, rms: Double, maxAbs: Double) {
        XCTAssertEqual(a.count, b.count)
        let per = a.recordElements
        var x = [Float](repeating: 0, count: per), y = [Float](repeating: 0, count: per)
        var worst = 0.0, squares = 0.0, largest = 0.0
        for row in 0..<a.count {
            try x.withUnsafeMutableBufferPointer { try a.readSignals(rows: row..<(row + 1), into: $0.baseAddress!) }
            try y.withUnsafeMutableBufferPointer { try b.readSignals(rows: row..<(row + 1), into: $0.baseAddress!) }
            for i in 0..<per {
                // What is stored is exactly float32 rounded to the nearest half.
                XCTAssertEqual(y[i].bitPattern, Float(Float16(x[i])).bitPattern, "row \(row) element \(i)")
                let e = Double(abs(x[i] - y[i]))
                worst = max(worst, e)
                squares += e * e
                largest = max(largest, Double(abs(x[i])))
            }
        }
        return (worst, (squares / Double(a.count * per)).squareRoot(), largest)
    }

    private func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    func testPTBXLSampleError() throws {
        let p32 = directory + "/ptbxl32.h5", p16 = directory + "/ptbxl16.h5"
        _ = try CorpusPreparer.preparePTBXL(root: Self.fixture, out: p32)
        var run = PrepareRun()
        run.dtype = .float16
        _ = try CorpusPreparer.preparePTBXL(root: Self.fixture, out: p16, run: run)
        let a = try CorpusReader(path: p32), b = try CorpusReader(path: p16)
        XCTAssertEqual(a.storedDType, "float32")
        XCTAssertEqual(b.storedDType, "float16")
        let e = try storageError(a, b)
        print(String(format: "float16 error, PTB-XL sample (%d records): max %.3g mV, RMS %.3g mV (largest |x| %.2f mV); file %d vs %d bytes",
                     a.count, e.max, e.rms, e.maxAbs, size(p16), size(p32)))
        XCTAssertLessThanOrEqual(e.max, e.maxAbs / 2048 + 1e-7)   // half an ulp at the largest value
        XCTAssertLessThan(Double(size(p16)), 0.55 * Double(size(p32)))
        // The content hash names the recording (the writer's float32 values), whatever the storage.
        XCTAssertEqual(try a.contentHashes(), try b.contentHashes())
        // Statistics are of the stored values: close to float32's, not equal.
        for lead in 0..<12 { XCTAssertEqual(a.channelStd[lead], b.channelStd[lead], accuracy: 1e-4 * a.channelStd[lead]) }
    }

    func testSynthError() throws {
        let p32 = directory + "/synth32.h5", p16 = directory + "/synth16.h5"
        _ = try SynthCorpus.write(path: p32, records: 40, seed: 3, ranks: nil)
        _ = try SynthCorpus.write(path: p16, records: 40, seed: 3, ranks: nil, dtype: .float16)
        let a = try CorpusReader(path: p32), b = try CorpusReader(path: p16)
        let e = try storageError(a, b)
        print(String(format: "float16 error, synthetic corpus (%d records): max %.3g mV, RMS %.3g mV (largest |x| %.2f mV); file %d vs %d bytes",
                     a.count, e.max, e.rms, e.maxAbs, size(p16), size(p32)))
        XCTAssertLessThanOrEqual(e.max, e.maxAbs / 2048 + 1e-7)
    }

    func testOutOfRangeSampleIsAnErrorNamingTheRecord() throws {
        let out = directory + "/big.h5"
        let writer = try CorpusWriter(path: out, source: "test", tasks: [], dtype: .float16)
        var signal = [Float](repeating: 0.5, count: CorpusWriter.samples * CorpusWriter.leads)
        signal[13] = 70000
        XCTAssertThrowsError(try writer.writeAll { try writer.add(signal: signal, name: "huge/record", fold: 0) }) { error in
            XCTAssertTrue("\(error)".contains("huge/record") && "\(error)".contains("float16"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// Reads a float16 corpus through CorpusReader (raw halves + Swift widening) and through HDF5's
    /// own conversion (memory type float), checks they agree, prints both rates.
    func testReadSpeedSwiftWideningVersusHDF5Conversion() throws {
        let path = directory + "/speed16.h5"
        let records = 200
        _ = try SynthCorpus.write(path: path, records: records, seed: 1, ranks: nil, dtype: .float16)
        let reader = try CorpusReader(path: path)
        let per = reader.recordElements, batch = 50
        var swift = [Float](repeating: 0, count: batch * per), hdf5 = swift
        let dataset = try reader.file.openDataset("signals")
        func rate(_ body: () throws -> Void) rethrows -> Double {
            let t0 = Date()
            for _ in 0..<3 { try body() }
            return Double(3 * records) / Date().timeIntervalSince(t0)
        }
        let swiftRate = try rate {
            for first in stride(from: 0, to: records, by: batch) {
                try swift.withUnsafeMutableBufferPointer { try reader.readSignals(rows: first..<(first + batch), into: $0.baseAddress!) }
            }
        }
        let hdf5Rate = try rate {
            for first in stride(from: 0, to: records, by: batch) {
                try hdf5.withUnsafeMutableBufferPointer { try dataset.readRows(first..<(first + batch), into: $0.baseAddress!) }
            }
        }
        XCTAssertEqual(swift, hdf5)   // the last batch, both ways
        let floatBytes = Double(per * 4)
        print(String(format: "float16 read (page cache): Swift widening %.0f records/s (%.0f MB/s of float32), HDF5 conversion %.0f records/s (%.0f MB/s): %.1fx",
                     swiftRate, swiftRate * floatBytes / 1e6, hdf5Rate, hdf5Rate * floatBytes / 1e6, swiftRate / hdf5Rate))
    }
}
