// JEPA masking for 1-D patch sequences (ECG-JEPA, Weimann & Conrad 2024; multi-block idea of I-JEPA).
//
// A mask splits the P patches of a recording into a small visible context and the masked targets the
// predictor has to reconstruct in latent space. The targets are a few long contiguous blocks: a short
// masked gap could be solved by interpolating its neighbours, a block of >= 10 patches (>= 0.5 s at
// 25 patches/s) needs the model to understand the beat.
//
// As in the paper's code (kweimann/ECG-JEPA, data/masks.py), the keep count is drawn once per batch
// (every sample of a step has the same number of visible patches, so the batch stays rectangular)
// and each sample gets its own block layout. The count is a pure function of (seed, step) and a
// layout of (seed, step, position of the sample in the global batch), so every rank draws the
// masks of its samples without communicating, any number of ranks sees the same masks, and a
// resumed run sees the masks it would have seen. `mask(seed:step:)` — one mask shared by the whole
// batch, the recipe this project started from — stays available (PretrainConfig.maskPerSample).
//
// Sampling, in this order (all uniform so the distributions are easy to state):
//   1. keep ratio r ~ U[minKeepRatio, maxKeepRatio]; K = round(r * P) visible patches, M = P - K masked.
//   2. number of masked blocks B ~ U{1 ... min(maxBlocks, M / minBlockLength, K + 1)}
//      (each block needs minBlockLength patches; B blocks need B - 1 visible separators).
//   3. block lengths: minBlockLength each plus a uniformly random composition of the rest.
//   4. visible runs: B + 1 slots (before, between, after the blocks); the B - 1 inner slots hold at
//      least one patch so neighbouring blocks never merge, the K patches are a uniformly random
//      composition over the slots.
// Because K is drawn first and never adjusted, the keep ratio is exactly U[min, max] rounded to
// whole patches, and every maximal masked run is one block, so every run is >= minBlockLength.
//
// Small P (eval crops, tiny tests): if M < minBlockLength no block can be that long; the generator
// then masks a single block of all M patches (the longest possible run) placed at a random position.
// K is always clamped to 1 ... P - 1 so both context and targets are non-empty.

/// The visible (context) and masked (target) patch indices of one JEPA training step.
public struct JEPAMask: Equatable, Sendable {
    /// Visible patches fed to the context encoder, ascending. Never empty.
    public var contextIndices: [Int]
    /// Masked patches whose target-encoder features the predictor must predict, ascending. Never empty.
    public var targetIndices: [Int]

    public init(contextIndices: [Int], targetIndices: [Int]) {
        self.contextIndices = contextIndices
        self.targetIndices = targetIndices
    }

    /// Total number of patches (context + targets).
    public var patchCount: Int { contextIndices.count + targetIndices.count }

    /// Lengths of the maximal runs of consecutive target indices, in order.
    public var targetBlockLengths: [Int] {
        var lengths: [Int] = []
        var previous = Int.min
        for index in targetIndices {
            if index == previous + 1 { lengths[lengths.count - 1] += 1 } else { lengths.append(1) }
            previous = index
        }
        return lengths
    }
}

/// Invalid masking configuration.
public struct MaskGeneratorError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Draws JEPA masks as a pure function of (seed, step). See the file comment for the distribution.
public struct MaskGenerator: Sendable, Equatable {
    /// Number of patches in one recording (200 for 10 s at 25 patches per second).
    public let patchCount: Int
    /// The fraction of visible patches is drawn uniformly from [minKeepRatio, maxKeepRatio].
    public let minKeepRatio: Double
    public let maxKeepRatio: Double
    /// Every maximal run of masked patches is at least this long (when P allows it).
    public let minBlockLength: Int
    /// Upper bound on the number of masked blocks per mask.
    public let maxBlocks: Int

    /// Creates a generator; throws if the configuration cannot produce masks.
    /// - Parameters:
    ///   - patchCount: patches per recording, at least 2 (one visible and one masked).
    ///   - minKeepRatio, maxKeepRatio: visible fraction range, 0 < min <= max < 1.
    ///   - minBlockLength: minimum masked-run length, >= 1.
    ///   - maxBlocks: maximum number of masked blocks, >= 1.
    public init(patchCount: Int, minKeepRatio: Double = 0.15, maxKeepRatio: Double = 0.25,
                minBlockLength: Int = 10, maxBlocks: Int = 4) throws {
        guard patchCount >= 2 else {
            throw MaskGeneratorError(description: "mask: patchCount must be >= 2 (got \(patchCount))")
        }
        guard minKeepRatio > 0, minKeepRatio <= maxKeepRatio, maxKeepRatio < 1 else {
            throw MaskGeneratorError(description:
                "mask: keep ratios must satisfy 0 < min <= max < 1 (got \(minKeepRatio), \(maxKeepRatio))")
        }
        guard minBlockLength >= 1, maxBlocks >= 1 else {
            throw MaskGeneratorError(description:
                "mask: minBlockLength and maxBlocks must be >= 1 (got \(minBlockLength), \(maxBlocks))")
        }
        self.patchCount = patchCount
        self.minKeepRatio = minKeepRatio
        self.maxKeepRatio = maxKeepRatio
        self.minBlockLength = minBlockLength
        self.maxBlocks = maxBlocks
    }

    /// The mask of training step `step` for run seed `seed`; identical on every rank.
    public func mask(seed: UInt64, step: Int) -> JEPAMask {
        var rng = SplitMix64(seed: seed, stream: RNGStream.mask.rawValue, counter: UInt64(truncatingIfNeeded: step))
        return mask(using: &rng)
    }

    /// The masks of the samples at `positions` of step `step`'s global batch: one visible count
    /// for the whole step (drawn as the shared mask draws it), a block layout per position.
    public func masks(seed: UInt64, step: Int, positions: Range<Int>) -> [JEPAMask] {
        var stepRNG = SplitMix64(seed: seed, stream: RNGStream.mask.rawValue, counter: UInt64(truncatingIfNeeded: step))
        let keep = keepCount(using: &stepRNG)
        return positions.map { position in
            // One counter per (step, position): 2^24 positions per global batch before two meet.
            let counter = UInt64(truncatingIfNeeded: step) << 24 | UInt64(position & 0xFF_FFFF)
            var rng = SplitMix64(seed: seed, stream: RNGStream.maskLayout.rawValue, counter: counter)
            return layout(keep: keep, using: &rng)
        }
    }

    /// Draws one mask from an explicit generator (the (seed, step) form is what training uses).
    public func mask(using rng: inout SplitMix64) -> JEPAMask {
        let keep = keepCount(using: &rng)
        return layout(keep: keep, using: &rng)
    }

    /// K = round(r · P) visible patches, r ~ U[minKeepRatio, maxKeepRatio], clamped to 1 … P − 1.
    func keepCount(using rng: inout SplitMix64) -> Int {
        let keepRatio = minKeepRatio + (maxKeepRatio - minKeepRatio) * rng.nextDouble()
        return min(max(Int((keepRatio * Double(patchCount)).rounded()), 1), patchCount - 1)
    }

    /// Steps 2–4 of the file comment: the block layout of a mask with `keep` visible patches.
    func layout(keep: Int, using rng: inout SplitMix64) -> JEPAMask {
        let p = patchCount
        let masked = p - keep

        // Graceful degradation: when M < minBlockLength the only way to get long runs is one block.
        let blockFloor = min(minBlockLength, masked)
        let maxBlockCount = max(1, min(maxBlocks, masked / blockFloor, keep + 1))
        let blockCount = 1 + rng.nextInt(below: maxBlockCount)

        var blockLengths = Self.randomComposition(total: masked - blockCount * blockFloor, parts: blockCount, rng: &rng)
        for i in blockLengths.indices { blockLengths[i] += blockFloor }
        // Visible runs: slot 0 before the first block, slot B after the last; inner slots get >= 1.
        var visibleRuns = Self.randomComposition(total: keep - (blockCount - 1), parts: blockCount + 1, rng: &rng)
        for i in 1..<blockCount { visibleRuns[i] += 1 }

        var context: [Int] = []
        var targets: [Int] = []
        context.reserveCapacity(keep)
        targets.reserveCapacity(masked)
        var position = 0
        for block in 0..<blockCount {
            context.append(contentsOf: position..<(position + visibleRuns[block]))
            position += visibleRuns[block]
            targets.append(contentsOf: position..<(position + blockLengths[block]))
            position += blockLengths[block]
        }
        context.append(contentsOf: position..<(position + visibleRuns[blockCount]))
        return JEPAMask(contextIndices: context, targetIndices: targets)
    }

    /// Splits `total` >= 0 into `parts` >= 1 non-negative integers, uniformly over all such
    /// compositions (stars and bars: choose the parts - 1 bar positions among total + parts - 1).
    static func randomComposition(total: Int, parts: Int, rng: inout SplitMix64) -> [Int] {
        if parts == 1 { return [total] }
        let slots = total + parts - 1
        let barCount = parts - 1
        // Floyd's algorithm: a uniform random subset of size barCount from 0..<slots.
        var bars = Set<Int>(minimumCapacity: barCount)
        for j in (slots - barCount)..<slots {
            let candidate = rng.nextInt(below: j + 1)
            if !bars.insert(candidate).inserted { bars.insert(j) }
        }
        var sizes: [Int] = []
        sizes.reserveCapacity(parts)
        var previous = -1
        for bar in bars.sorted() {
            sizes.append(bar - previous - 1)
            previous = bar
        }
        sizes.append(slots - 1 - previous)
        return sizes
    }
}
