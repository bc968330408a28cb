import Foundation
import Model

/// A `--data` entry: a corpus path, optionally with a sampling weight (`corpus.h5:0.7`).
public struct DataSpec: Equatable, Sendable {
    public let path: String
    public let weight: Double?

    public init(path: String, weight: Double?) { self.path = path; self.weight = weight }

    /// Splits at the last `:` only when what follows is a number, so paths that contain `:` still
    /// work unweighted.
    public init(_ text: String) throws {
        if let colon = text.lastIndex(of: ":"), let value = Double(text[text.index(after: colon)...]) {
            guard value.isFinite && value > 0 else {
                throw FileError(String(text[..<colon]), "--data weight \(text[text.index(after: colon)...]) must be a positive number")
            }
            path = String(text[..<colon])
            weight = value
        } else {
            path = text
            weight = nil
        }
    }

    /// Weights of all entries (normalised to sum 1), nil when none has one; mixing weighted and
    /// unweighted entries is an error (what share would the unweighted ones get?).
    public static func weights(_ specs: [DataSpec]) throws -> [Double]? {
        let given = specs.compactMap(\.weight)
        if given.isEmpty { return nil }
        guard given.count == specs.count else {
            let bare = specs.filter { $0.weight == nil }.map(\.path).joined(separator: ", ")
            throw FileError("pretrain config", "--data: give a weight to every corpus or to none (no weight: \(bare))")
        }
        let total = given.reduce(0, +)
        return given.map { $0 / total }
    }
}

/// Which corpus and record fill each slot of each global batch when corpora are mixed by weight.
///
/// Quotas, not dice: corpus c gets `C_c(s) = ⌊w_c·s·G⌋` of the first s·G samples (the corpus with
/// the largest weight takes the rounding), so its share of every prefix of the run is its weight to
/// within 1/(s·G) — exactly in expectation and with no sampling noise. Step s therefore takes
/// `C_c(s+1) − C_c(s)` samples of corpus c, namely samples `C_c(s) …` of that corpus's own endless
/// stream (a fresh permutation of its records every epoch, as `SampleStream` does for one corpus).
/// The slots of a step are shuffled (seeded by step) so that every rank's contiguous slice mixes the
/// corpora. All of it is a pure function of (seed, step): every rank computes the same global batch
/// and resume at any step, at any number of ranks, continues the same sequence.
public final class WeightedSampleStream {
    public let weights: [Double]
    public let recordCounts: [Int]
    public let globalBatch: Int
    public let seed: UInt64
    let starts: [Int]
    let absorber: Int
    private var permutations: [(epoch: Int, perm: [Int])?]

    public init(weights: [Double], recordCounts: [Int], globalBatch: Int, seed: UInt64) throws {
        precondition(weights.count == recordCounts.count && !weights.isEmpty && globalBatch > 0)
        self.weights = weights
        self.recordCounts = recordCounts
        self.globalBatch = globalBatch
        self.seed = seed
        var starts: [Int] = [], total = 0
        for n in recordCounts { starts.append(total); total += n }
        self.starts = starts
        absorber = weights.indices.max { weights[$0] < weights[$1] }!
        permutations = Array(repeating: nil, count: weights.count)
        // The largest-weight corpus takes everyone's rounding: it must never go below zero in a
        // step. Per step each other corpus takes at most ⌈w·G⌉, so w_max·G ≥ K−1 is enough.
        if weights[absorber] * Double(globalBatch) < Double(weights.count - 1) {
            throw FileError("pretrain config", "--global-batch \(globalBatch) is too small to mix \(weights.count) corpora by weight "
                            + "(need at least \(Int((Double(weights.count - 1) / weights[absorber]).rounded(.up))))")
        }
    }

    /// Samples of corpus c among the first `n` samples of the run.
    func quota(_ c: Int, samples n: Int) -> Int {
        if c != absorber { return Int((weights[c] * Double(n)).rounded(.down)) }
        return n - weights.indices.filter { $0 != absorber }.reduce(0) { $0 + quota($1, samples: n) }
    }

    /// Samples of each corpus in step `step`.
    public func counts(step: Int) -> [Int] {
        weights.indices.map { quota($0, samples: (step + 1) * globalBatch) - quota($0, samples: step * globalBatch) }
    }

    /// Stream positions and global record indices (over the concatenated corpora) of `rank`'s
    /// slice of `step`.
    public func samples(step: Int, rank: Int, size: Int) -> [(position: Int, record: Int)] {
        // Slot order: corpus 0's samples, then corpus 1's, …, then shuffled (Fisher–Yates from the
        // step's own stream) so that no rank's slice is all one corpus.
        var slots: [(corpus: Int, index: Int)] = []
        slots.reserveCapacity(globalBatch)
        for (c, n) in counts(step: step).enumerated() {
            let first = quota(c, samples: step * globalBatch)
            for k in 0..<n { slots.append((c, first + k)) }
        }
        var rng = SplitMix64(seed: seed, stream: RNGStream.mixture.rawValue, counter: UInt64(step))
        for i in stride(from: slots.count - 1, to: 0, by: -1) { slots.swapAt(i, rng.nextInt(below: i + 1)) }
        let slice = SampleStream.rankSlice(globalBatch: globalBatch, rank: rank, size: size)
        return slice.map { j in
            let (c, k) = slots[j]
            return (step * globalBatch + j, starts[c] + record(corpus: c, sample: k))
        }
    }

    /// Record of corpus c at position k of its own stream: epoch k / N, a permutation per epoch.
    func record(corpus c: Int, sample k: Int) -> Int {
        let n = recordCounts[c], epoch = k / n
        if permutations[c]?.epoch != epoch {
            // Each corpus shuffles from its own seed, so adding a corpus does not reorder the others.
            let stream = SampleStream(recordCount: n, globalBatch: globalBatch,
                                      seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(c + 1))
            permutations[c] = (epoch, stream.permutation(epoch: epoch))
        }
        return permutations[c]!.perm[k % n]
    }
}
