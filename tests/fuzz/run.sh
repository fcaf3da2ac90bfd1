#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp) and runs each for a bounded time.
#
#   bash tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     # default 60 s, every target
#
# Build: clang++-14 in build-fuzz/ (RDPBRIDGE_FUZZ_BUILD_DIR), at most 2 jobs
# (RDPBRIDGE_FUZZ_JOBS). Packages: clang-14 libclang-rt-14-dev llvm-14.
# Each target fuzzes a copy of tests/fuzz/corpus/<target>/ plus tests/fuzz/crashes/<target>-*
# in a scratch directory (RDPBRIDGE_FUZZ_WORK, default a new mktemp dir); nothing is written
# into the repository except the build directory. Exits non-zero on any crash, oracle failure,
# leak, timeout, out-of-memory or sanitizer report; the scratch directory is then kept with the
# logs and the inputs that failed. Ends with one table: executions per second per target
# (stat::number_of_executed_units / seconds fuzzed).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "run.sh: seconds per target must be a positive integer, got '$seconds'" >&2
  exit 2
fi
build=${RDPBRIDGE_FUZZ_BUILD_DIR:-$top/build-fuzz}
jobs=${RDPBRIDGE_FUZZ_JOBS:-2}
cxx=${RDPBRIDGE_FUZZ_CXX:-clang++-14}
llvm_bin=/usr/lib/llvm-14/bin

if ! command -v "$cxx" >/dev/null; then
  echo "run.sh: $cxx not found (apt-get install clang-14 libclang-rt-14-dev llvm-14)" >&2
  exit 2
fi

echo "== fuzz: configuring and building in $build"
mkdir -p "$build"
cmake -S "$top" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRDPBRIDGE_FUZZ=ON -DRDPBRIDGE_TESTS=OFF >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log" >&2; exit 2; }
cmake --build "$build" --target rdpbridge_fuzzers -j"$jobs" || exit 2

list="$build/fuzz_targets.txt"
[[ -s "$list" ]] || { echo "run.sh: no fuzz targets listed in $list" >&2; exit 2; }

work=${RDPBRIDGE_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/rdpbridge-fuzz.XXXXXX")}
mkdir -p "$work"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
[[ -x "$llvm_bin/llvm-symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="$llvm_bin/llvm-symbolizer"

# Anything in a log that means the target found a bug, even if libFuzzer's exit code did not.
bug_pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|ERROR: libFuzzer|runtime error:|==FUZZ ORACLE==|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|ALARM: working on the last Unit|Test unit written to'

declare -a rows=()
failed=0
ran=0
while IFS=$'\t' read -r name exe; do
  [[ -n "$name" ]] || continue
  if (($# > 0)); then
    wanted=0
    for t in "$@"; do [[ "$t" == "$name" ]] && wanted=1; done
    ((wanted)) || continue
  fi
  ran=$((ran + 1))
  dir="$work/$name"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  [[ -d "$here/corpus/$name" ]] && cp -- "$here/corpus/$name"/* "$dir/corpus/" 2>/dev/null
  for crash in "$here/crashes/$name"-*; do
    [[ -f "$crash" ]] && cp -- "$crash" "$dir/corpus/"
  done
  seeds=$(find "$dir/corpus" -type f | wc -l)
  echo "== fuzz: $name for ${seconds}s ($seeds seeds)"
  start=$(date +%s.%N)
  (cd "$dir" && timeout -k 10 $((seconds + 120)) "$exe" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$dir/artifacts/" \
      "$dir/corpus" >"$dir/log" 2>&1)
  rc=$?
  end=$(date +%s.%N)
  units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  units=${units:-0}
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  # Seconds actually fuzzed: libFuzzer's "Done N runs in S second(s)" when printed, else wall time.
  fuzzed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second(s)$/\1/p' "$dir/log" | tail -1)
  [[ -n "$fuzzed" && "$fuzzed" != 0 ]] || fuzzed=$elapsed
  rate=$(awk -v u="$units" -v s="$fuzzed" 'BEGIN { printf "%.0f", (s > 0 ? u / s : 0) }')
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  corpus_after=$(find "$dir/corpus" -type f | wc -l)
  artifacts=$(find "$dir/artifacts" -type f | wc -l)
  status=ok
  if ((rc != 0)) || ((artifacts > 0)) || grep -Eq "$bug_pattern" "$dir/log"; then
    status="FAIL(rc=$rc)"
    failed=1
    echo "-- $name failed; log: $dir/log" >&2
    grep -E -m1 -A25 "$bug_pattern" "$dir/log" >&2
    find "$dir/artifacts" -type f -printf '   artifact: %p\n' >&2
  fi
  rows+=("$(printf '%-22s %-10s %12s %8s %10s %6s %9s' "$name" "$status" "$units" "$fuzzed" \
    "$rate" "${cov:-?}" "$seeds->$corpus_after")")
done <"$list"

if ((ran == 0)); then
  echo "run.sh: none of the requested targets ($*) is built; see $list" >&2
  exit 2
fi

echo
echo "== fuzz summary (${seconds}s per target; exec/s = stat::number_of_executed_units / seconds)"
printf '%-22s %-10s %12s %8s %10s %6s %9s\n' target status executions seconds exec/s cov corpus
for r in "${rows[@]}"; do echo "$r"; done
if ((failed)); then
  echo "fuzz: FAILED; logs and failing inputs in $work" >&2
  exit 1
fi
[[ -z "${RDPBRIDGE_FUZZ_WORK:-}" ]] && rm -rf "$work"
echo "fuzz: all $ran targets clean"
