#!/bin/sh
# run_fuzz_bus.sh - fuzzes the bus frame decoder's libFuzzer harness
# (tests/fuzz/fuzz_bus.c) for FUZZ_BUS_RUNS inputs (default 200000), at most
# FUZZ_SECONDS (default 20); see fuzz_run.sh.
. "${top_srcdir:?}/tests/fuzz/fuzz_run.sh"
fuzz_run fuzz_bus bus -runs="${FUZZ_BUS_RUNS:-200000}" -max_len=4096
