// The processes that share the encoding of an evaluation's frozen features. Encoding every crop
// is the expensive part of a linear-probe evaluation; during pre-training every rank holds the
// same EMA encoder, so the trainer spreads the crops over all ranks and rank 0 gathers the tokens
// and trains the (cheap) probe alone. This file knows nothing of MPI: DistTrainer makes its
// Communicator one of these.

/// Ranks 0..<size sharing the work; rank 0 ends up with everything.
public protocol FeatureEncodingGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Rank r contributes `counts[r]` floats; on rank 0 they land back to back in rank order at
    /// `root` (rank 0's own part must already be at the start of its slot: it is not copied). On
    /// other ranks `root` is ignored and `local` is sent.
    func gatherToRoot(local: UnsafePointer<Float>, counts: [Int], root: UnsafeMutablePointer<Float>) throws
}

/// Rank `rank`'s share of `count` work items cut into batches of `batch`: whole batches only, so a
/// crop is encoded in the same batch (and gives the same bits) whatever the number of ranks.
func batchShare(count: Int, batch: Int, rank: Int, size: Int) -> Range<Int> {
    let batches = (count + batch - 1) / batch
    let first = batches * rank / size, last = batches * (rank + 1) / size
    return min(first * batch, count)..<min(last * batch, count)
}
