import CBLASShim
#if canImport(Glibc)
import Glibc
#endif

// Weights packed once per pass instead of once per sample tile.
//
// cblas_sgemm packs both operands into OpenBLAS's panel layout on every call, then runs its
// micro-kernel on the panels. A transformer stack calls it per sample tile (2 samples), so each
// block's weights were packed 16 times per vit-xs batch-32 pass, each time read back from L3 or
// memory: 5.7 % of the Zen 4 step in the transposing copy routines alone (bench/profile_step.sh).
// Here a stack packs every weight once when a pass starts (PackedWeights) and each tile packs only
// its activations, then calls the same micro-kernel OpenBLAS would (`packedProduct`). The kernel,
// the copy routines and so the arithmetic are OpenBLAS's own for the core it runs: the exported
// per-core symbols of its DYNAMIC_ARCH build (sgemm_kernel_HASWELL, sgemm_incopy_HASWELL, ...).
//
// In OpenBLAS's column-major terms every product here is C[m, n] += A[m, k] · B[k, n], with the
// weight as A (m = its output width) and the tile's rows as the n columns of B and C:
//   forward  y[rows, out] = x[rows, in] · Wᵀ : A = W as stored ([out, in] row-major = Aᵀ column-
//            major, packed by the "incopy" routine), m = out, k = in;
//   backward dx[rows, in] = dy[rows, out] · W : A = Wᵀ ([out, in] row-major = A column-major,
//            "itcopy"), m = in, k = out.
// B is always an activation matrix [rows, k] row-major (= k × rows column-major, "oncopy").
//
// The path is on only for the cores below, after a start-up self-check against cblas_sgemm, and
// can be switched off with ECG_DIST_PACKED_WEIGHTS=0 (then every product goes through cblas).

/// OpenBLAS's packing routines and micro-kernel for the core it runs.
struct OpenBLASKernel {
    typealias Kernel = @convention(c) (Int, Int, Int, Float, UnsafePointer<Float>, UnsafePointer<Float>,
                                       UnsafeMutablePointer<Float>, Int) -> Int32
    typealias Copy = @convention(c) (Int, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Int32
    /// C[m, n] (column-major, ldc) += alpha · packed A (m × k) · packed B (k × n).
    let kernel: Kernel
    /// Packs k × m of a column-major Aᵀ (lda) = A stored transposed.
    let packTransposedA: Copy
    /// Packs m × k of a column-major A (lda), given as (k, m).
    let packA: Copy
    /// Packs k × n of a column-major B (ldb).
    let packB: Copy

    /// Longest inner length k of one packed block. Some kernels only work up to OpenBLAS's own
    /// block length (measured, one block of k, OpenBLAS 0.3.21): Prescott's and Core2's crash from
    /// k ≈ 280 on, Sandybridge's from ≈ 700; Nehalem, Haswell, Zen, SkylakeX and Cooperlake ran up
    /// to k = 3072. Prescott's also need 16-byte aligned panels: every block starts on a cache line.
    let innerCap: Int
    /// The largest innerCap of any core (sizes the per-thread scratch).
    static let largestInnerCap = 512
    /// Cores whose kernels were checked with these conventions (OpenBLAS 0.3.21, every shape of
    /// the self-check and the vit-xs block shapes, forward and backward).
    static let checkedCores: Set<String> = ["COOPERLAKE", "SKYLAKEX", "HASWELL", "ZEN", "SANDYBRIDGE", "NEHALEM", "CORE2", "PRESCOTT"]

    /// The routines of OpenBLAS core `core`, or why they cannot be used.
    static func resolve(core: String) -> Result<OpenBLASKernel, PackedWeightsUnavailable> {
        let name = core.uppercased()
        guard checkedCores.contains(name) else { return .failure(.init(reason: "core \(core) not checked")) }
        guard let handle = dlopen(nil, RTLD_NOW) else { return .failure(.init(reason: "dlopen failed")) }
        func symbol(_ base: String) -> UnsafeMutableRawPointer? { dlsym(handle, "\(base)_\(name)") }
        guard let k = symbol("sgemm_kernel"), let inc = symbol("sgemm_incopy"), let itc = symbol("sgemm_itcopy"),
              let onc = symbol("sgemm_oncopy") else {
            return .failure(.init(reason: "OpenBLAS exports no \(name) kernels (not a DYNAMIC_ARCH build)"))
        }
        return .success(OpenBLASKernel(kernel: unsafeBitCast(k, to: Kernel.self), packTransposedA: unsafeBitCast(inc, to: Copy.self),
                                       packA: unsafeBitCast(itc, to: Copy.self), packB: unsafeBitCast(onc, to: Copy.self),
                                       innerCap: ["PRESCOTT", "CORE2"].contains(name) ? 256 : largestInnerCap))
    }
}

struct PackedWeightsUnavailable: Error { let reason: String }

/// Whether stacks pack their weights once per pass, and with which kernels.
public enum PackedWeightGEMM {
    /// The kernels in use, or nil (every product through cblas_sgemm).
    static var active: OpenBLASKernel? { enabled ? kernels : nil }
    /// Tests compare both paths in one process.
    nonisolated(unsafe) static var enabled = true

    static let kernels: OpenBLASKernel? = {
        if case .success(let k) = status { return k }
        return nil
    }()

    private static let status: Result<OpenBLASKernel, PackedWeightsUnavailable> = {
        if let v = getenv("ECG_DIST_PACKED_WEIGHTS"), String(cString: v) == "0" {
            return .failure(.init(reason: "ECG_DIST_PACKED_WEIGHTS=0"))
        }
        let resolved = OpenBLASKernel.resolve(core: BLASCore.loadedCore)
        guard case .success(let k) = resolved else { return resolved }
        if let mismatch = selfCheck(k) { return .failure(.init(reason: "self-check failed: \(mismatch)")) }
        return .success(k)
    }()

    /// One line for `bench` and the pretrain start line.
    public static var summary: String {
        switch status {
        case .success: return "weights packed once per pass (OpenBLAS \(BLASCore.loadedCore) micro-kernel)"
        case .failure(let e): return "weights packed per GEMM call by cblas_sgemm (\(e.reason))"
        }
    }

    /// Products of odd sizes (k over one block, m over one block) both ways, against cblas_sgemm.
    /// Returns a description of the first mismatch, nil when all agree to 1e-5 of their scale.
    static func selfCheck(_ kernels: OpenBLASKernel) -> String? {
        for (rows, out, inF) in [(7, 5, 3), (29, 37, 300), (9, 300, 256), (33, 70, 1100)] {
            var rng = SplitMix64(seed: 7, stream: 0, counter: UInt64(rows * out + inF))
            func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextDouble()) - 0.5 } }
            let w = random(out * inF)
            for use in [PackedWeights.Use.forward, .backward] {
                let b = random(rows * (use == .forward ? inF : out))
                let (got, expected) = packedAndReference(kernels, use: use, rows: rows, out: out, inF: inF,
                                                         weights: w, weightOffset: 0, b: b, start: nil)
                let scale = expected.map(abs).max() ?? 1
                for i in expected.indices where abs(expected[i] - got[i]) > 1e-5 * scale {
                    return "\(use) \(rows)×\(out)×\(inF) element \(i): \(got[i]) vs \(expected[i])"
                }
            }
        }
        return nil
    }

    /// One product both ways: the weight [out, inF] at `weights[weightOffset...]` packed for `use`
    /// (beside a second 1×weightOffset weight before it when the offset is not 0, as a stack packs
    /// several) times b, and cblas_sgemm's. With `start` both add to it (accumulate), else overwrite.
    static func packedAndReference(_ kernels: OpenBLASKernel, use: PackedWeights.Use, rows: Int, out: Int, inF: Int,
                                   weights: [Float], weightOffset: Int, b: [Float], start: [Float]?) -> (packed: [Float], reference: [Float]) {
        let (m, k) = use == .forward ? (out, inF) : (inF, out)
        var reference = start ?? [Float](repeating: 0, count: rows * m), got = reference
        let beta: Float = start == nil ? 0 : 1
        weights.withUnsafeBufferPointer { all in
            let w = all.baseAddress! + weightOffset
            if use == .forward {
                sgemm(false, true, rows, out, inF, 1, b, inF, w, inF, beta, &reference, out)
            } else {
                sgemm(false, false, rows, inF, out, 1, b, out, w, inF, beta, &reference, inF)
            }
            let store = PackedWeights(), scratch = FloatBuffer()
            let others = weightOffset > 0 ? [(offset: 0, out: 1, inF: weightOffset)] : []
            store.pack(weights: all.baseAddress!, [(offset: weightOffset, out: out, inF: inF)] + others, use: use, with: kernels)
            packedProduct(store.matrix(at: weightOffset)!, in: store, b: b, ldb: k, rows: rows, c: &got, ldc: m, accumulate: start != nil,
                          scratch: scratch.reserve(packedScratchCount(rows: rows)), kernels: kernels)
        }
        return (got, reference)
    }
}

/// One packed weight: `m` × `k` as the product's A, blocks starting at `offset` in its store.
struct PackedMatrix {
    let offset: Int, m: Int, k: Int
}

/// Blocking of a packed m × k matrix: k in near-equal blocks of at most the core's innerCap, each
/// cut into row blocks of ≤ 64 Ki floats (256 KB, a quarter of Zen 4's L2) that the kernel streams
/// per column panel of B. Blocks start on whole cache lines.
private func innerBlock(_ k: Int, cap: Int) -> Int {
    let count = (k + cap - 1) / cap
    return (k + count - 1) / max(count, 1)
}

private func rowBlock(inner kc: Int) -> Int { max(16, 65_536 / max(kc, 1) / 16 * 16) }

/// Visits the blocks of a packed m × k matrix in storage order: inner offset l and length kk, row
/// offset r0 and count mm, and the block's offset in floats from the matrix start. Packing and
/// the product both walk it, so they cannot disagree on the layout. Returns the floats it spans.
@discardableResult
private func forEachBlock(m: Int, k: Int, cap: Int,
                          _ body: (_ l: Int, _ kk: Int, _ r0: Int, _ mm: Int, _ offset: Int) -> Void = { _, _, _, _, _ in }) -> Int {
    let kc = innerBlock(k, cap: cap), mc = rowBlock(inner: kc)
    var offset = 0
    for l in stride(from: 0, to: k, by: kc) {
        let kk = min(kc, k - l)
        for r0 in stride(from: 0, to: m, by: mc) {
            let mm = min(mc, m - r0)
            body(l, kk, r0, mm, offset)
            offset += cacheLineMultiple(kk * mm)
        }
    }
    return offset
}

/// Floats of per-thread scratch a product over `rows` rows needs (one packed block of B, plus
/// slack for kernels that read a panel ahead).
func packedScratchCount(rows: Int) -> Int { OpenBLASKernel.largestInnerCap * max(rows, 1) + 4096 }

/// A pass's packed copies of a set of weights, found by their parameter offsets.
final class PackedWeights {
    enum Use { case forward, backward }
    private let storage = FloatBuffer()
    private var index: [Int: PackedMatrix] = [:]

    var reservedBytes: Int { totalBytes([storage]) }

    var base: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    func matrix(at weightOffset: Int) -> PackedMatrix? { index[weightOffset] }

    /// Packs each weight ([out, in] row-major at `weights` + offset) for `use`, split over the
    /// engine's threads when called outside a parallel region.
    func pack(weights: UnsafePointer<Float>, _ items: [(offset: Int, out: Int, inF: Int)], use: Use, with kernels: OpenBLASKernel) {
        var matrices: [PackedMatrix] = [], total = 0
        for (_, out, inF) in items {
            let (m, k) = use == .forward ? (out, inF) : (inF, out)
            matrices.append(PackedMatrix(offset: total, m: m, k: k))
            total += forEachBlock(m: m, k: k, cap: kernels.innerCap)
        }
        let dst = storage.reserve(total + 4096)
        index = [:]
        for (i, matrix) in matrices.enumerated() { index[items[i].offset] = matrix }
        parallelChunks(matrices.count) { _, r in
            for i in r {
                let a = matrices[i], w = weights + items[i].offset
                let inF = use == .forward ? a.k : a.m   // the weight's row length
                forEachBlock(m: a.m, k: a.k, cap: kernels.innerCap) { l, kk, r0, mm, offset in
                    if use == .forward {
                        _ = kernels.packTransposedA(kk, mm, w + r0 * inF + l, inF, dst + a.offset + offset)
                    } else {
                        _ = kernels.packA(kk, mm, w + l * inF + r0, inF, dst + a.offset + offset)
                    }
                }
            }
        }
    }
}

/// c[rows, m] (row-major, row stride ldc) = (or += when `accumulate`) b[rows, k] (row stride ldb)
/// times the packed weight: x · Wᵀ for a forward-packed W, dy · W for a backward-packed one.
/// `scratch` holds packedScratchCount(rows) floats of the calling thread's own.
func packedProduct(_ a: PackedMatrix, in store: PackedWeights, b: UnsafePointer<Float>, ldb: Int, rows: Int,
                   c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: UnsafeMutablePointer<Float>,
                   kernels: OpenBLASKernel) {
    if !accumulate { zeroRows(c, rows: rows, columns: a.m, stride: ldc) }
    guard rows > 0 else { return }
    let matrix = store.base + a.offset
    forEachBlock(m: a.m, k: a.k, cap: kernels.innerCap) { l, kk, r0, mm, offset in
        // Each inner block's slice of the activations is packed once, before its first row block.
        if r0 == 0 { _ = kernels.packB(kk, rows, b + l, ldb, scratch) }
        _ = kernels.kernel(mm, rows, kk, 1, matrix + offset, scratch, c + r0, ldc)
    }
}
