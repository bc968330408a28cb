import Foundation

/// A labels CSV of one's own data (`prepare npy --labels`): an id column, optionally a fold column,
/// and 0/1 label columns. Every cell is checked; errors name the file, the row, the id and the column.
public struct LabelTable {
    public let path: String
    public let labelNames: [String]
    /// Ids in CSV row order, trimmed.
    public let ids: [String]
    /// Row-major (ids.count × labelNames.count) 0/1.
    public let labels: [UInt8]
    /// Fold per row when a fold column was given.
    public let folds: [Int32]?
    /// CSV row index of each id.
    public let rowOfID: [String: Int]

    /// - Parameters:
    ///   - labelColumns: the label columns in order; nil = every column except the id and fold columns.
    public static func load(path: String, idColumn: String, foldColumn: String?, labelColumns: [String]?) throws -> LabelTable {
        let table = try CSVTable.load(path: path)
        func bad(_ message: String) -> ECGDataError { ECGDataError(.badTable, path, message) }
        let idIndex = try table.column(idColumn)
        let foldIndex = try foldColumn.map { try table.column($0) }
        let names = labelColumns ?? table.columns.enumerated().filter { $0.offset != idIndex && $0.offset != foldIndex }.map(\.element)
        guard !names.isEmpty else {
            throw bad("no label columns (every column except id '\(idColumn)'\(foldColumn.map { " and fold '\($0)'" } ?? "") is a label)")
        }
        for name in names {
            guard name == name.trimmingCharacters(in: .whitespaces), !name.isEmpty else { throw bad("label column '\(name)' has an empty or space-padded name") }
            guard name.utf8.count <= CorpusWriter.labelNameBytes else {
                throw bad("label column '\(name)' is longer than \(CorpusWriter.labelNameBytes) bytes (the corpus stores names in \(CorpusWriter.labelNameBytes)-byte fields)")
            }
            guard name != idColumn, name != foldColumn else { throw bad("column '\(name)' cannot be both a label and the id/fold column") }
        }
        if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw bad("label column '\(duplicate)' is given twice")
        }
        let labelIndices = try names.map { try table.column($0) }
        guard !table.rows.isEmpty else { throw bad("no data rows") }
        var ids: [String] = [], labels: [UInt8] = [], folds: [Int32] = []
        var rowOfID: [String: Int] = [:]
        ids.reserveCapacity(table.rows.count)
        labels.reserveCapacity(table.rows.count * names.count)
        for (r, row) in table.rows.enumerated() {
            let id = row[idIndex].trimmingCharacters(in: .whitespaces)
            let place = "data row \(r + 1)"
            guard !id.isEmpty else { throw bad("\(place): column '\(idColumn)' is empty") }
            if let earlier = rowOfID[id] { throw bad("id '\(id)' (column '\(idColumn)') appears twice: data rows \(earlier + 1) and \(r + 1)") }
            rowOfID[id] = r
            ids.append(id)
            for (name, c) in zip(names, labelIndices) {
                switch row[c].trimmingCharacters(in: .whitespaces) {
                case "0", "0.0": labels.append(0)
                case "1", "1.0": labels.append(1)
                case let other: throw bad("\(place) (id '\(id)'), column '\(name)': value '\(other)' is not 0 or 1")
                }
            }
            if let foldIndex, let foldColumn {
                let text = row[foldIndex].trimmingCharacters(in: .whitespaces)
                guard let fold = Int32(text), (0...10).contains(fold) else {
                    throw bad("\(place) (id '\(id)'), column '\(foldColumn)': fold '\(text)' is not an integer 0-10 (1-8 train, 9 val, 10 test, 0 unused)")
                }
                folds.append(fold)
            }
        }
        return LabelTable(path: path, labelNames: names, ids: ids, labels: labels,
                          folds: foldColumn == nil ? nil : folds, rowOfID: rowOfID)
    }

    /// For each record id (signal row order), its CSV row. Every record needs a row and every row
    /// a record; the error lists the first few offenders of either kind.
    public func rows(forRecordIDs recordIDs: [String], signalsPath: String, idColumn: String) throws -> [Int] {
        var rows: [Int] = []
        var missing: [String] = []
        rows.reserveCapacity(recordIDs.count)
        for id in recordIDs {
            if let r = rowOfID[id] { rows.append(r) } else { missing.append(id) }
        }
        func sample(_ list: [String]) -> String {
            list.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (list.count > 5 ? ", … (\(list.count) in all)" : "")
        }
        guard missing.isEmpty else {
            throw ECGDataError(.badTable, path, "\(missing.count) record id(s) of \(signalsPath) have no row (column '\(idColumn)'): \(sample(missing))")
        }
        let known = Set(recordIDs)
        let unknown = ids.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw ECGDataError(.badTable, path, "\(unknown.count) id(s) in column '\(idColumn)' are not records of \(signalsPath): \(sample(unknown))")
        }
        return rows
    }
}
