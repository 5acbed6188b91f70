#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 60) from its seed corpus. A crash, a
# leak or a hang fails the run; the input that did it is left in build-fuzz/artifacts/ and
# belongs, once fixed, in tests/fuzz/crashers/<target>/ (replayed by every test run).
# Usage: tools/fuzz.sh [target ...]   (targets: xml_stream jid sasl c2s websocket)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xml_stream jid sasl c2s websocket)

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXMPPD_FUZZ=ON -DXMPPD_TESTS=OFF -DXMPPD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  artifacts=build-fuzz/artifacts/$t/
  mkdir -p "$work" "$artifacts"
  echo "fuzz_$t: ${seconds}s"
  set +e
  build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "tests/fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1
  status=$?
  set -e
  grep -E 'DONE|SUMMARY|ERROR|stat::(number_of_executed_units|peak_rss_mb)' "build-fuzz/$t.log" || true
  if [ $status -ne 0 ] || ls "$artifacts" | grep -q .; then
    tail -n 60 "build-fuzz/$t.log" >&2
    echo "fuzz_$t FAILED: see $artifacts" >&2
    exit 1
  fi
done
echo "fuzzing: no crash, leak or hang in ${targets[*]}"
