import Model

/// Which records make up each global batch, independent of the number of ranks.
///
/// Training consumes an endless stream of samples: sample `i` is record `perm_e[i mod N]` of epoch
/// `e = i / N`, where `perm_e` is a permutation drawn from (seed, epoch). Step `s` takes stream
/// positions `s*G ..< (s+1)*G` (G = global batch) and rank `r` of `np` takes a contiguous slice of
/// them. So every epoch reads every record exactly once across all ranks, no rank reads another's
/// records, and np=1 and np=4 train on exactly the same batches (only the all-reduce order
/// differs) — which is what makes resume at a different np exact.
public struct SampleStream: Sendable {
    public let recordCount: Int
    public let globalBatch: Int
    public let seed: UInt64

    public init(recordCount: Int, globalBatch: Int, seed: UInt64) {
        precondition(recordCount > 0 && globalBatch > 0)
        self.recordCount = recordCount
        self.globalBatch = globalBatch
        self.seed = seed
    }

    /// The permutation of records for one epoch (Fisher–Yates from the (seed, epoch) stream).
    public func permutation(epoch: Int) -> [Int] {
        var perm = Array(0..<recordCount)
        var rng = SplitMix64(seed: seed, stream: RNGStream.shuffle.rawValue, counter: UInt64(epoch))
        if recordCount > 1 {
            for i in stride(from: recordCount - 1, to: 0, by: -1) {
                perm.swapAt(i, rng.nextInt(below: i + 1))
            }
        }
        return perm
    }

    /// The slice of the global batch that `rank` of `size` trains on at `step`: contiguous and
    /// balanced (sizes differ by at most one).
    public static func rankSlice(globalBatch: Int, rank: Int, size: Int) -> Range<Int> {
        (globalBatch * rank / size)..<(globalBatch * (rank + 1) / size)
    }

    /// Stream positions and record indices for `rank`'s part of `step`.
    public func samples(step: Int, rank: Int, size: Int, cache: inout (epoch: Int, perm: [Int])?) -> [(position: Int, record: Int)] {
        let slice = SampleStream.rankSlice(globalBatch: globalBatch, rank: rank, size: size)
        var out: [(Int, Int)] = []
        out.reserveCapacity(slice.count)
        for j in slice {
            let position = step * globalBatch + j
            let epoch = position / recordCount
            if cache?.epoch != epoch { cache = (epoch, permutation(epoch: epoch)) }
            out.append((position, cache!.perm[position % recordCount]))
        }
        return out
    }

    /// Random crop start for the sample at stream `position` (same on every rank and every np).
    public func cropOffset(position: Int, recordSamples: Int, cropSamples: Int) -> Int {
        guard recordSamples > cropSamples else { return 0 }
        var rng = SplitMix64(seed: seed, stream: RNGStream.crop.rawValue, counter: UInt64(position))
        return rng.nextInt(below: recordSamples - cropSamples + 1)
    }
}
