import Model

// The --model flag's parser lives here, in a target compiled with Swift's checks (the Model target
// is -Ounchecked for its kernels, and a flag is outside input).
extension ViTConfig {
    /// The one model-name parser (`--model`, `bench --configs`, checkpoint metadata): a named
    /// config (`vit-xs`, `vit-s`, `vit-b`, `vit-tiny`) or a custom spec such as
    /// `dim=64,depth=2,heads=2,pred-dim=32,pred-depth=2,pred-heads=2` (unnamed fields default to
    /// vit-tiny's; the spec itself becomes the name).
    public static func parse(_ spec: String) throws -> ViTConfig {
        let s = spec.lowercased()
        if let config = named.first(where: { $0.name == s }) { return config }
        guard s.contains("=") else {
            throw ConfigError("unknown model '\(spec)' (known: \(named.map(\.name).joined(separator: ", ")), "
                              + "or a spec like dim=64,depth=4,heads=2,pred-dim=32,pred-depth=2,pred-heads=2)")
        }
        var c = vitTiny
        c.name = s
        for field in s.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Int(kv[1]), v > 0 else {
                throw ConfigError("bad --model field '\(field)' (expected key=positive integer)")
            }
            switch kv[0] {
            case "dim": c.dim = v
            case "depth": c.depth = v
            case "heads": c.heads = v
            case "pred-dim": c.predDim = v
            case "pred-depth": c.predDepth = v
            case "pred-heads": c.predHeads = v
            default: throw ConfigError("unknown --model field '\(kv[0])' (dim, depth, heads, pred-dim, pred-depth, pred-heads)")
            }
        }
        try c.validate()
        return c
    }
}
