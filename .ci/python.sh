#!/usr/bin/env bash
# The Python package: builds the abi3 wheel with maturin in a fresh
# virtualenv, runs the pytest suite, checks that the same wheel works on
# the other CPython versions pyenv has (3.9 and 3.13), runs the benchmark
# once as a smoke test, and runs Autobahn|Testsuite against the asyncio
# echo server. Everything goes under target/py/ (git-ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${PYTHON:-python3}"
venv=target/py/venv
wheels=target/py/wheels

echo "python: clippy"
cargo clippy -p wsmachine-py --all-targets --quiet -- -D warnings

echo "python: fresh virtualenv with maturin, pytest, websockets, wsproto"
rm -rf "$venv" "$wheels" target/py/other
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin pytest websockets wsproto

echo "python: wheel"
(cd wsmachine-py && "../$venv/bin/maturin" build --release --quiet --out "../$wheels")
wheel="$(ls "$wheels"/wsmachine-*-cp39-abi3-*.whl)"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"

echo "python: pytest"
(cd wsmachine-py/tests && "../../$venv/bin/python" -m pytest -q -p no:cacheprovider)

echo "python: the same wheel on other CPython versions"
root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
for version in 3.9 3.13; do
  other="$(ls -d "$root"/versions/"$version".*/bin/python3 2>/dev/null | tail -n 1 || true)"
  if [ -z "$other" ]; then
    echo "  no CPython $version here; skipped"
    continue
  fi
  "$other" -m venv "target/py/other/$version"
  "target/py/other/$version/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
  "target/py/other/$version/bin/python" wsmachine-py/tests/smoke.py
done

echo "python: benchmark smoke run (numbers are not checked)"
"$venv/bin/python" wsmachine-py/bench/bench.py --quick

echo "python: Autobahn|Testsuite against the asyncio echo server"
.ci/autobahn/run-python.sh "$venv/bin/python"
