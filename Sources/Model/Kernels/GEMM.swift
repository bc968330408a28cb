import CBLASShim

// All matrix products go through cblas_sgemm (row-major). Linear layers follow PyTorch: the
// weight is [out, in] and y = x · Wᵀ, with no bias anywhere in this model.

/// C[m,n] = alpha · op(A) · op(B) + beta · C, row-major with explicit leading dimensions.
@inline(__always)
func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
           _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
           _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(shim_cblas_row_major(),
                transA ? shim_cblas_trans() : shim_cblas_no_trans(),
                transB ? shim_cblas_trans() : shim_cblas_no_trans(),
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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

/// OpenBLAS thread control (the only threading knob of the model's GEMMs).
public enum BLASThreads {
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
        KernelThreads.count = max(1, count)
    }
    public static var current: Int { Int(openblas_get_num_threads()) }
}
