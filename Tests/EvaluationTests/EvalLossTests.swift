import XCTest
import ECGData
@testable import Evaluation

/// BCE-with-logits: values against the naive formula, stability at extreme logits, and gradient
/// against central differences in Double.
final class EvalLossTests: XCTestCase {
    func testMatchesNaiveFormulaAndIsStable() {
        let logits: [Float] = [-3, -0.5, 0, 0.7, 4, 1000, -1000, 25]
        let targets: [UInt8] = [0, 1, 1, 0, 1, 1, 0, 0]
        var grad = [Float](repeating: .nan, count: logits.count)
        let loss = bceWithLogits(logits: logits, targets: targets, count: logits.count, dLogits: &grad)
        var expected = 0.0
        for (x, y) in zip(logits, targets) {
            let xd = Double(x), yd = Double(y)
            // log σ(x) and log(1-σ(x)) written safely for the huge test values
            let logSig = xd >= 0 ? -log1p(exp(-xd)) : xd - log1p(exp(xd))
            let logOneMinus = logSig - xd
            expected += -(yd * logSig + (1 - yd) * logOneMinus)
        }
        expected /= Double(logits.count)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5)
        XCTAssertTrue(grad.allSatisfy { $0.isFinite })
        for (i, (x, y)) in zip(logits, targets).enumerated() {
            let sig = 1 / (1 + exp(-Double(x)))
            XCTAssertEqual(Double(grad[i]), (sig - Double(y)) / Double(logits.count), accuracy: 1e-7)
        }
    }

    func testGradientMatchesFiniteDifferences() {
        let logits: [Float] = [-1.3, 0.2, 2.1, -0.4]
        let targets: [UInt8] = [1, 0, 1, 0]
        var grad = [Float](repeating: 0, count: 4)
        bceWithLogits(logits: logits, targets: targets, count: 4, dLogits: &grad)
        for i in 0..<4 {
            let h: Float = 1e-2
            var plus = logits, minus = logits
            plus[i] += h; minus[i] -= h
            let numeric = (bceWithLogits(logits: plus, targets: targets, count: 4)
                           - bceWithLogits(logits: minus, targets: targets, count: 4)) / (2 * h)
            XCTAssertEqual(grad[i], numeric, accuracy: 2e-4 * max(1, abs(numeric)))
        }
    }
}
