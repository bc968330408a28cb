import HDF5Shim

/// How `/signals` is stored on disk. Readers always get float32 mV back; float16 halves the file
/// (11 significant bits: about 0.05 % relative error, docs/hdf5-layout.md has the measured figures).
public enum SignalDType: String, CaseIterable, Sendable {
    case float32, float16

    public var bytesPerSample: Int { self == .float32 ? 4 : 2 }

    /// The dataset element type this storage writes.
    var elementType: H5ElementType { self == .float32 ? .float32 : .float16 }

    /// The storage of a float dataset with elements of `size` bytes (nil: neither float32 nor float16;
    /// HDF5 still converts such a dataset, e.g. float64 written by other tools, to float32 on read).
    static func of(storedSize size: Int) -> SignalDType? {
        switch size {
        case 4: return .float32
        case 2: return .float16
        default: return nil
        }
    }
}

/// float32 ⇄ IEEE half conversion for `/signals`, in Swift rather than through HDF5's type
/// conversion: HDF5 1.10 converts half ⇄ float with its generic bit-field routine, one element at a
/// time (docs/hdf5-layout.md: measured several times slower), while these loops compile to F16C
/// instructions (vcvtps2ph / vcvtph2ps, 8 values per instruction). Rounding is IEEE round to
/// nearest, ties to even, as numpy's astype(float16).
public enum HalfPrecision {
    /// Largest finite half; anything larger in magnitude would be stored as infinity.
    public static let largestFinite: Float = 65504
    /// Magnitudes from here on round to infinity (65520 is halfway between 65504 and 2^16, and ties
    /// go to the even 2^16): `abs(x) >= overflowThreshold` ⇔ `!Float16(x).isFinite` for finite x.
    public static let overflowThreshold: Float = 65520

    /// Rounds `count` floats to halves (raw IEEE binary16 bits).
    public static func narrow(_ source: UnsafePointer<Float>, into halves: UnsafeMutablePointer<UInt16>, count: Int) {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(halves)
        var i = 0
        while i + 8 <= count {
            let v = from.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            to.storeBytes(of: SIMD8<Float16>(v), toByteOffset: i * 2, as: SIMD8<Float16>.self)
            i += 8
        }
        while i < count {
            halves[i] = Float16(source[i]).bitPattern
            i += 1
        }
    }

    /// Widens `count` halves to floats. `floats` may overlap `halves` when the halves sit in the
    /// upper half of the float buffer (`halves` = byte offset 2·count of `floats`): every block is
    /// loaded before the store that could reach it, so `widenInPlace` needs no scratch buffer.
    public static func widen(_ halves: UnsafePointer<UInt16>, into floats: UnsafeMutablePointer<Float>, count: Int) {
        let from = UnsafeRawPointer(halves), to = UnsafeMutableRawPointer(floats)
        var i = 0
        while i + 8 <= count {
            let v = from.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)
            to.storeBytes(of: SIMD8<Float>(v), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            floats[i] = Float(Float16(bitPattern: halves[i]))
            i += 1
        }
    }

    /// `buffer` holds `count` halves in its upper half (bytes 2·count ..< 4·count), as a raw HDF5
    /// read put them there; widens them to `count` floats filling the whole buffer. Float i is
    /// written to bytes 4i ..< 4i+4 after half i (bytes 2·count+2i) and its 7 block neighbours are
    /// read, and 4i+32 ≤ 2·count+2i+16 for every block start i ≤ count-8, so no half is
    /// overwritten before it is read.
    public static func widenInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let halves = (UnsafeMutableRawPointer(buffer) + 2 * count).assumingMemoryBound(to: UInt16.self)
        widen(halves, into: buffer, count: count)
    }

    /// Rounds floats to the nearest half and back, in place: the values a float16 corpus stores.
    public static func roundInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(values)
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: SIMD8<Float>(SIMD8<Float16>(v)), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            values[i] = Float(Float16(values[i]))
            i += 1
        }
    }
}
