import XCTest
import Model
import ModelIO

final class ModelSpecTests: XCTestCase {
    func testNamedAndCustomSpecs() throws {
        XCTAssertEqual(try ViTConfig.parse("vit-b").heads, 12)
        XCTAssertEqual(try ViTConfig.parse("VIT-TINY"), ViTConfig.vitTiny)
        XCTAssertEqual(try ViTConfig.parse("dim=32,depth=2").dim, 32)
        XCTAssertThrowsError(try ViTConfig.parse("vit-huge"))
        XCTAssertThrowsError(try ViTConfig.parse("dim=33,heads=2"), "odd dim has no sin-cos positions")
        XCTAssertThrowsError(try ViTConfig.parse("dim=-4"))
    }
}
