#!/usr/bin/env bash
# Memory stays flat while a file larger than 1 GiB goes through http_upload (XEP-0363).
#
# Starts its own xmppd (temp dir, loopback, free ports), gets an upload slot with slixmpp,
# then uploads and downloads a generated 1.1 GiB sparse file with curl, sampling the
# server's VmRSS every second. Prints the RSS before, the maximum during each transfer, and
# whether the download is byte-identical.
#
#   bench/upload_memory.sh [build-dir]      (default: build)
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$SRC/build}" && pwd)"
SIZE=$((1100 * 1024 * 1024))
WORK="$(mktemp -d /tmp/xmppd-upload-bench-XXXXXX)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/xmppd.toml" <<TOML
[server]
data_dir = "$WORK/data"
threads = 2
[log]
level = "info"
[c2s]
  [[c2s.listen]]
  address = "127.0.0.1"
  port = 0
  tls = "starttls"
[http]
web_client = false
  [[http.listen]]
  address = "127.0.0.1"
  port = 0
  tls = true
[hosts."localhost"]
modules = ["disco", "http_upload"]
[modules.http_upload]
max_file_size = $((2 * 1024 * 1024 * 1024))
quota_per_user = 0
TOML

"$BUILD/xmppd/xmppd" --config "$WORK/xmppd.toml" >"$WORK/xmppd.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "xmppd ready" "$WORK/xmppd.log" && break; sleep 0.1; done
grep -q "xmppd ready" "$WORK/xmppd.log" || { cat "$WORK/xmppd.log"; exit 1; }
C2S_PORT=$(sed -n 's/.*c2s listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/xmppd.log" | head -1)
"$BUILD/tools/xmppctl/xmppctl" --config "$WORK/xmppd.toml" adduser bench@localhost --password bench-secret >/dev/null
CA="$WORK/data/certs/localhost.crt"

# The slot: one XMPP login and one request, with slixmpp's XEP-0363 plugin.
PUT_GET=$(C2S_PORT=$C2S_PORT CA=$CA SIZE=$SIZE /usr/bin/python3 - <<'PY'
import asyncio, logging, os, slixmpp
logging.disable(logging.CRITICAL)
class C(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__("bench@localhost/bench", "bench-secret")
        self.ca_certs = os.environ["CA"]; self.use_ipv6 = False; self.use_aiodns = False
        self.register_plugin("xep_0363")
        self.add_event_handler("session_start", self.start)
    async def start(self, _):
        reply = await self["xep_0363"].request_slot("upload.localhost", "big.bin", int(os.environ["SIZE"]),
                                                    "application/octet-stream", timeout=15)
        print(reply["http_upload_slot"]["put"]["url"], reply["http_upload_slot"]["get"]["url"])
        self.disconnect()
c = C(); c.default_port = int(os.environ["C2S_PORT"])
c.connect(("localhost", int(os.environ["C2S_PORT"])))
asyncio.get_event_loop().run_until_complete(asyncio.wait_for(c.disconnected, 30))
PY
)
read -r PUT_URL GET_URL <<<"$PUT_GET"

truncate -s "$SIZE" "$WORK/big.bin"  # sparse: reading it costs no disk

rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# Samples VmRSS (KiB) every second while the command runs; prints the maximum.
sample_while() {
  "$@" &
  local job=$! max=0 now
  while kill -0 "$job" 2>/dev/null; do
    now=$(rss); [ "$now" -gt "$max" ] && max=$now
    sleep 1
  done
  wait "$job"
  echo "$max"
}

echo "file: $((SIZE / 1024 / 1024)) MiB; server RSS before: $(rss) KiB"
START=$(date +%s.%N)
MAX_UP=$(sample_while curl --cacert "$CA" -sS --fail -o /dev/null -T "$WORK/big.bin" "$PUT_URL")
UP_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "upload:   max RSS $MAX_UP KiB, $UP_S s"
START=$(date +%s.%N)
MAX_DOWN=$(sample_while sh -c "curl --cacert '$CA' -sS --fail '$GET_URL' | sha256sum > '$WORK/down.sha256'")
DOWN_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "download: max RSS $MAX_DOWN KiB, $DOWN_S s"
echo "server RSS after: $(rss) KiB"
if [ "$(cut -d' ' -f1 "$WORK/down.sha256")" = "$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)" ]; then
  echo "download byte-identical: yes"
else
  echo "download byte-identical: NO"; exit 1
fi
