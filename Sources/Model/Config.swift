import Foundation

/// Architecture of the ECG ViT encoder and its JEPA predictor.
public struct ViTConfig: Codable, Equatable, Sendable {
    public var name: String
    public var dim: Int
    public var depth: Int
    public var heads: Int
    public var predDim: Int
    public var predDepth: Int
    public var predHeads: Int
    public var patchSize: Int
    public var channels: Int
    public var mlpRatio: Int

    public init(name: String, dim: Int, depth: Int, heads: Int, predDim: Int, predDepth: Int, predHeads: Int,
                patchSize: Int = 25, channels: Int = 12, mlpRatio: Int = 4) {
        self.name = name; self.dim = dim; self.depth = depth; self.heads = heads
        self.predDim = predDim; self.predDepth = predDepth; self.predHeads = predHeads
        self.patchSize = patchSize; self.channels = channels; self.mlpRatio = mlpRatio
    }

    public static let vitXS = ViTConfig(name: "vit-xs", dim: 192, depth: 8, heads: 4, predDim: 96, predDepth: 8, predHeads: 4)
    public static let vitS = ViTConfig(name: "vit-s", dim: 384, depth: 8, heads: 6, predDim: 192, predDepth: 8, predHeads: 6)
    public static let vitB = ViTConfig(name: "vit-b", dim: 768, depth: 12, heads: 12, predDim: 384, predDepth: 12, predHeads: 12)
    public static let all: [ViTConfig] = [.vitXS, .vitS, .vitB]

    public enum ConfigError: Error, CustomStringConvertible {
        case unknownName(String)
        case invalid(String)
        public var description: String {
            switch self {
            case .unknownName(let n): return "unknown model config '\(n)' (known: vit-xs, vit-s, vit-b)"
            case .invalid(let why): return "invalid model config: \(why)"
            }
        }
    }

    public static func named(_ name: String) throws -> ViTConfig {
        guard let config = all.first(where: { $0.name == name.lowercased() }) else { throw ConfigError.unknownName(name) }
        return config
    }

    /// Number of tokens the encoder sees for a crop of `samples` time steps: 1 register + patches.
    public func tokens(forSamples samples: Int) -> Int { 1 + samples / patchSize }

    public func patches(forSamples samples: Int) -> Int { samples / patchSize }

    /// Floats in one patch of the time-major input (patchSize × channels, contiguous).
    public var patchLength: Int { patchSize * channels }

    /// Throws unless head splits and positional embeddings are well defined.
    public func validate() throws {
        if dim <= 0 || depth < 0 || heads <= 0 || dim % heads != 0 { throw ConfigError.invalid("dim \(dim) not divisible by heads \(heads)") }
        if predDim <= 0 || predHeads <= 0 || predDim % predHeads != 0 { throw ConfigError.invalid("predDim \(predDim) not divisible by predHeads \(predHeads)") }
        if dim % 2 != 0 || predDim % 2 != 0 { throw ConfigError.invalid("dims must be even for sin-cos positions") }
        if patchSize <= 0 || channels <= 0 || mlpRatio <= 0 { throw ConfigError.invalid("patchSize, channels, mlpRatio must be positive") }
    }
}
