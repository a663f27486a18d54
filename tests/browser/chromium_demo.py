#!/usr/bin/env python3
"""The echo server's browser demo, end to end, in real headless Chromium.

Starts the built echo_server example on an ephemeral port, opens its page
(GET /) in Chromium driven over the DevTools protocol, waits for the page's
script to finish its exchange with the server, and checks what it reports:
every round-trip (text, non-ASCII, empty, binary, 1 MiB of text, 4 MiB of
binary) unchanged, permessage-deflate agreed, and a clean 1000 close.

    python3 tests/browser/chromium_demo.py target/release/examples/echo_server \
        [--chromium /usr/bin/chromium] [--screenshot docs/browser-demo.png]

Needs the standard library and the `websockets` package (DevTools speaks
WebSocket too).
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from websockets.sync.client import connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
WIDTH, HEIGHT = 760, 500


def start_echo_server(binary):
    proc = subprocess.Popen(
        [binary, "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    line = proc.stderr.readline()
    if "ws://" not in line:
        proc.kill()
        raise SystemExit(f"echo_server did not start: {line!r}")
    addr = line.split("ws://", 1)[1].split()[0]
    return proc, addr


def start_chromium(binary, profile):
    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(profile, "stderr.log"), "w"),
    )
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"chromium exited with {proc.returncode}")
        try:
            with open(port_file) as f:
                port = f.read().split()[0]
            return proc, int(port)
        except (FileNotFoundError, IndexError):
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("chromium opened no DevTools port")


class DevTools:
    """One page target, commands answered in order."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


def check(results):
    """(name, passed, detail) for every assertion on the page's report."""
    steps = {s["step"]: s for s in results.get("steps", [])}
    expected = [
        "handshake",
        "text",
        "non-ASCII text",
        "empty text",
        "binary",
        "large text (compressible)",
        "large binary",
        "close",
    ]
    checks = [(name, steps.get(name, {}).get("ok", False), steps.get(name, {}).get("detail", "missing"))
              for name in expected]
    ext = results.get("extensions") or ""
    checks.append(("permessage-deflate agreed", ext.startswith("permessage-deflate"), ext or "none"))
    close = results.get("close") or {}
    checks.append(("clean 1000 close", close.get("code") == 1000 and close.get("wasClean") is True,
                   json.dumps(close)))
    return checks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("echo_server")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--screenshot")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    profile = tempfile.mkdtemp(prefix="wsm-chromium-")
    server, addr = start_echo_server(args.echo_server)
    chromium = None
    try:
        chromium, port = start_chromium(args.chromium, profile)
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            devtools = DevTools(ws)
            devtools.call("Page.enable")
            devtools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                          deviceScaleFactor=1, mobile=False)
            started = time.monotonic()
            devtools.call("Page.navigate", url=f"http://{addr}/")
            results = None
            while time.monotonic() - started < args.timeout:
                results = devtools.evaluate("window.results ? JSON.stringify(window.results) : null")
                if results and json.loads(results).get("done"):
                    break
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            results = json.loads(results) if results else {}
            if args.screenshot:
                shot = devtools.call("Page.captureScreenshot", format="png")
                with open(args.screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
    finally:
        if chromium:
            chromium.terminate()
            try:
                chromium.wait(10)
            except subprocess.TimeoutExpired:
                chromium.kill()
        server.kill()
        server.wait()
        shutil.rmtree(profile, ignore_errors=True)

    if not results.get("done"):
        print(f"browser demo: the page did not finish within {args.timeout:.0f} s", file=sys.stderr)
    checks = check(results)
    for name, ok, detail in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
    failed = sum(1 for _, ok, _ in checks if not ok)
    print(f"browser demo ({elapsed:.1f} s in Chromium): {len(checks) - failed} passed, {failed} failed")
    return 1 if failed or not results.get("done") else 0


if __name__ == "__main__":
    sys.exit(main())
