import ArgumentParser
import Foundation
import Model
import Glibc

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

    func run() throws {
        let configList = try configs.split(separator: ",").map { try ViTConfig.parse(String($0)) }
        let batchList = try parseInts(batches, "--batches"), threadList = try parseInts(threads, "--threads")
        if let dump { try writeDump(directory: dump, config: configList.first ?? .vitXS, threads: threadList.first ?? 1); return }
        let patches = samples / 25
        guard context > 0 && context < patches else { throw ValidationError("--context must be in 1..<\(patches)") }
        let mask = benchMask(patches: patches, context: context)
        let fwdPatches = forwardSamples / 25
        print("JEPA step benchmark: \(samples) samples/crop, \(patches) patches, context \(mask.context.count), targets \(mask.target.count); best of \(repeats) (shared machine)")
        print("forward-only encoder: \(forwardSamples)-sample crops (\(fwdPatches) patches + register), batch = \(forwardBatchFactor) x step batch")
        print("engine kernels compiled for \(KernelISA.name); OpenBLAS core \(EngineThreads.openBLASCore)")
        print("wall = samples/s by wall clock; cpu = by process CPU time (1 thread only: immune to preemption by other processes)")
        for t in threadList {
            EngineThreads.set(t)
            let sgemm = measureSGEMM()
            print(String(format: "\nthreads %d: sgemm 6432x576x192 = %.1f GFLOP/s wall, %.1f GFLOP/s cpu", t, sgemm.wall / 1e9, sgemm.cpu / 1e9))
            if phases, let config = configList.first, let batch = batchList.first { printPhases(config: config, batch: batch, mask: mask) }
            print("config   batch | step wall/s   cpu/s  GFLOP/s %sgemm | fwd batch  wall/s    cpu/s  GFLOP/s %sgemm")
            for config in configList {
                for batch in batchList {
                    let r = measureStep(config: config, batch: batch, mask: mask)
                    let fb = batch * forwardBatchFactor
                    let f = measureForward(config: config, batch: fb)
                    let stepFlops = FLOPCount.jepaStep(config, patches: patches, context: mask.context.count, targets: mask.target.count)
                    let fwdFlops = FLOPCount.encoderForward(config, patches: fwdPatches)
                    let stepWall = Double(batch) / r.wall, stepCPU = t == 1 ? Double(batch) / r.cpu : .nan
                    let fwdWall = Double(fb) / f.wall, fwdCPU = t == 1 ? Double(fb) / f.cpu : .nan
                    // % of sgemm: wall against wall (cpu against cpu at 1 thread, the quieter pair).
                    let stepPct = t == 1 ? 100 * stepCPU * stepFlops / sgemm.cpu : 100 * stepWall * stepFlops / sgemm.wall
                    let fwdPct = t == 1 ? 100 * fwdCPU * fwdFlops / sgemm.cpu : 100 * fwdWall * fwdFlops / sgemm.wall
                    print(String(format: "%-7@ %6d | %10.2f %7.2f %8.1f %5.0f%% | %9d %7.1f %8.1f %8.1f %5.0f%%",
                                 config.name as NSString, batch, stepWall, stepCPU, (t == 1 ? stepCPU : stepWall) * stepFlops / 1e9, stepPct,
                                 fb, fwdWall, fwdCPU, (t == 1 ? fwdCPU : fwdWall) * fwdFlops / 1e9, fwdPct))
                    if machine {
                        print(String(format: "RESULT ecg-dist %@ batch %d threads %d step_wall %.3f step_cpu %.3f fwd_batch %d fwd_wall %.3f fwd_cpu %.3f sgemm_wall %.2f sgemm_cpu %.2f",
                                     config.name as NSString, batch, t, stepWall, stepCPU, fb, fwdWall, fwdCPU, sgemm.wall / 1e9, sgemm.cpu / 1e9))
                    }
                }
            }
        }
        print(String(format: "\nGFLOP per sample (step, vit-xs): %.2f", FLOPCount.jepaStep(.vitXS, patches: patches, context: mask.context.count, targets: mask.target.count) / 1e9))
        print(String(format: "peak RSS: %.0f MB", peakRSSMegabytes()))
        if rssSteps > 0 { try rssDrift(batch: rssBatch ?? batchList.max() ?? 64, mask: mask) }
    }

    func parseInts(_ s: String, _ flag: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let v = Int($0), v > 0 else { throw ValidationError("\(flag): '\($0)' is not a positive integer") }
            return v
        }
    }

    /// A fixed random context set (sorted) and its complement as targets.
    func benchMask(patches: Int, context: Int) -> (context: [Int], target: [Int]) {
        var rng = SplitMix64(seed: 1, stream: RNGStream.mask.rawValue)
        var all = Array(0..<patches)
        all.shuffle(using: &rng)
        let ctx = Array(all[0..<context]).sorted()
        let set = Set(ctx)
        return (ctx, (0..<patches).filter { !set.contains($0) })
    }

    func randomInput(count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed, stream: RNGStream.synth.rawValue)
        return (0..<count).map { _ in rng.nextNormal() }
    }

    func now() -> Double { Date().timeIntervalSinceReferenceDate }

    /// Best wall and best CPU seconds of `repeats` runs of body.
    func timeBest(_ repeats: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
        var wall = Double.infinity, cpu = Double.infinity
        for _ in 0..<repeats {
            let t0 = now(), c0 = processCPUSeconds()
            body()
            cpu = min(cpu, processCPUSeconds() - c0); wall = min(wall, now() - t0)
        }
        return (wall, cpu)
    }

    /// FLOP/s of the reference sgemm (wall and CPU based).
    func measureSGEMM() -> (wall: Double, cpu: Double) {
        let m = 6432, n = 576, k = 192
        let a = randomInput(count: m * k, seed: 1), b = randomInput(count: n * k, seed: 2)
        var c = [Float](repeating: 0, count: m * n)
        let best = timeBest(max(3, repeats * 3)) { for _ in 0..<5 { benchSGEMM(m: m, n: n, k: k, a: a, b: b, c: &c) } }
        return (10 * Double(m * n * k) / best.wall, 10 * Double(m * n * k) / best.cpu)
    }

    /// Best seconds per JEPA step (wall, CPU).
    func measureStep(config: ViTConfig, batch: Int, mask: (context: [Int], target: [Int])) -> (wall: Double, cpu: Double) {
        let model = JEPAModel(config: config, samples: samples)
        model.initialize(seed: 1)
        let input = randomInput(count: batch * samples * 12, seed: 3)
        _ = model.step(input: input, batch: batch, contextIndices: mask.context, targetIndices: mask.target, gradScale: 1, onGradientsReady: nil)
        return timeBest(repeats) {
            _ = model.step(input: input, batch: batch, contextIndices: mask.context, targetIndices: mask.target, gradScale: 1, onGradientsReady: nil)
        }
    }

    /// Best seconds per forward-only encoder pass (no activations kept) on `forwardSamples` crops.
    func measureForward(config: ViTConfig, batch: Int) -> (wall: Double, cpu: Double) {
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        encoder.keepsActivationsForBackward = false
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: 1)
        let input = randomInput(count: batch * forwardSamples * 12, seed: 5)
        _ = encoder.forward(weights: store.values, input: input, batch: batch, samples: forwardSamples)
        return timeBest(repeats) { _ = encoder.forward(weights: store.values, input: input, batch: batch, samples: forwardSamples) }
    }

    func rssDrift(batch: Int, mask: (context: [Int], target: [Int])) throws {
        let model = JEPAModel(config: .vitXS, samples: samples)
        model.initialize(seed: 1)
        let input = randomInput(count: batch * samples * 12, seed: 4)
        var after10 = 0.0
        for step in 1...rssSteps {
            _ = model.step(input: input, batch: batch, contextIndices: mask.context, targetIndices: mask.target, gradScale: 1, onGradientsReady: nil)
            if step == min(10, rssSteps) { after10 = currentRSSMegabytes() }
        }
        let end = currentRSSMegabytes()
        print(String(format: "RSS vit-xs batch %d: after 10 steps %.0f MB, after %d steps %.0f MB (drift %+.1f MB); peak %.0f MB; activations %.0f MB",
                     batch, after10, rssSteps, end, end - after10, peakRSSMegabytes(), Double(model.activationBytes) / 1e6))
    }

    func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024   // Linux: kilobytes
    }

    func currentRSSMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1e6
    }
}
