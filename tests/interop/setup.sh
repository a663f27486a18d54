# Sourced: puts Python websockets into .venv and Node ws into node_modules
# (versions pinned in requirements.txt and package.json), once.
want_py="$(sed -n 's/^websockets==//p' requirements.txt)"
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ "$(.venv/bin/python -c 'import websockets; print(websockets.__version__)' 2>/dev/null)" != "$want_py" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
want_js="$(sed -n 's/.*"ws": "\(.*\)".*/\1/p' package.json)"
if [ "$(node -p 'require("ws/package.json").version' 2>/dev/null)" != "$want_js" ]; then
  npm install --no-audit --no-fund --silent --no-package-lock
fi
