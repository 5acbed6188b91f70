#!/usr/bin/env bash
# Installs dependencies, builds, and starts xmppd with config/xmppd.toml (data in ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
exec ./build/xmppd/xmppd --config config/xmppd.toml
