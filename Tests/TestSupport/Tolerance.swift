import XCTest

// Comparisons for results whose last bits depend on summation order: OpenBLAS picks a different
// kernel (and blocking) per CPU core type, and the engine's thread split and sample tiles reorder
// sums too. An absolute tolerance then fails on large values and hides errors on small ones, so
// every such comparison is relative to the size of what is compared.

/// The root mean square of `values`: the scale an element-wise error is measured against, so that
/// entries close to zero in an array of size-17 values are not held to 17 × tighter bounds.
public func rootMeanSquare(_ values: [Float]) -> Float {
    guard !values.isEmpty else { return 0 }
    let sum = values.reduce(0.0) { $0 + Double($1) * Double($1) }
    return Float((sum / Double(values.count)).squareRoot())
}

/// Asserts |actual[i] − expected[i]| ≤ rtol · (|expected[i]| + rms(expected)) for every i, and
/// reports only the worst element (a loop of XCTAssertEqual would print thousands of lines).
public func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float, _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) != \(expected.count) \(message())", file: file, line: line)
        return
    }
    let scale = rootMeanSquare(expected)
    var worst = -1, worstRatio: Float = 0
    for i in expected.indices {
        let bound = rtol * (abs(expected[i]) + scale)
        let error = abs(actual[i] - expected[i])
        // `!(error <= bound)` also catches NaN.
        if !(error <= bound), error.isNaN || error / max(bound, .leastNormalMagnitude) > worstRatio {
            worst = i
            worstRatio = error.isNaN ? .infinity : error / max(bound, .leastNormalMagnitude)
        }
    }
    if worst >= 0 {
        XCTFail("element \(worst): \(actual[worst]) vs \(expected[worst]) differs by \(abs(actual[worst] - expected[worst])), "
                + "\(worstRatio)× the bound rtol \(rtol) · (|expected| + rms \(scale)) \(message())", file: file, line: line)
    }
}

/// Scalar form: |actual − expected| ≤ rtol · max(|expected|, floor).
public func assertClose(_ actual: Float, _ expected: Float, rtol: Float, floor: Float = 1, _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    let bound = rtol * max(abs(expected), floor)
    XCTAssert(abs(actual - expected) <= bound,
              "\(actual) vs \(expected) differs by \(abs(actual - expected)) > \(bound) (rtol \(rtol)) \(message())", file: file, line: line)
}
