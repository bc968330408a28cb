import Foundation

/// A WFDB record's signals in physical units: voltage signals in mV (µV and V converted), other units
/// unchanged. Stored planar: signal `s` is `samples[s * sampleCount ..< (s + 1) * sampleCount]`.
/// Invalid-sample markers (e.g. -32768 in format 16) become NaN.
public struct WFDBRecord {
    public let headerPath: String
    public let header: WFDBHeader
    public let sampleCount: Int
    public var samples: [Float]
    /// True when at least one sample is NaN (an invalid-sample marker was found).
    public var hasNaN: Bool

    public var signalNames: [String] { header.signals.map(\.description) }

    /// Reads `<path>` (the `.hea`) and its signal files (`.dat` in formats 16/212/80/24/32/61, or
    /// MATLAB v4 `.mat` as in the PhysioNet/CinC 2020–2021 challenges).
    public static func read(headerPath: String, verifyChecksums: Bool = false) throws -> WFDBRecord {
        try decode(header: try WFDBHeader.load(path: headerPath), headerPath: headerPath,
                   verifyChecksums: verifyChecksums, signalFile: readDataFile)
    }

    /// Decodes the signals of a parsed `header` whose signal files come from `signalFile` (given the
    /// path next to `headerPath`): `read` passes the file system, the fuzz target bytes in memory.
    public static func decode(header: WFDBHeader, headerPath: String, verifyChecksums: Bool = false,
                              signalFile: (String) throws -> [UInt8]) throws -> WFDBRecord {
        let files = try WFDBSignalFiles(header: header, headerPath: headerPath, readFile: signalFile)
        let n = files.sampleCount
        var hasNaN = false
        var samples = [Float](repeating: 0, count: header.signalCount * n)
        try samples.withUnsafeMutableBufferPointer { out in
            for signal in 0..<header.signalCount {
                hasNaN = try files.decode(signal: signal, into: out.baseAddress! + signal * n, stride: 1,
                                          verifyChecksum: verifyChecksums) || hasNaN
            }
        }
        return WFDBRecord(headerPath: headerPath, header: header, sampleCount: n, samples: samples, hasNaN: hasNaN)
    }
}

/// The signal files of one record, read whole and checked against the header, ready to decode
/// any signal into any strided float buffer (planar for `WFDBRecord`, sample-major for corpora).
struct WFDBSignalFiles {
    let header: WFDBHeader
    let sampleCount: Int
    /// Per signal: which file (index into `files`) and its position within that file's frames.
    let fileOfSignal: [Int]
    let positionInFile: [Int]
    let files: [(path: String, bytes: [UInt8], layout: SignalFileLayout)]

    init(header: WFDBHeader, headerPath: String, readFile: (String) throws -> [UInt8] = readDataFile) throws {
        guard header.signalCount > 0 else { throw ECGDataError(.badHeader, headerPath, "record has no signals") }
        self.header = header
        let directory = (headerPath as NSString).deletingLastPathComponent
        // Signals sharing one file are interleaved frame by frame, in signal-line order.
        var names: [String] = []
        var members: [[Int]] = []
        var fileOfSignal: [Int] = [], positionInFile: [Int] = []
        for (index, signal) in header.signals.enumerated() {
            let f = names.firstIndex(of: signal.fileName) ?? { names.append(signal.fileName); members.append([]); return names.count - 1 }()
            fileOfSignal.append(f)
            positionInFile.append(members[f].count)
            members[f].append(index)
        }
        var sampleCount = header.sampleCount
        var files: [(path: String, bytes: [UInt8], layout: SignalFileLayout)] = []
        for (name, signals) in zip(names, members) {
            let filePath = directory.isEmpty ? name : directory + "/" + name
            let specs = signals.map { header.signals[$0] }
            guard specs.allSatisfy({ $0.format == specs[0].format }) else {
                throw ECGDataError(.unsupported, headerPath, "signals in \(name) use different formats")
            }
            let bytes = try readFile(filePath)
            guard !bytes.isEmpty else { throw ECGDataError(.emptyFile, filePath, "signal file is empty (0 bytes)") }
            var layout = try SignalFileLayout(format: specs[0].format, signalsInFile: specs.count,
                                              byteOffset: specs[0].byteOffset ?? 0, path: filePath)
            if name.lowercased().hasSuffix(".mat") {
                layout = try layout.adjustedForMatlabV4(bytes: bytes, sampleCount: sampleCount, headerOffset: specs[0].byteOffset, path: filePath)
            }
            let n = sampleCount ?? layout.inferredSampleCount(fileSize: bytes.count)
            sampleCount = n
            // A header can declare any count; one no file could hold is an error, not an overflow.
            guard let needed = layout.bytesNeeded(samplesPerSignal: n).flatMap({ bytes in
                      let (total, overflow) = layout.byteOffset.addingReportingOverflow(bytes)
                      return overflow ? nil : total
                  }) else {
                throw ECGDataError(.badHeader, headerPath,
                    "\(n) samples × \(specs.count) signals in format \(layout.format) after byte \(layout.byteOffset) of \(name) is more than any file holds")
            }
            guard bytes.count >= needed else {
                throw ECGDataError(.truncated, filePath,
                    "signal file is truncated: \(bytes.count) bytes, header needs \(needed) (\(n) samples × \(specs.count) signals, format \(layout.format))")
            }
            files.append((filePath, bytes, layout))
        }
        self.sampleCount = sampleCount ?? 0
        self.fileOfSignal = fileOfSignal
        self.positionInFile = positionInFile
        self.files = files
    }

    /// Physical values of `signal` (mV for voltage units) into out[t * stride]; returns whether an
    /// invalid-sample marker (stored as NaN) was seen. Checks the header checksum when asked.
    func decode(signal: Int, into out: UnsafeMutablePointer<Float>, stride: Int, verifyChecksum: Bool) throws -> Bool {
        let spec = header.signals[signal]
        let file = files[fileOfSignal[signal]]
        let result = file.bytes.withUnsafeBytes { raw in
            file.layout.decode(raw.baseAddress! + file.layout.byteOffset, signal: positionInFile[signal], count: sampleCount,
                               baseline: spec.baseline, scale: scale(of: signal), into: out, outStride: stride)
        }
        if verifyChecksum { try check(signal: signal, sum: result.checksum) }
        return result.sawInvalid
    }

    /// Digital → physical factor of `signal` (to mV for voltage units).
    private func scale(of signal: Int) -> Double {
        let spec = header.signals[signal]
        return (millivoltsPerUnit(spec.units) ?? 1) / spec.gain
    }

    private func check(signal: Int, sum: Int) throws {
        let spec = header.signals[signal]
        if let expected = spec.checksum, Int16(truncatingIfNeeded: sum) != Int16(truncatingIfNeeded: expected) {
            throw ECGDataError(.checksum, files[fileOfSignal[signal]].path,
                "checksum mismatch for signal \(signal + 1) (\(spec.description)): header \(expected), data \(Int16(truncatingIfNeeded: sum))")
        }
    }

    /// The 12 standard leads `signals` decoded into the sample-major out[t * 12 + c] (c = position
    /// in `signals`) in a single pass over the frames, when they all sit in one frame-interleaved
    /// format-16 file (MIMIC-IV-ECG, PTB-XL and most WFDB sets); nil otherwise, and callers decode
    /// signal by signal. A pass per signal walks the file and the output once per lead, and keeps
    /// its checksum in memory; here a frame becomes one 8- and one 4-wide vector with the sums in
    /// registers. The values equal `decode(signal:)`'s (Float(d) × scale + shift, no fused
    /// multiply-add); checksums are summed in wrapping Int32, whose low 16 bits are all a WFDB
    /// checksum keeps. Returns per column whether an invalid-sample marker was seen.
    func decodeInterleaved16(signals: [Int], into out: UnsafeMutablePointer<Float>, verifyChecksum: Bool) throws -> [Bool]? {
        guard signals.count == 12, let fileIndex = signals.first.map({ fileOfSignal[$0] }),
              signals.allSatisfy({ fileOfSignal[$0] == fileIndex }) else { return nil }
        let file = files[fileIndex]
        guard file.layout.format == 16, !file.layout.planar else { return nil }
        let frameBytes = file.layout.signalsInFile * 2
        let o = signals.map { positionInFile[$0] * 2 }   // byte offset of each column within a frame
        let scales = signals.map { Float(scale(of: $0)) }
        let shifts = signals.map { Float(-Double(header.signals[$0].baseline) * scale(of: $0)) }
        let scaleLow = SIMD8<Float>(scales[0..<8]), scaleHigh = SIMD4<Float>(scales[8..<12])
        let shiftLow = SIMD8<Float>(shifts[0..<8]), shiftHigh = SIMD4<Float>(shifts[8..<12])
        let (o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11) = (o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11])
        // Sums, and an OR of d + 32767 whose sign bit is set only after the marker -32768 (d is an
        // Int16): plain integer lanes, as SIMDMask compares compile to a loop through memory.
        var sumLow = SIMD8<Int32>(), sumHigh = SIMD4<Int32>(), markerLow = SIMD8<Int32>(), markerHigh = SIMD4<Int32>()
        file.bytes.withUnsafeBytes { raw in
            let frames = UnsafeRawPointer(raw.baseAddress! + file.layout.byteOffset)
            let rows = UnsafeMutableRawPointer(out)
            @inline(__always) func d(_ frame: UnsafeRawPointer, _ offset: Int) -> Int32 {
                Int32(Int16(littleEndian: frame.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
            }
            for t in 0..<sampleCount {
                let f = frames + t * frameBytes
                let low = SIMD8<Int32>(d(f, o0), d(f, o1), d(f, o2), d(f, o3), d(f, o4), d(f, o5), d(f, o6), d(f, o7))
                let high = SIMD4<Int32>(d(f, o8), d(f, o9), d(f, o10), d(f, o11))
                sumLow &+= low
                sumHigh &+= high
                markerLow |= low &+ 32767
                markerHigh |= high &+ 32767
                rows.storeBytes(of: SIMD8<Float>(low) * scaleLow + shiftLow, toByteOffset: t * 48, as: SIMD8<Float>.self)
                rows.storeBytes(of: SIMD4<Float>(high) * scaleHigh + shiftHigh, toByteOffset: t * 48 + 32, as: SIMD4<Float>.self)
            }
            // Rare: the columns that had a marker get NaN there (as decode(signal:) stores it).
            for c in 0..<12 where (c < 8 ? markerLow[c] : markerHigh[c - 8]) < 0 {
                for t in 0..<sampleCount where d(frames + t * frameBytes, o[c]) == Int32(Int16.min) { out[t * 12 + c] = .nan }
            }
        }
        if verifyChecksum {
            for (c, signal) in signals.enumerated() { try check(signal: signal, sum: Int(c < 8 ? sumLow[c] : sumHigh[c - 8])) }
        }
        return (0..<12).map { (c: Int) -> Bool in (c < 8 ? markerLow[c] : markerHigh[c - 8]) < 0 }
    }
}

/// How one signal file stores its samples: sample format, signals per frame, header bytes to skip, and
/// whether samples are frame-interleaved (WFDB `.dat`, CinC `.mat` nsig×n) or signal-planar (a transposed `.mat`).
struct SignalFileLayout {
    let format: Int
    let signalsInFile: Int
    var byteOffset: Int
    var planar = false

    init(format: Int, signalsInFile: Int, byteOffset: Int, path: String) throws {
        guard [16, 212, 80, 24, 32, 61].contains(format) else {
            throw ECGDataError(.unsupported, path, "WFDB signal format \(format) is not supported (16, 212, 80, 24, 32, 61 are)")
        }
        self.format = format
        self.signalsInFile = signalsInFile
        self.byteOffset = byteOffset
    }

    /// Bytes of `n` samples of every signal in this file, or nil when that overflows an Int.
    func bytesNeeded(samplesPerSignal n: Int) -> Int? {
        let (total, overflow) = n.multipliedReportingOverflow(by: signalsInFile)
        guard !overflow, total < Int.max / 4 else { return nil }
        switch format {
        case 212: return (total / 2) * 3 + (total % 2) * 2
        case 80: return total
        case 24: return total * 3
        case 32: return total * 4
        default: return total * 2
        }
    }

    func inferredSampleCount(fileSize: Int) -> Int {
        let bytes = max(0, fileSize - byteOffset)
        switch format {
        case 212: return (bytes * 2 / 3) / signalsInFile
        case 80: return bytes / signalsInFile
        case 24: return bytes / 3 / signalsInFile
        case 32: return bytes / 4 / signalsInFile
        default: return bytes / 2 / signalsInFile
        }
    }

    /// MATLAB level-4 file: 20-byte header (type, mrows, ncols, imagf, namlen, all int32 LE), the
    /// variable name, then the matrix in column-major order. CinC stores `val` as nsig × n, so each
    /// column is a frame: the same byte order as a format-16 `.dat`.
    func adjustedForMatlabV4(bytes data: [UInt8], sampleCount: Int?, headerOffset: Int?, path: String) throws -> SignalFileLayout {
        guard data.count >= 20 else { throw ECGDataError(.truncated, path, "MATLAB file shorter than its 20-byte header") }
        if data.count >= 116, data.starts(with: Array("MATLAB".utf8)) {
            throw ECGDataError(.unsupported, path, "MATLAB v5/v7 files are not supported; save as v4 (-v4)")
        }
        let fields: [Int] = (0..<5).map { i in
            Int(Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 4, as: Int32.self) }))
        }
        let (type, rows, columns, imaginary, nameLength) = (fields[0], fields[1], fields[2], fields[3], fields[4])
        // type = M*1000 + O*100 + P*10 + T; little-endian (M = 0), numeric full matrix (T = 0); P = 3 int16, 2 int32.
        let precision = (type / 10) % 10
        guard type < 1000, type % 10 == 0, imaginary == 0, nameLength > 0, nameLength < 64 else {
            throw ECGDataError(.badHeader, path, "not a little-endian MATLAB v4 real matrix (type \(type))")
        }
        let expectedPrecision = format == 16 ? 3 : (format == 32 ? 2 : -1)
        guard precision == expectedPrecision else {
            throw ECGDataError(.badHeader, path, "MATLAB element type \(precision) does not match WFDB format \(format)")
        }
        var layout = self
        layout.byteOffset = 20 + nameLength
        if let headerOffset, headerOffset != layout.byteOffset {
            throw ECGDataError(.badHeader, path, "header says data start at byte \(headerOffset), MATLAB header says \(layout.byteOffset)")
        }
        if rows == signalsInFile, sampleCount == nil || columns == sampleCount {
            layout.planar = false
        } else if columns == signalsInFile, sampleCount == nil || rows == sampleCount {
            layout.planar = true
        } else {
            throw ECGDataError(.signalCountMismatch, path,
                "MATLAB matrix is \(rows)×\(columns) but the header declares \(signalsInFile) signals × \(sampleCount.map(String.init) ?? "?") samples")
        }
        return layout
    }

    /// Decodes signal `signal` of this file into physical values out[t] = (d - baseline) * scale.
    /// Returns whether an invalid-sample marker was seen (stored as NaN) and the 16-bit checksum of the digital values.
    func decode(_ base: UnsafeRawPointer, signal: Int, count n: Int, baseline: Int, scale: Double,
                into out: UnsafeMutablePointer<Float>, outStride: Int) -> (sawInvalid: Bool, checksum: Int) {
        let k = signalsInFile
        let scaleF = Float(scale)
        let offsetF = Float(-Double(baseline) * scale)
        var invalid = false
        var sum = 0
        // Position of sample t of this signal in the file's sample stream.
        let stride = planar ? 1 : k
        let first = planar ? signal * n : signal
        @inline(__always) func store(_ t: Int, _ d: Int, _ marker: Int) {
            sum &+= d
            if d == marker { out[t * outStride] = .nan; invalid = true } else { out[t * outStride] = Float(d) * scaleF + offsetF }
        }
        switch format {
        case 16:
            // The hot path of every corpus build: little-endian int16, unaligned-safe loads.
            let p = base + first * 2
            for t in 0..<n {
                let d = Int(Int16(littleEndian: p.loadUnaligned(fromByteOffset: t * stride * 2, as: Int16.self)))
                store(t, d, -32768)
            }
        case 61:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for t in 0..<n {
                let i = (first + t * stride) * 2
                store(t, Int(Int16(bitPattern: UInt16(p[i]) << 8 | UInt16(p[i + 1]))), -32768)
            }
        case 80:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for t in 0..<n { store(t, Int(p[first + t * stride]) - 128, -128) }
        case 24:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for t in 0..<n {
                let i = (first + t * stride) * 3
                let u = Int32(p[i]) | Int32(p[i + 1]) << 8 | Int32(p[i + 2]) << 16
                store(t, Int((u << 8) >> 8), -(1 << 23))
            }
        case 32:
            for t in 0..<n {
                let d = Int32(littleEndian: base.loadUnaligned(fromByteOffset: (first + t * stride) * 4, as: Int32.self))
                store(t, Int(d), Int(Int32.min))
            }
        default: // 212: two 12-bit samples in 3 bytes; the second byte holds both high nibbles.
            let p = base.assumingMemoryBound(to: UInt8.self)
            for t in 0..<n {
                let s = first + t * stride
                let i = (s / 2) * 3
                let u: Int32 = s % 2 == 0
                    ? Int32(p[i]) | (Int32(p[i + 1]) & 0x0F) << 8
                    : Int32(p[i + 2]) | (Int32(p[i + 1]) & 0xF0) << 4
                store(t, Int((u << 20) >> 20), -2048)
            }
        }
        return (invalid, sum)
    }
}
