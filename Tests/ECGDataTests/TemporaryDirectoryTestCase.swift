import Foundation
import XCTest

/// Base class for tests that write files: each test gets a fresh, empty `directory` that is
/// removed afterwards.
class TemporaryDirectoryTestCase: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(type(of: self))-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }
}
