// LayerNorm over the last dimension (eps 1e-6, weight + bias), forward and backward side by side.
// Row statistics are saved in forward so backward does not recompute them.

let layerNormEpsilon: Float = 1e-6

/// out[r] = (x[r] - mean) · rstd · w + b for each of `rows` rows of length `dim`.
/// Rows are addressed with strides so callers can normalize a subset of a token matrix in place.
func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                      rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, dim: Int) {
    let vectorEnd = dim / 16 * 16
    for r in 0..<rows {
        let xr = x + r * dim, yr = out + r * dim
        var s = F16(), s2 = F16()
        var i = 0
        while i < vectorEnd { let v = load16(xr + i); s += v; s2 += v * v; i += 16 }
        var sum = hsum(s), sumSq = hsum(s2)
        while i < dim { sum += xr[i]; sumSq += xr[i] * xr[i]; i += 1 }
        let m = sum / Float(dim)
        // Two-pass variance would be more robust; activations here are O(1), so E[x²]-m² in
        // Float is accurate enough, but clamp tiny negative values from cancellation.
        var variance = sumSq / Float(dim) - m * m
        if variance < 0 { variance = 0 }
        let rs = 1 / (variance + layerNormEpsilon).squareRoot()
        mean[r] = m; rstd[r] = rs
        i = 0
        while i < vectorEnd {
            store16((load16(xr + i) - m) * rs * load16(weight + i) + load16(bias + i), yr + i); i += 16
        }
        while i < dim { yr[i] = (xr[i] - m) * rs * weight[i] + bias[i]; i += 1 }
    }
}

/// dx (+)= LayerNorm backward; dw += Σ dy·x̂; db += Σ dy.
func layerNormBackward(dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                       dBias: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, x: UnsafePointer<Float>,
                       mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                       rows: Int, dim: Int, accumulate: Bool) {
    let vectorEnd = dim / 16 * 16
    for r in 0..<rows {
        let xr = x + r * dim, dyr = dOut + r * dim, dxr = dx + r * dim
        let m = mean[r], rs = rstd[r]
        // Pass 1: the two row means the LN gradient needs, plus the parameter gradients.
        var sA = F16(), sB = F16()
        var i = 0
        while i < vectorEnd {
            let xhat = (load16(xr + i) - m) * rs
            let dy = load16(dyr + i)
            let dxhat = dy * load16(weight + i)
            sA += dxhat; sB += dxhat * xhat
            store16(load16(dWeight + i) + dy * xhat, dWeight + i)
            store16(load16(dBias + i) + dy, dBias + i)
            i += 16
        }
        var meanD = hsum(sA), meanDX = hsum(sB)
        while i < dim {
            let xhat = (xr[i] - m) * rs, dy = dyr[i], dxhat = dy * weight[i]
            meanD += dxhat; meanDX += dxhat * xhat
            dWeight[i] += dy * xhat; dBias[i] += dy
            i += 1
        }
        meanD /= Float(dim); meanDX /= Float(dim)
        // Pass 2: dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)).
        i = 0
        while i < vectorEnd {
            let xhat = (load16(xr + i) - m) * rs
            var g = (load16(dyr + i) * load16(weight + i) - meanD - xhat * meanDX) * rs
            if accumulate { g += load16(dxr + i) }
            store16(g, dxr + i)
            i += 16
        }
        while i < dim {
            let xhat = (xr[i] - m) * rs
            let g = (dyr[i] * weight[i] - meanD - xhat * meanDX) * rs
            dxr[i] = accumulate ? dxr[i] + g : g
            i += 1
        }
    }
}
