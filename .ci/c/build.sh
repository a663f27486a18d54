#!/usr/bin/env bash
# Builds the C ABI (the wsmachine-ffi crate, release) and the C programs on
# it with the system C compiler ($CC, default cc), into target/c/:
#
#   target/c/echo_server   examples/c/echo_server.c, static library
#   target/c/api_test      wsmachine-ffi/tests/api.c, shared library
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo build --release -p wsmachine-ffi --quiet
mkdir -p target/c
cc="${CC:-cc}"
cflags=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Werror -I wsmachine-ffi/include)
# What the Rust standard library needs from a Linux system when linked
# statically (`cargo rustc -p wsmachine-ffi --release --crate-type
# staticlib -- --print native-static-libs` lists it for any platform).
libs=(-lpthread -ldl -lm)
"$cc" "${cflags[@]}" examples/c/echo_server.c target/release/libwsmachine_ffi.a \
  "${libs[@]}" -o target/c/echo_server
"$cc" "${cflags[@]}" wsmachine-ffi/tests/api.c -L target/release -lwsmachine_ffi \
  -Wl,-rpath,"$PWD/target/release" -o target/c/api_test
