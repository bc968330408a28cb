import HDF5Shim

/// `/signals` of a corpus in its stored dtype, read and written as float32 mV rows. The one place
/// that knows how a float16 corpus is laid out: halves are moved as raw bytes (the stored type is
/// also the memory type, so HDF5 copies without converting) and widened/narrowed by
/// `HalfPrecision`'s vector loops.
final class SignalRows {
    let dataset: H5Dataset
    let dtype: SignalDType
    /// Memory type of a raw half transfer (float16 only).
    private let halfType: hid_t?

    init(_ dataset: H5Dataset, dtype: SignalDType) throws {
        self.dataset = dataset
        self.dtype = dtype
        if dtype == .float16 {
            let type = shim_make_H5T_IEEE_F16LE()
            guard type >= 0 else { throw HDF5Error(file: dataset.file.path, object: dataset.name, "cannot build the float16 type") }
            halfType = type
        } else {
            halfType = nil
        }
    }

    deinit { if let halfType { H5Tclose(halfType) } }

    var rowElements: Int { dataset.rowElements }

    /// Reads rows into `buffer` (rows.count × rowElements floats).
    func read(_ rows: Range<Int>, into buffer: UnsafeMutablePointer<Float>) throws {
        guard let halfType else { return try dataset.readRows(rows, into: buffer) }
        let count = rows.count * rowElements
        try dataset.readRows(rows, into: UnsafeMutableRawPointer(buffer) + 2 * count, memoryType: halfType)
        HalfPrecision.widenInPlace(buffer, count: count)
    }

    /// Reads the listed rows (any order) into `buffer`, row i = dataset row indices[i].
    func read(at indices: [Int], into buffer: UnsafeMutablePointer<Float>) throws {
        guard let halfType else { return try dataset.readRows(at: indices, into: buffer) }
        let count = indices.count * rowElements
        try dataset.readRows(at: indices, into: UnsafeMutableRawPointer(buffer) + 2 * count, memoryType: halfType, elementBytes: 2)
        HalfPrecision.widenInPlace(buffer, count: count)
    }

    /// Runs `body` with `rows` (float32 values) as the bytes /signals stores — float32 in place,
    /// float16 narrowed to halves — for `write(_:stored:)` on another rank.
    func withStoredBytes<R>(of rows: UnsafeBufferPointer<Float>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard halfType != nil, let base = rows.baseAddress else { return try body(UnsafeRawBufferPointer(rows)) }
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: rows.count)
        defer { halves.deallocate() }
        HalfPrecision.narrow(base, into: halves, count: rows.count)
        return try body(UnsafeRawBufferPointer(start: halves, count: 2 * rows.count))
    }

    /// Writes rows given as stored bytes (`withStoredBytes(of:)`).
    func write(_ rows: Range<Int>, stored bytes: UnsafeRawBufferPointer) throws {
        let expected = rows.count * rowElements * (halfType == nil ? 4 : 2)
        guard bytes.count == expected, let base = bytes.baseAddress else {
            throw HDF5Error(file: dataset.file.path, object: dataset.name, "\(bytes.count) bytes for \(rows.count) rows (expected \(expected))")
        }
        if let halfType { try dataset.writeRows(rows, from: base, memoryType: halfType) }
        else { try dataset.writeRows(rows, from: base.assumingMemoryBound(to: Float.self)) }
    }

    /// Writes rows from `buffer` (float32 mV; for float16 the values should already be rounded to
    /// halves, `HalfPrecision.roundInPlace`, so the statistics the writer took match what is stored).
    func write(_ rows: Range<Int>, from buffer: UnsafePointer<Float>) throws {
        try withStoredBytes(of: UnsafeBufferPointer(start: buffer, count: rows.count * rowElements)) { try write(rows, stored: $0) }
    }
}
