#!/usr/bin/env bash
# Installs everything xmppd needs to build, run and test, from Debian 12's packages.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config \
  libboost1.81-dev libexpat1-dev libssl-dev libsasl2-dev libsasl2-modules \
  libsqlite3-dev libidn11-dev libtomlplusplus-dev \
  libgtest-dev googletest \
  python3 python3-slixmpp python3-aiohttp libstrophe-dev openssl curl bc tmux profanity \
  clang libclang-rt-14-dev \
  chromium fonts-dejavu-core >/dev/null
# Node.js and npm install the web chat (Converse.js) and the JavaScript test clients at build
# time; machines of this kind come with Node.js 20 (xmpp.js needs 20.10 or later), so Debian's
# (18) is only the fallback.
if ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
