import XCTest
@testable import ECGData

/// The one input normalisation (loader, evaluation): per-lead z-score, flat leads centred, ±clip,
/// the lead count taken from the statistics, in place and out of place alike.
final class NormalizeTests: XCTestCase {
    func testZScoreFlatLeadAndClip() {
        var x: [Float] = [1, 10, 3, -100, 2, 10.5]  // 3 rows × 2 leads
        x.withUnsafeMutableBufferPointer { normalize($0.baseAddress!, rows: 3, mean: [2, 10], std: [0.5, 0]) }
        XCTAssertEqual(x, [-2, 0, 2, -5, 0, 0.5])
    }

    func testOutOfPlaceEqualsInPlaceForAnyLeadCount() {
        let rows = 7, mean: [Float] = [0.1, -0.2, 0.3], std: [Float] = [0.5, 2, 1e-9]
        let source = (0..<(rows * 3)).map { Float($0 % 5) - 2.2 }
        var inPlace = source, outOfPlace = [Float](repeating: .nan, count: source.count)
        inPlace.withUnsafeMutableBufferPointer { normalize($0.baseAddress!, rows: rows, mean: mean, std: std, clip: 3) }
        source.withUnsafeBufferPointer { src in
            outOfPlace.withUnsafeMutableBufferPointer {
                normalize(src.baseAddress!, into: $0.baseAddress!, rows: rows, mean: mean, std: std, clip: 3)
            }
        }
        XCTAssertEqual(inPlace, outOfPlace)
        XCTAssertEqual(inPlace[0], min(max((source[0] - 0.1) * (1 / Float(0.5)), -3), 3))
        XCTAssertEqual(inPlace[2], source[2] - 0.3)  // std ≤ 1e-8: centred only
    }
}
