#ifndef ECG_DIST_HDF5_SHIM_H
#define ECG_DIST_HDF5_SHIM_H
// HDF5 for Swift, without MPI: the data and evaluation targets read and write corpus files
// serially through this module and never import MPIShim. Swift cannot import macros such as
// H5P_DEFAULT or H5T_NATIVE_FLOAT, so each one used by ecg-dist is wrapped here as a static inline
// function. No logic lives in this file, except building the half-precision type below (HDF5 1.10
// predefines none; h5py and numpy recognise exactly this layout as float16).
// The only HDF5 on this system is the parallel build (pkg-config hdf5-openmpi), whose hdf5.h
// includes mpi.h for the MPI-IO declarations: those declarations are visible here, but nothing in
// the serial path calls MPI, links against it at run time or needs MPI_Init. MPI-IO file access
// (H5Pset_fapl_mpio) is used by the trainer only (DistTrainer/Comm/ParallelHDF5.swift).
#include <hdf5.h>

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
static inline hid_t shim_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t shim_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t shim_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
// Library-version bound of the HDF5 1.10 file format, whose metadata is all checksummed
// (H5File.create; Sources/ECGData/HDF5/H5FormatCheck.swift says why ecg-dist needs it).
static inline H5F_libver_t shim_H5F_LIBVER_V110(void) { return H5F_LIBVER_V110; }
// IEEE 754 binary16, little-endian: sign bit 15, exponent bits 10-14 (bias 15), mantissa bits 0-9.
// The caller closes the returned type.
static inline hid_t shim_make_H5T_IEEE_F16LE(void) {
    hid_t type = H5Tcopy(H5T_IEEE_F32LE);
    if (type < 0) return type;
    if (H5Tset_fields(type, 15, 10, 5, 0, 10) < 0 || H5Tset_ebias(type, 15) < 0 ||
        H5Tset_size(type, 2) < 0 || H5Tset_precision(type, 16) < 0) {
        H5Tclose(type);
        return -1;
    }
    return type;
}
#endif
