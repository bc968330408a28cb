import Foundation

/// MIMIC-IV-ECG's `record_list.csv` (columns subject_id, study_id, file_name, ecg_time, path): one
/// row per 10-s, 500 Hz, 12-lead WFDB record at `<root>/<path>.hea`, path like
/// `files/p1000/p10000032/s40689238/40689238`.
public struct MIMICRecordList {
    public struct Entry: Sendable, Equatable {
        public let subjectID: Int64
        public let studyID: Int64
        /// Relative to the root, without extension.
        public let path: String
    }

    public let listPath: String
    public let entries: [Entry]

    public static let fileName = "record_list.csv"

    /// Parses `<root>/record_list.csv` and checks that every listed header exists (before any work).
    public static func load(root: String) throws -> MIMICRecordList {
        let listPath = (root as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: listPath) else {
            throw ECGDataError(.missingFile, listPath, "record list not found (is --root the MIMIC-IV-ECG folder?)")
        }
        let table = try CSVTable.load(path: listPath)
        let subject = try table.column("subject_id"), study = try table.column("study_id"), path = try table.column("path")
        var entries: [Entry] = []
        entries.reserveCapacity(table.rows.count)
        for (index, row) in table.rows.enumerated() {
            let line = index + 2 // header is line 1
            guard let subjectID = Int64(row[subject].trimmingCharacters(in: .whitespaces)) else {
                throw ECGDataError(.badTable, listPath, "line \(line): subject_id '\(row[subject])' is not an integer")
            }
            guard let studyID = Int64(row[study].trimmingCharacters(in: .whitespaces)) else {
                throw ECGDataError(.badTable, listPath, "line \(line): study_id '\(row[study])' is not an integer")
            }
            var relative = row[path].trimmingCharacters(in: .whitespaces)
            if relative.hasSuffix(".hea") { relative.removeLast(4) }
            guard !relative.isEmpty else { throw ECGDataError(.badTable, listPath, "line \(line): empty path") }
            let header = (root as NSString).appendingPathComponent(relative + ".hea")
            guard FileManager.default.fileExists(atPath: header) else {
                throw ECGDataError(.missingRecord, listPath, "line \(line): study \(studyID): record \(relative) not found (no \(header))")
            }
            entries.append(Entry(subjectID: subjectID, studyID: studyID, path: relative))
        }
        guard !entries.isEmpty else { throw ECGDataError(.badTable, listPath, "no records listed") }
        return MIMICRecordList(listPath: listPath, entries: entries)
    }
}

/// SNOMED-CT codes of a PhysioNet/CinC 2020–2021 header (`# Dx: 164889003,59118001`); empty when the
/// header has no Dx line.
public func challengeDxCodes(_ header: WFDBHeader) -> [String] {
    for comment in header.comments {
        let trimmed = comment.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("dx:") else { continue }
        return trimmed.dropFirst(3).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    return []
}
