#!/usr/bin/env bash
# Runs Autobahn|Testsuite (fuzzingclient: cases 1-10 and a subset of the
# compression cases 12.x/13.x) against the asyncio echo server of the
# Python package, and applies the strict verdict.
#
#   .ci/autobahn/run-python.sh PYTHON
#
# PYTHON is an interpreter with the wsmachine wheel installed (.ci/python.sh
# builds one into target/py/venv). Report: target/autobahn/python-server/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
python="${1:?usage: $0 PYTHON}"

wstest="$(.ci/autobahn/setup-wstest.sh | tail -n 1)"
port=9006
rm -rf target/autobahn/python-server
mkdir -p target/autobahn/python-server

"$python" wsmachine-py/examples/echo_server.py "127.0.0.1:$port" \
  >target/autobahn/python-echo_server.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo "autobahn: the Python package's asyncio echo server (fuzzingclient)"
"$wstest" -m fuzzingclient -s .ci/autobahn/fuzzingclient-python.json \
  >target/autobahn/python-server.log 2>&1
python3 .ci/autobahn/verdict.py target/autobahn/python-server
