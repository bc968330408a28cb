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
    /// A small model for demos and smoke tests on a laptop (not in the paper).
    public static let vitTiny = ViTConfig(name: "vit-tiny", dim: 64, depth: 4, heads: 2, predDim: 32, predDepth: 2, predHeads: 2)
    /// Every named config, paper sizes first.
    public static let named: [ViTConfig] = [.vitXS, .vitS, .vitB, .vitTiny]

    public struct ConfigError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Number of tokens the encoder sees for a crop of `samples` time steps: 1 register + patches.
    public func tokens(forSamples samples: Int) -> Int { 1 + samples / patchSize }

    public func patches(forSamples samples: Int) -> Int { samples / patchSize }

    /// Floats in one patch of the time-major input (patchSize × channels, contiguous).
    public var patchLength: Int { patchSize * channels }

    /// Throws unless head splits and positional embeddings are well defined.
    public func validate() throws {
        if dim <= 0 || depth < 0 || heads <= 0 || dim % heads != 0 { throw ConfigError("invalid model config: dim \(dim) not divisible by heads \(heads)") }
        if predDim <= 0 || predHeads <= 0 || predDim % predHeads != 0 { throw ConfigError("invalid model config: predDim \(predDim) not divisible by predHeads \(predHeads)") }
        if dim % 2 != 0 || predDim % 2 != 0 { throw ConfigError("invalid model config: dims must be even for sin-cos positions") }
        if patchSize <= 0 || channels <= 0 || mlpRatio <= 0 { throw ConfigError("invalid model config: patchSize, channels, mlpRatio must be positive") }
    }
}
