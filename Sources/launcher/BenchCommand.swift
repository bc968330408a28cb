import ArgumentParser
import Foundation
import Model
#if canImport(Glibc)
import Glibc
#endif

/// `ecg-dist bench`: throughput of the hand-written JEPA step vs raw sgemm on this machine.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure JEPA step and encoder throughput (samples/s, GFLOP/s, % of sgemm) and memory.")

    @Option(help: "Comma-separated model configs.") var configs = "vit-xs,vit-s"
    @Option(help: "Comma-separated micro-batch sizes.") var batches = "16,32,64"
    @Option(help: "Comma-separated OpenBLAS thread counts.") var threads = "1,2"
    @Option(help: "Timed repetitions per case; the best is reported (the machine is shared).") var repeats = 3
    @Option(help: "Samples per crop (time steps at 500 Hz).") var samples = 5000
    @Option(help: "Context patches (visible to the context encoder); the rest are targets.") var context = 40
    @Option(help: "Run this many JEPA steps of vit-xs and report RSS drift (0 = skip).") var rssSteps = 0
    @Option(help: "Micro-batch for the RSS drift run (default: the largest of --batches).") var rssBatch: Int?
    @Option(help: .hidden) var dump: String?

    func run() throws {
        let configList = try configs.split(separator: ",").map { try ViTConfig.named(String($0)) }
        let batchList = try parseInts(batches, "--batches"), threadList = try parseInts(threads, "--threads")
        if let dump { try writeDump(directory: dump, config: configList.first ?? .vitXS); return }
        let patches = samples / 25
        guard context > 0 && context < patches else { throw ValidationError("--context must be in 1..<\(patches)") }
        let mask = benchMask(patches: patches, context: context)
        print("JEPA step benchmark: \(samples) samples/crop, \(patches) patches, context \(mask.context.count), targets \(mask.target.count); best of \(repeats) (shared machine)")
        for t in threadList {
            BLASThreads.set(t)
            let sgemmRate = measureSGEMM()
            print(String(format: "\nthreads %d: sgemm 6432x576x192 = %.1f GFLOP/s", t, sgemmRate / 1e9))
            print("config   batch  step samples/s  step GFLOP/s  % sgemm | enc-fwd samples/s  GFLOP/s  % sgemm")
            for config in configList {
                for batch in batchList {
                    let r = measureStep(config: config, batch: batch, mask: mask)
                    let stepFlops = FLOPCount.jepaStep(config, patches: patches, context: mask.context.count, targets: mask.target.count)
                    let fwdFlops = FLOPCount.encoderForward(config, patches: patches)
                    let stepRate = Double(batch) / r.step, fwdRate = Double(batch) / r.forward
                    print(String(format: "%-7@ %6d %16.2f %13.1f %7.0f%% | %17.2f %8.1f %7.0f%%",
                                 config.name as NSString, batch, stepRate, stepRate * stepFlops / 1e9, 100 * stepRate * stepFlops / sgemmRate,
                                 fwdRate, fwdRate * fwdFlops / 1e9, 100 * fwdRate * fwdFlops / sgemmRate))
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

    func measureSGEMM() -> Double {
        let m = 6432, n = 576, k = 192
        let a = randomInput(count: m * k, seed: 1), b = randomInput(count: n * k, seed: 2)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<max(3, repeats * 3) {
            let t0 = now()
            for _ in 0..<5 { benchSGEMM(m: m, n: n, k: k, a: a, b: b, c: &c) }
            best = min(best, (now() - t0) / 5)
        }
        return 2 * Double(m * n * k) / best
    }

    /// Best seconds per JEPA step and per all-token encoder forward.
    func measureStep(config: ViTConfig, batch: Int, mask: (context: [Int], target: [Int])) -> (step: Double, forward: Double) {
        let model = JEPAModel(config: config, samples: samples)
        model.initialize(seed: 1)
        let input = randomInput(count: batch * samples * 12, seed: 3)
        _ = model.step(input: input, batch: batch, contextIndices: mask.context, targetIndices: mask.target, gradScale: 1, onGradientsReady: nil)
        var bestStep = Double.infinity, bestForward = Double.infinity
        for _ in 0..<repeats {
            let t0 = now()
            _ = model.step(input: input, batch: batch, contextIndices: mask.context, targetIndices: mask.target, gradScale: 1, onGradientsReady: nil)
            bestStep = min(bestStep, now() - t0)
        }
        model.encoder.keepsActivationsForBackward = false
        for _ in 0..<repeats {
            let t0 = now()
            _ = model.encoder.forward(weights: model.params.values, input: input, batch: batch, samples: samples)
            bestForward = min(bestForward, now() - t0)
        }
        return (bestStep, bestForward)
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
