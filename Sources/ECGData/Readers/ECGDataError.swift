import Foundation
import Model

/// A problem with an input ECG file (WFDB record, PTB-XL table, corpus). Always names the file.
public struct ECGDataError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Kind: String, Sendable {
        case missingFile, emptyFile, notUTF8, badHeader, signalCountMismatch, truncated
        case unsupported, checksum, missingLead, badTable, missingRecord, badCorpus
    }
    public let kind: Kind
    public let path: String
    public let message: String

    public init(_ kind: Kind, _ path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}

/// A whole input file (Model's `readFileBytes`), its failures reported as a missing input file.
func readDataFile(_ path: String) throws -> [UInt8] {
    do { return try readFileBytes(path) } catch let error as FileError {
        throw ECGDataError(.missingFile, error.path, error.message)
    }
}
