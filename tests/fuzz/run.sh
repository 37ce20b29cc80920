#!/bin/sh
# Runs every fuzz harness for SECONDS each (default 60) on its seed corpus
# (tests/fuzz/corpus/NAME, grown in OUT/corpus/NAME), under ASan and UBSan.
#   tests/fuzz/run.sh [SECONDS] [OUT]
# A crash, leak, hang (> 10 s) or sanitizer report fails the run; its input
# is kept in OUT/crashes/NAME/ to become a regression seed.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-60}
OUT=${2:-$SRC/build-fuzz}
sh "$SRC/tests/fuzz/build.sh" "$OUT" >/dev/null
export SIDR_FUZZ_TOKENIZER="$SRC/tests/fixtures/tokenizer/tiny_bytelevel.json"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0 passed=0
for bin in "$OUT"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  mkdir -p "$OUT/corpus/$name" "$OUT/crashes/$name"
  log="$OUT/$name.log"
  if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$OUT/crashes/$name/" "$OUT/corpus/$name" "$SRC/tests/fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $name: ${runs:-?} inputs in ${SECONDS_EACH} s, $cov, no crash"
    passed=$((passed + 1))
  else
    echo "fuzz $name: FAILED (see $log and $OUT/crashes/$name/)"
    grep -E "ERROR|SUMMARY|runtime error" "$log" | head -5
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
