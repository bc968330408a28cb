import ECGData
import Foundation
import Model
import ModelIO

/// A training failure that must stop the job (every rank reports it; rank 0's message names the step).
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The state that moves between steps and through checkpoints.
final class TrainerState {
    let config: PretrainConfig
    let vit: ViTConfig
    let model: JEPAModel
    let optimizer: AdamW
    let schedule: TrainingSchedule
    var step = 0

    init(config: PretrainConfig) throws {
        self.config = config
        vit = try ViTConfig.parse(config.model)
        model = JEPAModel(config: vit, samples: config.cropSamples)
        optimizer = AdamW(layout: model.layout)
        if !config.layerNormBias { optimizer.frozen = AdamW.layerNormBiasNames(model.layout) }
        schedule = TrainingSchedule(
            warmupSteps: min(config.warmupSteps, config.steps), totalSteps: config.steps,
            lrStart: config.lrStart, lrPeak: config.lrPeak, lrFinal: config.lrEnd,
            weightDecayStart: config.weightDecayStart, weightDecayEnd: config.weightDecayEnd,
            emaStart: config.emaStart, emaEnd: config.emaEnd)
    }
}

/// Runs JEPA pre-training on this rank; every rank of the MPI job calls it with the same config.
public func runPretraining(config: PretrainConfig, resume: String?, stopAfter: Int?, engineThreads: Int) throws {
    let comm = try Communicator.world()
    // The engine splits work over its own thread pool and keeps OpenBLAS single-threaded.
    EngineThreads.set(max(1, engineThreads))
    StopSignals.install()
    do {
        try Pretrainer(comm: comm, config: config).run(resume: resume, stopAfter: stopAfter)
    } catch {
        // One rank failing must end the whole job, never leave the others waiting in a collective.
        FileHandle.standardError.write("ecg-dist pretrain: rank \(comm.rank): error: \(error)\n".data(using: .utf8)!)
        if comm.size > 1 { comm.abort(code: 2) }
        throw error
    }
}

final class Pretrainer {
    let comm: Communicator
    let config: PretrainConfig
    let state: TrainerState
    let checkpoints: CheckpointStore
    var log: MetricsLog?
    let isRoot: Bool

    init(comm: Communicator, config: PretrainConfig) throws {
        self.comm = comm
        self.config = config
        isRoot = comm.rank == 0
        state = try TrainerState(config: config)
        checkpoints = CheckpointStore(directory: URL(fileURLWithPath: config.out).appendingPathComponent("checkpoints").path,
                                      keep: config.keepCheckpoints)
    }

    func say(_ s: String) { if isRoot { print(s); fflush(stdout) } }

    func run(resume: String?, stopAfter: Int?) throws {
        let model = state.model
        // 0. The run folder belongs to one run: refuse to start a second one in it, and check that
        //    a resumed run is the run the folder holds. Rank 0 looks; every rank gets the verdict.
        let refusal = try comm.broadcast(isRoot ? (runFolderProblem(resume: resume) ?? evalTaskProblem() ?? "") : "")
        if !refusal.isEmpty { throw TrainingError(refusal) }
        guard config.globalBatch >= comm.size else {
            throw TrainingError("--global-batch \(config.globalBatch) is smaller than the \(comm.size) ranks: every rank needs at least one sample per step")
        }
        if config.warmupSteps >= config.steps {
            say("warning: --warmup-steps \(config.warmupSteps) ≥ --steps \(config.steps): the learning rate only ever rises (paper: 10000 of 100000)")
        }

        // 1. Weights: fresh init (same seed on every rank) or a checkpoint read by rank 0; either way
        //    rank 0's bytes are broadcast so every replica starts bit-identical.
        if let resumed = try restore(resume) {
            say("resumed from \(resumed) at step \(state.step)")
        } else {
            model.initialize(seed: config.seed, scheme: WeightInitScheme(rawValue: config.initScheme) ?? .paper)
        }
        try comm.broadcast(model.params.values, count: model.params.count)
        try comm.broadcast(model.target.values, count: model.target.count)
        if state.step >= config.steps {
            say("already at step \(state.step) of \(config.steps); nothing to do")
            return
        }

        // 2. Data: this rank's shard of every global batch, read ahead on a background thread.
        //    Inputs are validated (corpora, masks) before anything is written to the run folder.
        let dataSpecs = try config.data.map(DataSpec.init)
        let excluded = try holdoutDuplicates(trainingPaths: dataSpecs.map(\.path))
        let loader = try ShardedLoader(paths: dataSpecs.map(\.path), weights: try DataSpec.weights(dataSpecs),
                                       excludedRows: excluded, comm: comm,
                                       globalBatch: config.globalBatch, cropSamples: config.cropSamples, seed: config.seed)
        if loader.recordCount < config.globalBatch {
            say("warning: the corpora hold \(loader.recordCount) records, fewer than --global-batch \(config.globalBatch): every step repeats records")
        }
        guard loader.leads == state.vit.channels else {
            throw TrainingError("the corpora have \(loader.leads) leads, model \(config.model) takes \(state.vit.channels)")
        }
        let masks = try MaskGenerator(patchCount: config.cropSamples / state.vit.patchSize,
                                      minKeepRatio: config.maskMinKeep, maxKeepRatio: config.maskMaxKeep,
                                      minBlockLength: config.maskMinBlock)
        if isRoot {
            try FileManager.default.createDirectory(atPath: config.out, withIntermediateDirectories: true)
            try AtomicFile.write(config.json() + "\n", to: config.out + "/config.json")
            log = try MetricsLog(path: config.out + "/metrics.jsonl")
        }
        let reducer = GradientAllReducer(comm: try comm.duplicate(), grads: model.params.grads,
                                         count: model.params.count, bucketFloats: config.bucketFloats,
                                         pollMicroseconds: UInt32(max(0, config.allReducePollMicroseconds)))
        defer { reducer.shutdown() }
        let local = loader.localBatch
        // Every rank chose its OpenBLAS kernels on its own host (BLASCore.ensureBestCore): say if
        // they differ, since a rank on slow kernels sets the pace of all.
        let rootCore = try comm.broadcast(BLASCore.loadedCore)
        let coresDiffer = try comm.allReduceAny(BLASCore.loadedCore != rootCore)
        say("""
            ecg-dist pretrain: \(comm.size) rank(s), model \(config.model) (\(model.params.count) params), \
            global batch \(config.globalBatch) (\(local) on rank 0, micro-batch ≤ \(config.microBatch)), \
            \(loader.recordCount) records, steps \(state.step)→\(config.steps)
            \(mixtureLine(loader))OpenBLAS core \(BLASCore.summary)\(coresDiffer ? " on rank 0; OTHER RANKS USE OTHER CORES" : comm.size > 1 ? ", the same on all ranks" : ""); \
            engine kernels \(KernelISA.name); \(PackedWeightGEMM.summary)
            """)
        loader.start(fromStep: state.step)
        defer { loader.stop() }
        // This rank's samples are positions slice.lowerBound… of every global batch: the masks of
        // a position do not depend on how many ranks share the batch.
        let slice = SampleStream.rankSlice(globalBatch: config.globalBatch, rank: comm.rank, size: comm.size)

        let firstStep = state.step
        let runStart = Date()
        var windowStart = Date(), windowSamples = 0, windowSteps = 0
        var ioWait = 0.0, longestIOWait = 0.0, allReduceTime = 0.0, allReduceWait = 0.0, computeTime = 0.0

        // Collapse monitor (rank 0): per-dimension std of the target encoder's outputs on a fixed
        // handful of records, logged over training next to its value at the start.
        var probe: UnsafeMutablePointer<Float>?
        var probeCount = 0
        var initialTargetStd: Float = .nan
        defer { probe?.deallocate() }

        while state.step < config.steps {
            let step = state.step
            // --- data ---
            let t0 = Date()
            let batch = try loader.next()
            precondition(batch.step == step, "loader out of sync")
            let waited = Date().timeIntervalSince(t0)
            ioWait += waited
            longestIOWait = max(longestIOWait, waited)
            if isRoot && probe == nil && batch.count > 0 {
                probeCount = min(8, batch.count)
                let floats = probeCount * config.cropSamples * loader.leads
                probe = UnsafeMutablePointer<Float>.allocate(capacity: floats)
                probe!.update(from: batch.data, count: floats)
                initialTargetStd = model.targetOutputStd(input: probe!, batch: probeCount)
            }

            // --- forward/backward over micro-batches; the last one overlaps the all-reduce ---
            let t1 = Date()
            precondition(slice.count == batch.count, "loader batch does not match this rank's slice")
            let stepMasks = config.maskPerSample
                ? masks.masks(seed: config.seed, step: step, positions: slice)
                : Array(repeating: masks.mask(seed: config.seed, step: step), count: slice.count)
            model.params.zeroGrads()
            reducer.beginStep()
            var localLossSum = 0.0
            let perSample = config.cropSamples * loader.leads
            var offset = 0
            while offset < batch.count {
                let n = min(config.microBatch, batch.count - offset)
                let isLast = offset + n == batch.count
                let loss = model.step(input: batch.data + offset * perSample, masks: Array(stepMasks[offset..<(offset + n)]),
                                      gradScale: Float(n) / Float(config.globalBatch),
                                      onGradientsReady: isLast ? reducer.gradientsReady : nil)
                localLossSum += Double(loss) * Double(n)
                offset += n
            }
            if batch.count == 0 { reducer.gradientsReady(0..<model.params.count) }
            try reducer.finish()
            allReduceTime += reducer.commSeconds
            allReduceWait += reducer.waitSeconds
            let loss = try comm.allReduceSum(localLossSum) / Double(config.globalBatch)
            guard loss.isFinite else {
                throw TrainingError("loss is \(loss) at step \(step); stopping without writing a checkpoint (the last one is intact)")
            }

            // --- update: identical on every rank because gradients are identical after the all-reduce ---
            // With clipping off the threshold is infinite: the call then only measures the norm.
            let gradNorm = clipGradientNorm(model.params.grads, count: model.params.count,
                                            maxNorm: config.gradClip > 0 ? Float(config.gradClip) : .infinity)
            let lr = state.schedule.learningRate(step: step)
            let wd = state.schedule.weightDecay(step: step)
            let momentum = state.schedule.emaMomentum(step: step)
            state.optimizer.step(model.params, lr: lr, weightDecay: wd)
            emaUpdate(target: model.target.values, source: model.params.values,
                      count: model.target.count, momentum: momentum)
            state.step += 1
            computeTime += Date().timeIntervalSince(t1)
            windowSamples += config.globalBatch
            windowSteps += 1

            if config.verifyEvery > 0 && state.step % config.verifyEvery == 0 { try verifyReplicasIdentical() }

            // --- logging (rank 0) ---
            if state.step % config.logEvery == 0 || state.step == config.steps {
                let dt = Date().timeIntervalSince(windowStart)
                let rate = Double(windowSamples) / max(dt, 1e-9)
                let done = state.step - firstStep
                let eta = Date().timeIntervalSince(runStart) / Double(done) * Double(config.steps - state.step)
                // The steps this window really holds: fewer than --log-every in the last window of a
                // run, or the first after a resume from a step that is not a multiple of it.
                let steps = Double(max(1, windowSteps))
                // Collective (every rank logs the same steps): each rank's memory and loader wait,
                // and the realised mixture so far.
                let gauges = try RankGauges.gather(comm: comm, ioWaitSeconds: ioWait / steps, longestIOWaitSeconds: longestIOWait,
                                                   samplesPerCorpus: loader.samplesTakenPerCorpus)
                let targetStd = probe.map { model.targetOutputStd(input: $0, batch: probeCount) } ?? .nan
                let hidden = allReduceTime > 0 ? 100 * max(0, 1 - allReduceWait / allReduceTime) : 100
                say("step \(state.step)/\(config.steps)  loss " + String(format: "%.5f", loss)
                    + "  lr " + String(format: "%.3g", Double(lr))
                    + "  " + String(format: "%.1f", rate) + " samples/s"
                    + "  io-wait " + String(format: "%.1f", 100 * ioWait / max(dt, 1e-9)) + "%"
                    + "  allreduce " + String(format: "%.1f", 1000 * allReduceTime / steps) + " ms ("
                    + String(format: "%.0f", hidden) + "% hidden)  target-std " + String(format: "%.3f", targetStd)
                    + "  ETA " + formatDuration(eta))
                let record: [String: Any] = [
                    "step": state.step, "loss": loss, "lr": Double(lr), "wd": Double(wd),
                    "momentum": Double(momentum), "grad_norm": Double(gradNorm),
                    "samples_per_s": rate, "step_s": dt / steps, "io_wait_s": ioWait / steps,
                    "allreduce_s": allReduceTime / steps, "allreduce_wait_s": allReduceWait / steps,
                    "compute_s": computeTime / steps, "ranks": comm.size,
                    "target_std": Double(targetStd), "target_std_start": Double(initialTargetStd), "time": Date().timeIntervalSince1970]
                log?.append(record.merging(gauges.metricsFields) { current, _ in current })
                windowStart = Date(); windowSamples = 0; windowSteps = 0
                ioWait = 0; longestIOWait = 0; allReduceTime = 0; allReduceWait = 0; computeTime = 0
            }

            if config.evalEvery > 0 && state.step % config.evalEvery == 0 { try periodicEvaluation() }

            // --- stop requests, checkpoints ---
            let stopRequested = try comm.allReduceAny(StopSignals.received != 0
                || (stopAfter.map { state.step - firstStep >= $0 } ?? false))
            if stopRequested || state.step % config.checkpointEvery == 0 || state.step == config.steps {
                try saveCheckpoint()
            }
            if stopRequested {
                let why = StopSignals.received != 0 ? StopSignals.name(StopSignals.received) : "--stop-after"
                say("stopping at step \(state.step) (\(why)); checkpoint written")
                return
            }
        }
        try verifyReplicasIdentical()
        try reportRealisedMixture(loader)
        say("done: step \(state.step), checkpoint \(checkpoints.latest() ?? "-")")
    }

    /// The leakage guard: rows of each training corpus whose content equals a record in the held-out
    /// folds of a `--holdout` corpus (default: the periodic evaluation's corpus). Found ones stop
    /// the run, naming them, unless `dropHoldoutDuplicates`; then they are the rows to leave out.
    /// Rank 0 compares (content hashes are stored by `prepare`; files without them are hashed in
    /// one pass) and every rank gets the verdict.
    func holdoutDuplicates(trainingPaths: [String]) throws -> [Set<Int>] {
        let holdouts = config.holdout.isEmpty ? (config.evalData.map { [$0] } ?? []) : config.holdout
        guard !holdouts.isEmpty else { return trainingPaths.map { _ in [] } }
        let folds = Set(config.holdoutFolds)
        var verdict = ""
        if isRoot {
            do {
                var rows: [[Int]] = trainingPaths.map { _ in [] }
                var found: [String] = []
                // Each corpus is opened and hashed once (a file without stored hashes costs a full
                // pass), however many corpora it is compared with.
                let indexes = try holdouts.map { try CorpusOverlap.Index(CorpusReader(path: $0), folds: folds) }
                for (c, path) in trainingPaths.enumerated() {
                    let training = try CorpusReader(path: path)
                    let hashes = try training.contentHashes()
                    for (holdoutPath, index) in zip(holdouts, indexes) {
                        let overlap = CorpusOverlap(hashes: hashes, ids: training.recordIDs, in: index)
                        guard !overlap.matches.isEmpty else { continue }
                        rows[c] += overlap.matches.map(\.row)
                        found.append("\(path) vs \(holdoutPath): \(overlap.summary())")
                    }
                }
                let foldList = config.holdoutFolds.map(String.init).joined(separator: ",")
                if found.isEmpty {
                    say("leakage guard: no pre-training record equals a record of folds \(foldList) of \(holdouts.joined(separator: ", "))")
                    verdict = "ok"
                } else if config.dropHoldoutDuplicates {
                    let total = Set(rows.enumerated().flatMap { c, r in r.map { "\(c):\($0)" } }).count
                    say("leakage guard: leaving out \(total) pre-training record(s) equal to held-out records (folds \(foldList)): "
                        + found.joined(separator: "; "))
                    verdict = "drop " + rows.map { Set($0).sorted().map(String.init).joined(separator: ",") }.joined(separator: ";")
                } else {
                    verdict = "refuse pre-training records equal records of held-out folds \(foldList) (evaluating on them would "
                        + "measure memory, not features): " + found.joined(separator: "; ")
                        + ". Remove them from the corpus, or pass --drop-holdout-duplicates to leave them out of training."
                }
            } catch {
                verdict = "refuse leakage guard: \(error)"
            }
        }
        verdict = try comm.broadcast(verdict)
        if verdict.hasPrefix("refuse ") { throw TrainingError(String(verdict.dropFirst("refuse ".count))) }
        guard verdict.hasPrefix("drop ") else { return trainingPaths.map { _ in [] } }
        return verdict.dropFirst("drop ".count).split(separator: ";", omittingEmptySubsequences: false).map { list in
            Set(list.split(separator: ",").compactMap { Int($0) })
        }
    }

    /// "mixture: a.h5 70.0 % (800035 records), …" for the start line, or "" for one corpus.
    func mixtureLine(_ loader: ShardedLoader) -> String {
        guard loader.corpusPaths.count > 1 else { return "" }
        let total = Double(loader.recordCount)
        let shares = loader.mixture?.weights ?? loader.corpusRecordCounts.map { Double($0) / total }
        let parts = zip(loader.corpusPaths, zip(shares, loader.corpusRecordCounts)).map { path, sw in
            "\((path as NSString).lastPathComponent) \(String(format: "%.1f", 100 * sw.0)) % (\(sw.1) records)"
        }
        return "mixture (\(loader.mixture == nil ? "by size" : "by weight")): \(parts.joined(separator: ", "))\n"
    }

    /// What share of the samples each corpus really supplied in this run (all ranks), so that a
    /// mixture is seen to follow its weights.
    func reportRealisedMixture(_ loader: ShardedLoader) throws {
        guard loader.corpusPaths.count > 1 else { return }
        var counts = loader.samplesTakenPerCorpus.map(Double.init)
        try comm.allReduceSum(&counts)
        let total = max(1, counts.reduce(0, +))
        let parts = zip(loader.corpusPaths, counts).map { path, n in
            "\((path as NSString).lastPathComponent) \(String(format: "%.2f", 100 * n / total)) % (\(Int(n)))"
        }
        say("realised mixture over this run's \(Int(total)) samples: \(parts.joined(separator: ", "))")
    }

    /// Fails loudly if any rank's parameters or EMA weights differ by a single bit.
    func verifyReplicasIdentical() throws {
        let model = state.model
        let p = parameterChecksum(model.params.values, count: model.params.count)
        let t = parameterChecksum(model.target.values, count: model.target.count)
        let pm = try comm.allReduceMinMax(p), tm = try comm.allReduceMinMax(t)
        if pm.min != pm.max || tm.min != tm.max {
            throw TrainingError("replicas diverged at step \(state.step): parameter checksums \(pm), EMA checksums \(tm)")
        }
    }

    func saveCheckpoint() throws {
        if isRoot { try checkpoints.save(state) }
        try comm.barrier()
    }

    /// Why this run must not use `config.out`, or nil. A folder holding a run's files (config.json,
    /// metrics.jsonl, checkpoints) is refused without --resume: a new run would overwrite its
    /// config and mix its metrics and checkpoints with the old ones. With --resume, the folder's
    /// config.json must describe the same model and global batch (what the checkpoints and the
    /// sample stream depend on); a changed step count is allowed (config.json records it).
    func runFolderProblem(resume: String?) -> String? {
        let fm = FileManager.default
        let out = config.out
        let marks = ["config.json", "metrics.jsonl", "checkpoints"].filter { fm.fileExists(atPath: out + "/" + $0) }
        guard !marks.isEmpty else { return nil }
        guard resume != nil else {
            return "\(out) already holds a run (\(marks.joined(separator: ", "))); continue it with --resume auto, "
                + "or start a new run with a new or empty --out"
        }
        guard marks.contains("config.json") else { return nil }
        guard let previous = try? PretrainConfig.load(path: out + "/config.json") else {
            return "\(out)/config.json: cannot read the run's config to check it against this one"
        }
        var changed: [String] = []
        if previous.model != config.model { changed.append("--model \(previous.model) → \(config.model)") }
        if previous.globalBatch != config.globalBatch { changed.append("--global-batch \(previous.globalBatch) → \(config.globalBatch)") }
        if previous.seed != config.seed { changed.append("--seed \(previous.seed) → \(config.seed)") }
        if previous.maskPerSample != config.maskPerSample { changed.append("--masks") }
        if previous.layerNormBias != config.layerNormBias { changed.append("--layer-norm-bias") }
        let previousWeights = (try? DataSpec.weights(previous.data.map(DataSpec.init))) ?? nil
        if previousWeights != ((try? DataSpec.weights(config.data.map(DataSpec.init))) ?? nil) { changed.append("--data weights") }
        guard changed.isEmpty else {
            return "\(out) holds a different run: \(changed.joined(separator: ", ")); resume with the run's own settings "
                + "(its config.json), or start a new run with a new --out"
        }
        if previous.steps != config.steps { say("resume: --steps \(previous.steps) → \(config.steps) (recorded in config.json)") }
        return nil
    }

    /// A periodic evaluation that cannot run would fail only at its first evaluation, hours in:
    /// check its corpus and task before the run starts.
    func evalTaskProblem() -> String? {
        guard let evalData = config.evalData else { return nil }
        do {
            let tasks = try CorpusReader(path: evalData).taskNames
            if tasks.contains(config.evalTask) { return nil }
            return "\(evalData): no label task '\(config.evalTask)' for --eval-task (tasks: \(tasks.joined(separator: ", ")))"
        } catch {
            return "--eval-data: \(error)"
        }
    }

    /// Returns the checkpoint path resumed from, or nil for a fresh start.
    func restore(_ resume: String?) throws -> String? {
        guard let resume else { return nil }
        let path: String? = resume == "auto" ? checkpoints.latest() : resume
        // Rank 0 decides and reads; the bytes go to every rank (no shared file system needed).
        var bytes: [UInt8] = []
        var chosen = ""
        if isRoot, let path {
            chosen = path
            do { bytes = try readFileBytes(path) } catch {
                throw TrainingError("cannot read checkpoint \(path) (\(error))")
            }
        }
        chosen = try comm.broadcast(chosen)
        if chosen.isEmpty { return nil }
        try comm.broadcast(&bytes)
        try checkpoints.load(bytes, path: chosen, into: state)
        return chosen
    }

    lazy var evaluator: PeriodicEvaluator? = config.evalData.map {
        PeriodicEvaluator(dataPath: $0, task: config.evalTask, steps: config.evalSteps, seed: config.seed)
    }

    func periodicEvaluation() throws {
        guard let evaluator else { return }
        let start = Date()
        // Every rank encodes its share of the evaluation crops; rank 0 trains the probe.
        let result = try evaluator.evaluate(weights: state.model.target.values, config: state.vit, group: comm)
        if isRoot, let result {
            let pause = Date().timeIntervalSince(start)
            say("eval step \(state.step): \(config.evalTask) linear-probe val AUC "
                + String(format: "%.4f", result.valAUC) + " test AUC " + String(format: "%.4f", result.testAUC)
                + String(format: " (training paused %.2f s, features encoded on %d rank(s))", pause, comm.size))
            log?.append(["step": state.step, "eval": [config.evalTask: ["val_auc": result.valAUC, "test_auc": result.testAUC]],
                         "eval_pause_s": pause])
        }
        // The other ranks wait here while rank 0 trains the probe.
        try comm.barrier()
    }
}
