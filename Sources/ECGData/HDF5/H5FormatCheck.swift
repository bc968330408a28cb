import Foundation

/// Reads an HDF5 file's superblock with plain Swift, before libhdf5 sees the file, and refuses a
/// file whose metadata carries no checksums.
///
/// Why: libhdf5 1.10.8 trusts unchecksummed metadata. A damaged object header of the old format
/// (superblock version 0/1, object header version 1) made it read freed memory inside `H5Aexists`
/// (docs/fuzzing.md); no check made after libhdf5 has read the header can prevent that. In the
/// HDF5 1.10 format (superblock version 2/3) the superblock, version-2 object headers, version-2
/// B-trees, fractal heaps and the extensible/fixed array chunk indices each end in a checksum that
/// libhdf5 verifies on load, so a damaged structure is an error instead of a wild read. ecg-dist
/// writes that format (`H5File.create`), and every HDF5 file it opens passes through here first
/// (`H5File.open`), except CODE-15% source files, which h5py writes in the old format.
public enum H5FormatCheck {
    /// "\x89HDF\r\n\x1a\n", the first bytes of every superblock.
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Superblock versions from which all file metadata is checksummed (HDF5 1.8/1.10 format).
    public static let firstChecksummedSuperblock = 2

    /// What the first bytes of a file say about its format.
    public struct Superblock: Equatable, Sendable {
        /// Absolute offset of the signature: 0, or 512 · 2^k after a user block.
        public let offset: Int
        public let version: Int
        /// For versions 2 and 3: whether the root group's object header starts with "OHDR" (a
        /// version-2, checksummed header); nil for older versions, which keep a different layout.
        public let rootHeaderIsVersion2: Bool?
    }

    /// The superblock libhdf5 would use, or nil when the file has no HDF5 signature. libhdf5 looks
    /// for the signature at 0, 512, 1024, 2048, ... (doubling) below the end of the file and takes
    /// the first; this does the same.
    public static func superblock(path: String) throws -> Superblock? {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HDF5Error(file: path, "cannot open file for reading") }
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        var offset = 0
        while offset + signature.count + 1 <= size {
            let head = try bytes(handle, at: offset, count: signature.count + 1)
            if Array(head.prefix(signature.count)) == signature {
                let version = Int(head[signature.count])
                return Superblock(offset: offset, version: version,
                                  rootHeaderIsVersion2: version >= 2 ? try rootHeaderIsVersion2(handle, superblockAt: offset, size: size) : nil)
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return nil
    }

    /// Throws unless `path` is an HDF5 file whose metadata libhdf5 can verify. `path` must exist.
    public static func requireChecksummedMetadata(path: String) throws {
        guard let superblock = try superblock(path: path) else { throw HDF5Error(file: path, "not an HDF5 file") }
        let stem = path.hasSuffix(".h5") ? String(path.dropLast(3)) : path
        let fix = "convert it with `h5repack --low=2 --high=2 \(path) \(stem)-v110.h5` (hdf5-tools) or write it again with `ecg-dist prepare`"
        let reason = "libhdf5 1.10.8 can crash on damaged unchecksummed metadata, so ecg-dist reads only the HDF5 1.10 file format"
        if superblock.version < firstChecksummedSuperblock {
            throw HDF5Error(file: path, "written without metadata checksums (HDF5 superblock version \(superblock.version): the old file format, which libhdf5 and h5py write by default); \(reason); \(fix)")
        }
        if superblock.rootHeaderIsVersion2 == false {
            throw HDF5Error(file: path, "written without metadata checksums (superblock version \(superblock.version), but the root group's object header is an old, unchecksummed one); \(reason); \(fix)")
        }
    }

    /// Superblock versions 2 and 3: signature (8), version, size of offsets, size of lengths, flags
    /// (1 each), then base address, extension address, end-of-file address and root group object
    /// header address (size of offsets each), then the checksum. Addresses count from the base
    /// address. An unreadable address is left to libhdf5, which verifies the superblock checksum.
    private static func rootHeaderIsVersion2(_ handle: FileHandle, superblockAt offset: Int, size: Int) throws -> Bool? {
        guard offset + 12 <= size else { return nil }
        let fields = try bytes(handle, at: offset + 9, count: 1)
        let offsetSize = Int(fields[0])
        guard [2, 4, 8].contains(offsetSize), offset + 12 + 4 * offsetSize <= size else { return nil }
        let addresses = try bytes(handle, at: offset + 12, count: 4 * offsetSize)
        func address(_ index: Int) -> UInt64 {
            addresses[(index * offsetSize)..<((index + 1) * offsetSize)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        let (root, overflow) = address(0).addingReportingOverflow(address(3))
        guard !overflow, root <= UInt64(size - 4) else { return nil }
        return try bytes(handle, at: Int(root), count: 4) == Array("OHDR".utf8)
    }

    private static func bytes(_ handle: FileHandle, at offset: Int, count: Int) throws -> [UInt8] {
        try handle.seek(toOffset: UInt64(offset))
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }
}
