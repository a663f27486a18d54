#!/usr/bin/env bash
# Fails if wsmachine-ffi/include/wsmachine.h is not what cbindgen generates
# from the crate's sources now. Regenerate it with:
#
#   (cd wsmachine-ffi && cbindgen --config cbindgen.toml --output include/wsmachine.h)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Pinned: another version may lay the header out differently.
if ! cbindgen --version 2>/dev/null | grep -q "^cbindgen 0.29.4$"; then
  cargo install cbindgen@0.29.4 --locked --quiet
fi
mkdir -p target/c
(cd wsmachine-ffi && cbindgen --quiet --config cbindgen.toml --output ../target/c/wsmachine.h)
if ! diff -u wsmachine-ffi/include/wsmachine.h target/c/wsmachine.h; then
  echo "wsmachine.h is out of date: regenerate it with cbindgen (see $0)" >&2
  exit 1
fi
echo "wsmachine.h is up to date ($(wc -l < wsmachine-ffi/include/wsmachine.h) lines)"
