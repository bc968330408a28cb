import Foundation
import Model

/// One group of bars, e.g. the test AUC of task "synth" for the pre-trained and the random-init
/// encoder; a nil mean is drawn as "n/a" (no bar), a spread as an error bar.
public struct BarGroup: Sendable, Equatable {
    public var label: String
    public var values: [(mean: Double?, spread: Double?)]
    public init(label: String, values: [(mean: Double?, spread: Double?)]) {
        self.label = label
        self.values = values
    }
    public static func == (a: BarGroup, b: BarGroup) -> Bool {
        a.label == b.label && a.values.map(\.mean) == b.values.map(\.mean) && a.values.map(\.spread) == b.values.map(\.spread)
    }
}

/// The demo's one-look figure: the pre-training loss curve (left, when a metrics file is given)
/// next to grouped bars of test macro AUC per task (right), pre-trained vs random init.
public enum ComparisonPlot {
    /// Bar colours per series, in the order of `seriesNames` (blue = pre-trained, grey = baseline).
    static let barColors = ["#1f77b4", "#9a9a9a", "#2ca02c", "#ff7f0e"]

    public static func render(title: String, subtitle: String, loss: MetricsSeries?, seriesNames: [String],
                              groups: [BarGroup]) throws -> SVGDocument {
        guard !groups.isEmpty else { throw FileError(title, "no AUC rows to plot") }
        guard groups.allSatisfy({ $0.values.count == seriesNames.count }) else {
            throw FileError(title, "every bar group needs one value per series (\(seriesNames.joined(separator: ", ")))")
        }
        let hasLoss = !(loss?.loss.isEmpty ?? true)
        let top = 64.0, height = 300.0, left = 80.0, gap = 110.0
        let lossWidth = hasLoss ? 420.0 : 0
        let groupWidth = 34.0 * Double(seriesNames.count) + 30
        let barsWidth = max(260, groupWidth * Double(groups.count))
        let barsX = left + (hasLoss ? lossWidth + gap : 0)
        let legendWidth = 200.0
        var doc = SVGDocument(width: barsX + barsWidth + legendWidth, height: top + height + 60)
        doc.text(title, x: left, y: 26, size: 16, bold: true)
        doc.text(subtitle, x: left, y: 46, size: 12, color: "#555555")

        if let loss, hasLoss {
            let steps = loss.loss.map(\.step)
            var x0 = steps.min()!, x1 = steps.max()!
            if x1 <= x0 { x0 -= 1; x1 += 1 }
            let frame = PlotFrame(x: left, y: top, width: lossWidth, height: height)
            MetricsPlot.drawLinePanel(into: &doc, frame: frame, label: "pre-training loss", series: [("loss", loss.loss)],
                                      logY: false, steps: x0...x1, legendX: left + 8)
            doc.text("pre-training step", x: left + lossWidth / 2, y: top + height + 36, size: 12, anchor: .middle)
        }
        drawBars(into: &doc, frame: PlotFrame(x: barsX, y: top, width: barsWidth, height: height),
                 seriesNames: seriesNames, groups: groups, legendX: barsX + barsWidth + 14)
        return doc
    }

    /// The AUC axis starts at chance (0.5), or lower in steps of 0.1 when a value is below it, so
    /// that differences of a few hundredths stay visible; it ends at 1.
    static func axisFloor(_ groups: [BarGroup]) -> Double {
        let lowest = groups.flatMap { $0.values.compactMap { v in v.mean.map { $0 - (v.spread ?? 0) } } }.min() ?? 0.5
        return max(0, min(0.5, (lowest * 10).rounded(.down) / 10))
    }

    /// Grouped vertical bars on an AUC axis from `axisFloor` to 1, a dashed line at chance (0.5),
    /// the value above each bar, an error bar of ± spread where given, and the difference of the
    /// first two series above each group.
    static func drawBars(into doc: inout SVGDocument, frame: PlotFrame, seriesNames: [String], groups: [BarGroup],
                         legendX: Double) {
        let floor = axisFloor(groups)
        func py(_ v: Double) -> Double { frame.y + frame.height - (min(1, max(floor, v)) - floor) / (1 - floor) * frame.height }
        doc.rect(x: frame.x, y: frame.y, width: frame.width, height: frame.height, fill: "#ffffff", stroke: "#444444")
        for v in niceTicks(floor, 1, target: 5) {
            doc.line(frame.x, py(v), frame.x + frame.width, py(v), stroke: "#e3e3e3")
            doc.text(tickLabel(v), x: frame.x - 6, y: py(v) + 4, size: 11, anchor: .end)
        }
        doc.line(frame.x, py(0.5), frame.x + frame.width, py(0.5), stroke: "#888888", dash: "4 3")
        doc.text("chance", x: frame.x + frame.width - 4, y: py(0.5) - 4, size: 10, anchor: .end, color: "#888888")
        doc.text("test macro AUC", x: frame.x - 58, y: frame.y + frame.height / 2, size: 12, anchor: .middle, rotate: -90)
        let slot = frame.width / Double(groups.count)
        let barWidth = min(34, (slot - 20) / Double(seriesNames.count))
        for (g, group) in groups.enumerated() {
            let center = frame.x + slot * (Double(g) + 0.5)
            let start = center - barWidth * Double(seriesNames.count) / 2
            for (k, value) in group.values.enumerated() {
                let x = start + barWidth * Double(k)
                let color = barColors[k % barColors.count]
                guard let mean = value.mean else {
                    doc.text("n/a", x: x + barWidth / 2, y: py(floor) - 6, size: 10, anchor: .middle, color: color)
                    continue
                }
                doc.rect(x: x + 2, y: py(mean), width: barWidth - 4, height: py(floor) - py(mean), fill: color)
                var labelY = py(mean) - 5
                if let spread = value.spread, spread > 0 {
                    let cx = x + barWidth / 2
                    doc.line(cx, py(mean - spread), cx, py(mean + spread), stroke: "#222222")
                    doc.line(cx - 4, py(mean + spread), cx + 4, py(mean + spread), stroke: "#222222")
                    doc.line(cx - 4, py(mean - spread), cx + 4, py(mean - spread), stroke: "#222222")
                    labelY = min(labelY, py(mean + spread) - 5)
                }
                doc.text(String(format: "%.3f", mean), x: x + barWidth / 2, y: labelY, size: 10, anchor: .middle)
            }
            doc.text(group.label, x: center, y: frame.y + frame.height + 16, size: 11, anchor: .middle)
            if group.values.count >= 2, let a = group.values[0].mean, let b = group.values[1].mean {
                doc.text(String(format: "%@%.3f", a - b < 0 ? "−" : "+", abs(a - b)), x: center,
                         y: frame.y + frame.height + 32, size: 11, anchor: .middle, bold: true)
            }
        }
        for (k, name) in seriesNames.enumerated() {
            let ly = frame.y + 14 + Double(k) * 18
            doc.rect(x: legendX, y: ly - 10, width: 14, height: 12, fill: barColors[k % barColors.count])
            doc.text(name, x: legendX + 20, y: ly, size: 11)
        }
        if seriesNames.count >= 2 {
            let ly = frame.y + 14 + Double(seriesNames.count) * 18 + 6
            doc.text("under a group:", x: legendX, y: ly, size: 11, color: "#555555")
            doc.text("\(seriesNames[0]) − \(seriesNames[1])", x: legendX, y: ly + 15, size: 11, color: "#555555")
        }
    }
}
