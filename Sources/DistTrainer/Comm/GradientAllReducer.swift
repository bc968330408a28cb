import Foundation
import MPIShim

/// All-reduces gradients in a few large buckets, overlapped with backward.
///
/// The model's backward pass calls `gradientsReady(_:)` each time a layer's gradients are final.
/// Ranges arrive from the last layer to the first; we merge them into buckets of at least
/// `bucketFloats` and hand each full bucket to a dedicated communication thread, which drives an
/// MPI_Iallreduce to completion while the main thread carries on with backward. (OpenMPI makes no
/// asynchronous progress on non-blocking collectives by itself, so a thread polling MPI_Test is what
/// really overlaps; polling with short sleeps keeps it from competing with backward for a core.)
/// `finish()` flushes the last bucket, reduces anything the callbacks never reported, waits, and
/// divides nothing: callers scale gradients so that the SUM over ranks is the global mean.
/// `shutdown()` stops and joins the thread; it must be called (the thread's loop holds `self`, so
/// the reducer cannot go away on its own while the thread runs).
public final class GradientAllReducer: @unchecked Sendable {
    public let comm: Communicator
    let grads: UnsafeMutablePointer<Float>
    let count: Int
    let bucketFloats: Int
    /// Sleep between MPI_Test polls of a bucket's MPI_Iallreduce; each round of the collective
    /// waits for one poll (docs/scaling.md), so shorter polls cut latency for a little CPU.
    let pollMicroseconds: UInt32
    /// The trainer's default (PretrainConfig.allReducePollMicroseconds, `ecg-dist commbench`).
    public static let defaultPollMicroseconds: UInt32 = 10

    // Pending (not yet enqueued) bucket, as a half-open range of the flat gradient buffer.
    private var pending: Range<Int>?
    private var reduced: [Range<Int>] = []

    // Work queue shared with the communication thread.
    private let cond = NSCondition()
    private var queue: [Range<Int>] = []
    private var inFlight = 0
    private var failure: Error?
    private var stopping = false
    private var thread: Thread?

    /// Seconds the communication thread spent inside MPI_Allreduce during the last step.
    public private(set) var commSeconds: Double = 0
    /// Seconds the main thread waited in `finish()` (the part of communication not hidden by backward).
    public private(set) var waitSeconds: Double = 0

    public init(comm: Communicator, grads: UnsafeMutablePointer<Float>, count: Int, bucketFloats: Int = 1 << 19,
                pollMicroseconds: UInt32 = defaultPollMicroseconds) {
        self.comm = comm
        self.grads = grads
        self.count = count
        self.bucketFloats = bucketFloats
        self.pollMicroseconds = pollMicroseconds
        if comm.size > 1 {
            let t = Thread { [unowned self] in
                // Linux rounds every sleep up by the thread's timer slack (50 µs by default):
                // without this a 10 µs poll would sleep 60 µs.
                shim_set_thread_timer_slack_ns(1000)
                self.communicationLoop()
            }
            t.name = "ecg-dist-allreduce"
            thread = t
            t.start()
        }
    }

    /// Stops the communication thread once its queue is empty and waits until it has finished
    /// (and with it released `self`). Call after the last `finish()`; the reducer cannot reduce
    /// afterwards. Idempotent. Called from the thread that created the reducer.
    public func shutdown() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
        // Foundation's Thread has no join(); the loop returns as soon as it sees `stopping`.
        while let t = thread, !t.isFinished { usleep(100) }
        thread = nil
    }

    /// True while the communication thread runs (tests).
    var isCommunicating: Bool { thread.map { !$0.isFinished } ?? false }

    /// Call before the backward pass whose gradients will be reduced.
    public func beginStep() {
        pending = nil
        reduced.removeAll(keepingCapacity: true)
        cond.lock()
        commSeconds = 0
        cond.unlock()
        waitSeconds = 0
    }

    /// The callback given to the model: gradients in `range` are final.
    public func gradientsReady(_ range: Range<Int>) {
        guard comm.size > 1, !range.isEmpty else { return }
        if let p = pending {
            // Parameters are laid out in forward order and backward reports them in reverse, so a
            // new range normally ends where the pending bucket starts (up to 15 floats of padding).
            if range.upperBound <= p.lowerBound && p.lowerBound - range.upperBound < 16 {
                pending = range.lowerBound..<p.upperBound
            } else {
                enqueue(p)
                pending = range
            }
        } else {
            pending = range
        }
        if let p = pending, p.count >= bucketFloats {
            enqueue(p)
            pending = nil
        }
    }

    private func enqueue(_ r: Range<Int>) {
        reduced.append(r)
        cond.lock()
        queue.append(r)
        inFlight += 1
        cond.signal()
        cond.unlock()
    }

    /// Flushes, reduces whatever no callback reported, and waits for every bucket.
    public func finish() throws {
        guard comm.size > 1 else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        if let p = pending { enqueue(p); pending = nil }
        for gap in uncoveredRanges() { enqueue(gap) }
        cond.lock()
        while inFlight > 0 && failure == nil { cond.wait() }
        let err = failure
        cond.unlock()
        waitSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let err { throw err }
    }

    /// Parts of [0, count) not yet enqueued this step (safety net: every gradient gets reduced).
    func uncoveredRanges() -> [Range<Int>] {
        let sorted = reduced.sorted { $0.lowerBound < $1.lowerBound }
        var gaps: [Range<Int>] = []
        var cursor = 0
        for r in sorted {
            if r.lowerBound > cursor { gaps.append(cursor..<r.lowerBound) }
            cursor = max(cursor, r.upperBound)
        }
        if cursor < count { gaps.append(cursor..<count) }
        return gaps
    }

    private func communicationLoop() {
        while true {
            cond.lock()
            while queue.isEmpty && !stopping { cond.wait() }
            if stopping && queue.isEmpty { cond.unlock(); return }
            let r = queue.removeFirst()
            cond.unlock()
            let t0 = DispatchTime.now().uptimeNanoseconds
            var err: Error?
            do { try comm.allReduceSumPolling(grads + r.lowerBound, count: r.count, pollMicroseconds: pollMicroseconds) } catch { err = error }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            cond.lock()
            commSeconds += dt
            if let err, failure == nil { failure = err }
            inFlight -= 1
            cond.broadcast()
            cond.unlock()
        }
    }
}
