import CBLASShim
#if canImport(Glibc)
import Glibc
#endif

// All matrix products go through cblas_sgemm (row-major). Linear layers follow PyTorch: the
// weight is [out, in] and y = x · Wᵀ, with no bias anywhere in this model.

/// C[m,n] = alpha · op(A) · op(B) + beta · C, row-major with explicit leading dimensions.
/// Outside a parallel region a large product is split over the engine's threads by rows of C (or
/// columns when C is wide): each element still comes from one single-threaded kernel call.
///
/// beta = 0 is done here, not by OpenBLAS: C is zeroed with memset and the kernel accumulates
/// with beta = 1 (for which OpenBLAS skips its `sgemm_beta` pass). OpenBLAS's beta pass is a
/// separate, narrower store loop over C: 6.5 % of the vit-xs step's CPU time on Zen 2 (Zen
/// kernels), 2 % on Zen 5 (Cooperlake). It costs most where k is small against C — the attention
/// scores Q·Kᵀ (k = head dim 48 or 24): 1.22–1.47× faster on Zen 2 with memset (bench/block_gemms.sh).
/// Same result: beta = 0 never reads C in either form.
@inline(__always)
func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
           _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
           _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if KernelThreads.count > 1 && !KernelThreads.inRegion && m * n * k >= 1 << 21 {
        splitSGEMM(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    var beta = beta
    if beta == 0 {
        zeroRows(c, rows: m, columns: n, stride: ldc)
        beta = 1
    }
    cblas_sgemm(shim_cblas_row_major(),
                transA ? shim_cblas_trans() : shim_cblas_no_trans(),
                transB ? shim_cblas_trans() : shim_cblas_no_trans(),
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Zeroes `rows` rows of `columns` floats, `stride` apart (one memset when they are contiguous).
@inline(__always)
func zeroRows(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int) {
    if stride == columns || rows == 1 {
        memset(c, 0, rows * columns * MemoryLayout<Float>.stride)
    } else {
        for r in 0..<rows { memset(c + r * stride, 0, columns * MemoryLayout<Float>.stride) }
    }
}

private func splitSGEMM(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if m >= n {
        // Rows i of C use row i of op(A): A[i, :] (lda stride) or column i of Aᵀ.
        let blocks = (m + 15) / 16
        parallelChunks(blocks) { _, r in
            let r0 = r.lowerBound * 16, r1 = min(m, r.upperBound * 16)
            sgemm(transA, transB, r1 - r0, n, k, alpha, a + (transA ? r0 : r0 * lda), lda, b, ldb, beta, c + r0 * ldc, ldc)
        }
    } else {
        let blocks = (n + 15) / 16
        parallelChunks(blocks) { _, r in
            let c0 = r.lowerBound * 16, c1 = min(n, r.upperBound * 16)
            sgemm(transA, transB, m, c1 - c0, k, alpha, a, lda, b + (transB ? c0 * ldb : c0), ldb, beta, c + c0, ldc)
        }
    }
}

/// Linear forward: out[rows, outF] = x[rows, inF] · W[outF, inF]ᵀ.
@inline(__always)
func linearForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                   rows: Int, inFeatures: Int, outFeatures: Int) {
    sgemm(false, true, rows, outFeatures, inFeatures, 1, x, inFeatures, weight, inFeatures, 0, out, outFeatures)
}

/// Linear backward. dW += dyᵀ · x; dx = dy · W (or dx += when `accumulateInput`); dx may be nil.
@inline(__always)
func linearBackward(dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                    dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    rows: Int, inFeatures: Int, outFeatures: Int, accumulateInput: Bool = false) {
    sgemm(true, false, outFeatures, inFeatures, rows, 1, dOut, outFeatures, input, inFeatures, 1, dWeight, inFeatures)
    if let dInput {
        sgemm(false, false, rows, inFeatures, outFeatures, 1, dOut, outFeatures, weight, inFeatures,
              accumulateInput ? 1 : 0, dInput, inFeatures)
    }
}
