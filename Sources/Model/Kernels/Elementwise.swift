import Foundation

// Small helpers shared by the encoder and predictor: fixed positional tables, row gathers.

/// 1-D sin-cos positional embedding as in MAE / I-JEPA: for position p and i < dim/2,
/// ω_i = 1 / 10000^(2i/dim); row p = [sin(p·ω_0..), cos(p·ω_0..)]. Computed in Double.
func sinCosPositionTable(positions: Int, dim: Int) -> [Float] {
    precondition(dim % 2 == 0, "positional embedding dim must be even")
    let half = dim / 2
    var table = [Float](repeating: 0, count: positions * dim)
    for p in 0..<positions {
        for i in 0..<half {
            let omega = 1.0 / pow(10000.0, Double(i) / Double(half))
            let angle = Double(p) * omega
            table[p * dim + i] = Float(sin(angle))
            table[p * dim + half + i] = Float(cos(angle))
        }
    }
    return table
}

/// Fixed sin-cos tables of one width, built once per patch count and kept (eval crops and
/// pre-training crops have different token counts).
final class PositionTableCache {
    let dim: Int
    private var tables: [Int: FloatBuffer] = [:]   // by patch count

    init(dim: Int) { self.dim = dim }

    func table(patches n: Int) -> UnsafePointer<Float> {
        if let table = tables[n] { return UnsafePointer(table.pointer) }
        let values = sinCosPositionTable(positions: n, dim: dim)
        let table = FloatBuffer(capacity: values.count)
        table.pointer.update(from: values, count: values.count)
        tables[n] = table
        return UnsafePointer(table.pointer)
    }
}

/// dst[i] = src[i] + add[i].
@inline(__always)
func addRows(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ add: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = src[i] + add[i] }
}

/// dst[i] += src[i].
@inline(__always)
func accumulate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] += src[i] }
}

/// dst[i] += src[i], then src[i] = 0: a reduction that leaves its source ready to accumulate into
/// again, while the source's lines are still in cache (no separate zeroing pass later).
@inline(__always)
func accumulateAndClear(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] += src[i]; src[i] = 0 }
}
