import Foundation
import Model

/// Rank 0's training log: one JSON object per line (`metrics.jsonl` in the run folder), appended
/// and flushed per record so a crash loses at most the line being written. A resumed run appends
/// to the same file, and lines carry the step so duplicates after a resume are easy to drop.
public final class MetricsLog {
    let path: String
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw FileError(path, "cannot create metrics log")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw FileError(path, "cannot open metrics log") }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Appends one record. Values must be JSON-serializable (numbers, strings, bools, arrays, dicts).
    public func append(_ record: [String: Any]) {
        let clean = MetricsLog.jsonSafe(record)
        guard let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys]) else { return }
        handle.write(data)
        handle.write(Data([0x0A]))
        try? handle.synchronize()
    }
}

extension MetricsLog {
    /// JSON has no NaN/Inf: non-finite numbers (at any depth) become null rather than losing the line.
    static func jsonSafe(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let f as Float: return f.isFinite ? Double(f) : NSNull()
        case let dict as [String: Any]: return dict.mapValues { jsonSafe($0) }
        case let array as [Any]: return array.map { jsonSafe($0) }
        default: return value
        }
    }
}

/// Formats seconds as h:mm:ss for the progress line.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--:--" }
    let s = Int(seconds.rounded())
    return String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
}
