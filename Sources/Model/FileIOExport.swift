// The file layer (FileError, AtomicFile, readFileBytes, fnv1a64) is its own target so that it is
// compiled with Swift's checks while Model's kernels are -Ounchecked; re-exported so that every
// module that imports Model keeps seeing it.
@_exported import FileIO
