import XCTest
@testable import Model
final class VersionTests: XCTestCase { func testVersion() { XCTAssertFalse(ModelInfo.version.isEmpty) } }
