import Foundation
import HDF5Shim

/// An HDF5 failure, naming the file and (when there is one) the dataset/attribute involved.
public struct HDF5Error: Error, CustomStringConvertible, LocalizedError {
    public let file: String
    public let object: String
    public let message: String

    public init(file: String, object: String = "", _ message: String) {
        self.file = file
        self.object = object
        self.message = message
    }

    public var description: String {
        object.isEmpty ? "\(file): \(message)" : "\(file): \(object): \(message)"
    }
    public var errorDescription: String? { description }
}

/// This HDF5 build is not thread-safe: while another thread may be inside HDF5 (the pre-training
/// loader's read-ahead thread), every HDF5 call must hold this lock.
public let hdf5Lock = NSLock()

/// Element types ecg-dist stores. `fileType` is the on-disk (little-endian) type, `memoryType` the native one.
public enum H5ElementType: Equatable, Sendable {
    case float32, float64, int16, int32, int64, uint8
    /// IEEE half, little-endian (`SignalDType.float16`); h5py reads it as numpy float16.
    case float16
    case fixedString(Int)

    /// A new type id for fixed strings and halves (caller closes it); a predefined id otherwise (never closed).
    func makeFileType() -> (id: hid_t, owned: Bool) {
        switch self {
        case .float32: return (shim_H5T_IEEE_F32LE(), false)
        case .float64: return (shim_H5T_IEEE_F64LE(), false)
        case .int16: return (shim_H5T_STD_I16LE(), false)
        case .int32: return (shim_H5T_STD_I32LE(), false)
        case .int64: return (shim_H5T_STD_I64LE(), false)
        case .uint8: return (shim_H5T_STD_U8LE(), false)
        case .float16: return (shim_make_H5T_IEEE_F16LE(), true)
        case .fixedString(let size): return (makeFixedStringType(size), true)
        }
    }
}

/// A fixed-length, NUL-padded C string type of `size` bytes (caller closes it).
func makeFixedStringType(_ size: Int) -> hid_t {
    let type = H5Tcopy(shim_H5T_C_S1())
    H5Tset_size(type, max(1, size))
    H5Tset_strpad(type, H5T_STR_NULLPAD)
    return type
}

/// Swift scalars that map onto a native HDF5 memory type; HDF5 converts from the stored type on read.
public protocol H5NativeScalar {
    static var h5MemoryType: hid_t { get }
}
extension Float: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_FLOAT() } }
extension Double: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_DOUBLE() } }
extension Int16: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_INT16() } }
extension Int32: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_INT32() } }
extension Int64: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_INT64() } }
extension UInt8: H5NativeScalar { public static var h5MemoryType: hid_t { shim_H5T_NATIVE_UINT8() } }

/// One HDF5 file. Files are opened with the default (sec2) driver unless the caller passes a file
/// access property list: DistTrainer passes an MPI-IO one (DistTrainer/Comm/ParallelHDF5.swift) so
/// that every rank of a communicator shares the file. This target never sees MPI itself.
public final class H5File {
    public enum Mode: Sendable { case readOnly, readWrite }

    public let path: String
    public let id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    deinit { H5Fclose(id) }

    /// HDF5 prints its error stack to stderr unless told not to; ecg-dist reports its own errors.
    static let silenced: Bool = { _ = shim_H5_silence_errors(); return true }()

    /// Creates (truncating any existing file) a new HDF5 file in the HDF5 1.10 format, whose
    /// metadata is all checksummed (`H5FormatCheck` says why). `accessList` is a file access
    /// property list (default: serial access); the caller keeps ownership of it.
    public static func create(path: String, accessList: hid_t? = nil) throws -> H5File {
        _ = silenced
        let fapl = try checksummedFormatAccess(copying: accessList, path: path)
        defer { H5Pclose(fapl) }
        let id = H5Fcreate(path, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), fapl)
        guard id >= 0 else { throw HDF5Error(file: path, "cannot create HDF5 file (directory missing or not writable?)") }
        return H5File(path: path, id: id)
    }

    /// Opens an existing HDF5 file; `accessList` as in `create`. Unless `allowUnchecksummedMetadata`
    /// (CODE-15% source files only, which h5py writes in the old format), the file's superblock is
    /// checked first by `H5FormatCheck` and a file without metadata checksums is refused before
    /// libhdf5 reads any of it. Opened for writing, objects created in the file (an `--append`'s
    /// new datasets) get the checksummed format too.
    public static func open(path: String, mode: Mode = .readOnly, accessList: hid_t? = nil,
                            allowUnchecksummedMetadata: Bool = false) throws -> H5File {
        _ = silenced
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(file: path, "no such file") }
        if !allowUnchecksummedMetadata { try H5FormatCheck.requireChecksummedMetadata(path: path) }
        guard H5Fis_hdf5(path) > 0 else { throw HDF5Error(file: path, "not an HDF5 file") }
        let flags = mode == .readOnly ? shim_H5F_ACC_RDONLY() : shim_H5F_ACC_RDWR()
        let writeAccess = mode == .readWrite ? try checksummedFormatAccess(copying: accessList, path: path) : nil
        defer { if let writeAccess { H5Pclose(writeAccess) } }
        let id = H5Fopen(path, flags, writeAccess ?? accessList ?? shim_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Error(file: path, "cannot open HDF5 file \(mode == .readOnly ? "for reading" : "for writing")") }
        return H5File(path: path, id: id)
    }

    /// A copy of `accessList` (or of the default list) whose library-version bounds are both
    /// HDF5 1.10: superblock version 3, version-2 object headers, extensible/fixed array chunk
    /// indices, dense storage in fractal heaps and version-2 B-trees, all checksummed. (The
    /// default bounds write the old format: superblock 0, version-1 headers, version-1 B-trees
    /// and local heaps, none of them checksummed.) The caller closes the returned list.
    static func checksummedFormatAccess(copying accessList: hid_t?, path: String) throws -> hid_t {
        let fapl = accessList.map { H5Pcopy($0) } ?? H5Pcreate(shim_H5P_FILE_ACCESS())
        guard fapl >= 0 else { throw HDF5Error(file: path, "cannot make a file access property list") }
        guard H5Pset_libver_bounds(fapl, shim_H5F_LIBVER_V110(), shim_H5F_LIBVER_V110()) >= 0 else {
            H5Pclose(fapl)
            throw HDF5Error(file: path, "this libhdf5 cannot write the HDF5 1.10 file format (H5Pset_libver_bounds)")
        }
        return fapl
    }

    /// Attributes of the root group `/`.
    public var attributes: H5Attributes { H5Attributes(objectID: id, file: path, object: "/") }

    /// True when a link (dataset or group) exists at `path`, e.g. "labels/all". Intermediate groups are checked.
    public func exists(_ objectPath: String) -> Bool {
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += (prefix.isEmpty ? "" : "/") + part
            if H5Lexists(id, prefix, shim_H5P_DEFAULT()) <= 0 { return false }
        }
        return !prefix.isEmpty
    }

    public func createGroup(_ name: String) throws {
        let group = H5Gcreate2(id, name, shim_H5P_DEFAULT(), shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard group >= 0 else { throw HDF5Error(file: path, object: name, "cannot create group") }
        H5Gclose(group)
    }

    /// Names of the links directly inside group `name`, in name order.
    public func groupMembers(_ name: String) throws -> [String] {
        let group = H5Gopen2(id, name, shim_H5P_DEFAULT())
        guard group >= 0 else { throw HDF5Error(file: path, object: name, "no such group") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw HDF5Error(file: path, object: name, "cannot list group") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, shim_H5P_DEFAULT())
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, shim_H5P_DEFAULT())
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Creates a chunked dataset. `extendable` makes the first axis unlimited so rows can be appended later.
    /// Unwritten chunks read as zeros; the fill value is never written eagerly (writes stay fast).
    public func createDataset(_ name: String, type: H5ElementType, shape: [Int], chunk: [Int],
                              extendable: Bool = true) throws -> H5Dataset {
        precondition(shape.count == chunk.count && !shape.isEmpty, "chunk rank must match shape rank")
        var dims = shape.map { hsize_t($0) }
        var maxDims = dims
        if extendable { maxDims[0] = shim_H5S_UNLIMITED() }
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        guard space >= 0 else { throw HDF5Error(file: path, object: name, "cannot create dataspace \(shape)") }
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(shim_H5P_DATASET_CREATE())
        defer { H5Pclose(dcpl) }
        var chunkDims = zip(chunk, shape).map { hsize_t(max(1, $0.0)) }
        H5Pset_chunk(dcpl, Int32(chunkDims.count), &chunkDims)
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER)
        let (fileType, owned) = type.makeFileType()
        defer { if owned { H5Tclose(fileType) } }
        let dataset = H5Dcreate2(id, name, fileType, space, shim_H5P_DEFAULT(), dcpl, shim_H5P_DEFAULT())
        guard dataset >= 0 else { throw HDF5Error(file: path, object: name, "cannot create dataset \(shape)") }
        return H5Dataset(file: self, name: name, id: dataset)
    }

    public func openDataset(_ name: String) throws -> H5Dataset {
        guard exists(name) else { throw HDF5Error(file: path, object: name, "dataset is missing") }
        let dataset = H5Dopen2(id, name, shim_H5P_DEFAULT())
        guard dataset >= 0 else { throw HDF5Error(file: path, object: name, "cannot open dataset") }
        return H5Dataset(file: self, name: name, id: dataset)
    }

    public func flush() { H5Fflush(id, H5F_SCOPE_LOCAL) }
}
