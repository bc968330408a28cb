import Model
// A 12-lead ECG on ECG paper, laid out like a clinical printout: 25 mm/s, 10 mm/mV, four columns of
// 2.5 s (I II III | aVR aVL aVF | V1 V2 V3 | V4 V5 V6) and a 10-s lead II rhythm strip, with a 1 mV
// calibration pulse at the start of every row.

public enum ECGRecordPlot {
    static let pxPerMM = 4.0
    static let mmPerSecond = 25.0
    static let mmPerMillivolt = 10.0

    /// `signal` is (samples x leads) row-major in mV, leads in corpus order (I, II, III, aVR, aVL,
    /// aVF, V1..V6). Throws if the shape is not 12 leads.
    public static func render(signal: [Float], leads: Int = 12, sampleRate: Int, leadNames: [String],
                              title: String, subtitle: String = "") throws -> SVGDocument {
        guard leads == 12, leadNames.count == 12, signal.count % 12 == 0, sampleRate > 0 else {
            throw FileError(title, "record plot needs 12 leads (got \(leads) leads, \(leadNames.count) names)")
        }
        let samples = signal.count / 12
        let seconds = Double(samples) / Double(sampleRate)
        let mm = pxPerMM
        let left = 14 * mm, top = 14 * mm, rowHeight = 30 * mm, baselineInRow = 18 * mm
        let stripWidth = seconds * mmPerSecond * mm
        let width = left + stripWidth + 4 * mm, height = top + 4 * rowHeight + 4 * mm
        var doc = SVGDocument(width: width, height: height)
        doc.definePaperPattern(id: "paper", minor: mm, minorColor: "#f6c9c9", majorColor: "#e89a9a")
        doc.fillWithPattern(id: "paper", x: left - 10 * mm, y: top, width: stripWidth + 10 * mm, height: 4 * rowHeight)
        doc.text(title, x: left - 10 * mm, y: 6 * mm, size: 15, bold: true)
        let scaleNote = "25 mm/s   10 mm/mV   \(sampleRate) Hz"
        doc.text(subtitle.isEmpty ? scaleNote : "\(subtitle)   ·   \(scaleNote)", x: left - 10 * mm, y: 11 * mm, size: 11, color: "#555555")

        let pxPerSample = mmPerSecond * mm / Double(sampleRate)
        let pxPerMV = mmPerMillivolt * mm
        func trace(lead: Int, from: Int, to: Int, x0: Double, baseline: Double) {
            // Min and max of each pixel column (in sample order) keep QRS peaks at any zoom.
            var points: [(Double, Double)] = []
            let perColumn = max(1, Int(1 / pxPerSample))
            var s = from
            while s < to {
                let e = min(to, s + perColumn)
                var lo = s, hi = s
                for k in s..<e {
                    if signal[k * 12 + lead] < signal[lo * 12 + lead] { lo = k }
                    if signal[k * 12 + lead] > signal[hi * 12 + lead] { hi = k }
                }
                let order = lo == hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]
                for k in order {
                    points.append((x0 + Double(k - from) * pxPerSample, baseline - Double(signal[k * 12 + lead]) * pxPerMV))
                }
                s = e
            }
            doc.polyline(points, stroke: "#111111", width: 1.1)
        }
        func calibration(baseline: Double) {
            let x = left - 8 * mm, w = 5 * mm
            doc.polyline([(x - 1 * mm, baseline), (x, baseline), (x, baseline - pxPerMV), (x + w, baseline - pxPerMV),
                          (x + w, baseline), (x + w + 1 * mm, baseline)], stroke: "#111111", width: 1.1)
        }

        let columnSamples = samples / 4
        for row in 0..<3 {
            let baseline = top + Double(row) * rowHeight + baselineInRow
            calibration(baseline: baseline)
            for column in 0..<4 {
                let lead = column * 3 + row
                let from = column * columnSamples, to = column == 3 ? samples : (column + 1) * columnSamples
                let x0 = left + Double(from) * pxPerSample
                trace(lead: lead, from: from, to: to, x0: x0, baseline: baseline)
                doc.text(leadNames[lead], x: x0 + 1.5 * mm, y: baseline - 11 * mm, size: 13, bold: true)
                if column > 0 {
                    doc.line(x0, baseline - 4 * mm, x0, baseline + 4 * mm, stroke: "#111111", width: 1.2)
                }
            }
        }
        let stripBaseline = top + 3 * rowHeight + baselineInRow
        calibration(baseline: stripBaseline)
        trace(lead: 1, from: 0, to: samples, x0: left, baseline: stripBaseline)
        doc.text("\(leadNames[1]) (rhythm)", x: left + 1.5 * mm, y: stripBaseline - 11 * mm, size: 13, bold: true)
        return doc
    }
}
