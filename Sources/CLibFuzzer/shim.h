#ifndef CLIBFUZZER_SHIM_H
#define CLIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for programs that keep their own main (https://llvm.org/docs/LibFuzzer.html,
// "Using libFuzzer as a library"). Defined by libclang_rt.fuzzer, which only `-sanitize=fuzzer`
// links: the normal build declares it and never calls it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
