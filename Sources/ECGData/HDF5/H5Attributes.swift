import Foundation
import HDF5Shim

/// Attributes of one HDF5 object (the root group or a dataset). Setting an attribute replaces any
/// existing one of that name. Scalars are stored with a scalar dataspace, arrays as 1-D.
public struct H5Attributes {
    let objectID: hid_t
    let file: String
    let object: String

    private func error(_ name: String, _ message: String) -> HDF5Error {
        HDF5Error(file: file, object: object == "/" ? "attribute '\(name)'" : "\(object) attribute '\(name)'", message)
    }

    public func contains(_ name: String) -> Bool { H5Aexists(objectID, name) > 0 }

    // MARK: write

    private func write(_ name: String, fileType: hid_t, memoryType: hid_t, count: Int?, data: UnsafeRawPointer) throws {
        if contains(name) { H5Adelete(objectID, name) }
        let space: hid_t
        if let count {
            var dims = [hsize_t(count)]
            space = H5Screate_simple(1, &dims, nil)
        } else {
            space = H5Screate(H5S_SCALAR)
        }
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(objectID, name, fileType, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard attribute >= 0 else { throw error(name, "cannot create attribute") }
        defer { H5Aclose(attribute) }
        guard H5Awrite(attribute, memoryType, data) >= 0 else { throw error(name, "cannot write attribute") }
    }

    public func set(_ name: String, int32 value: Int32) throws {
        var value = value
        try write(name, fileType: shim_H5T_STD_I32LE(), memoryType: shim_H5T_NATIVE_INT32(), count: nil, data: &value)
    }
    public func set(_ name: String, int32s values: [Int32]) throws {
        try values.withUnsafeBytes {
            try write(name, fileType: shim_H5T_STD_I32LE(), memoryType: shim_H5T_NATIVE_INT32(), count: values.count, data: $0.baseAddress!)
        }
    }
    public func set(_ name: String, floats values: [Float]) throws {
        try values.withUnsafeBytes {
            try write(name, fileType: shim_H5T_IEEE_F32LE(), memoryType: shim_H5T_NATIVE_FLOAT(), count: values.count, data: $0.baseAddress!)
        }
    }
    public func set(_ name: String, doubles values: [Double]) throws {
        try values.withUnsafeBytes {
            try write(name, fileType: shim_H5T_IEEE_F64LE(), memoryType: shim_H5T_NATIVE_DOUBLE(), count: values.count, data: $0.baseAddress!)
        }
    }
    /// A scalar fixed-length string, sized to the string.
    public func set(_ name: String, string: String) throws {
        var bytes = Array(string.utf8)
        if bytes.isEmpty { bytes = [0] }
        let type = makeFixedStringType(bytes.count)
        defer { H5Tclose(type) }
        try write(name, fileType: type, memoryType: type, count: nil, data: bytes)
    }
    /// A 1-D array of fixed-length strings, all padded to the longest.
    public func set(_ name: String, strings: [String]) throws {
        let size = max(1, strings.map { $0.utf8.count }.max() ?? 1)
        var bytes = [UInt8](repeating: 0, count: max(1, strings.count * size))
        for (i, string) in strings.enumerated() {
            for (j, byte) in string.utf8.enumerated() { bytes[i * size + j] = byte }
        }
        let type = makeFixedStringType(size)
        defer { H5Tclose(type) }
        try write(name, fileType: type, memoryType: type, count: strings.count, data: bytes)
    }

    // MARK: read

    private func open(_ name: String) throws -> hid_t {
        guard contains(name) else { throw error(name, "attribute is missing") }
        let attribute = H5Aopen(objectID, name, shim_H5P_DEFAULT())
        guard attribute >= 0 else { throw error(name, "cannot open attribute") }
        return attribute
    }

    private func readNumbers<T: H5NativeScalar>(_ name: String, zero: T) throws -> [T] {
        let attribute = try open(name)
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else { throw error(name, "attribute is not numeric") }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        var values = [T](repeating: zero, count: count)
        if count == 0 { return values }
        guard values.withUnsafeMutableBytes({ H5Aread(attribute, T.h5MemoryType, $0.baseAddress!) }) >= 0 else {
            throw error(name, "cannot read attribute")
        }
        return values
    }

    public func int32s(_ name: String) throws -> [Int32] { try readNumbers(name, zero: Int32(0)) }
    public func floats(_ name: String) throws -> [Float] { try readNumbers(name, zero: Float(0)) }
    public func doubles(_ name: String) throws -> [Double] { try readNumbers(name, zero: Double(0)) }
    public func int32(_ name: String) throws -> Int32 {
        let values = try int32s(name)
        guard values.count == 1 else { throw error(name, "expected one value, found \(values.count)") }
        return values[0]
    }

    public func strings(_ name: String) throws -> [String] {
        let attribute = try open(name)
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        return try readStringValues(file: file, type: type, space: space, count: count, what: "attribute '\(name)'") {
            H5Aread(attribute, $0, $1)
        }
    }
    public func string(_ name: String) throws -> String {
        let values = try strings(name)
        guard values.count == 1 else { throw error(name, "expected one string, found \(values.count)") }
        return values[0]
    }
}
