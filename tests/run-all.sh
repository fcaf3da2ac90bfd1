#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine (as root: it installs packages):
#   bash tests/run-all.sh
# 1. installs build and test dependencies (deploy/install-deps.sh --test);
# 2. Release build: unit tests, the end-to-end lab tests (xrdp + FreeRDP under Xvfb) and the
#    Debian package (install.deb: cpack, apt-get install, check-config, remove, purge); every
#    gateway with 2 worker loops;
# 3. ASan+UBSan build: the same suites again under the sanitizers, every gateway with 1 worker
#    loop (so the end-to-end tests run once with each);
# 4. ThreadSanitizer: only the rdpbridge binary (its 2 worker loops, the accepting loop, the
#    GSSAPI thread and the handshake log's writer thread; the probe's resolver and TLS scan threads),
#    driven by every end-to-end test; a ThreadSanitizer report makes it exit 66, which fails
#    the test (in every build the
#    lab requires the gateway to exit 0 without a sanitizer report when it is stopped, and the
#    probe and logs tests check the commands' exit codes);
# 5. every libFuzzer target for a bounded time (5 s each). (The bench's smoke run is a CTest test.)
# Before the suites, a faults build of the gateway (build-faults/, -DRDPBRIDGE_FAULTS=ON) for
# tests/e2e/test_faults.py, which every suite's end-to-end run then uses.
# Before any build: ARCHITECTURE.md's invariants hold (tests/check_architecture.py, after its
# self-test shows each rule fires), and every C++ file is formatted as .clang-format says.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
# Each stage's wall time, so that CI's 45-minute budget can be spent where it shows.
stage() {
  [[ -n ${stage_name:-} ]] && echo "== ${stage_name}: $((SECONDS - stage_start)) s"
  stage_name=$1 stage_start=$SECONDS
  echo "== $1"
}
trap '[[ -n ${stage_name:-} ]] && echo "== ${stage_name}: $((SECONDS - stage_start)) s (last stage)"' EXIT
stage "Packages (deploy/install-deps.sh --test)"
bash "$top/deploy/install-deps.sh" --test

stage "Architecture: the invariants of ARCHITECTURE.md"
python3 "$top/tests/check_architecture.py" --self-test
python3 "$top/tests/check_architecture.py" "$top"

stage "clang-format: every C++ source as .clang-format says"
(cd "$top" && find rdp tls config proxy tests bench \( -name '*.cpp' -o -name '*.hpp' \) -print0 |
  xargs -0 clang-format-14 --dry-run --Werror)

run_suite() {  # build-dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$top" -B "$dir" "$@" >/dev/null
  local t=$SECONDS
  cmake --build "$dir" -j"$jobs"
  echo "== (built in $((SECONDS - t)) s)"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

# tests/e2e/test_faults.py injects exceptions into sessions with a gateway built for that alone
# (-DRDPBRIDGE_FAULTS=ON); the gateways under test stay free of the hook. Unoptimised (-O0):
# it only has to throw where it is told, and compiles in about half the time of Release (GCC 12
# at -O1 warns -Wmismatched-new-delete on Asio's coroutine frames, so not -O1).
stage "Faults build of the gateway (test-only exception injection)"
cmake -S "$top" -B "$top/build-faults" -DRDPBRIDGE_FAULTS=ON -DRDPBRIDGE_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -DNDEBUG" >/dev/null
cmake --build "$top/build-faults" -j"$jobs" --target rdpbridge
export RDPBRIDGE_FAULTS_BIN="$top/build-faults/rdpbridge"

# RDPBRIDGE_TEST_WORKERS: tests/lab/lab.py adds --workers N to every `rdpbridge run`.
stage "Release build: all tests, 2 worker loops"
RDPBRIDGE_TEST_WORKERS=2 run_suite "$top/build"
# The sanitizer builds compile at -O1 with line tables only (-g1): half the compile time of
# RelWithDebInfo's -O2 -g on proxy/session.cpp (43 s against 82 s), and the ASan build was the
# largest stage of CI's budget. -O1 is the level AddressSanitizer's documentation asks for
# ("reasonable performance"); -g1 still names file and line in every ASan, UBSan and TSan stack.
sanitizer_build=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
# Under the sanitizers the churn runs 30 s instead of 70 (tens of thousands of connections in
# the Release run already; here it is about what the sanitizers see, not about the count).
stage "ASan+UBSan build: all tests, 1 worker loop"
RDPBRIDGE_TEST_WORKERS=1 RDPBRIDGE_CHURN_SECONDS=30 RDPBRIDGE_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "$top/build-asan" "${sanitizer_build[@]}" -DRDPBRIDGE_SANITIZE=ON
stage "ThreadSanitizer build of the gateway: end-to-end tests, 2 worker loops"
cmake -S "$top" -B "$top/build-tsan" "${sanitizer_build[@]}" -DRDPBRIDGE_TSAN=ON \
  -DRDPBRIDGE_TESTS=OFF >/dev/null
cmake --build "$top/build-tsan" -j"$jobs" --target rdpbridge
(cd "$top/tests/e2e" &&
  RDPBRIDGE_BIN="$top/build-tsan/rdpbridge" RDPBRIDGE_SANITIZED=1 PYTHONDONTWRITEBYTECODE=1 \
  RDPBRIDGE_CHURN_SECONDS=30 RDPBRIDGE_TEST_WORKERS=2 \
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$top/tests/e2e/tsan.supp" \
  python3 -m unittest discover -v -p 'test_*.py')
# 5 s each: the whole run was 55 minutes on CI's 2 cores with 10 s, over its 45-minute budget,
# once the fault, churn, host-identity and worker suites ran in three builds; fuzz time is
# shortened before any test is dropped (the corpus and the saved crashes replay in the unit tests).
stage "libFuzzer: every rdp/ decoder, 5 s each"
bash "$top/tests/fuzz/run.sh" 5
