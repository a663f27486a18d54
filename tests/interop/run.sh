#!/usr/bin/env bash
# The interop matrix (see README.md): installs the peers into a local venv
# and node_modules (both git-ignored), builds the driver, runs it.
#
#   tests/interop/run.sh [--only python|node]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
. ./setup.sh
cargo build --release -p wsmachine-interop --quiet
../../target/release/wsmachine-interop --python .venv/bin/python --node node "$@"
