import ECGData
import Model

// Cropping protocol of the PTB-XL benchmark (Strodthoff et al. 2021; Weimann & Conrad 2024):
// models see 2.5 s windows (1250 samples at 500 Hz) of the 10 s records. Training draws one random
// window per record and step; validation and test slide the window with a 1.25 s stride so 7
// overlapping windows cover the whole record, and the record's logits are the mean of the 7.
// Signals are time-major [T, C], so a window is one contiguous slice of the record.

public struct CropPlan: Sendable, Equatable {
    public let recordLength: Int
    public let cropLength: Int
    public let evalStride: Int

    /// PTB-XL at 500 Hz: 10 s records, 2.5 s crops, 1.25 s stride.
    public static let ptbxl = CropPlan(recordLength: 5000, cropLength: 1250, evalStride: 625)

    public init(recordLength: Int, cropLength: Int, evalStride: Int) {
        precondition(cropLength > 0 && cropLength <= recordLength && evalStride > 0, "invalid crop plan")
        self.recordLength = recordLength
        self.cropLength = cropLength
        self.evalStride = evalStride
    }

    /// Window starts for evaluation: 0, stride, 2·stride, … up to the last full window. If the
    /// stride does not land on the record's end, one more window ending exactly at the end is
    /// added so no sample is ever left out.
    public var evalOffsets: [Int] {
        let last = recordLength - cropLength
        var offsets = Array(stride(from: 0, through: last, by: evalStride))
        if offsets.last != last { offsets.append(last) }
        return offsets
    }

    /// Uniform random window start in 0...recordLength-cropLength.
    public func randomOffset(_ rng: inout SplitMix64) -> Int {
        rng.nextInt(below: recordLength - cropLength + 1)
    }

    /// Random training window of (record, draw): a pure function of the seed so runs repeat.
    public func trainingOffset(seed: UInt64, counter: UInt64) -> Int {
        var rng = SplitMix64(seed: seed, stream: RNGStream.probe.rawValue, counter: counter)
        return randomOffset(&rng)
    }
}

/// Copies window [offset, offset + cropLength) of a time-major record with `channels` leads.
@inline(__always)
public func copyCrop(record: UnsafePointer<Float>, offset: Int, cropLength: Int, channels: Int,
                     into destination: UnsafeMutablePointer<Float>) {
    destination.update(from: record + offset * channels, count: cropLength * channels)
}

/// Record-level logits by averaging a model over every evaluation window.
///
/// `recordSignal(i)` returns record i (time-major, `channels` leads, `plan.recordLength` rows);
/// `forward(crops, count, logits)` writes `count × labelCount` logits for `count` crops laid out
/// back to back. Crops of up to `batchCrops` windows are batched together (several records per
/// call; a record's windows never split across calls). Returns `records × labelCount` logits.
public func aggregateCropLogits(records: Int, labelCount: Int, channels: Int, plan: CropPlan, batchCrops: Int,
                                recordSignal: (Int) -> UnsafePointer<Float>,
                                forward: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) throws -> Void)
rethrows -> [Float] {
    let offsets = plan.evalOffsets
    let perRecord = offsets.count
    let recordsPerBatch = max(1, batchCrops / perRecord)
    let cropFloats = plan.cropLength * channels
    let crops = UnsafeMutablePointer<Float>.allocate(capacity: recordsPerBatch * perRecord * cropFloats)
    let logits = UnsafeMutablePointer<Float>.allocate(capacity: recordsPerBatch * perRecord * labelCount)
    defer { crops.deallocate(); logits.deallocate() }
    var result = [Float](repeating: 0, count: records * labelCount)
    var first = 0
    while first < records {
        let count = min(recordsPerBatch, records - first)
        for r in 0..<count {
            let signal = recordSignal(first + r)
            for (k, offset) in offsets.enumerated() {
                copyCrop(record: signal, offset: offset, cropLength: plan.cropLength, channels: channels,
                         into: crops + (r * perRecord + k) * cropFloats)
            }
        }
        try forward(crops, count * perRecord, logits)
        result.withUnsafeMutableBufferPointer {
            averageCropLogits(logits, records: count, cropsPerRecord: perRecord, labelCount: labelCount,
                              into: $0.baseAddress! + first * labelCount)
        }
        first += count
    }
    return result
}

/// out[r, j] = mean over k of perCrop[r·crops + k, j]: a record's logits from its windows' logits
/// (the windows of one record are consecutive rows).
public func averageCropLogits(_ perCrop: UnsafePointer<Float>, records: Int, cropsPerRecord: Int, labelCount: Int,
                              into out: UnsafeMutablePointer<Float>) {
    let inverse = 1 / Float(cropsPerRecord)
    for r in 0..<records {
        for j in 0..<labelCount {
            var sum: Float = 0
            for k in 0..<cropsPerRecord { sum += perCrop[(r * cropsPerRecord + k) * labelCount + j] }
            out[r * labelCount + j] = sum * inverse
        }
    }
}
