#!/usr/bin/env bash
# Heap and RSS per idle open connection, for each echo server: N
# connections opened by the load generator, left idle after the handshake,
# or after one 64 KiB message each way. The server's counting allocator
# gives the heap; /proc gives the RSS. Both as the change from before the
# connections, divided by N.
#
#   bench/idle-memory.sh [connections]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-2000}
SERVERS=${SERVERS:-"wsmachine-tokio wsmachine-mio wsmachine wsmachine-feed tokio-tungstenite tokio-websockets fastwebsockets uws"}
ulimit -n $((N * 2 + 1024))
cargo build --release -q -p wsmachine-bench --bins
BIN=target/release

measure() { # server exchange -> "heap_per_conn rss_per_conn"
  local server=$1 exchange=$2
  if [ "$server" = uws ]; then
    coproc SRV { exec taskset -c 0 node bench/uws/echo.js --report; }
  else
    coproc SRV { exec taskset -c 0 "$BIN/echo" "$server" 127.0.0.1:0 --report; }
  fi
  local addr heap0 rss0 heap1 rss1
  read -r _ addr <&"${SRV[0]}"
  echo >&"${SRV[1]}"; read -r _ heap0 _ rss0 <&"${SRV[0]}"
  # A second coproc while the first lives: bash warns, and it works.
  { coproc CLI { exec taskset -c 1 "$BIN/load" "$addr" "$N" 65536 --idle $exchange --hold 600; }; } 2>/dev/null
  read -r _ _ <&"${CLI[0]}"
  sleep 1
  echo >&"${SRV[1]}"; read -r _ heap1 _ rss1 <&"${SRV[0]}"
  kill "$CLI_PID" "$SRV_PID" 2>/dev/null || true
  wait "$CLI_PID" "$SRV_PID" 2>/dev/null || true
  python3 -c "print(f'{($heap1-$heap0)/$N/1024:.2f} {($rss1-$rss0)/$N:.2f}')"
}

echo "| server | heap KiB/conn, after handshake | RSS KiB/conn, after handshake | heap KiB/conn, after 64 KiB each way | RSS KiB/conn, after 64 KiB each way |"
echo "|---|---|---|---|---|"
for server in $SERVERS; do
  read -r h1 r1 < <(measure "$server" "")
  read -r h2 r2 < <(measure "$server" --exchange)
  echo "| $server | $h1 | $r1 | $h2 | $r2 |"
done
