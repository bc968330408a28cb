#ifndef ECG_DIST_CBLAS_SHIM_H
#define ECG_DIST_CBLAS_SHIM_H
// OpenBLAS (pthread build), and the one memory primitive Swift cannot express (streaming stores).
// Only these live here, so Model can use them without knowing MPI exists.
#include <cblas.h>

// openblas_set_num_threads is a plain function but lives behind a config header on some distros;
// re-declare the two thread controls we use so Swift always sees them.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

// dst[0..<n] = src[0..<n] with non-temporal (streaming) stores: the destination lines go to memory
// without first being read into the cache (no read-for-ownership) and without evicting what the
// cache holds. For activations saved for a backward pass that comes much later (attention scores).
// The closing fence orders the weakly-ordered streaming stores before anything this thread does
// next, e.g. the join that lets another thread read them.
typedef float shim_float4 __attribute__((vector_size(16)));
static inline void shim_stream_copy_floats(float *dst, const float *src, long n) {
    long i = 0;
    while (i < n && ((unsigned long)(dst + i) & 15)) { dst[i] = src[i]; i++; }
    for (; i + 4 <= n; i += 4) {
        shim_float4 v;
        __builtin_memcpy(&v, src + i, sizeof v);
        __builtin_nontemporal_store(v, (shim_float4 *)(dst + i));
    }
    for (; i < n; i++) dst[i] = src[i];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline CBLAS_ORDER shim_cblas_row_major(void) { return CblasRowMajor; }
static inline CBLAS_TRANSPOSE shim_cblas_no_trans(void) { return CblasNoTrans; }
static inline CBLAS_TRANSPOSE shim_cblas_trans(void) { return CblasTrans; }

// Start-up check that this CPU has the vector instructions the Swift code was compiled for
// (Package.swift picks AVX-512 or AVX2/FMA). Plain C with no vector code, so it runs on any x86-64
// CPU and can report instead of the process dying on an illegal instruction. Returns 1 if the
// CPU (and the OS, via XCR0) supports the level: 2 = AVX2 + FMA, 3 = AVX-512 F/CD/BW/DQ/VL.
#if defined(__x86_64__)
#include <cpuid.h>
static inline int shim_cpu_supports_isa(int level) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return 0;                   // OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1;
    if (level <= 2) return avx2;
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, cd = (b >> 28) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if ((xcr0_lo & 0xE0) != 0xE0) return 0;                 // OS saves opmask and ZMM state
    return avx2 && f && dq && cd && bw && vl;
}

// The best OpenBLAS kernel family this CPU can run, as a level: 0 = SSE only, 1 = AVX (Sandybridge),
// 2 = AVX2 + FMA (Haswell), 3 = AVX-512 F/CD/BW/DQ/VL (SkylakeX), 4 = that + AVX512_BF16 (Cooperlake).
// OpenBLAS decides from the CPU model number and falls back to SSE3 (Prescott) on models newer
// than its release; this reads the feature bits instead, so it is right for any future model.
static inline int shim_cpu_blas_level(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(osxsave && avx)) return 0;
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return 0;
    if (!shim_cpu_supports_isa(2)) return 1;
    if (!shim_cpu_supports_isa(3)) return 2;
    unsigned int a1 = 0, b1, c1, d1;
    if (__get_cpuid_max(0, 0) < 7 || !__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) return 3;
    return ((a1 >> 5) & 1) ? 4 : 3;                          // CPUID.(7,1):EAX bit 5 = AVX512_BF16
}
#else
static inline int shim_cpu_supports_isa(int level) { (void)level; return 1; }
static inline int shim_cpu_blas_level(void) { return 0; }
#endif

#include <stdio.h>
#include <stdlib.h>
// The error path of the check, also in plain C (no Swift string code runs on an unsupported CPU).
static inline void shim_exit_unsupported_isa(const char *built_for) {
    fprintf(stderr, "error: this ecg-dist binary was compiled for %s, which this CPU (or OS) does not support. "
                    "Rebuild on this machine, or build with ECG_DIST_TARGET_CPU=haswell for AVX2 CPUs "
                    "(see Package.swift).\n", built_for);
    exit(2);
}

#endif
