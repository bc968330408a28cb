import Foundation

/// One signal line of a WFDB header:
/// `file format[xN][:skew][+offset] [gain[(baseline)][/units] [adcres [adczero [init [checksum [blocksize [description]]]]]]]`
public struct WFDBSignalSpec: Equatable, Sendable {
    public var fileName: String
    public var format: Int
    /// Bytes to skip at the start of the signal file (`+offset` suffix of the format).
    public var byteOffset: Int?
    /// ADC units per physical unit; 0 or missing in the header means the WFDB default 200.
    public var gain: Double
    /// Digital value of 0 physical units; defaults to `adcZero`.
    public var baseline: Int
    public var units: String
    public var adcResolution: Int
    public var adcZero: Int
    public var initialValue: Int?
    public var checksum: Int?
    public var blockSize: Int
    public var description: String
}

/// A parsed WFDB header (`.hea`): the record line, one line per signal, and `#` comment lines.
public struct WFDBHeader: Sendable {
    public var recordName: String
    public var signalCount: Int
    public var samplingFrequency: Double
    /// Samples per signal; nil when the header omits it (then the signal file size decides).
    public var sampleCount: Int?
    public var signals: [WFDBSignalSpec]
    public var comments: [String]

    /// WFDB defaults for fields the header leaves out.
    public static let defaultGain = 200.0
    public static let defaultFrequency = 250.0

    /// Reads and parses a header file. Errors name `path`.
    public static func load(path: String) throws -> WFDBHeader {
        let bytes = try readDataFile(path)
        guard !bytes.isEmpty else { throw ECGDataError(.emptyFile, path, "header file is empty (0 bytes)") }
        return try parse(bytes: bytes, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> WFDBHeader {
        try parse(bytes: Array(text.utf8), path: path)
    }

    /// Tokenises on bytes (headers are parsed once per record, so this stays off the Character machinery).
    public static func parse(bytes: [UInt8], path: String) throws -> WFDBHeader {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ECGDataError(.notUTF8, path, "header is not valid UTF-8 text")
        }
        var comments: [String] = []
        var lines: [(number: Int, tokens: [Substring])] = []
        var lineNumber = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine[...]
            while let last = line.last, last == UInt8(ascii: "\r") || last == 32 || last == 9 { line = line.dropLast() }
            while let first = line.first, first == 32 || first == 9 { line = line.dropFirst() }
            if line.isEmpty { continue }
            if line.first == UInt8(ascii: "#") {
                comments.append(String(decoding: line.dropFirst(), as: UTF8.self).trimmingCharacters(in: .whitespaces))
                continue
            }
            let tokens = line.split(whereSeparator: { $0 == 32 || $0 == 9 }).map { Substring(String(decoding: $0, as: UTF8.self)) }
            lines.append((lineNumber, tokens))
        }
        guard let recordLine = lines.first else { throw ECGDataError(.badHeader, path, "header has no record line") }
        let fields = recordLine.tokens
        guard fields.count >= 2 else {
            throw ECGDataError(.badHeader, path, "record line must give at least the record name and number of signals")
        }
        let name = String(fields[0])
        if name.contains("/") {
            throw ECGDataError(.unsupported, path, "multi-segment records (\(name)) are not supported")
        }
        guard let signalCount = Int(fields[1]), signalCount >= 0 else {
            throw ECGDataError(.badHeader, path, "number of signals '\(fields[1])' is not a non-negative integer")
        }
        var frequency = defaultFrequency
        if fields.count > 2 {
            // fs may carry a counter frequency: "500/1000(0)"
            let text = fields[2].split(separator: "/").first.map(String.init) ?? ""
            guard let value = Double(text), value > 0, value.isFinite else {
                throw ECGDataError(.badHeader, path, "sampling frequency '\(fields[2])' is not a positive number")
            }
            frequency = value
        }
        var sampleCount: Int?
        if fields.count > 3 {
            guard let value = Int(fields[3]), value >= 0 else {
                throw ECGDataError(.badHeader, path, "number of samples '\(fields[3])' is not a non-negative integer")
            }
            sampleCount = value > 0 ? value : nil
        }
        let signalLines = lines.dropFirst()
        if signalLines.count < signalCount {
            throw ECGDataError(.badHeader, path,
                "record line declares \(signalCount) signals but only \(signalLines.count) signal lines follow")
        }
        if signalLines.count > signalCount {
            throw ECGDataError(.signalCountMismatch, path,
                "record line declares \(signalCount) signals but \(signalLines.count) signal lines follow")
        }
        let signals = try signalLines.map { try parseSignalLine($0.tokens, lineNumber: $0.number, path: path) }
        return WFDBHeader(recordName: name, signalCount: signalCount, samplingFrequency: frequency,
                          sampleCount: sampleCount, signals: signals, comments: comments)
    }

    static func parseSignalLine(_ tokens: [Substring], lineNumber: Int, path: String) throws -> WFDBSignalSpec {
        func fail(_ message: String) -> ECGDataError { ECGDataError(.badHeader, path, "line \(lineNumber): \(message)") }
        guard tokens.count >= 2 else { throw fail("signal line needs at least a file name and a format") }
        // Format: digits, then optional xN (samples per frame), :N (skew), +N (byte offset).
        let formatField = tokens[1]
        let formatDigits = formatField.prefix { $0.isNumber }
        guard let format = Int(formatDigits) else { throw fail("signal format '\(formatField)' is not a number") }
        var byteOffset: Int?
        var rest = formatField.dropFirst(formatDigits.count)
        while let marker = rest.first {
            let digits = rest.dropFirst().prefix { $0.isNumber }
            guard let value = Int(digits) else { throw fail("bad signal format '\(formatField)'") }
            switch marker {
            case "x": if value != 1 { throw ECGDataError(.unsupported, path, "line \(lineNumber): \(value) samples per frame are not supported") }
            case ":": if value != 0 { throw ECGDataError(.unsupported, path, "line \(lineNumber): signal skew is not supported") }
            case "+": byteOffset = value
            default: throw fail("bad signal format '\(formatField)'")
            }
            rest = rest.dropFirst(1 + digits.count)
        }
        var gain = defaultGain
        var baseline: Int?
        var units = "mV"
        if tokens.count > 2 {
            var gainField = tokens[2]
            if let slash = gainField.firstIndex(of: "/") {
                units = String(gainField[gainField.index(after: slash)...])
                gainField = gainField[..<slash]
            }
            if let open = gainField.firstIndex(of: "(") {
                guard gainField.last == ")", let value = Int(gainField[gainField.index(after: open)..<gainField.index(before: gainField.endIndex)]) else {
                    throw fail("bad baseline in '\(tokens[2])'")
                }
                baseline = value
                gainField = gainField[..<open]
            }
            guard let value = Double(gainField), value.isFinite else { throw fail("ADC gain '\(tokens[2])' is not a number") }
            gain = value == 0 ? defaultGain : value
        }
        func integer(_ index: Int, _ what: String) throws -> Int? {
            guard tokens.count > index else { return nil }
            guard let value = Int(tokens[index]) else { throw fail("\(what) '\(tokens[index])' is not an integer") }
            return value
        }
        let resolution = try integer(3, "ADC resolution") ?? 0
        let zero = try integer(4, "ADC zero") ?? 0
        let initial = try integer(5, "initial value")
        let checksum = try integer(6, "checksum")
        let blockSize = try integer(7, "block size") ?? 0
        let description = tokens.count > 8 ? tokens[8...].joined(separator: " ") : ""
        return WFDBSignalSpec(fileName: String(tokens[0]), format: format, byteOffset: byteOffset, gain: gain,
                              baseline: baseline ?? zero, units: units, adcResolution: resolution, adcZero: zero,
                              initialValue: initial, checksum: checksum, blockSize: blockSize, description: description)
    }
}

/// Multiplier from a WFDB unit string to millivolts; nil for non-voltage units.
public func millivoltsPerUnit(_ units: String) -> Double? {
    switch units.lowercased() {
    case "mv", "": return 1
    case "uv", "µv", "μv", "microvolt", "microvolts": return 0.001
    case "v", "volt", "volts": return 1000
    case "nv": return 1e-6
    default: return nil
    }
}
