#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit, integration and interop tests;
# the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer; and each
# libFuzzer target for FUZZ_SECONDS (default 30). Any failure stops the run.
# --quick: the first part only (what a developer runs between changes).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
(cd build && ctest --output-on-failure --timeout 300 -j2)
[ "${1:-}" = "--quick" ] && exit 0
./tools/sanitize.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-30} ./tools/fuzz.sh
