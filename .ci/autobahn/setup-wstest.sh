#!/usr/bin/env bash
# Installs Autobahn|Testsuite's `wstest` into a Python 2.7 virtualenv (reused
# when it already works) and prints the path of `wstest` on its last line.
#
#   WSTEST_VENV  the virtualenv (default: $HOME/.cache/wsmachine-wstest)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${WSTEST_VENV:-$HOME/.cache/wsmachine-wstest}"

if "$venv/bin/wstest" --help >/dev/null 2>&1; then
  echo "$venv/bin/wstest"
  exit 0
fi

is_py27() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; }

find_python27() {
  local candidate
  for candidate in "$(command -v python2.7 || true)" \
                   "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/2.7*/bin/python2.7 \
                   /usr/bin/python2.7 /usr/local/bin/python2.7; do
    if [ -n "$candidate" ] && is_py27 "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

py27="$(find_python27 || true)"
if [ -z "$py27" ]; then
  # Debian 12 no longer packages Python 2.7; Debian 11 does. Borrow it from
  # the bullseye suite of the machine's own mirror, then forget the suite.
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup-wstest: Python 2.7 not found and cannot be installed here" >&2
    exit 1
  fi
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$mirror" ] || { echo "setup-wstest: no Debian mirror configured" >&2; exit 1; }
  list=/etc/apt/sources.list.d/wsmachine-bullseye.sources
  printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$list"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python2.7 python2.7-dev >&2
  rm -f "$list"
  apt-get update -qq >&2 || true
  py27="$(find_python27)"
fi
echo "setup-wstest: Python 2.7 at $py27" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pythonpath=""
if ! "$py27" -m pip --version >/dev/null 2>&1; then
  # A bare interpreter: fetch pip and setuptools wheels for 2.7 with the
  # machine's Python 3 and run pip straight from its wheel.
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 2.7 \
    -d "$work/wheels" pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 >&2
  "$py27" "$work/wheels/pip-20.3.4-py2.py3-none-any.whl/pip" install -q \
    --disable-pip-version-check --target "$work/pip" "$work"/wheels/*.whl 2>&1 | grep -v DEPRECATION >&2 || true
  pythonpath="$work/pip"
fi
PYTHONPATH="$pythonpath" "$py27" -m pip install -q --disable-pip-version-check \
  --no-warn-script-location --target "$work/virtualenv" "virtualenv==16.7.12" 2>&1 | grep -v DEPRECATION >&2 || true
PYTHONPATH="$work/virtualenv" "$py27" -m virtualenv -q --no-download "$venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check "pip==20.3.4" "setuptools==44.1.1" 2>&1 | grep -v DEPRECATION >&2 || true
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-py27.txt" 2>&1 | grep -v DEPRECATION >&2 || true
"$venv/bin/wstest" --help >/dev/null
echo "$venv/bin/wstest"
