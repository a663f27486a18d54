#!/usr/bin/env bash
# Runs Autobahn|Testsuite against wsmachine in both roles and applies the
# strict verdict (every case OK or INFORMATIONAL).
#
#   .ci/autobahn/run.sh           cases 1-10 and a subset of 12.x/13.x
#   .ci/autobahn/run.sh full      every case, 1-13 (about an hour)
#   .ci/autobahn/run.sh [full] server|client   one role only
#
# Reports go to target/autobahn/{server,client}/index.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

suffix=""
roles=()
for arg in "$@"; do
  case "$arg" in
    full) suffix="-full" ;;
    server|client) roles+=("$arg") ;;
    *) echo "usage: $0 [full] [server|client]" >&2; exit 2 ;;
  esac
done
[ ${#roles[@]} -gt 0 ] || roles=(server client)

wstest="$(.ci/autobahn/setup-wstest.sh | tail -n 1)"
cargo build --release --examples --quiet

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_for_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

status=0
for role in "${roles[@]}"; do
  rm -rf "target/autobahn/$role"
  mkdir -p "target/autobahn/$role"
  log="target/autobahn/$role.log"
  if [ "$role" = server ]; then
    echo "autobahn: wsmachine as server (fuzzingclient)"
    target/release/examples/echo_server 127.0.0.1:9002 >"target/autobahn/echo_server.log" 2>&1 &
    pids+=($!)
    wait_for_port 9002
    "$wstest" -m fuzzingclient -s ".ci/autobahn/fuzzingclient$suffix.json" >"$log" 2>&1
  else
    echo "autobahn: wsmachine as client (fuzzingserver)"
    "$wstest" -m fuzzingserver -s ".ci/autobahn/fuzzingserver$suffix.json" -u 0 >"$log" 2>&1 &
    pids+=($!)
    wait_for_port 9003
    target/release/examples/autobahn_client ws://127.0.0.1:9003 wsmachine >>"$log" 2>&1
  fi
  python3 .ci/autobahn/verdict.py "target/autobahn/$role" || status=1
done
exit $status
