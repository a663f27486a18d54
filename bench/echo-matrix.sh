#!/usr/bin/env bash
# The echo matrix: every server against our load generator, interleaved,
# server pinned to CPU 0 and client to CPU 1, several rounds, medians.
#
#   bench/echo-matrix.sh [rounds] [seconds]
#
# Run it alone on the machine (it holds nothing itself: wrap it in
# whatever lock keeps other heavy work away). SERVERS overrides the list.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${1:-3}
SECONDS_PER=${2:-2}
SERVERS=${SERVERS:-"wsmachine-tokio wsmachine-mio wsmachine wsmachine-feed tokio-tungstenite tokio-websockets fastwebsockets uws"}
# connections:bytes:kind, the columns of the table.
COLUMNS=${COLUMNS_OVERRIDE:-"100:20:binary 10:1024:binary 10:16384:binary 200:16384:binary 100:20:text 10:16384:text"}
cargo build --release -q -p wsmachine-bench --bins
BIN=target/release
# uWebSockets through its Node.js binding (the npm package ships the
# compiled library); left out when Node.js is missing.
if [[ " $SERVERS " == *" uws "* ]]; then
  if command -v node >/dev/null && (cd bench/uws && npm install --no-audit --no-fund --silent); then :; else
    SERVERS=${SERVERS/uws/}
  fi
fi
server_cmd() { # server -> command line
  case $1 in
    uws) echo "node bench/uws/echo.js" ;;
    # A build of an earlier core, for "nothing got slower" (BEFORE_BIN).
    before-*) echo "$BEFORE_BIN/echo ${1#before-} 127.0.0.1:0" ;;
    *) echo "$BIN/echo $1 127.0.0.1:0" ;;
  esac
}
OUT=$(mktemp -d)

run_one() { # server column -> messages/s
  local server=$1 col=$2 conns bytes kind port rate
  IFS=: read -r conns bytes kind <<<"$col"
  local flags=""
  [ "$kind" = text ] && flags="--text"
  # shellcheck disable=SC2046
  coproc SRV { exec taskset -c 0 $(server_cmd "$server"); }
  read -r _ addr <&"${SRV[0]}"
  rate=$(taskset -c 1 "$BIN/load" "$addr" "$conns" "$bytes" $flags --seconds "$SECONDS_PER" \
    | awk '/messages_per_second/ {print $2}')
  # The server's CPU time in user and kernel mode (clock ticks).
  local ticks
  ticks=$(awk '{print $14 ":" $15}' "/proc/$SRV_PID/stat" 2>/dev/null || echo "0:0")
  kill "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  echo "${rate:-0} $ticks"
}

for round in $(seq "$ROUNDS"); do
  for col in $COLUMNS; do
    for server in $SERVERS; do
      read -r rate ticks < <(run_one "$server" "$col")
      echo "$round $col $server $rate $ticks" | tee -a "$OUT/raw" >&2
    done
  done
done

python3 - "$OUT/raw" "$SERVERS" "$COLUMNS" <<'PY'
import sys, statistics
raw, servers, columns = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
runs = {}
kernel = {}
for line in open(raw):
    _, col, server, rate, ticks = line.split()
    runs.setdefault((server, col), []).append(float(rate))
    user, system = (int(t) for t in ticks.split(":"))
    if user + system:
        kernel.setdefault(server, []).append(system / (user + system))
def label(c):
    n, b, k = c.split(":")
    b = int(b)
    size = f"{b // 1024} KiB" if b >= 1024 else f"{b} B"
    return f"{n}×{size}" + (" text" if k == "text" else "")
med = {k: statistics.median(v) for k, v in runs.items()}
print("\nmedian messages/s\n")
print("| server | " + " | ".join(label(c) for c in columns) + " |")
print("|---|" + "---|" * len(columns))
for s in servers:
    print(f"| {s} | " + " | ".join(f"{med[(s, c)]:,.0f}" for c in columns) + " |")
ours = [s for s in servers if s.startswith("wsmachine")]
peers = [s for s in servers if not s.startswith("wsmachine") and s != "uws" and not s.startswith("before")]
print("\nshare of the server's CPU time spent in the kernel (median over all runs)\n")
for srv in servers:
    if srv in kernel:
        print(f"| {srv} | {statistics.median(kernel[srv]) * 100:.0f} % |")
print("\nratio: wsmachine server ÷ best peer in the column\n")
print("| server | " + " | ".join(label(c) for c in columns) + " |")
print("|---|" + "---|" * len(columns))
for s in ours:
    cells = []
    for c in columns:
        best = max(med[(p, c)] for p in peers) if peers else float("nan")
        cells.append(f"{med[(s, c)] / best:.2f}")
    print(f"| {s} | " + " | ".join(cells) + " |")
before = [s for s in servers if s.startswith("before-") and s[len("before-"):] in servers]
if before:
    print("\nratio: this build ÷ the earlier build (BEFORE_BIN)\n")
    print("| server | " + " | ".join(label(c) for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for b in before:
        s = b[len("before-"):]
        print(f"| {s} | " + " | ".join(f"{med[(s, c)] / med[(b, c)]:.2f}" for c in columns) + " |")
print("\nratio to each server (wsmachine ÷ other)\n")
for s in ours:
    for p in [p for p in servers if not p.startswith(("wsmachine", "before-"))]:
        print(f"| {s} ÷ {p} | " + " | ".join(f"{med[(s, c)] / med[(p, c)]:.2f}" for c in columns) + " |")
PY
