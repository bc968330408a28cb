import XCTest
@testable import DistTrainer
final class DistVersionTests: XCTestCase { func testVersion() { XCTAssertFalse(DistInfo.version.isEmpty) } }
