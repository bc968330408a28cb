import Foundation
import HDF5Shim

/// One HDF5 dataset. Row = index along the first axis; a row holds `rowElements` values.
/// Keeps its file alive so the dataset is always closed before the file.
public final class H5Dataset {
    public let file: H5File
    public let name: String
    public let id: hid_t

    init(file: H5File, name: String, id: hid_t) {
        self.file = file
        self.name = name
        self.id = id
    }

    deinit { H5Dclose(id) }

    private func error(_ message: String) -> HDF5Error { HDF5Error(file: file.path, object: name, message) }

    public var attributes: H5Attributes { H5Attributes(objectID: id, file: file.path, object: name) }

    /// Current extent of every axis.
    public var shape: [Int] {
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    /// HDF5 class of the stored type (H5T_FLOAT, H5T_INTEGER, H5T_STRING, ...) and its size in bytes.
    public var storedType: (typeClass: H5T_class_t, size: Int) {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        return (H5Tget_class(type), H5Tget_size(type))
    }

    /// Values per row: the product of all axes but the first.
    public var rowElements: Int { shape.dropFirst().reduce(1, *) }

    /// Grows (or shrinks) the first axis to `rows`; the dataset must have been created extendable.
    public func resize(rows: Int) throws {
        var dims = shape.map { hsize_t($0) }
        dims[0] = hsize_t(rows)
        guard H5Dset_extent(id, &dims) >= 0 else { throw error("cannot resize to \(rows) rows (not extendable?)") }
    }

    /// File dataspace with rows `rows` selected (all columns), and the matching contiguous memory space.
    private func rowSelection(_ rows: Range<Int>) throws -> (file: hid_t, memory: hid_t) {
        let dims = shape
        guard rows.lowerBound >= 0, rows.upperBound <= dims[0] else {
            throw error("rows \(rows.lowerBound)..<\(rows.upperBound) out of range 0..<\(dims[0])")
        }
        let fileSpace = H5Dget_space(id)
        var start = [hsize_t](repeating: 0, count: dims.count)
        var count = dims.map { hsize_t($0) }
        start[0] = hsize_t(rows.lowerBound)
        count[0] = hsize_t(rows.count)
        if rows.isEmpty {
            H5Sselect_none(fileSpace)
        } else {
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil)
        }
        // Same rank and shape as the file selection: HDF5 then maps whole chunks at once instead of
        // iterating element by element (a 1-D memory space made writes ~5x slower).
        var memoryDims = [hsize_t(max(rows.count, 1))] + dims.dropFirst().map { hsize_t($0) }
        let memorySpace = H5Screate_simple(Int32(memoryDims.count), &memoryDims, nil)
        if rows.isEmpty { H5Sselect_none(memorySpace) }
        return (fileSpace, memorySpace)
    }

    // MARK: numeric rows

    /// Reads rows `rows` into `buffer` (rows.count × rowElements values).
    public func readRows<T: H5NativeScalar>(_ rows: Range<Int>, into buffer: UnsafeMutablePointer<T>) throws {
        try readRows(rows, into: UnsafeMutableRawPointer(buffer), memoryType: T.h5MemoryType)
    }

    /// Reads rows `rows` into `buffer` as elements of `memoryType` (e.g. the stored type itself, so
    /// HDF5 copies bytes without converting).
    public func readRows(_ rows: Range<Int>, into buffer: UnsafeMutableRawPointer, memoryType: hid_t) throws {
        let (fileSpace, memorySpace) = try rowSelection(rows)
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
        guard H5Dread(id, memoryType, memorySpace, fileSpace, shim_H5P_DEFAULT(), buffer) >= 0 else {
            throw error("cannot read rows \(rows.lowerBound)..<\(rows.upperBound)")
        }
    }

    /// Reads the rows listed in `indices` (any order, repeats allowed) into `buffer`, row i of the buffer
    /// = dataset row indices[i]. One HDF5 read of the union of runs of consecutive rows.
    public func readRows<T: H5NativeScalar>(at indices: [Int], into buffer: UnsafeMutablePointer<T>) throws {
        try readRows(at: indices, into: UnsafeMutableRawPointer(buffer), memoryType: T.h5MemoryType,
                     elementBytes: MemoryLayout<T>.stride)
    }

    /// `readRows(at:into:)` with elements of `memoryType`, `elementBytes` bytes each.
    public func readRows(at indices: [Int], into buffer: UnsafeMutableRawPointer, memoryType: hid_t, elementBytes: Int) throws {
        let dims = shape
        let rowBytes = dims.dropFirst().reduce(1, *) * elementBytes
        for index in indices where index < 0 || index >= dims[0] {
            throw error("row \(index) out of range 0..<\(dims[0])")
        }
        let unique = Array(Set(indices)).sorted()
        let fileSpace = H5Dget_space(id)
        defer { H5Sclose(fileSpace) }
        H5Sselect_none(fileSpace)
        var runStart = 0
        while runStart < unique.count {
            var runEnd = runStart + 1
            while runEnd < unique.count && unique[runEnd] == unique[runEnd - 1] + 1 { runEnd += 1 }
            var start = [hsize_t](repeating: 0, count: dims.count)
            var count = dims.map { hsize_t($0) }
            start[0] = hsize_t(unique[runStart])
            count[0] = hsize_t(runEnd - runStart)
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_OR, &start, nil, &count, nil)
            runStart = runEnd
        }
        var memoryDims = [hsize_t(max(unique.count, 1))] + dims.dropFirst().map { hsize_t($0) }
        let memorySpace = H5Screate_simple(Int32(memoryDims.count), &memoryDims, nil)
        defer { H5Sclose(memorySpace) }
        if unique.isEmpty { H5Sselect_none(memorySpace) }
        // HDF5 returns the selection in file order; read straight into `buffer` when that is the asked order.
        if unique == indices {
            guard H5Dread(id, memoryType, memorySpace, fileSpace, shim_H5P_DEFAULT(), buffer) >= 0 else {
                throw error("cannot read \(indices.count) listed rows")
            }
            return
        }
        let sorted = UnsafeMutableRawPointer.allocate(byteCount: max(unique.count, 1) * max(rowBytes, 1), alignment: 64)
        defer { sorted.deallocate() }
        guard H5Dread(id, memoryType, memorySpace, fileSpace, shim_H5P_DEFAULT(), sorted) >= 0 else {
            throw error("cannot read \(indices.count) listed rows")
        }
        var position: [Int: Int] = [:]
        for (i, row) in unique.enumerated() { position[row] = i }
        for (i, row) in indices.enumerated() {
            (buffer + i * rowBytes).copyMemory(from: sorted + position[row]! * rowBytes, byteCount: rowBytes)
        }
    }

    /// Writes `buffer` (rows.count × rowElements values) into rows `rows`.
    public func writeRows<T: H5NativeScalar>(_ rows: Range<Int>, from buffer: UnsafePointer<T>) throws {
        try writeRows(rows, from: UnsafeRawPointer(buffer), memoryType: T.h5MemoryType)
    }

    /// Writes rows `rows` from `buffer` holding elements of `memoryType`.
    public func writeRows(_ rows: Range<Int>, from buffer: UnsafeRawPointer, memoryType: hid_t) throws {
        let (fileSpace, memorySpace) = try rowSelection(rows)
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
        guard H5Dwrite(id, memoryType, memorySpace, fileSpace, shim_H5P_DEFAULT(), buffer) >= 0 else {
            throw error("cannot write rows \(rows.lowerBound)..<\(rows.upperBound)")
        }
    }

    /// Reads the whole dataset.
    public func read<T: H5NativeScalar>(as: T.Type = T.self) throws -> [T] {
        let rows = shape.first ?? 0
        let total = shape.reduce(1, *)
        if total == 0 { return [] }
        return try [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            try readRows(0..<rows, into: buffer.baseAddress!)
            initialized = total
        }
    }

    /// Writes the whole dataset (values.count must equal the element count).
    public func write<T: H5NativeScalar>(_ values: [T]) throws {
        guard values.count == shape.reduce(1, *) else { throw error("write of \(values.count) values into shape \(shape)") }
        if values.isEmpty { return }
        try values.withUnsafeBufferPointer { try writeRows(0..<shape[0], from: $0.baseAddress!) }
    }

    // MARK: strings (1-D)

    /// Writes fixed-length strings into rows `rows`; each is cut to the dataset's string size (UTF-8 bytes).
    public func writeStrings(_ strings: [String], rows: Range<Int>) throws {
        guard strings.count == rows.count else { throw error("\(strings.count) strings for \(rows.count) rows") }
        let (typeClass, size) = storedType
        guard typeClass == H5T_STRING else { throw error("not a string dataset") }
        var bytes = [UInt8](repeating: 0, count: max(1, strings.count * size))
        for (i, string) in strings.enumerated() {
            for (j, byte) in string.utf8.prefix(size).enumerated() { bytes[i * size + j] = byte }
        }
        let (fileSpace, memorySpace) = try rowSelection(rows)
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
        let memoryType = makeFixedStringType(size)
        defer { H5Tclose(memoryType) }
        guard H5Dwrite(id, memoryType, memorySpace, fileSpace, shim_H5P_DEFAULT(), bytes) >= 0 else {
            throw error("cannot write strings")
        }
    }

    /// Reads a 1-D fixed-length string dataset (variable-length strings are refused: below).
    public func readStrings() throws -> [String] {
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        return try readStringValues(file: file.path, type: type, space: space, count: count, what: name) { memoryType, buffer in
            H5Dread(id, memoryType, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), buffer)
        }
    }
}

/// Shared by dataset and attribute string reads: fixed-length string values.
///
/// Variable-length strings are refused before any of their data is read. Their stored values are
/// (length, global heap address) pairs, and neither those pairs (raw data) nor the global heap has
/// a checksum in any HDF5 format: the fuzzer made libhdf5 1.10.8 allocate 3 GB from one mutated
/// length within 5,882 executions (docs/fuzzing.md). Whether a string is variable-length is part
/// of the datatype, which sits in the checksummed object header, so this refusal itself is safe.
func readStringValues(file: String, type: hid_t, space: hid_t, count: Int, what: String,
                      read: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> [String] {
    guard H5Tget_class(type) == H5T_STRING else { throw HDF5Error(file: file, object: what, "not a string") }
    let variableLength = H5Tis_variable_str(type)
    guard variableLength == 0 else {
        throw HDF5Error(file: file, object: what, variableLength < 0 ? "cannot read the string type" :
            "variable-length strings are not read (HDF5 keeps them in a global heap without checksums); store fixed-length strings, e.g. h5py dtype 'S64' (docs/hdf5-layout.md)")
    }
    if count == 0 { return [] }
    let size = H5Tget_size(type)
    let memoryType = makeFixedStringType(size)
    defer { H5Tclose(memoryType) }
    var bytes = [UInt8](repeating: 0, count: count * size)
    let status = bytes.withUnsafeMutableBytes { read(memoryType, $0.baseAddress!) }
    guard status >= 0 else { throw HDF5Error(file: file, object: what, "cannot read strings") }
    return (0..<count).map { i in
        let field = bytes[(i * size)..<((i + 1) * size)]
        let used = field.prefix { $0 != 0 }
        return String(decoding: used, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
