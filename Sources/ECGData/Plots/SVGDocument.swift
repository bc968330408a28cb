import Foundation
import Model

// A minimal SVG writer: the plots only need lines, polylines, rectangles, text and one pattern.
// Coordinates are in pixels; numbers are written with one decimal to keep files small.

public struct SVGDocument {
    public let width: Double
    public let height: Double
    private var defs: [String] = []
    private var body: [String] = []

    public init(width: Double, height: Double, background: String = "#ffffff") {
        self.width = width
        self.height = height
        rect(x: 0, y: 0, width: width, height: height, fill: background)
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                              stroke: String? = nil, strokeWidth: Double = 1) {
        var s = "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(f(strokeWidth))\"" }
        body.append(s + "/>")
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                              width: Double = 1, dash: String? = nil) {
        var s = "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        body.append(s + "/>")
    }

    /// An open polyline; non-finite points break the line into separate segments.
    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1) {
        var segment: [String] = []
        func emit() {
            if segment.count > 1 {
                body.append("<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\" stroke-linejoin=\"round\" points=\"\(segment.joined(separator: " "))\"/>")
            }
            segment.removeAll(keepingCapacity: true)
        }
        for (x, y) in points {
            if x.isFinite && y.isFinite { segment.append("\(f(x)),\(f(y))") } else { emit() }
        }
        emit()
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              color: String = "#222222", bold: Bool = false, rotate: Double? = nil) {
        var s = "<text x=\"\(f(x))\" y=\"\(f(y))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"\(f(size))\" fill=\"\(color)\" text-anchor=\"\(anchor.rawValue)\""
        if bold { s += " font-weight=\"bold\"" }
        if let rotate { s += " transform=\"rotate(\(f(rotate)) \(f(x)) \(f(y)))\"" }
        body.append(s + ">\(SVGDocument.escape(string))</text>")
    }

    /// A square grid pattern (ECG paper): minor lines every `minor` px, major every `minor * 5`.
    public mutating func definePaperPattern(id: String, minor: Double, minorColor: String, majorColor: String) {
        let major = minor * 5
        // Minor lines first so the major lines (at 0) are drawn on top of them.
        var lines: [String] = []
        for k in [1, 2, 3, 4, 0] {
            let p = Double(k) * minor
            let color = k == 0 ? majorColor : minorColor, w = k == 0 ? 1.0 : 0.5
            lines.append("<line x1=\"\(f(p))\" y1=\"0\" x2=\"\(f(p))\" y2=\"\(f(major))\" stroke=\"\(color)\" stroke-width=\"\(f(w))\"/>")
            lines.append("<line x1=\"0\" y1=\"\(f(p))\" x2=\"\(f(major))\" y2=\"\(f(p))\" stroke=\"\(color)\" stroke-width=\"\(f(w))\"/>")
        }
        defs.append("<pattern id=\"\(id)\" width=\"\(f(major))\" height=\"\(f(major))\" patternUnits=\"userSpaceOnUse\">\(lines.joined())</pattern>")
    }

    public mutating func fillWithPattern(id: String, x: Double, y: Double, width: Double, height: Double) {
        body.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"url(#\(id))\"/>")
    }

    public var svg: String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\">\n"
        if !defs.isEmpty { out += "<defs>\n" + defs.joined(separator: "\n") + "\n</defs>\n" }
        out += body.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }

    /// Writes the document; errors name the file.
    public func write(to path: String) throws { try AtomicFile.write(svg, to: path) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// One decimal, no trailing ".0", no "-0".
    func f(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        if r == r.rounded() { return String(Int(r)) }
        return String(format: "%.1f", r)
    }
}

/// "Nice" axis ticks (1, 2, 5 x 10^k steps) covering [lo, hi].
public func niceTicks(_ lo: Double, _ hi: Double, target: Int = 5) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return lo.isFinite ? [lo] : [] }
    let raw = (hi - lo) / Double(max(1, target))
    let magnitude = pow(10, floor(log10(raw)))
    // The 1-2-5 step closest (in ratio) to the raw step.
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.min { abs(log($0 / raw)) < abs(log($1 / raw)) }!
    var ticks: [Double] = []
    var t = (lo / step).rounded(.up) * step
    while t <= hi + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
    return ticks
}

/// Short tick label: plain for ordinary magnitudes, exponent form for tiny or huge ones.
public func tickLabel(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v) }
    if v == v.rounded() { return String(Int(v)) }
    var s = String(format: "%.4f", v)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }   // a tick a rounding error away from a whole number
    return s
}

/// A plot area in pixels (top-left corner and size).
public struct PlotFrame: Sendable, Equatable {
    public var x, y, width, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}
