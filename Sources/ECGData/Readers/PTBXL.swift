import Foundation

/// One row of `scp_statements.csv` (the first, unnamed column is the statement code).
public struct SCPStatement: Sendable {
    public let code: String
    public let diagnostic: Bool
    public let form: Bool
    public let rhythm: Bool
    public let diagnosticClass: String
    public let diagnosticSubclass: String
}

/// A PTB-XL label task: its column names (sorted) and how a statement code maps onto them.
public struct PTBXLTask: Sendable {
    public let name: String
    public let labelNames: [String]
    /// Statement code → label name of this task (absent: the code does not count in this task).
    public let labelOfCode: [String: String]
    private let columnOfLabel: [String: Int]

    public init(name: String, labelNames: [String], labelOfCode: [String: String]) {
        self.name = name
        self.labelNames = labelNames
        self.labelOfCode = labelOfCode
        columnOfLabel = Dictionary(uniqueKeysWithValues: labelNames.enumerated().map { ($1, $0) })
    }

    /// Multi-hot row for a record's statement codes, in `labelNames` order.
    public func row(codes: [String]) -> [UInt8] {
        var row = [UInt8](repeating: 0, count: labelNames.count)
        for code in codes {
            if let label = labelOfCode[code], let column = columnOfLabel[label] { row[column] = 1 }
        }
        return row
    }

    /// The six tasks of the PTB-XL benchmark (Strodthoff et al. 2020): every statement of the task is a
    /// column, whether or not any record carries it.
    public static func benchmarkTasks(statements: [SCPStatement]) -> [PTBXLTask] {
        func task(_ name: String, _ pairs: [(String, String)]) -> PTBXLTask {
            let map = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
            return PTBXLTask(name: name, labelNames: Set(map.values).sorted(), labelOfCode: map)
        }
        let diagnostic = statements.filter(\.diagnostic)
        return [
            task("all", statements.map { ($0.code, $0.code) }),
            task("diagnostic", diagnostic.map { ($0.code, $0.code) }),
            task("subdiagnostic", diagnostic.filter { !$0.diagnosticSubclass.isEmpty }.map { ($0.code, $0.diagnosticSubclass) }),
            task("superdiagnostic", diagnostic.filter { !$0.diagnosticClass.isEmpty }.map { ($0.code, $0.diagnosticClass) }),
            task("form", statements.filter(\.form).map { ($0.code, $0.code) }),
            task("rhythm", statements.filter(\.rhythm).map { ($0.code, $0.code) }),
        ]
    }
}

/// One row of `ptbxl_database.csv`.
public struct PTBXLEntry: Sendable {
    public let ecgID: Int64
    public let fold: Int32
    /// Record paths relative to the root, without extension (`records500/00000/00001_hr`).
    public let filenameHR: String
    public let filenameLR: String
    /// Every key of the `scp_codes` dict, whatever its likelihood (as the benchmark code does).
    public let codes: [String]
}

/// The PTB-XL tables of a dataset root (`ptbxl_database.csv`, `scp_statements.csv`).
public struct PTBXLDatabase {
    public let root: String
    public let entries: [PTBXLEntry]
    public let statements: [SCPStatement]
    public let tasks: [PTBXLTask]

    public static func load(root: String) throws -> PTBXLDatabase {
        let statementsPath = (root as NSString).appendingPathComponent("scp_statements.csv")
        let databasePath = (root as NSString).appendingPathComponent("ptbxl_database.csv")
        try checkIsRoot(root, statementsPath: statementsPath, databasePath: databasePath)
        let statements = try loadStatements(path: statementsPath)
        let entries = try entries(of: try CSVTable.load(path: databasePath), knownCodes: Set(statements.map(\.code)))
        return PTBXLDatabase(root: root, entries: entries, statements: statements,
                             tasks: PTBXLTask.benchmarkTasks(statements: statements))
    }

    /// The records of a parsed `ptbxl_database.csv`; every scp_codes key must be in `knownCodes`.
    public static func entries(of table: CSVTable, knownCodes known: Set<String>) throws -> [PTBXLEntry] {
        let databasePath = table.path
        let idColumn = try table.column("ecg_id"), codesColumn = try table.column("scp_codes")
        let foldColumn = try table.column("strat_fold")
        let hrColumn = try table.column("filename_hr"), lrColumn = try table.column("filename_lr")
        var entries: [PTBXLEntry] = []
        entries.reserveCapacity(table.rows.count)
        for (index, row) in table.rows.enumerated() {
            let where_ = "row \(index + 1) (ecg_id \(row[idColumn]))"
            guard let id = Double(row[idColumn]).flatMap({ Int64(exactly: $0) }) else {
                throw ECGDataError(.badTable, databasePath, "row \(index + 1): ecg_id '\(row[idColumn])' is not an integer")
            }
            guard let fold = Double(row[foldColumn]).flatMap({ Int32(exactly: $0) }) else {
                throw ECGDataError(.badTable, databasePath, "\(where_): strat_fold '\(row[foldColumn])' is not an integer")
            }
            guard let pairs = parsePythonStringDict(row[codesColumn]) else {
                throw ECGDataError(.badTable, databasePath, "\(where_): scp_codes '\(row[codesColumn])' is not a {'CODE': number, ...} dict")
            }
            for (code, _) in pairs where !known.contains(code) {
                throw ECGDataError(.badTable, databasePath, "\(where_): statement '\(code)' is not in scp_statements.csv")
            }
            entries.append(PTBXLEntry(ecgID: id, fold: fold, filenameHR: row[hrColumn], filenameLR: row[lrColumn],
                                      codes: pairs.map(\.key)))
        }
        return entries
    }

    /// A folder without PTB-XL's two tables is most likely the wrong folder (a parent, the
    /// records500 folder, a WFDB folder meant for `prepare wfdb`): say so, and what a root holds,
    /// instead of reporting one missing CSV.
    static func checkIsRoot(_ root: String, statementsPath: String, databasePath: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw ECGDataError(.missingFile, root, "no such folder (expected a PTB-XL root)")
        }
        guard isDirectory.boolValue else {
            throw ECGDataError(.missingFile, root, "is a file, not a PTB-XL root folder")
        }
        let missing = [databasePath, statementsPath].filter { !FileManager.default.fileExists(atPath: $0) }
            .map { ($0 as NSString).lastPathComponent }
        guard missing.isEmpty else {
            throw ECGDataError(.missingFile, root, "not a PTB-XL root: missing \(missing.joined(separator: " and ")) "
                + "(a PTB-XL 1.0.x root holds ptbxl_database.csv, scp_statements.csv, records100/ and records500/; "
                + "for a plain folder of WFDB records use `prepare wfdb`)")
        }
    }

    public static func loadStatements(path: String) throws -> [SCPStatement] {
        try statements(of: try CSVTable.load(path: path))
    }

    /// The statements of a parsed `scp_statements.csv` (code in the first column).
    public static func statements(of table: CSVTable) throws -> [SCPStatement] {
        let path = table.path
        let diagnostic = try table.column("diagnostic"), form = try table.column("form"), rhythm = try table.column("rhythm")
        let diagnosticClass = try table.column("diagnostic_class"), subclass = try table.column("diagnostic_subclass")
        func flag(_ text: String) -> Bool { (Double(text) ?? 0) == 1 }
        var seen = Set<String>()
        return try table.rows.enumerated().map { index, row in
            let code = row[0].trimmingCharacters(in: .whitespaces)
            guard !code.isEmpty, seen.insert(code).inserted else {
                throw ECGDataError(.badTable, path, "row \(index + 1): statement code '\(code)' is empty or repeated")
            }
            return SCPStatement(code: code, diagnostic: flag(row[diagnostic]), form: flag(row[form]), rhythm: flag(row[rhythm]),
                                diagnosticClass: row[diagnosticClass], diagnosticSubclass: row[subclass])
        }
    }
}
