#ifndef ECG_FUZZ_DRIVER_H
#define ECG_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for programs with their own main (compiler-rt FuzzerInterface.h). SwiftPM's
// debug executables link their main under another name, so ecg-fuzz calls the driver itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
