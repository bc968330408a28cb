// The GEMMs of one vit-xs encoder block on one sample tile, timed alone (same OpenBLAS, same
// strides and the same beta = 0 handling as Sources/Model/Block.swift and Kernels/Attention.swift;
// process CPU time): the ceiling the forward pass
// could reach if GELU, softmax, LayerNorm and copies were free. Build and run: bench/block_gemms.sh
//
// `block_gemms beta`: OpenBLAS's beta = 0 against zeroing C with memset and calling with beta = 1,
// at the same shapes. OpenBLAS runs a separate `sgemm_beta` pass over C whenever beta != 1; where k
// is small against C (the attention scores, k = head dim) that pass is a large share of the product,
// which is why Sources/Model/Kernels/GEMM.swift zeroes C itself. Process CPU time, best of 7
// batches of calls (immune to other processes taking the core).
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *randomMatrix(size_t count) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

static void zeroRows(float *c, int rows, int columns, int ldc) {
    if (ldc == columns) { memset(c, 0, (size_t)rows * columns * sizeof(float)); return; }
    for (int r = 0; r < rows; r++) memset(c + (size_t)r * ldc, 0, (size_t)columns * sizeof(float));
}

// The engine's sgemm (Sources/Model/Kernels/GEMM.swift): beta = 0 by memset, then beta = 1.
static void engineSGEMM(int transB, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc) {
    if (beta == 0) zeroRows(c, m, n, ldc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1, a, lda, b, ldb, 1, c, ldc);
}

// C[m, n] (ldc) = A[m, k] (lda) · op(B) with B stored [n, k] when transB, else [k, n].
static void compare(const char *name, int transB, int m, int n, int k, int lda, int ldb, int ldc, int calls) {
    float *a = randomMatrix((size_t)m * lda), *b = randomMatrix((size_t)(transB ? n : k) * ldb);
    float *c = randomMatrix((size_t)m * ldc);
    const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
    double bestBeta0 = 1e30, bestMemset = 1e30;
    for (int round = 0; round < 7; round++) {
        double t0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < calls; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
        double t1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < calls; i++) {
            zeroRows(c, m, n, ldc);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1, a, lda, b, ldb, 1, c, ldc);
        }
        double t2 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        if (t1 - t0 < bestBeta0) bestBeta0 = t1 - t0;
        if (t2 - t1 < bestMemset) bestMemset = t2 - t1;
    }
    double flop = 2.0 * m * n * k * calls;
    printf("%-34s beta=0 %6.1f GFLOP/s   memset + beta=1 %6.1f GFLOP/s   %.2fx\n", name,
           flop / bestBeta0 * 1e-9, flop / bestMemset * 1e-9, bestBeta0 / bestMemset);
    free(a); free(b); free(c);
}

static int compareBeta(void) {
    const int dim = 192, hidden = 4 * dim, rows = 402, tokens = 201;
    compare("scores Q·Kᵀ 201×201, k 48", 1, tokens, tokens, 48, 3 * dim, 3 * dim, tokens, 400);
    compare("scores Q·Kᵀ 201×201, k 24 (pred)", 1, tokens, tokens, 24, 3 * 96, 3 * 96, tokens, 400);
    compare("values E·V 201×48, k 201", 0, tokens, 48, tokens, tokens, 3 * dim, dim, 400);
    compare("qkv 402×576, k 192", 1, rows, 3 * dim, dim, dim, dim, 3 * dim, 100);
    compare("fc1 402×768, k 192", 1, rows, hidden, dim, dim, dim, hidden, 100);
    compare("fc2 input grad 402×768, k 192", 0, rows, hidden, dim, dim, hidden, hidden, 100);
    compare("fc1 input grad 402×192, k 768", 0, rows, dim, hidden, hidden, dim, dim, 100);
    return 0;
}

enum { QKV, SCORES, VALUES, PROJ, FC1, FC2, KINDS };
static const char *names[KINDS] = {"qkv", "Q·Kᵀ", "E·V", "proj", "fc1", "fc2"};

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "beta") == 0) return compareBeta();
    const int tokens = argc > 1 ? atoi(argv[1]) : 201;       // 201 = 10-s crop, 51 = 2.5-s crop
    const int tileRows = argc > 2 ? atoi(argv[2]) : 512;
    const int repeats = argc > 3 ? atoi(argv[3]) : 200;
    const int dim = argc > 4 ? atoi(argv[4]) : 192, heads = 4, hd = dim / heads, hidden = 4 * dim;   // 96: the vit-xs predictor
    const int samples = tileRows / tokens > 0 ? tileRows / tokens : 1, rows = samples * tokens;
    float *x = randomMatrix((size_t)rows * dim), *qkv = randomMatrix((size_t)rows * 3 * dim);
    float *attn = randomMatrix((size_t)rows * dim), *h = randomMatrix((size_t)rows * hidden);
    float *scores = randomMatrix((size_t)tokens * tokens);
    float *wqkv = randomMatrix(3 * dim * dim), *wproj = randomMatrix(dim * dim);
    float *w1 = randomMatrix(hidden * dim), *w2 = randomMatrix(dim * hidden);
    double time[KINDS] = {0}, flops[KINDS];
    flops[QKV] = 2.0 * rows * 3 * dim * dim;
    flops[SCORES] = flops[VALUES] = 2.0 * samples * heads * tokens * tokens * hd;
    flops[PROJ] = 2.0 * rows * dim * dim;
    flops[FC1] = flops[FC2] = 2.0 * rows * hidden * dim;
    for (int r = -5; r < repeats; r++) {   // 5 warm-up rounds
        double t[KINDS + 1];
        t[0] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        engineSGEMM(1, rows, 3 * dim, dim, x, dim, wqkv, dim, 0, qkv, 3 * dim);
        t[1] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int s = 0; s < samples; s++)
            for (int k = 0; k < heads; k++) {
                const float *q = qkv + (size_t)s * tokens * 3 * dim + k * hd;
                engineSGEMM(1, tokens, tokens, hd, q, 3 * dim, q + dim, 3 * dim,
                            0, scores, tokens);
            }
        t[2] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int s = 0; s < samples; s++)
            for (int k = 0; k < heads; k++) {
                const float *v = qkv + (size_t)s * tokens * 3 * dim + 2 * dim + k * hd;
                engineSGEMM(0, tokens, hd, tokens, scores, tokens, v, 3 * dim,
                            0, attn + (size_t)s * tokens * dim + k * hd, dim);
            }
        t[3] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        engineSGEMM(1, rows, dim, dim, attn, dim, wproj, dim, 1, x, dim);
        t[4] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        engineSGEMM(1, rows, hidden, dim, x, dim, w1, dim, 0, h, hidden);
        t[5] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        engineSGEMM(1, rows, dim, hidden, h, hidden, w2, hidden, 1, x, dim);
        t[6] = seconds(CLOCK_PROCESS_CPUTIME_ID);
        if (r >= 0)
            for (int i = 0; i < KINDS; i++) time[i] += t[i + 1] - t[i];
    }
    double allTime = 0, allFlops = 0;
    printf("tile of %d samples x %d tokens = %d rows, %d repeats\n", samples, tokens, rows, repeats);
    for (int i = 0; i < KINDS; i++) {
        printf("%-6s %8.1f us %6.1f GFLOP/s\n", names[i], time[i] / repeats * 1e6, flops[i] / (time[i] / repeats) * 1e-9);
        allTime += time[i];
        allFlops += flops[i];
    }
    printf("block  %8.1f us %6.1f GFLOP/s\n", allTime / repeats * 1e6, allFlops / (allTime / repeats) * 1e-9);
    return 0;
}
