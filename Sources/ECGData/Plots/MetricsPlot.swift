import Foundation
import Model

/// Curves read from a training metrics JSONL file: one JSON object per line, e.g.
/// `{"step": 10, "loss": 0.5, "lr": 1e-4, ...}` and `{"step": 100, "eval": {"<task>": {"test_auc": 0.8}}}`.
/// Unknown keys are ignored; lines without a numeric `step` (headers, config dumps) are skipped.
public struct MetricsSeries: Sendable {
    public var loss: [(step: Double, value: Double)] = []
    public var lr: [(step: Double, value: Double)] = []
    /// "<task> <key>" (keys containing "auc") -> points.
    public var eval: [String: [(step: Double, value: Double)]] = [:]
    public init() {}

    public var isEmpty: Bool { loss.isEmpty && lr.isEmpty && eval.isEmpty }

    /// Parses the file. A final line without a newline that does not parse (a run killed mid-write)
    /// is ignored; any other malformed line is an error naming the line.
    public static func read(path: String) throws -> MetricsSeries {
        let text = String(decoding: try readFileBytes(path), as: UTF8.self)
        let endsWithNewline = text.hasSuffix("\n")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var series = MetricsSeries()
        for (lineIndex, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                if lineIndex == lines.count - 1 && !endsWithNewline { continue }
                throw FileError(path, "line \(lineIndex + 1) is not valid JSON")
            }
            guard let dict = object as? [String: Any] else {
                throw FileError(path, "line \(lineIndex + 1) is not a JSON object")
            }
            guard let step = numeric(dict["step"]) else { continue }
            if let v = numeric(dict["loss"]), v.isFinite { series.loss.append((step, v)) }
            if let v = numeric(dict["lr"]), v.isFinite { series.lr.append((step, v)) }
            if let eval = dict["eval"] as? [String: Any] {
                for (task, value) in eval {
                    guard let metrics = value as? [String: Any] else { continue }
                    for (key, v) in metrics where key.lowercased().contains("auc") {
                        if let v = numeric(v), v.isFinite { series.eval["\(task) \(key)", default: []].append((step, v)) }
                    }
                }
            }
        }
        return series
    }

    /// A JSON number (not a boolean, which JSONSerialization also hands over as NSNumber).
    private static func numeric(_ any: Any?) -> Double? {
        guard let n = any as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return n.doubleValue
    }
}

public enum MetricsPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]

    /// Stacked panels sharing the step axis: training loss (log scale when it spans > 1.5 decades),
    /// learning rate, and evaluation AUCs. Panels without data are left out.
    public static func render(_ m: MetricsSeries, title: String) throws -> SVGDocument {
        guard !m.isEmpty else { throw FileError(title, "no loss, lr or eval AUC values to plot") }
        var panels: [(label: String, series: [(String, [(step: Double, value: Double)])], logY: Bool)] = []
        if !m.loss.isEmpty {
            let positive = m.loss.allSatisfy { $0.value > 0 }
            let lo = m.loss.map(\.value).min()!, hi = m.loss.map(\.value).max()!
            panels.append(("training loss", [("loss", m.loss)], positive && hi / lo > 30))
        }
        if !m.lr.isEmpty { panels.append(("learning rate", [("lr", m.lr)], false)) }
        if !m.eval.isEmpty {
            panels.append(("eval AUC", m.eval.keys.sorted().map { ($0, m.eval[$0]!) }, false))
        }
        let allSteps = panels.flatMap { $0.series.flatMap { $0.1.map(\.step) } }
        var x0 = allSteps.min()!, x1 = allSteps.max()!
        if x1 <= x0 { x0 -= 1; x1 += 1 }
        let left = 80.0, right = 240.0, top = 46.0, panelHeight = 190.0, gap = 46.0, plotWidth = 720.0
        let height = top + Double(panels.count) * (panelHeight + gap) + 10
        var doc = SVGDocument(width: left + plotWidth + right, height: height)
        doc.text(title, x: left, y: 26, size: 16, bold: true)

        for (p, panel) in panels.enumerated() {
            let frame = PlotFrame(x: left, y: top + Double(p) * (panelHeight + gap), width: plotWidth, height: panelHeight)
            drawLinePanel(into: &doc, frame: frame, label: panel.label, series: panel.series, logY: panel.logY,
                          steps: x0...x1, legendX: left + plotWidth + 12)
        }
        doc.text("step", x: left + plotWidth / 2, y: height - 6, size: 12, anchor: .middle)
        return doc
    }

    /// One framed panel of curves over `steps`: y grid and ticks (decades when `logY`), x ticks,
    /// the rotated axis label left of the frame, and a legend with each curve's last value at
    /// `legendX` (curves in palette order). Shared by the metrics plot and the comparison figure.
    static func drawLinePanel(into doc: inout SVGDocument, frame: PlotFrame, label: String,
                              series: [(String, [(step: Double, value: Double)])], logY: Bool,
                              steps: ClosedRange<Double>, legendX: Double) {
        let x0 = steps.lowerBound, x1 = steps.upperBound
        func px(_ step: Double) -> Double { frame.x + (step - x0) / (x1 - x0) * frame.width }
        let values = series.flatMap { $0.1.map(\.value) }
        guard var lo = values.min(), var hi = values.max() else { return }
        let transform: (Double) -> Double = logY ? { log10($0) } : { $0 }
        lo = transform(lo); hi = transform(hi)
        if hi <= lo { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.05
        lo -= pad; hi += pad
        let y0 = frame.y, panelHeight = frame.height
        func py(_ v: Double) -> Double { y0 + panelHeight - (transform(v) - lo) / (hi - lo) * panelHeight }
        doc.rect(x: frame.x, y: y0, width: frame.width, height: panelHeight, fill: "#ffffff", stroke: "#444444")
        // y ticks: decades on a log axis, nice numbers otherwise.
        let yTicks: [Double] = logY ? niceTicks(lo, hi, target: 4).map { pow(10, $0) } : niceTicks(lo, hi, target: 5)
        for v in yTicks {
            let y = py(v)
            guard y >= y0 - 0.5 && y <= y0 + panelHeight + 0.5 else { continue }
            doc.line(frame.x, y, frame.x + frame.width, y, stroke: "#e3e3e3")
            doc.text(tickLabel(v), x: frame.x - 6, y: y + 4, size: 11, anchor: .end)
        }
        for s in niceTicks(x0, x1, target: max(2, Int(frame.width / 90))) {
            doc.line(px(s), y0, px(s), y0 + panelHeight, stroke: "#eeeeee")
            doc.text(tickLabel(s), x: px(s), y: y0 + panelHeight + 15, size: 11, anchor: .middle)
        }
        doc.text(label + (logY ? " (log)" : ""), x: frame.x - 58, y: y0 + panelHeight / 2, size: 12,
                 anchor: .middle, rotate: -90)
        for (k, (name, points)) in series.enumerated() {
            let color = palette[k % palette.count]
            let sorted = downsample(points.sorted { $0.step < $1.step }, maxPoints: Int(frame.width) * 2)
            doc.polyline(sorted.map { (px($0.step), py($0.value)) }, stroke: color, width: 1.4)
            if sorted.count <= 60 {
                for q in sorted { doc.rect(x: px(q.step) - 2, y: py(q.value) - 2, width: 4, height: 4, fill: color) }
            }
            let ly = y0 + 14 + Double(k) * 17
            doc.line(legendX, ly - 4, legendX + 20, ly - 4, stroke: color, width: 2.5)
            let last = sorted.last.map { " " + String(format: "%.4g", $0.value) } ?? ""
            doc.text(name + last, x: legendX + 25, y: ly, size: 11)
        }
    }

    /// Averages consecutive points into at most `maxPoints` buckets (long runs log every step).
    static func downsample(_ p: [(step: Double, value: Double)], maxPoints: Int) -> [(step: Double, value: Double)] {
        guard p.count > maxPoints, maxPoints > 0 else { return p }
        let per = (p.count + maxPoints - 1) / maxPoints
        return stride(from: 0, to: p.count, by: per).map { i in
            let chunk = p[i..<min(p.count, i + per)]
            return (chunk.map(\.step).reduce(0, +) / Double(chunk.count), chunk.map(\.value).reduce(0, +) / Double(chunk.count))
        }
    }
}
