import Foundation
import MPIShim

/// Time of one all-reduce of a given size across every rank, the numbers the scaling model
/// (docs/scaling.md) is calibrated with: latency of small messages, bandwidth of large ones.
public struct AllReduceTiming {
    public let floats: Int
    public let ranks: Int
    /// Median and minimum seconds per all-reduce over the timed repetitions (rank 0's clock,
    /// each repetition ended by the collective itself, so every rank finished it).
    public let median: Double
    public let minimum: Double
    /// Payload bytes / median time.
    public var algorithmBandwidth: Double { Double(floats * 4) / median }
    /// What each rank sends and receives in a ring all-reduce, 2(p−1)/p × bytes, per second: the
    /// figure comparable across rank counts and with the link's rate.
    public var busBandwidth: Double { algorithmBandwidth * 2 * Double(ranks - 1) / Double(max(ranks, 1)) }
}

public enum AllReduceBenchmark {
    /// Measures in-place float sums of each size, with the same call the gradient buckets use
    /// (`allReduceSumPolling`, MPI_Iallreduce + polling) or the blocking MPI_Allreduce. Every rank
    /// runs the same repetitions; a barrier separates sizes.
    public static func run(comm: Communicator, sizes: [Int], minRepeats: Int = 5, minSeconds: Double = 0.3,
                           polling: Bool = true, pollMicroseconds: UInt32 = 50, timerSlack: Bool = false) throws -> [AllReduceTiming] {
        if timerSlack { shim_set_thread_timer_slack_ns(1000) }
        var results: [AllReduceTiming] = []
        for floats in sizes {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: floats)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 1, count: floats)
            func once() throws {
                if polling { try comm.allReduceSumPolling(buffer, count: floats, pollMicroseconds: pollMicroseconds) }
                else { try comm.allReduceSum(buffer, count: floats) }
            }
            try comm.barrier()
            for _ in 0..<3 { try once() }                                   // connections and buffers set up
            // Rank 0 decides how many repetitions fill minSeconds; every rank must run that many.
            let t0 = Date()
            try once()
            let estimate = try comm.broadcast(String(Date().timeIntervalSince(t0)))
            let repeats = max(minRepeats, Int(minSeconds / max(Double(estimate) ?? 1e-3, 1e-6)))
            var times: [Double] = []
            for _ in 0..<min(repeats, 10_000) {
                let start = Date()
                try once()
                times.append(Date().timeIntervalSince(start))
            }
            times.sort()
            results.append(AllReduceTiming(floats: floats, ranks: comm.size, median: times[times.count / 2], minimum: times[0]))
        }
        return results
    }
}
