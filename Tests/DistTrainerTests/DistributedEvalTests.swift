import Foundation
import XCTest
@testable import DistTrainer
@testable import Evaluation
import ECGData
import Model
import ModelIO

/// The periodic evaluation's encoding shared over ranks (Evaluation/FeatureEncodingGroup.swift,
/// DistTrainer/Comm/FeatureGather.swift) gives rank 0 the same bits as encoding everything alone,
/// and the same AUCs. Run under `mpirun -np 2` and `-np 3` by scripts/test.sh (and as one rank by
/// plain `swift test`, where it checks the single-rank path).
final class DistributedEvalTests: XCTestCase {
    func testSharedEncodingIsBitIdenticalToOneRank() throws {
        let comm = try Communicator.world()
        // One corpus for all ranks: rank 0 names and writes it.
        var path = comm.rank == 0 ? NSTemporaryDirectory() + "dist-eval-\(getpid())-\(UUID().uuidString.prefix(8)).h5" : ""
        path = try comm.broadcast(path)
        if comm.rank == 0 { _ = try SynthCorpus.write(path: path, records: 50, seed: 3, ranks: nil) }
        try comm.barrier()
        defer { if comm.rank == 0 { try? FileManager.default.removeItem(atPath: path) } }
        let data = try EvalDataset.load(path: path, tasks: ["synth"])
        let config = try ViTConfig.parse("dim=32,depth=2,heads=2,pred-dim=16,pred-depth=2,pred-heads=2")
        var layout = ParameterLayout()
        let encoder = ViTEncoder(config: config, layout: &layout, prefix: "encoder.")
        let store = ParameterStore(layout: layout)
        encoder.initialize(store.values, seed: 4)
        var options = EvalOptions()
        options.tasks = ["synth"]
        options.cropsPerRecord = 2
        options.encodeBatchCrops = 3          // many small batches, so every rank gets several
        options.linearSteps = 20
        let plan = try evalCropPlan(recordLength: data.recordLength, patchSize: 25, cropSamples: options.cropSamples)

        let shared = try FrozenFeatures(encoder: encoder, weights: store.values, data: data, plan: plan, options: options,
                                        log: nil, group: comm)
        let sharedReport = try evaluate(encoderWeights: UnsafePointer(store.values), config: config, data: data,
                                        options: options, group: comm)
        if comm.rank == 0 {
            let alone = try FrozenFeatures(encoder: encoder, weights: store.values, data: data, plan: plan, options: options, log: nil)
            let n = alone.crop
            var compared = 0
            for i in 0..<data.count {
                if (1...8).contains(data.folds[i]) {
                    for k in 0..<alone.cropsPerRecord {
                        let a = UnsafeBufferPointer(start: alone.trainTokens(record: i, crop: k), count: n)
                        let b = UnsafeBufferPointer(start: shared.trainTokens(record: i, crop: k), count: n)
                        XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }, "train record \(i) crop \(k) on \(comm.size) rank(s)")
                        compared += 1
                    }
                } else if data.folds[i] == 9 || data.folds[i] == 10 {
                    let m = n * alone.windowsPerRecord
                    let a = UnsafeBufferPointer(start: alone.evalTokens(record: i), count: m)
                    let b = UnsafeBufferPointer(start: shared.evalTokens(record: i), count: m)
                    XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }, "eval record \(i) on \(comm.size) rank(s)")
                    compared += 1
                }
            }
            XCTAssertGreaterThan(compared, 40)
            let aloneReport = try evaluate(encoderWeights: UnsafePointer(store.values), config: config, data: data, options: options)
            XCTAssertEqual(sharedReport.results.first?.test.mean, aloneReport.results.first?.test.mean)
            XCTAssertEqual(sharedReport.results.first?.val.mean, aloneReport.results.first?.val.mean)
            XCTAssertNotNil(sharedReport.results.first?.test.mean ?? nil)
        } else {
            XCTAssertTrue(sharedReport.results.isEmpty, "only rank 0 trains the probe")
        }
        try comm.barrier()
    }
}
