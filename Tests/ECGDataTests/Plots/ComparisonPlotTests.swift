import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import ECGData
import Model

/// The demo's figure: loss curve + test-AUC bars, pre-trained vs random init.
extension PlotSVGTests {
    func testComparisonFigureHasOneBarPerDefinedValue() throws {
        var loss = MetricsSeries()
        loss.loss = [(0, 0.7), (100, 0.5), (200, 0.55)]
        let groups = [
            BarGroup(label: "synth", values: [(0.9, 0.01), (0.8, 0.02)]),
            BarGroup(label: "rhythm", values: [(0.7, nil), (nil, nil)]),
        ]
        let svg = try ComparisonPlot.render(title: "t", subtitle: "s", loss: loss, seriesNames: ["pre-trained", "random init"],
                                            groups: groups).svg
        let items = try elements(svg)
        let bars = items.filter { $0.0 == "rect" && $0.1["width"] == "30" }
        XCTAssertEqual(bars.map { $0.1["fill"] }, ["#1f77b4", "#9a9a9a", "#1f77b4"], "3 defined values, the n/a one has no bar")
        // Bar heights follow the values on the 0.5–1 axis: 0.9 is (0.9 − 0.5) / (0.8 − 0.5) = 4/3 of 0.8.
        let heights = bars.map { Double($0.1["height"]!)! }
        XCTAssertEqual(heights[0] / heights[1], 4.0 / 3, accuracy: 0.01)
        XCTAssertEqual(items.filter { $0.0 == "polyline" }.count, 1, "the loss curve")
        XCTAssertTrue(svg.contains(">n/a</text>"))
        XCTAssertTrue(svg.contains(">+0.100</text>"), "difference under the group")
        XCTAssertTrue(svg.contains(">0.900</text>") && svg.contains(">0.800</text>"))
        // Whiskers only where a spread is given: 3 lines per whisker, 2 whiskers.
        let whiskers = items.filter { $0.0 == "line" && $0.1["stroke"] == "#222222" }
        XCTAssertEqual(whiskers.count, 6)
    }

    func testComparisonAxisGoesBelowChanceOnlyWhenNeeded() throws {
        XCTAssertEqual(ComparisonPlot.axisFloor([BarGroup(label: "a", values: [(0.83, 0.01), (0.7, nil)])]), 0.5)
        XCTAssertEqual(ComparisonPlot.axisFloor([BarGroup(label: "a", values: [(0.1667, nil), (nil, nil)])]), 0.1, accuracy: 1e-12)
        XCTAssertThrowsError(try ComparisonPlot.render(title: "t", subtitle: "", loss: nil, seriesNames: ["a", "b"],
                                                       groups: [BarGroup(label: "x", values: [(0.5, nil)])]))
        let svg = try ComparisonPlot.render(title: "t", subtitle: "", loss: nil, seriesNames: ["a", "b"],
                                            groups: [BarGroup(label: "x", values: [(0.6, nil), (0.7, nil)])]).svg
        XCTAssertEqual(try elements(svg).filter { $0.0 == "polyline" }.count, 0, "no loss panel without metrics")
        XCTAssertEqual(tickLabel(1.0000000000000002), "1")
    }
}
