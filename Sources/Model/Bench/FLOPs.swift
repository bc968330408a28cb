// Analytic FLOP counts (2·m·n·k per matmul, attention included; elementwise work not counted),
// used by `ecg-dist bench` to turn step times into GFLOP/s.

public enum FLOPCount {
    /// Forward FLOPs of `depth` blocks over `tokens` tokens of width `dim` (one sample). When only
    /// `outputRows` rows of the last block are used, that block (as computed) still projects q/k/v
    /// for every token but attends, projects and runs its MLP for those rows only.
    static func blocks(depth: Int, tokens: Int, dim: Int, mlpRatio: Int, outputRows: Int? = nil) -> Double {
        let n = Double(tokens), d = Double(dim), m = Double(mlpRatio)
        func block(rows r: Double) -> Double {
            2 * n * d * 3 * d + 4 * r * n * d + 2 * r * d * (d + 2 * m * d)
        }
        return Double(depth - 1) * block(rows: n) + block(rows: outputRows.map(Double.init) ?? n)
    }

    /// Encoder forward for one sample on `patches` patch tokens (+ register); `outputRows` as in `blocks`.
    public static func encoderForward(_ c: ViTConfig, patches: Int, outputRows: Int? = nil) -> Double {
        2 * Double(patches * c.patchLength * c.dim)
            + blocks(depth: c.depth, tokens: patches + 1, dim: c.dim, mlpRatio: c.mlpRatio, outputRows: outputRows)
    }

    /// Predictor forward for one sample (output projection only at target rows, as computed).
    public static func predictorForward(_ c: ViTConfig, context: Int, targets: Int) -> Double {
        2 * Double((1 + context) * c.dim * c.predDim)
            + blocks(depth: c.predDepth, tokens: 1 + context + targets, dim: c.predDim, mlpRatio: c.mlpRatio,
                     outputRows: targets)
            + 2 * Double(targets * c.predDim * c.dim)
    }

    /// One JEPA step per sample: target encoder forward on all patches (last block at the target
    /// rows only, as computed), plus forward and backward (counted as 2× forward) of the context
    /// encoder and predictor.
    public static func jepaStep(_ c: ViTConfig, patches: Int, context: Int, targets: Int) -> Double {
        encoderForward(c, patches: patches, outputRows: targets)
            + 3 * (encoderForward(c, patches: context) + predictorForward(c, context: context, targets: targets))
    }
}
