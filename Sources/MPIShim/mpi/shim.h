#ifndef ECG_DIST_MPI_SHIM_H
#define ECG_DIST_MPI_SHIM_H
// MPI (OpenMPI) for Swift, and through HDF5Shim the parallel-HDF5 calls (H5Pset_fapl_mpio).
// Swift cannot import function-like or address-of macros such as MPI_COMM_WORLD, MPI_FLOAT or
// MPI_IN_PLACE, so each one used by ecg-dist is wrapped here as a static inline function. No logic
// lives in this file. hdf5.h (parallel build) already includes mpi.h: including it through the
// HDF5 shim keeps one copy of the MPI declarations, owned by the HDF5Shim module.
#include "../hdf5/shim.h"
#include <mpi.h>

// ---- MPI communicators, datatypes, operations, sentinels ----
static inline MPI_Comm shim_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }

// prctl is variadic (Swift cannot call it). The gradient thread polls MPI_Test with short sleeps;
// Linux rounds a sleep up by the thread's timer slack (50 µs by default), which would double a
// 50 µs poll. A slack of 1 µs makes the sleep what it says. Affects the calling thread only.
#include <sys/prctl.h>
static inline void shim_set_thread_timer_slack_ns(unsigned long ns) { prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0); }
static inline MPI_Comm shim_MPI_COMM_NULL(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype shim_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype shim_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype shim_MPI_INT(void) { return MPI_INT; }
static inline MPI_Datatype shim_MPI_INT64_T(void) { return MPI_INT64_T; }
static inline MPI_Datatype shim_MPI_UINT64_T(void) { return MPI_UINT64_T; }
static inline MPI_Datatype shim_MPI_BYTE(void) { return MPI_BYTE; }
static inline MPI_Op shim_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op shim_MPI_MAX(void) { return MPI_MAX; }
static inline MPI_Op shim_MPI_MIN(void) { return MPI_MIN; }
static inline MPI_Op shim_MPI_BXOR(void) { return MPI_BXOR; }
static inline void *shim_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline MPI_Status *shim_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *shim_MPI_STATUSES_IGNORE(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request shim_MPI_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
static inline MPI_Info shim_MPI_INFO_NULL(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler shim_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
static inline int shim_MPI_MAX_ERROR_STRING(void) { return MPI_MAX_ERROR_STRING; }
static inline int shim_MPI_COMM_TYPE_SHARED(void) { return MPI_COMM_TYPE_SHARED; }
static inline int shim_MPI_MODE_NOCHECK(void) { return MPI_MODE_NOCHECK; }

#endif
