#!/usr/bin/env bash
# Runs Autobahn|Testsuite against wsmachine in both roles and applies the
# strict verdict (every case OK or INFORMATIONAL).
#
#   .ci/autobahn/run.sh           cases 1-10 and a subset of 12.x/13.x
#   .ci/autobahn/run.sh full      every case, 1-13 (about an hour)
#   .ci/autobahn/run.sh [full] server|client   one role only
#   .ci/autobahn/run.sh [full] tokio-server|tokio-client
#                                              the tokio adapter (wsmachine-tokio)
#                                              as server or client; `tokio` for both
#   .ci/autobahn/run.sh [full] mio-server      the readiness loop (wsmachine-mio) as server
#   .ci/autobahn/run.sh [full] c-server        the C echo server (examples/c)
#   .ci/autobahn/run.sh c-valgrind             the C echo server under valgrind,
#                                              a short selection; fails on any
#                                              leak or invalid access
#
# Testees: server and client are the core's examples (echo_server,
# autobahn_client, the blocking driver); tokio-server and tokio-client the
# tokio adapter's (tokio_echo_server, tokio_autobahn_client), mio-server
# the readiness loop's mio_echo_server, on the same case selection. Reports
# go to target/autobahn/<role>/index.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

suffix=""
roles=()
for arg in "$@"; do
  case "$arg" in
    full) suffix="-full" ;;
    server|client|tokio-server|tokio-client|mio-server|c-server|c-valgrind) roles+=("$arg") ;;
    tokio) roles+=(tokio-server tokio-client) ;;
    *) echo "usage: $0 [full] [server|client|tokio|tokio-server|tokio-client|mio-server|c-server|c-valgrind]..." >&2
       exit 2 ;;
  esac
done
[ ${#roles[@]} -gt 0 ] || roles=(server client)

wstest="$(.ci/autobahn/setup-wstest.sh | tail -n 1)"
for role in "${roles[@]}"; do
  case "$role" in
    server|client) cargo build --release -p wsmachine --examples --quiet; break ;;
  esac
done
for role in "${roles[@]}"; do
  case "$role" in
    # The dev profile: CI's tests have built these already (the core is
    # optimised in it too); a release build of tokio, hyper and rustls would
    # cost about 1.5 min on a clean machine, and the runs take as long
    # either way (112 s and 110 s for both roles, one after the other).
    tokio-*) cargo build -p wsmachine-tokio --examples --quiet; break ;;
  esac
done
for role in "${roles[@]}"; do
  case "$role" in
    mio-server) cargo build --release -p wsmachine-mio --example mio_echo_server --quiet; break ;;
  esac
done
for role in "${roles[@]}"; do
  case "$role" in
    c-*) .ci/c/build.sh; break ;;
  esac
done

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
  elif [ "$role" = tokio-server ]; then
    echo "autobahn: the tokio adapter as server (fuzzingclient)"
    # The core server's selection, pointed at the tokio echo server.
    config="target/autobahn/fuzzingclient-tokio$suffix.json"
    sed -e 's#127.0.0.1:9002#127.0.0.1:9004#' -e 's#autobahn/server#autobahn/tokio-server#' \
      -e 's#"wsmachine"#"wsmachine-tokio"#' ".ci/autobahn/fuzzingclient$suffix.json" >"$config"
    target/debug/examples/tokio_echo_server 127.0.0.1:9004 >"target/autobahn/tokio-echo_server.log" 2>&1 &
    pids+=($!)
    wait_for_port 9004
    "$wstest" -m fuzzingclient -s "$config" >"$log" 2>&1
  elif [ "$role" = tokio-client ]; then
    echo "autobahn: the tokio adapter as client (fuzzingserver)"
    config="target/autobahn/fuzzingserver-tokio$suffix.json"
    sed -e 's#127.0.0.1:9003#127.0.0.1:9005#' -e 's#autobahn/client#autobahn/tokio-client#' \
      ".ci/autobahn/fuzzingserver$suffix.json" >"$config"
    "$wstest" -m fuzzingserver -s "$config" -u 0 >"$log" 2>&1 &
    pids+=($!)
    wait_for_port 9005
    target/debug/examples/tokio_autobahn_client ws://127.0.0.1:9005 wsmachine-tokio >>"$log" 2>&1
  elif [ "$role" = mio-server ]; then
    echo "autobahn: the readiness loop as server (fuzzingclient)"
    config="target/autobahn/fuzzingclient-mio$suffix.json"
    sed -e 's#127.0.0.1:9002#127.0.0.1:9010#' -e 's#autobahn/server#autobahn/mio-server#' \
      -e 's#"wsmachine"#"wsmachine-mio"#' ".ci/autobahn/fuzzingclient$suffix.json" >"$config"
    target/release/examples/mio_echo_server 127.0.0.1:9010 >"target/autobahn/mio-echo_server.log" 2>&1 &
    pids+=($!)
    wait_for_port 9010
    "$wstest" -m fuzzingclient -s "$config" >"$log" 2>&1
  elif [ "$role" = c-server ]; then
    echo "autobahn: the C echo server as server (fuzzingclient)"
    config=".ci/autobahn/fuzzingclient-c.json"
    if [ -n "$suffix" ]; then
      # Every case: the Rust server's full list, pointed at the C server.
      config="target/autobahn/fuzzingclient-c-full.json"
      sed -e 's#127.0.0.1:9002#127.0.0.1:9008#' -e 's#autobahn/server#autobahn/c-server#' \
        -e 's#"wsmachine"#"wsmachine-c"#' .ci/autobahn/fuzzingclient-full.json >"$config"
    fi
    target/c/echo_server 9008 >"target/autobahn/c-echo_server.log" 2>&1 &
    pids+=($!)
    wait_for_port 9008
    "$wstest" -m fuzzingclient -s "$config" >"$log" 2>&1
  elif [ "$role" = c-valgrind ]; then
    echo "autobahn: the C echo server under valgrind (fuzzingclient, short selection)"
    valgrind --error-exitcode=1 --leak-check=full --log-file="target/autobahn/c-valgrind.vg" \
      target/c/echo_server 9009 >"target/autobahn/c-valgrind-echo_server.log" 2>&1 &
    vg=$!
    pids+=("$vg")
    wait_for_port 9009
    "$wstest" -m fuzzingclient -s .ci/autobahn/fuzzingclient-c-valgrind.json >"$log" 2>&1
    # A clean exit (SIGTERM closes every connection and frees everything)
    # lets valgrind check for leaks.
    kill -TERM "$vg"
    if wait "$vg"; then
      grep -E "ERROR SUMMARY|in use at exit|All heap blocks" target/autobahn/c-valgrind.vg | sed 's/^==[0-9]*== */valgrind: /'
    else
      echo "valgrind: errors or leaks (target/autobahn/c-valgrind.vg):"
      cat target/autobahn/c-valgrind.vg
      status=1
    fi
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
