#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (unit, integration, interop).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
cd build
ctest --output-on-failure --timeout 300 -j2
