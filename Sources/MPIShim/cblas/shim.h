#ifndef ECG_DIST_CBLAS_SHIM_H
#define ECG_DIST_CBLAS_SHIM_H
// OpenBLAS (pthread build). Only BLAS lives here, so Model can use it without knowing MPI exists.
#include <cblas.h>

// openblas_set_num_threads is a plain function but lives behind a config header on some distros;
// re-declare the two thread controls we use so Swift always sees them.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static inline CBLAS_ORDER shim_cblas_row_major(void) { return CblasRowMajor; }
static inline CBLAS_TRANSPOSE shim_cblas_no_trans(void) { return CblasNoTrans; }
static inline CBLAS_TRANSPOSE shim_cblas_trans(void) { return CblasTrans; }
#endif
