#ifndef ECG_DIST_MPI_SHIM_H
#define ECG_DIST_MPI_SHIM_H
// MPI (OpenMPI) and parallel HDF5 for Swift.
// Swift cannot import function-like or address-of macros such as MPI_COMM_WORLD, MPI_FLOAT,
// MPI_IN_PLACE, H5T_NATIVE_FLOAT or H5P_DEFAULT, so each one used by ecg-dist is wrapped here
// as a static inline function. No logic lives in this file.
#include <mpi.h>
#include <hdf5.h>

// ---- MPI communicators, datatypes, operations, sentinels ----
static inline MPI_Comm shim_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
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

// ---- HDF5 property lists, datatypes, flags ----
static inline hid_t shim_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t shim_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t shim_H5P_DATASET_XFER(void) { return H5P_DATASET_XFER; }
static inline hid_t shim_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t shim_H5S_ALL(void) { return H5S_ALL; }
static inline hsize_t shim_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline hid_t shim_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t shim_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t shim_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t shim_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t shim_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t shim_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t shim_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t shim_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t shim_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t shim_H5T_C_S1(void) { return H5T_C_S1; }
static inline unsigned shim_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned shim_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned shim_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned shim_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline hid_t shim_H5E_DEFAULT(void) { return H5E_DEFAULT; }
// The HDF5 error stack prints to stderr by default; ecg-dist reports its own errors instead.
static inline herr_t shim_H5_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// ---- added by data (HDF5 wrapper): more types and sentinels ----
static inline hid_t shim_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t shim_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t shim_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline size_t shim_H5T_VARIABLE(void) { return H5T_VARIABLE; }
#endif
