// libFuzzer's driver, called from each target's entry point (see FuzzDriver.c).
#include <stddef.h>
#include <stdint.h>

int feedbase_fuzz_main(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));
