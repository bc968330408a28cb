import ArgumentParser
import Foundation
import Model
import ModelIO

/// `ecg-dist bench`: throughput of the hand-written JEPA step vs raw sgemm on this machine.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure JEPA step and encoder throughput (samples/s, GFLOP/s, % of sgemm) and memory.")

    @Option(help: "Comma-separated model configs.") var configs = "vit-xs,vit-s"
    @Option(help: "Comma-separated micro-batch sizes.") var batches = "16,32,64"
    @Option(help: "Comma-separated engine thread counts (its own pool; OpenBLAS stays at 1).") var threads = "1,2"
    @Option(help: "Timed repetitions per case; the best is reported (the machine is shared).") var repeats = 3
    @Option(help: "Samples per crop (time steps at 500 Hz).") var samples = 5000
    @Option(help: "Context patches (visible to the context encoder); the rest are targets.") var context = 40
    @Option(help: "Samples per crop of the forward-only (eval) encoder pass; PTB-XL eval uses 2.5-s crops.") var forwardSamples = 1250
    @Option(help: "Batch of the forward-only pass as a multiple of the step batch (eval batches are larger).") var forwardBatchFactor = 4
    @Flag(help: "Also print the time of each part of the step (first config and batch, per thread count).") var phases = false
    @Flag(help: "Also print one machine-readable RESULT line per case (bench/compare_torch.sh parses it).") var machine = false
    @Option(help: "Run this many JEPA steps of vit-xs and report RSS drift (0 = skip).") var rssSteps = 0
    @Option(help: "Micro-batch for the RSS drift run (default: the largest of --batches).") var rssBatch: Int?
    @Option(help: .hidden) var dump: String?
    @Flag(help: "Only time the GELU kernels (ns per element, in L2 and beyond it) next to plain memory streams.") var gelu = false
    @Option(help: "Only run this many JEPA steps (first config, batch and thread count) after one warm-up step and print the time per step: a clean window for a profiler (bench/profile_step.sh).")
    var profileSteps = 0
    @Option(help: "With --profile-steps: CTL,ACK, the FIFOs of `perf record --control=fifo:CTL,ACK -D -1`; perf then records just those steps.")
    var perfControl: String?
    @Option(help: "JEPA masks of the timed step: shared (one for the batch, as bench/torch_reference.py by default) or per-sample (the trainer's default).")
    var masks: MaskMode = .shared

    func run() throws {
        let configList = try configs.split(separator: ",").map { try ViTConfig.parse(String($0)) }
        let batchList = try parseInts(batches, "--batches"), threadList = try parseInts(threads, "--threads")
        if let dump { try writeDump(directory: dump, config: configList.first ?? .vitXS, threads: threadList.first ?? 1); return }
        if gelu { printGELUTimings(); return }
        let patches = samples / 25
        guard context > 0 && context < patches else { throw ValidationError("--context must be in 1..<\(patches)") }
        let bench = EngineBenchmark(samples: samples, forwardSamples: forwardSamples, repeats: repeats)
        let mask = EngineBenchmark.fixedMask(patches: patches, context: context)
        guard profileSteps >= 0 else { throw ValidationError("--profile-steps must be 0 (off) or a number of steps, got \(profileSteps)") }
        if profileSteps > 0 {
            try runProfileSteps(bench, config: configList.first ?? .vitXS, batch: batchList.first ?? 32, threads: threadList.first ?? 1, patches: patches)
            return
        }
        if perfControl != nil { throw ValidationError("--perf-control needs --profile-steps") }
        let fwdPatches = forwardSamples / 25
        print("JEPA step benchmark: \(samples) samples/crop, \(patches) patches, context \(mask.context.count), targets \(mask.target.count); best of \(repeats) (shared machine)")
        print("forward-only encoder: \(forwardSamples)-sample crops (\(fwdPatches) patches + register), batch = \(forwardBatchFactor) x step batch")
        print(engineLine)
        print("wall = samples/s by wall clock; cpu = by process CPU time (1 thread only: immune to preemption by other processes)")
        for t in threadList {
            EngineThreads.set(t)
            // The reference twice, best of both: the first run after a thread-count change also
            // wakes the pool and faults in its buffers, and a shared VM's hiccup must not make
            // the step look faster than the GEMMs (the % below would exceed 100).
            let first = bench.sgemmRate(), second = bench.sgemmRate()
            let sgemm = (wall: max(first.wall, second.wall), cpu: max(first.cpu, second.cpu))
            print(String(format: "\nthreads %d: sgemm 6432x576x192 = %.1f GFLOP/s wall, %.1f GFLOP/s cpu (best of %d windows of 5 products)",
                         t, sgemm.wall / 1e9, sgemm.cpu / 1e9, max(3, repeats * 3)))
            print("step %sgemm: against the same sgemm timed in alternation with the steps, one window of a step's length before each; (short): against the line above")
            if phases, let config = configList.first, let batch = batchList.first { printPhases(bench, config: config, batch: batch, mask: mask) }
            print("config   batch | step wall/s   cpu/s  GFLOP/s %sgemm (short) | fwd batch  wall/s    cpu/s  GFLOP/s %sgemm")
            for config in configList {
                for batch in batchList {
                    let (r, stepSGEMM) = bench.stepSecondsWithReference(config: config, masks: stepMasks(patches: patches, context: context, batch: batch))
                    let fb = batch * forwardBatchFactor
                    let f = bench.forwardSeconds(config: config, batch: fb)
                    let stepFlops = FLOPCount.jepaStep(config, patches: patches, context: mask.context.count, targets: mask.target.count)
                    let fwdFlops = FLOPCount.encoderForward(config, patches: fwdPatches)
                    let stepWall = Double(batch) / r.wall, stepCPU = t == 1 ? Double(batch) / r.cpu : .nan
                    let fwdWall = Double(fb) / f.wall, fwdCPU = t == 1 ? Double(fb) / f.cpu : .nan
                    // % of sgemm: wall against wall (cpu against cpu at 1 thread, the quieter pair). The
                    // step's against the reference timed in alternation with it (same count of
                    // windows of a step's length); in brackets against the short-window reference above.
                    func percent(_ wall: Double, _ cpu: Double, _ flops: Double, _ ref: (wall: Double, cpu: Double)) -> Double {
                        t == 1 ? 100 * cpu * flops / ref.cpu : 100 * wall * flops / ref.wall
                    }
                    let stepPct = percent(stepWall, stepCPU, stepFlops, stepSGEMM)
                    let stepShortPct = percent(stepWall, stepCPU, stepFlops, sgemm)
                    let fwdPct = percent(fwdWall, fwdCPU, fwdFlops, sgemm)
                    print(String(format: "%-7@ %6d | %10.2f %7.2f %8.1f %5.0f%% (%2.0f%%) | %9d %7.1f %8.1f %8.1f %5.0f%%",
                                 config.name as NSString, batch, stepWall, stepCPU, (t == 1 ? stepCPU : stepWall) * stepFlops / 1e9, stepPct,
                                 stepShortPct, fb, fwdWall, fwdCPU, (t == 1 ? fwdCPU : fwdWall) * fwdFlops / 1e9, fwdPct))
                    if machine {
                        print(String(format: "RESULT ecg-dist %@ batch %d threads %d step_wall %.3f step_cpu %.3f fwd_batch %d fwd_wall %.3f fwd_cpu %.3f sgemm_wall %.2f sgemm_cpu %.2f step_gflop %.4f masks %@ step_sgemm_wall %.2f step_sgemm_cpu %.2f",
                                     config.name as NSString, batch, t, stepWall, stepCPU, fb, fwdWall, fwdCPU, sgemm.wall / 1e9, sgemm.cpu / 1e9,
                                     stepFlops / 1e9, masks.rawValue as NSString, stepSGEMM.wall / 1e9, stepSGEMM.cpu / 1e9))
                    }
                }
            }
        }
        print(String(format: "\nGFLOP per sample (step, vit-xs): %.2f", FLOPCount.jepaStep(.vitXS, patches: patches, context: mask.context.count, targets: mask.target.count) / 1e9))
        print(String(format: "peak RSS: %.0f MB", EngineBenchmark.peakRSSMegabytes()))
        if rssSteps > 0 {
            let batch = rssBatch ?? batchList.max() ?? 64
            let rss = bench.rssDrift(config: .vitXS, batch: batch, steps: rssSteps, mask: mask)
            print(String(format: "RSS vit-xs batch %d: after 10 steps %.0f MB, after %d steps %.0f MB (drift %+.1f MB); peak %.0f MB; activations %.0f MB",
                         batch, rss.after10, rssSteps, rss.end, rss.end - rss.after10, EngineBenchmark.peakRSSMegabytes(),
                         Double(rss.activationBytes) / 1e6))
        }
    }

    func parseInts(_ s: String, _ flag: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let v = Int($0), v > 0 else { throw ValidationError("\(flag): '\($0)' is not a positive integer") }
            return v
        }
    }

    /// Which compute paths run: the engine's ISA, the OpenBLAS core and how weights are packed.
    var engineLine: String {
        "engine kernels compiled for \(KernelISA.name); OpenBLAS core \(BLASCore.summary); \(PackedWeightGEMM.summary)"
    }

    /// `--profile-steps`: the steps alone, bracketed by perf's control FIFOs when given.
    func runProfileSteps(_ bench: EngineBenchmark, config: ViTConfig, batch: Int, threads: Int, patches: Int) throws {
        let control = try perfControl.map(PerfControl.init)
        EngineThreads.set(threads)
        print("profile window: \(profileSteps) JEPA steps of \(config.name), batch \(batch), \(threads) thread(s), after one warm-up step")
        print(engineLine)
        let seconds = try bench.profileSteps(config: config, masks: stepMasks(patches: patches, context: context, batch: batch),
                                             count: profileSteps, begin: { try control?.enable() }, end: { try control?.disable() })
        print(String(format: "%.3f s per step, %.2f samples/s", seconds, Double(batch) / seconds))
    }

    /// `--phases`: seconds and GFLOP/s of each part of one JEPA step (first config and batch).
    func printPhases(_ bench: EngineBenchmark, config: ViTConfig, batch: Int, mask: (context: [Int], target: [Int])) {
        print("\nphases (\(config.name), batch \(batch), CPU time, \(EngineThreads.count) thread(s)):")
        for phase in bench.phases(config: config, batch: batch, mask: mask) {
            let label = phase.name.padding(toLength: 32, withPad: " ", startingAt: 0)
            print("  " + label + String(format: " %8.1f ms %8.1f GFLOP/s", phase.seconds * 1e3,
                                        Double(batch) * phase.flopsPerSample / phase.seconds / 1e9))
        }
    }

    /// `--gelu`: 64 KB stays in L2; 402 × 768 is a vit-xs MLP tile (1.2 MB per buffer).
    func printGELUTimings() {
        print("GELU kernels, CPU ns per element, best of \(repeats) (1 thread; shared machine)")
        let counts = [16_384, 402 * 768]
        let timings = EngineBenchmark.geluKernelTimings(elementCounts: counts, repeats: repeats)
        print("kernel".padding(toLength: 44, withPad: " ", startingAt: 0) + counts.map { String(format: "%12d", $0) }.joined())
        for name in timings.filter({ $0.elements == counts[0] }).map(\.name) {
            let row = counts.map { count in timings.first { $0.name == name && $0.elements == count }!.nanosecondsPerElement }
            print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + row.map { String(format: "%12.3f", $0) }.joined())
        }
    }

    /// The timed step's masks per --masks: one fixed mask for the batch, or one per sample.
    func stepMasks(patches: Int, context: Int, batch: Int) -> [JEPAMask] {
        masks == .shared ? EngineBenchmark.sharedMasks(EngineBenchmark.fixedMask(patches: patches, context: context), batch: batch)
            : EngineBenchmark.fixedMasks(patches: patches, context: context, batch: batch)
    }

    /// `--dump DIR` (hidden): one JEPA step for bench/torch_reference.py (see ReferenceDump), with the
    /// engine on the first of --threads, so the parallel path is cross-checked too.
    func writeDump(directory: String, config: ViTConfig, threads: Int) throws {
        EngineThreads.set(threads)
        let patches = samples / config.patchSize
        let stepMasks = stepMasks(patches: patches, context: min(context, patches - 1), batch: 3)
        let loss = try ReferenceDump.write(directory: directory, config: config, samples: samples, masks: stepMasks)
        print("wrote JEPA step dump (\(config.name), batch 3, \(masks.rawValue) masks, \(threads) thread(s), loss \(loss)) to \(directory)")
    }
}
