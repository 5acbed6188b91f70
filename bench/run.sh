#!/usr/bin/env bash
# Runs the xmppd benchmark scenarios and prints one table. See docs/performance.md.
#
#   bench/run.sh [--build DIR] [--quick] [--fresh] [--keep]
#
# The server runs pinned to CPU 0 with one worker thread, the generator pinned to CPU 1.
# Sizes come from the environment (defaults in brackets):
#   ACCOUNTS [1000]  LOGIN_N [2000]  IDLE_N [5000]  IDLE_TLS_N [2000]
#   TP_CONFIGS ["200x16 20x64"] (throughput runs, PAIRSxWINDOW)  TP_SECS [10]
#   LAT_PAIRS [100]  LAT_RATES ["1000 10000"]  LAT_SECS [10]
#   STORM_N [2000] (login storm: all logins at once)  MUC_N [1000] (occupants)
#   MUC_SENDERS ["1 10"] (one run each, every sender with window 16; a room of its own per run)
#   MUC_SECS [10]  OFFLINE ["100x100"] (receivers x messages, 10 senders)
#   PRES_USERS [202]  PRES_CONTACTS [100] (presence broadcast to rosters; seeded in-band the first time)
#   RESUME_N [10000] (stream management: sessions whose connections drop, then all resume at once)
#   BOSH_N [10000] BOSH_SECS [20] (bosh-idle: BOSH sessions each holding a request, server CPU sampled)
#   PEP_CONTACTS [1000] PEP_WINDOW [16] PEP_SECS [10] (pep-fanout: bench<PEP_CONTACTS> publishes to one PEP
#              node, PEP_WINDOW publishes outstanding, to its mutual contacts bench0.., all online with +notify
#              caps; accounts beyond ACCOUNTS are created and cached the first time)
#   PEP_LOGIN ["100x5"] (pep-login: CONTACTSxNODES, on the last ACCOUNTS: one account with CONTACTS mutual contacts
#              online, each with NODES PEP nodes)  PEP_LOGINS [200] (timed logins with the nodes published, and
#              as many with them deleted). Both leave their subscriptions in the rosters: run them late.
#   SCENARIOS ["idle idle-tls idle-sm idle-ws login storm throughput throughput-sm throughput-mam throughput-ws
#              latency muc offline presence resume bosh-idle pep-fanout pep-login calibrate"] (throughput-mam: the
#              first TP_CONFIGS run with the archive on; -ws: over WebSocket, RFC 7395, through the HTTP listener;
#              pep-*: with the pep module on)
#   SERVER_CPU [0]  GEN_CPU [1]
#   (calibrate: throughput and latency at the highest LAT_RATES against bench/fakexmppd, a trivial
#   mirror server, to show what the generator itself can do on this machine)
#   XMPPBENCH_CACHE [/tmp/xmppbench-cache]: accounts (database + SCRAM key cache) kept between runs,
#   because creating them one xmppctl call at a time is the slowest part of a first run.
# Connection i logs in as account bench<i % ACCOUNTS> with resource r<i>, so IDLE_N and LOGIN_N
# may exceed ACCOUNTS (several resources per account); the message pairs need distinct accounts.
set -euo pipefail
shopt -s extglob

here=$(cd "$(dirname "$0")" && pwd)
build=${XMPPD_BUILD:-$here/../build}
quick=0 fresh=0 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --fresh) fresh=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
XMPPD=${XMPPD:-$build/xmppd/xmppd}
XMPPCTL=${XMPPCTL:-$build/tools/xmppctl/xmppctl}
XMPPBENCH=${XMPPBENCH:-$build/bench/xmppbench}
FAKEXMPPD=${FAKEXMPPD:-$build/bench/fakexmppd}
for b in "$XMPPD" "$XMPPCTL" "$XMPPBENCH"; do
  [ -x "$b" ] || { echo "run.sh: $b not found; build xmppd, xmppctl and xmppbench first" >&2; exit 1; }
done

if [ $quick = 1 ]; then  # a smoke run of a few seconds (CI)
  : "${ACCOUNTS:=40}" "${LOGIN_N:=40}" "${IDLE_N:=40}" "${IDLE_TLS_N:=20}" "${TP_CONFIGS:=10x16}" "${TP_SECS:=1}"
  : "${LAT_PAIRS:=10}" "${LAT_RATES:=500}" "${LAT_SECS:=1}" "${STORM_N:=40}" "${MUC_N:=20}" "${MUC_SECS:=1}"
  : "${OFFLINE:=10x10}" "${PRES_USERS:=22}" "${PRES_CONTACTS:=10}" "${RESUME_N:=20}" "${BOSH_N:=20}" "${BOSH_SECS:=2}"
  : "${PEP_CONTACTS:=20}" "${PEP_SECS:=1}" "${PEP_LOGIN:=10x5}" "${PEP_LOGINS:=20}"
fi
ACCOUNTS=${ACCOUNTS:-1000} LOGIN_N=${LOGIN_N:-2000} IDLE_N=${IDLE_N:-5000} IDLE_TLS_N=${IDLE_TLS_N:-2000}
TP_CONFIGS=${TP_CONFIGS:-"200x16 20x64"} TP_SECS=${TP_SECS:-10}
LAT_PAIRS=${LAT_PAIRS:-100} LAT_RATES=${LAT_RATES:-"1000 10000"} LAT_SECS=${LAT_SECS:-10}
STORM_N=${STORM_N:-2000} MUC_N=${MUC_N:-1000} MUC_SENDERS=${MUC_SENDERS:-"1 10"} MUC_SECS=${MUC_SECS:-10}
OFFLINE=${OFFLINE:-100x100}
PRES_USERS=${PRES_USERS:-202} PRES_CONTACTS=${PRES_CONTACTS:-100}
RESUME_N=${RESUME_N:-10000}
BOSH_N=${BOSH_N:-10000} BOSH_SECS=${BOSH_SECS:-20}
PEP_CONTACTS=${PEP_CONTACTS:-1000} PEP_WINDOW=${PEP_WINDOW:-16} PEP_SECS=${PEP_SECS:-10}
PEP_LOGIN=${PEP_LOGIN:-100x5} PEP_LOGINS=${PEP_LOGINS:-200}
SCENARIOS=${SCENARIOS:-"idle idle-tls idle-sm idle-ws login storm throughput throughput-sm throughput-mam throughput-ws
                         latency muc offline presence resume bosh-idle pep-fanout pep-login calibrate"}
SERVER_CPU=${SERVER_CPU:-0} GEN_CPU=${GEN_CPU:-1}
cache_root=${XMPPBENCH_CACHE:-/tmp/xmppbench-cache}
for p in ${TP_CONFIGS//x*([0-9])/} $LAT_PAIRS; do
  if [ $((2 * p)) -gt "$ACCOUNTS" ]; then
    echo "run.sh: ACCOUNTS ($ACCOUNTS) must be at least twice the number of pairs ($p)" >&2; exit 2
  fi
done
for n in $MUC_N $PRES_USERS $((${OFFLINE%x*} + 10)) $((${PEP_LOGIN%x*} + 1)); do
  [ "$n" -le "$ACCOUNTS" ] || { echo "run.sh: ACCOUNTS ($ACCOUNTS) is below a scenario's $n users" >&2; exit 2; }
done
# pep-fanout's contacts and publisher are bench0..bench<PEP_CONTACTS>: possibly more than ACCOUNTS.
all_accounts=$ACCOUNTS
for s in $SCENARIOS; do
  if [ "$s" = pep-fanout ] && [ $((PEP_CONTACTS + 1)) -gt "$all_accounts" ]; then all_accounts=$((PEP_CONTACTS + 1)); fi
done

tmp=$(mktemp -d /tmp/xmppbench.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ $keep = 0 ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
http_port=$(free_port)  # XMPP over WebSocket (idle-ws, throughput-ws)
cfg=$tmp/xmppd.toml
cat > "$cfg" <<EOF
[server]
data_dir = "$tmp/data"
threads = 1

[log]
level = "warn"

[c2s]
require_encryption = false
[c2s.limits]  # the benchmark measures the server, not its throttles
max_connections_per_ip = 0
max_sessions_per_account = 0
max_bytes_per_second = 0

[[c2s.listen]]
address = "127.0.0.1"
port = $port
tls = "starttls"

[http]
web_client = false
max_connections = 1000000  # bosh-idle holds one request per session
[[http.listen]]
address = "127.0.0.1"
port = $http_port

[auth]
mechanisms = ["SCRAM-SHA-1", "PLAIN"]
scram_iterations = 4096
max_failures = 1000
failure_window = 1

[hosts."localhost"]
modules = ["roster", "presence", "offline", "disco", "ping", "muc"]
[modules.offline]
max_messages = 100000
EOF

# The same server with one more module: the message archive (throughput-mam), PEP (pep-*).
for m in mam pep; do
  sed "s/^modules = \[\"roster\", \"presence\", \"offline\", \"disco\", \"ping\", \"muc\"\]$/modules = [\"roster\", \"presence\", \"offline\", \"disco\", \"ping\", \"muc\", \"$m\"]/" \
    "$cfg" > "$tmp/xmppd-$m.toml"
  grep -q "\"$m\"" "$tmp/xmppd-$m.toml" || { echo "run.sh: could not enable $m in $tmp/xmppd-$m.toml" >&2; exit 1; }
done

# Accounts: from the cache, or created now (and cached).
cache=$cache_root/accounts-$ACCOUNTS
if [ $fresh = 1 ]; then rm -rf "$cache"; fi
if [ -f "$cache/complete" ]; then
  cp -a "$cache/data" "$tmp/data"
  cp "$cache/scram-keys" "$tmp/scram-keys" 2>/dev/null || true
  echo "accounts: $ACCOUNTS from $cache"
else
  mkdir -p "$tmp/data"
  start=$(date +%s.%N)
  # Two at a time: each xmppctl call derives two SCRAM secrets and commits one transaction.
  seq 0 $((ACCOUNTS - 1)) | xargs -P2 -I{} "$XMPPCTL" --config "$cfg" adduser "bench{}@localhost" --password benchpass \
    > "$tmp/adduser.log" 2>&1 || { grep -v "^added" "$tmp/adduser.log" | tail -5 >&2; exit 1; }
  end=$(date +%s.%N)
  echo "accounts: created $ACCOUNTS with xmppctl in $(echo "$end - $start" | bc) s" \
       "($(echo "scale=1; $ACCOUNTS / ($end - $start)" | bc)/s)"
fi
# Accounts beyond ACCOUNTS (pep-fanout), added to the cached database the first time.
have=$(cat "$cache/accounts" 2>/dev/null || echo "$ACCOUNTS")
if [ "$all_accounts" -gt "$have" ]; then
  seq "$have" $((all_accounts - 1)) | xargs -P2 -I{} "$XMPPCTL" --config "$cfg" adduser "bench{}@localhost" \
    --password benchpass > "$tmp/adduser.log" 2>&1 || { grep -v "^added" "$tmp/adduser.log" | tail -5 >&2; exit 1; }
  echo "accounts: created bench$have..bench$((all_accounts - 1)) with xmppctl"
  rm -f "$cache/complete"  # the cache is saved again below
fi

start_server() {  # $1: log name; $2: "fake" for the calibration server, "mam" or "pep" for that module on
  if [ "${2:-}" = fake ]; then
    taskset -c "$SERVER_CPU" "$FAKEXMPPD" --port "$port" --seconds 300 > "$tmp/server-$1.log" 2>&1 &
  else
    taskset -c "$SERVER_CPU" "$XMPPD" --config "$([ -n "${2:-}" ] && echo "$tmp/xmppd-$2.toml" || echo "$cfg")" \
      > "$tmp/server-$1.log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "run.sh: the server did not start:" >&2; tail -5 "$tmp/server-$1.log" >&2; exit 1
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
bench() {  # runs the generator on its core against the running server; prints the RESULT line
  taskset -c "$GEN_CPU" "$XMPPBENCH" --port "$port" --server-pid "$server_pid" --accounts "$ACCOUNTS" \
    --cache "$keys" "$@" 2> "$tmp/bench.err" | grep '^RESULT' || true
  if [ -s "$tmp/bench.err" ]; then sed 's/^/  generator: /' "$tmp/bench.err" | head -5 >&2; fi
}

# The generator caches the PBKDF2 result per account; fill that cache before measuring.
keys=$tmp/scram-keys
start_server prime
if [ ! -f "$tmp/scram-keys" ] || [ "$(wc -l < "$tmp/scram-keys")" -lt "$all_accounts" ]; then
  bench --scenario prime --clients "$all_accounts" --accounts "$all_accounts" --concurrency 50 > /dev/null
fi
stop_server
if [ ! -f "$cache/complete" ]; then
  mkdir -p "$cache" && rm -rf "$cache/data" && cp -a "$tmp/data" "$cache/data"
  cp "$tmp/scram-keys" "$cache/scram-keys" 2>/dev/null || true
  [ "$all_accounts" -gt "$ACCOUNTS" ] && echo "$all_accounts" > "$cache/accounts"
  touch "$cache/complete"
fi

results=()
run() {  # $1: row name; rest: generator arguments. Each scenario gets a fresh server.
  local name=$1; shift
  start_server "$name" "$([[ $name == calib* ]] && echo fake; [[ $name == *-mam-* ]] && echo mam; [[ $name == pep-* ]] && echo pep)"
  sleep 0.5
  local line
  line=$(bench --label "$name" "$@")
  stop_server
  if [ -z "$line" ]; then line="RESULT label=$name error=no_result"; fi
  echo "$line"
  results+=("$line")
}

for s in $SCENARIOS; do
  case $s in
    idle) run "idle-$IDLE_N" --scenario idle --clients "$IDLE_N" ;;
    idle-tls) run "idle-tls-$IDLE_TLS_N" --scenario idle --clients "$IDLE_TLS_N" --tls ;;
    login) run "login-$LOGIN_N" --scenario login --clients "$LOGIN_N" ;;
    storm) run "storm-$STORM_N" --scenario login --clients "$STORM_N" --concurrency "$STORM_N" ;;
    muc) for n in $MUC_SENDERS; do
           run "muc-$MUC_N-s$n" --scenario muc --clients "$MUC_N" --senders "$n" --window 16 \
             --duration "$MUC_SECS" --room "bench-s$n@conference.localhost"
         done ;;
    offline) run "offline-$OFFLINE" --scenario offline --clients "${OFFLINE%x*}" --messages "${OFFLINE#*x}" --senders 10 ;;
    presence) run "presence-$PRES_USERS" --scenario presence --clients "$PRES_USERS" --contacts "$PRES_CONTACTS" ;;
    pep-fanout) run "pep-fanout-$PEP_CONTACTS" --scenario pep-fanout --contacts "$PEP_CONTACTS" --window "$PEP_WINDOW" \
                  --duration "$PEP_SECS" ;;
    pep-login)  # the last accounts, away from the presence scenario's groups
      c=${PEP_LOGIN%x*}
      run "pep-login-$PEP_LOGIN" --scenario pep-login --contacts "$c" --nodes "${PEP_LOGIN#*x}" --logins "$PEP_LOGINS" \
        --first-account $((ACCOUNTS - c - 1)) ;;
    throughput) for t in $TP_CONFIGS; do
                  run "throughput-$t" --scenario throughput --pairs "${t%x*}" --window "${t#*x}" --duration "$TP_SECS"
                done ;;
    throughput-sm) t=${TP_CONFIGS%% *}  # stream management on every session, acks every 5 stanzas
                   run "throughput-sm-$t" --scenario throughput --pairs "${t%x*}" --window "${t#*x}" \
                     --duration "$TP_SECS" --sm ;;
    throughput-mam) t=${TP_CONFIGS%% *}  # every message archived twice (sender's and recipient's archive)
                    run "throughput-mam-$t" --scenario throughput --pairs "${t%x*}" --window "${t#*x}" \
                      --duration "$TP_SECS" ;;
    idle-sm) run "idle-sm-$IDLE_N" --scenario idle --clients "$IDLE_N" --sm ;;
    idle-ws) run "idle-ws-$IDLE_N" --scenario idle --clients "$IDLE_N" --websocket --port "$http_port" ;;
    bosh-idle)  # BOSH sessions each keeping a request held (wait=60): the server's CPU while idle
      start_server "bosh-idle-$BOSH_N"
      line=$(taskset -c "$GEN_CPU" python3 "$here/bosh_idle.py" --port "$http_port" --server-pid "$server_pid" \
               --sessions "$BOSH_N" --accounts "$ACCOUNTS" --measure "$BOSH_SECS" --label "bosh-idle-$BOSH_N" \
               2> "$tmp/bench.err" | grep '^RESULT' || true)
      stop_server
      [ -s "$tmp/bench.err" ] && sed 's/^/  generator: /' "$tmp/bench.err" | head -5 >&2
      [ -n "$line" ] || line="RESULT label=bosh-idle-$BOSH_N error=no_result"
      echo "$line"; results+=("$line") ;;
    throughput-ws) t=${TP_CONFIGS%% *}  # the same as the first throughput run, over WebSocket
                   run "throughput-ws-$t" --scenario throughput --pairs "${t%x*}" --window "${t#*x}" \
                     --duration "$TP_SECS" --websocket --port "$http_port" ;;
    resume) run "resume-$RESUME_N" --scenario resume --clients "$RESUME_N" --concurrency "$RESUME_N" --sm ;;
    latency) for r in $LAT_RATES; do
               run "latency-$r" --scenario latency --pairs "$LAT_PAIRS" --rate "$r" --duration "$LAT_SECS"
             done ;;
    calibrate)
      [ -x "$FAKEXMPPD" ] || { echo "run.sh: $FAKEXMPPD not found, skipping calibrate" >&2; continue; }
      keys=$tmp/fake-keys  # the mirror uses its own salt
      top_rate=$(echo $LAT_RATES | tr ' ' '\n' | sort -n | tail -1)
      t=${TP_CONFIGS%% *}
      run "calib-throughput-$t" --scenario throughput --pairs "${t%x*}" --window "${t#*x}" --duration "$TP_SECS"
      run "calib-latency-$top_rate" --scenario latency --pairs "$LAT_PAIRS" --rate "$top_rate" --duration "$LAT_SECS"
      keys=$tmp/scram-keys ;;
    *) echo "run.sh: unknown scenario $s" >&2 ;;
  esac
done

echo
echo "xmppd benchmark, $(date -u +%Y-%m-%dT%H:%MZ), server on CPU $SERVER_CPU (1 thread), generator on CPU $GEN_CPU"
echo "(in parentheses: the same rate per second of server CPU time; srv_cpu/gen_cpu: % of one core; load: 1-min load average)"
failed=0
printf '%-24s %-30s %-44s %7s %7s %6s %s\n' scenario figure detail srv_cpu gen_cpu load flags
for line in "${results[@]}"; do
  get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
  label=$(get label); sc=$(get scenario)
  flags=""
  [ "$(get gen_bound)" = yes ] && flags="GENERATOR-BOUND "
  [ "$(get logins_failed)" != 0 ] && flags+="login-failures=$(get logins_failed) "
  [ "$(get dropped)" != 0 ] && flags+="dropped=$(get dropped) "
  [ -n "$(get error)" ] && flags+="error=$(get error) "
  for k in lost bounced misdelivered; do v=$(get $k); [ -n "$v" ] && [ "$v" != 0 ] && flags+="$k=$v "; done
  [ -n "${flags//GENERATOR-BOUND /}" ] && failed=1
  case $sc in
    idle) fig="$(get kb_per_session) KB/session"
          det="rss $(get rss_before_kb)->$(get rss_after_kb) KB, $(get sessions) sessions" ;;
    login) fig="$(get logins_per_s) logins/s ($(get per_server_cpu_s))"
           det="$(get sessions) sessions, login p50 $(get login_p50_ms) ms p99 $(get login_p99_ms) ms" ;;
    throughput) fig="$(get delivered_per_s) msg/s ($(get per_server_cpu_s))"
                det="$(get pairs) pairs, window $(get window), lost $(get lost), $(get msgs_per_write) msg/write" ;;
    muc) fig="$(get deliveries_per_s) deliveries/s ($(get per_server_cpu_s))"
         det="$(get occupants) occupants, $(get senders) senders, join $(get join_s) s, p99 $(get p99_ms) ms" ;;
    offline) fig="$(get flushed_per_s) flushed/s"
             det="$(get stored) stored (accepted $(get accepted_per_s)/s), lost $(get lost)" ;;
    presence) fig="$(get deliveries_per_s) presences/s ($(get per_server_cpu_s))"
              det="$(get users) users x $(get contacts) contacts, seeding $(get seed_s) s, lost $(get lost)" ;;
    pep-fanout) fig="$(get notifications_per_s) notif/s ($(get per_server_cpu_s))"
                det="$(get contacts) contacts, $(get publishes_per_s) publishes/s, window $(get window), lost $(get lost)" ;;
    pep-login) fig="login x$(get mean_ratio) with last items"
               det="mean $(get nopep_mean_ms) -> $(get pep_mean_ms) ms, p99 $(get nopep_p99_ms) -> $(get pep_p99_ms) ms" ;;
    bosh-idle) fig="$(get idle_server_cpu_pct) % CPU idle"
               det="$(get sessions) sessions held, wait $(get wait) s, $(get kb_per_session) KB/session" ;;
    resume) fig="$(get resumptions_per_s) resumptions/s ($(get per_server_cpu_s))"
            det="$(get resumed)/$(get sessions) resumed, hibernated $(get kb_per_hibernated_session) KB, lost $(get lost)" ;;
    latency) fig="p99 $(get p99_ms) ms"
             det="p50 $(get p50_ms) p90 $(get p90_ms) max $(get max_ms) ms, lost $(get lost)" ;;
    *) fig="-"; det="-" ;;
  esac
  printf '%-24s %-30s %-44s %7s %7s %6s %s\n' "$label" "$fig" "$det" "$(get server_cpu_pct)" "$(get gen_cpu_pct)" \
    "$(get loadavg)" "$flags"
done
if [ $failed = 1 ]; then echo "run.sh: some scenarios failed (see flags)" >&2; exit 1; fi
