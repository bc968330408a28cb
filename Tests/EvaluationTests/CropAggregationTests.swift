import XCTest
import ECGData
@testable import Evaluation
import Model

/// The evaluation crops of the PTB-XL protocol and the averaging of their logits.
final class CropAggregationTests: XCTestCase {
    func testPTBXLOffsetsCoverTheWholeRecord() {
        let plan = CropPlan.ptbxl
        XCTAssertEqual(plan.evalOffsets, [0, 625, 1250, 1875, 2500, 3125, 3750])
        var covered = [Bool](repeating: false, count: plan.recordLength)
        for o in plan.evalOffsets { for t in o..<(o + plan.cropLength) { covered[t] = true } }
        XCTAssertTrue(covered.allSatisfy { $0 })
        XCTAssertEqual(plan.evalOffsets.last! + plan.cropLength, plan.recordLength)
    }

    func testUnevenStrideAddsAWindowEndingAtTheEnd() {
        let plan = CropPlan(recordLength: 100, cropLength: 30, evalStride: 25)
        XCTAssertEqual(plan.evalOffsets, [0, 25, 50, 70])
    }

    /// Fake model: logit j of a crop = mean over time of lead j of that crop. The record's
    /// aggregate must then be the mean over the 7 windows of the window means, computed here
    /// independently from the known signal, and it must differ from the plain record mean (the
    /// windows overlap, so inner samples count twice): a wrong offset set would show.
    func testLogitsAreAveragedOverTheSevenWindows() throws {
        let plan = CropPlan.ptbxl
        let channels = 3, records = 5
        // Signal value: a record-specific parabola per lead (a straight ramp would hide the overlap weighting), so every window has a different mean.
        var signals = [[Float]](repeating: [], count: records)
        for r in 0..<records {
            signals[r] = (0..<(plan.recordLength * channels)).map { i in
                let t = i / channels, c = i % channels
                let x = Float(t) / 1000
                return Float(r + 1) * x * x + Float(c) * Float(t % 7)
            }
        }
        var seenOffsets: [[Float]] = []
        let pointers = signals.map { s -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: s.count); p.initialize(from: s, count: s.count); return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        let aggregate = try aggregateCropLogits(
            records: records, labelCount: channels, channels: channels, plan: plan, batchCrops: 16,
            recordSignal: { UnsafePointer(pointers[$0]) },
            forward: { crops, count, logits in
                for k in 0..<count {
                    let crop = crops + k * plan.cropLength * channels
                    seenOffsets.append([crop[0]])
                    for c in 0..<channels {
                        var s: Double = 0
                        for t in 0..<plan.cropLength { s += Double(crop[t * channels + c]) }
                        logits[k * channels + c] = Float(s / Double(plan.cropLength))
                    }
                }
            })
        XCTAssertEqual(seenOffsets.count, records * 7)
        for r in 0..<records {
            for c in 0..<channels {
                var expected = 0.0
                for o in stride(from: 0, through: 3750, by: 625) {
                    var s = 0.0
                    for t in o..<(o + 1250) { s += Double(signals[r][t * channels + c]) }
                    expected += s / 1250
                }
                expected /= 7
                XCTAssertEqual(Double(aggregate[r * channels + c]), expected, accuracy: 1e-3 * max(1, abs(expected)))
                var plain = 0.0
                for t in 0..<plan.recordLength { plain += Double(signals[r][t * channels + c]) }
                plain /= Double(plan.recordLength)
                if c == 0 { XCTAssertGreaterThan(abs(plain - expected), 1e-2, "test would not see a wrong window set") }
            }
        }
    }

    func testTrainingOffsetsAreDeterministicAndInRange() {
        let plan = CropPlan.ptbxl
        var seen = Set<Int>()
        for i in 0..<500 {
            let a = plan.trainingOffset(seed: 3, counter: UInt64(i))
            XCTAssertEqual(a, plan.trainingOffset(seed: 3, counter: UInt64(i)))
            XCTAssertTrue((0...3750).contains(a))
            seen.insert(a)
        }
        XCTAssertGreaterThan(seen.count, 400)
    }
}
