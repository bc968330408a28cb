import XCTest
@testable import Model

/// The version `ecg-dist --version` reports is a plain semantic version (major.minor.patch).
final class VersionTests: XCTestCase {
    func testVersionIsSemantic() {
        let parts = ModelInfo.version.split(separator: ".", omittingEmptySubsequences: false)
        XCTAssertEqual(parts.count, 3, ModelInfo.version)
        XCTAssertTrue(parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, ModelInfo.version)
    }
}
