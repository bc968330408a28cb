import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import ECGData
import Model

/// SVG plots: the metrics JSONL parser and the 12-lead record plot.
final class PlotSVGTests: TemporaryDirectoryTestCase {
    var dir: String { directory }

    /// Parses the SVG as XML and returns (element name, attributes) of every element.
    func elements(_ svg: String) throws -> [(String, [String: String])] {
        final class Collector: NSObject, XMLParserDelegate {
            var items: [(String, [String: String])] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) { items.append((name, attributes)) }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed XML: \(String(describing: parser.parserError))")
        return collector.items
    }

    func testMetricsParserIsTolerantAndPlotsEverySeries() throws {
        let path = dir + "/metrics.jsonl"
        let lines = [
            #"{"config": {"model": "vit-xs"}}"#,                           // no step: skipped
            #"{"step": 0, "loss": 1.2, "lr": 0.0, "tokens": 5}"#,
            #"{"step": 10, "loss": 0.9, "lr": 1e-4, "grad_norm": 3.1}"#,
            #"{"step": 20, "loss": 0.7, "lr": 2e-4}"#,
            #"{"step": 20, "eval": {"superdiagnostic": {"test_auc": 0.71, "val_auc": 0.7, "loss": 0.3}, "rhythm": {"test_auc": 0.8}}}"#,
            "",
            #"{"step": 40, "eval": {"superdiagnostic": {"test_auc": 0.75}}, "done": true}"#,
            #"{"step": 30, "loss": 0.6, "lr"#,                               // truncated final line
        ]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let m = try MetricsSeries.read(path: path)
        XCTAssertEqual(m.loss.map(\.step), [0, 10, 20])
        XCTAssertEqual(m.loss.map(\.value), [1.2, 0.9, 0.7])
        XCTAssertEqual(m.lr.map(\.value), [0, 1e-4, 2e-4])
        XCTAssertEqual(Set(m.eval.keys), ["superdiagnostic test_auc", "superdiagnostic val_auc", "rhythm test_auc"])
        XCTAssertEqual(m.eval["superdiagnostic test_auc"]!.map(\.value), [0.71, 0.75])

        let svg = try MetricsPlot.render(m, title: "run").svg
        let items = try elements(svg)
        // Lines for series with two or more points (loss, lr, superdiagnostic test_auc); a marker
        // for every point (3 loss + 3 lr + 2 + 1 + 1 eval), so one-point AUC curves still show.
        XCTAssertEqual(items.filter { $0.0 == "polyline" }.count, 3)
        XCTAssertEqual(items.filter { $0.0 == "rect" && $0.1["width"] == "4" }.count, 10)
        XCTAssertTrue(svg.contains("rhythm test_auc"))
    }

    func testMetricsParserNamesBadLine() throws {
        let path = dir + "/bad.jsonl"
        try "{\"step\": 1, \"loss\": 1}\nnot json\n{\"step\": 2, \"loss\": 0.5}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MetricsSeries.read(path: path)) { error in
            XCTAssertTrue("\(error)".contains("line 2") && "\(error)".contains(path), "\(error)")
        }
        XCTAssertThrowsError(try MetricsSeries.read(path: dir + "/missing.jsonl")) { error in
            XCTAssertTrue("\(error)".contains("missing.jsonl"), "\(error)")
        }
        XCTAssertThrowsError(try MetricsPlot.render(MetricsSeries(), title: "empty"))
    }

    func testRecordPlotDrawsTwelveLeadsAtPaperScale() throws {
        let (signal, _) = ECGSynthesizer(seed: 5).generate(index: 2)
        let doc = try ECGRecordPlot.render(signal: signal, sampleRate: 500, leadNames: LeadVectors.leadNames,
                                           title: "synth/5/2", subtitle: "SR")
        let items = try elements(doc.svg)
        let texts = doc.svg.components(separatedBy: "</text>").count - 1
        XCTAssertGreaterThanOrEqual(texts, 12 + 1 + 2)
        for name in LeadVectors.leadNames { XCTAssertTrue(doc.svg.contains(">\(name)<"), name) }
        // 12 lead cells + rhythm strip + 4 calibration pulses.
        let polylines = items.filter { $0.0 == "polyline" }.map { $0.1["points"]! }
        XCTAssertEqual(polylines.count, 12 + 1 + 4)
        // The rhythm strip (the last trace) spans 10 s at 25 mm/s * 4 px/mm = 1000 px and its vertical
        // extent is lead II's range at 10 mm/mV * 4 px/mm = 40 px/mV.
        let strip = polylines.last!.split(separator: " ").map { $0.split(separator: ",").map { Double($0)! } }
        let xs = strip.map { $0[0] }, ys = strip.map { $0[1] }
        XCTAssertEqual(xs.max()! - xs.min()!, 1000, accuracy: 1)
        let lead2 = ECGMeasurements.lead(signal, 1)
        XCTAssertEqual(ys.max()! - ys.min()!, Double(lead2.max()! - lead2.min()!) * 40, accuracy: 0.3)
        // Calibration pulse: 1 mV = 40 px.
        let pulse = polylines[0].split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        XCTAssertEqual(pulse.max()! - pulse.min()!, 40, accuracy: 0.01)

        XCTAssertThrowsError(try ECGRecordPlot.render(signal: [Float](repeating: 0, count: 30), leads: 3, sampleRate: 500,
                                                      leadNames: ["a", "b", "c"], title: "x"))
    }

    func testNiceTicks() {
        XCTAssertEqual(niceTicks(0, 1, target: 5), [0, 0.2, 0.4, 0.6, 0.8, 1.0].map { $0 }, accuracy: 1e-12)
        XCTAssertEqual(niceTicks(3, 97, target: 4), [20, 40, 60, 80], accuracy: 1e-12)
        XCTAssertEqual(tickLabel(0.0001), "1e-04")
        XCTAssertEqual(tickLabel(250), "250")
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
