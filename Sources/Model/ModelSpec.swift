import Foundation

/// Parses `--model`: a paper config (`vit-xs`, `vit-s`, `vit-b`), `vit-tiny` (a small model for demos
/// and smoke tests on a laptop), or a custom spec such as
/// `dim=64,depth=2,heads=2,pred-dim=32,pred-depth=2,pred-heads=2` (unnamed fields default to vit-tiny's).
public enum ModelSpec {
    public static let vitTiny = ViTConfig(name: "vit-tiny", dim: 64, depth: 4, heads: 2, predDim: 32, predDepth: 2, predHeads: 2)

    public static func parse(_ spec: String) throws -> ViTConfig {
        let s = spec.lowercased()
        if s == vitTiny.name { return vitTiny }
        if !s.contains("=") {
            guard let c = try? ViTConfig.named(s) else {
                throw ViTConfig.ConfigError.invalid("unknown model '\(spec)' (known: vit-xs, vit-s, vit-b, vit-tiny, or a spec like dim=64,depth=4,heads=2,pred-dim=32,pred-depth=2,pred-heads=2)")
            }
            return c
        }
        var c = vitTiny
        c.name = s
        for field in s.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Int(kv[1]), v > 0 else {
                throw ViTConfig.ConfigError.invalid("bad --model field '\(field)' (expected key=positive integer)")
            }
            switch kv[0] {
            case "dim": c.dim = v
            case "depth": c.depth = v
            case "heads": c.heads = v
            case "pred-dim": c.predDim = v
            case "pred-depth": c.predDepth = v
            case "pred-heads": c.predHeads = v
            default: throw ViTConfig.ConfigError.invalid("unknown --model field '\(kv[0])' (dim, depth, heads, pred-dim, pred-depth, pred-heads)")
            }
        }
        try c.validate()
        return c
    }
}
