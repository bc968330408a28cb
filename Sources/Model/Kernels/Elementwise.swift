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
