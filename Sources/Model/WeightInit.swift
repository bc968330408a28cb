// Two weight initialisations of the JEPA model.
//
// * `ijepa` (ecg-dist's original): I-JEPA's scheme for encoder and predictor alike — every matrix
//   trunc-normal(0.02), attn.proj / mlp.fc2 of block l scaled by 1/√(2(l+1)).
// * `paper` (the default): what the ECG-JEPA reference code does today (models/vision_transformer.py,
//   models/predictor.py). Encoder: Xavier-uniform for every Linear and for the patch Conv1d (PyTorch's
//   fans: a Linear [out, in] has fan_in = in, fan_out = out; the Conv1d [dim, 12, 25] has fan_in =
//   12·25, fan_out = dim·25), registers trunc-normal(0.02). Predictor: every Linear trunc-normal(0.02),
//   its residual projections (attn.proj, mlp.fc2) with std 0.02/√(2·depth) for all blocks alike
//   (depth = the encoder's, as the reference passes the pre-training config), mask token
//   trunc-normal(0.02). Norms 1/0 in both.

/// Which initialisation `JEPAModel.initialize` uses.
public enum WeightInitScheme: String, Codable, Sendable, CaseIterable {
    case paper, ijepa
}

extension JEPAModel {
    /// Random init of all parameters with `scheme`; the target encoder starts as a copy of the encoder.
    public func initialize(seed: UInt64, scheme: WeightInitScheme) {
        initialize(seed: seed)   // ijepa, and the norms, tokens and biases of both schemes
        guard scheme == .paper else { return }
        let w = params.values
        let residualScale = 1 / Float(2 * config.depth).squareRoot()
        for spec in layout.specs where spec.name.hasSuffix(".weight") && spec.shape.count >= 2 {
            if spec.name.hasPrefix("encoder.") {
                let receptive = spec.shape.dropFirst(2).reduce(1, *)
                fillXavierUniform(w + spec.offset, count: spec.count, fanIn: spec.shape[1] * receptive,
                                  fanOut: spec.shape[0] * receptive, name: spec.name, seed: seed)
            } else if spec.name.hasSuffix("attn.proj.weight") || spec.name.hasSuffix("mlp.fc2.weight") {
                fillTruncatedNormal(w + spec.offset, count: spec.count, name: spec.name, seed: seed, scale: residualScale)
            } else {
                fillTruncatedNormal(w + spec.offset, count: spec.count, name: spec.name, seed: seed)
            }
        }
        target.values.update(from: params.values, count: encoderParameterCount)
    }
}

/// U(−a, a) with a = √(6 / (fan_in + fan_out)), from a generator keyed by the parameter name.
func fillXavierUniform(_ p: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, name: String, seed: UInt64) {
    let bound = (6 / Double(fanIn + fanOut)).squareRoot()
    var rng = SplitMix64(seed: seed, stream: RNGStream.weightInit.rawValue, counter: fnv1a64(name.utf8) ^ 0x5851_F42D_4C95_7F2D)
    for i in 0..<count { p[i] = Float((2 * rng.nextDouble() - 1) * bound) }
}
