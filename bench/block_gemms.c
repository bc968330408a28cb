// The GEMMs of one vit-xs encoder block on one sample tile, timed alone (same OpenBLAS, same
// strides as Sources/Model/Block.swift and Kernels/Attention.swift): the ceiling the forward pass
// could reach if GELU, softmax, LayerNorm and copies were free. Build and run: bench/block_gemms.sh
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *randomMatrix(size_t count) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

enum { QKV, SCORES, VALUES, PROJ, FC1, FC2, KINDS };
static const char *names[KINDS] = {"qkv", "Q·Kᵀ", "E·V", "proj", "fc1", "fc2"};

int main(int argc, char **argv) {
    const int tokens = argc > 1 ? atoi(argv[1]) : 201;       // 201 = 10-s crop, 51 = 2.5-s crop
    const int tileRows = argc > 2 ? atoi(argv[2]) : 512;
    const int repeats = argc > 3 ? atoi(argv[3]) : 200;
    const int dim = 192, heads = 4, hd = dim / heads, hidden = 4 * dim;
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
        t[0] = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, 3 * dim, dim, 1, x, dim, wqkv, dim, 0, qkv, 3 * dim);
        t[1] = seconds();
        for (int s = 0; s < samples; s++)
            for (int k = 0; k < heads; k++) {
                const float *q = qkv + (size_t)s * tokens * 3 * dim + k * hd;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, tokens, hd, 1, q, 3 * dim, q + dim, 3 * dim,
                            0, scores, tokens);
            }
        t[2] = seconds();
        for (int s = 0; s < samples; s++)
            for (int k = 0; k < heads; k++) {
                const float *v = qkv + (size_t)s * tokens * 3 * dim + 2 * dim + k * hd;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tokens, hd, tokens, 1, scores, tokens, v, 3 * dim,
                            0, attn + (size_t)s * tokens * dim + k * hd, dim);
            }
        t[3] = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dim, dim, 1, attn, dim, wproj, dim, 1, x, dim);
        t[4] = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, hidden, dim, 1, x, dim, w1, dim, 0, h, hidden);
        t[5] = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dim, hidden, 1, h, hidden, w2, hidden, 1, x, dim);
        t[6] = seconds();
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
