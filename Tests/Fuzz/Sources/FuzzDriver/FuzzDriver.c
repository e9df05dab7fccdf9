// SwiftPM links an executable with its module's entry point renamed to `<Module>_main` and
// aliased to `main`, so libFuzzer's own `main` is never linked in; each target defines that
// entry point (`@_cdecl("FuzzQuery_main")`) and hands over to libFuzzer's driver here.
#include "FuzzDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int feedbase_fuzz_main(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size)) {
    return LLVMFuzzerRunDriver(&argc, &argv, test_one_input);
}
