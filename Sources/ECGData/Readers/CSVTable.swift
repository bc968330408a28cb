import Foundation

/// An RFC-4180 CSV table: comma-separated fields, double-quoted fields may hold commas, line breaks
/// and doubled quotes (`""` → `"`); LF or CRLF line ends. The first row is the header.
public struct CSVTable {
    public let path: String
    public let columns: [String]
    public let rows: [[String]]

    public static func load(path: String) throws -> CSVTable {
        let bytes = try readDataFile(path)
        guard !bytes.isEmpty else { throw ECGDataError(.emptyFile, path, "CSV file is empty (0 bytes)") }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw ECGDataError(.notUTF8, path, "CSV file is not valid UTF-8") }
        return try parse(bytes, path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws -> CSVTable {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), carriage = UInt8(ascii: "\r")
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var line = 1
        var quoteStartLine = 0
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0 // skip a UTF-8 byte-order mark
        func endField() { record.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true) }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
            record.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == quote {
                    if i + 1 < bytes.count && bytes[i + 1] == quote { field.append(quote); i += 1 } else { inQuotes = false }
                } else {
                    if b == newline { line += 1 }
                    field.append(b)
                }
            } else if b == quote {
                guard field.isEmpty else {
                    throw ECGDataError(.badTable, path, "line \(line): quote inside an unquoted field")
                }
                inQuotes = true
                quoteStartLine = line
            } else if b == comma {
                endField()
            } else if b == newline {
                endRecord()
                line += 1
            } else if b == carriage && i + 1 < bytes.count && bytes[i + 1] == newline {
                // CR of CRLF: the LF ends the record
            } else {
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw ECGDataError(.badTable, path, "quoted field opened on line \(quoteStartLine) is never closed") }
        if !field.isEmpty || !record.isEmpty { endRecord() }
        guard let header = records.first else { throw ECGDataError(.badTable, path, "CSV file has no header row") }
        for (index, row) in records.enumerated().dropFirst() where row.count != header.count {
            throw ECGDataError(.badTable, path, "row \(index) has \(row.count) fields, header has \(header.count)")
        }
        return CSVTable(path: path, columns: header, rows: Array(records.dropFirst()))
    }

    /// Index of a required column.
    public func column(_ name: String) throws -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw ECGDataError(.badTable, path, "column '\(name)' is missing")
        }
        return index
    }
}

/// Parses a Python dict literal of string keys and numeric values, e.g. `{'NORM': 100.0, 'SR': 0.0}`
/// (the `scp_codes` column of PTB-XL). Keys keep their order.
public func parsePythonStringDict(_ text: String) -> [(key: String, value: Double)]? {
    let chars = Array(text.unicodeScalars)
    var i = 0
    func skipSpace() { while i < chars.count && chars[i].properties.isWhitespace { i += 1 } }
    func parseString() -> String? {
        guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { return nil }
        let quote = chars[i]
        i += 1
        var result = String.UnicodeScalarView()
        while i < chars.count && chars[i] != quote {
            if chars[i] == "\\" && i + 1 < chars.count { i += 1 }
            result.append(chars[i])
            i += 1
        }
        guard i < chars.count else { return nil }
        i += 1
        return String(result)
    }
    skipSpace()
    guard i < chars.count, chars[i] == "{" else { return nil }
    i += 1
    var pairs: [(key: String, value: Double)] = []
    skipSpace()
    if i < chars.count, chars[i] == "}" { i += 1; skipSpace(); return i == chars.count ? pairs : nil }
    while true {
        skipSpace()
        guard let key = parseString() else { return nil }
        skipSpace()
        guard i < chars.count, chars[i] == ":" else { return nil }
        i += 1
        skipSpace()
        var number = ""
        while i < chars.count, "0123456789+-.eE".unicodeScalars.contains(chars[i]) { number.unicodeScalars.append(chars[i]); i += 1 }
        guard let value = Double(number) else { return nil }
        pairs.append((key, value))
        skipSpace()
        guard i < chars.count else { return nil }
        if chars[i] == "," {
            i += 1
            skipSpace()
            if i < chars.count, chars[i] == "}" { i += 1; break } // trailing comma
            continue
        }
        guard chars[i] == "}" else { return nil }
        i += 1
        break
    }
    skipSpace()
    return i == chars.count ? pairs : nil
}
