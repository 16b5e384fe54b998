#!/bin/sh
# run_fuzz_short.sh - fuzzes the request parser's libFuzzer harness for a
# bounded time (FUZZ_SECONDS, default 20); see fuzz_run.sh. To fuzz longer:
#   make -C BUILD fuzz && BUILD/tests/fuzz/fuzz_request -max_total_time=3600 \
#       CORPUS_DIR tests/fuzz/corpus/request
. "${top_srcdir:?}/tests/fuzz/fuzz_run.sh"
fuzz_run fuzz_request request
