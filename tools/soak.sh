#!/usr/bin/env bash
# Soak test (bounded in time): thousands of clients log in, chat, vanish without closing
# their streams (the generator exits) and come back, round after round, for --minutes.
# Afterwards the server's open files and memory must return to where they were after the
# first round; the script prints both and exits 1 if either stayed up (a leak).
# Usage: tools/soak.sh [--minutes M (3)] [--clients N (2000)]
# Needs a build (tools/build.sh): build/xmppd/xmppd, build/tools/xmppctl/xmppctl, build/bench/xmppbench.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=3
clients=2000
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "usage: tools/soak.sh [--minutes M] [--clients N]" >&2; exit 2 ;;
  esac
done
XMPPD=build/xmppd/xmppd
XMPPCTL=build/tools/xmppctl/xmppctl
XMPPBENCH=build/bench/xmppbench
for b in "$XMPPD" "$XMPPCTL" "$XMPPBENCH"; do
  [ -x "$b" ] || { echo "soak: $b is missing; run tools/build.sh" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/xmppd-soak-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/xmppd.toml" <<EOF
[server]
data_dir = "$tmp/data"
[log]
level = "warn"
[c2s]
require_encryption = false
[c2s.limits]  # thousands of clients from a few loopback addresses
max_connections_per_ip = 0
max_bytes_per_second = 0
[[c2s.listen]]
address = "127.0.0.1"
port = $port
tls = "starttls"
[auth]
mechanisms = ["SCRAM-SHA-1"]
max_failures = 1000
[hosts."localhost"]
modules = ["roster", "presence", "offline", "disco", "ping"]
EOF

echo "soak: creating $clients accounts"
mkdir -p "$tmp/data"
seq 0 $((clients - 1)) | xargs -P2 -I{} "$XMPPCTL" --config "$tmp/xmppd.toml" adduser "bench{}@localhost" \
  --password benchpass > "$tmp/adduser.log" 2>&1

"$XMPPD" --config "$tmp/xmppd.toml" > "$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

fds() { ls "/proc/$server_pid/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
bench() {
  "$XMPPBENCH" --port "$port" --accounts "$clients" --cache "$tmp/keys" "$@" 2>>"$tmp/bench.err" | grep '^RESULT' || true
}
# Waits up to 30 s for the server to close what the vanished clients left open.
settle() {
  local want=$1
  for _ in $(seq 1 300); do
    [ "$(fds)" -le "$want" ] && return 0
    sleep 0.1
  done
  return 1
}
round() {
  bench --scenario throughput --clients "$clients" --pairs $((clients / 2)) --duration 10 --rate 20000 --label "round $1"
  bench --scenario idle --clients "$clients" --hold 2 --label "round $1"
}

idle_fds=$(fds)
bench --scenario prime --clients "$clients" --concurrency 50 > /dev/null
round 1
settle "$idle_fds" || true
base_fds=$(fds)
base_rss=$(rss_kb)
echo "soak: after round 1: $base_fds open files, RSS $base_rss KB"

deadline=$(( $(date +%s) + minutes * 60 ))
n=1
while [ "$(date +%s)" -lt "$deadline" ]; do
  n=$((n + 1))
  round "$n"
  kill -0 "$server_pid" || { echo "soak: the server died in round $n" >&2; tail -20 "$tmp/server.log" >&2; exit 1; }
done

leaked=0
settle "$base_fds" || leaked=1
end_fds=$(fds)
end_rss=$(rss_kb)
echo "soak: after round $n: $end_fds open files (baseline $base_fds), RSS $end_rss KB (baseline $base_rss KB)"
# Memory may wobble with the allocator; 10% + 4 MB over the baseline counts as growth.
if [ $leaked = 1 ] || [ "$end_rss" -gt $(( base_rss + base_rss / 10 + 4096 )) ]; then
  echo "soak: FAILED: open files or memory did not return to the baseline" >&2
  exit 1
fi
echo "soak: OK: $n rounds of $clients clients in $minutes minute(s), nothing left behind"
