#!/usr/bin/env python3
"""Interop peer on Python `websockets` (asyncio API): the scenarios of
tests/interop/README.md, as a client or as a server.

    peer.py client ws://127.0.0.1:PORT    every scenario, without then with compression
    peer.py server                         prints "PORT n", then serves until stdin closes

Every connection ends with one line on stdout, this side's verdict:
verdict<TAB>side<TAB>scenario<TAB>deflate|plain<TAB>ok|FAIL<TAB>detail
"""

import asyncio
import random
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SCENARIOS = ["text", "binary", "fragmented", "large", "ping", "client-close",
             "server-close", "client-eof", "server-eof"]
TEXT = "héllo wörld ✓ 日本語 🦀"
BINARY = bytes(range(256)) + bytes(1000)
FRAGMENTS = ["frag", "mented ✓", " text"]
LARGE = random.Random(7).randbytes(8 << 20) + b"wsmachine interop " * ((8 << 20) // 18)


def verdict(side, scenario, deflate, ok, detail=""):
    fields = ["verdict", side, scenario, "deflate" if deflate else "plain",
              "ok" if ok else "FAIL", " ".join(str(detail).split())]
    print("\t".join(fields), flush=True)


def agreed(headers):
    return "permessage-deflate" in (headers.get("Sec-WebSocket-Extensions") or "")


def ended(ws):
    """(code received, reason, clean) once the connection is closed."""
    rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
    code = rcvd.code if rcvd else 1006
    return code, rcvd.reason if rcvd else "", rcvd is not None and sent is not None


async def drain(ws):
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


# ----------------------------------------------------------------- client

async def client_scenario(ws, name):
    """Runs one scenario; returns (ok, detail)."""
    if name == "text":
        await ws.send(TEXT)
        got = await ws.recv()
        if got != TEXT:
            return False, f"echo {got!r}"
    elif name == "binary":
        await ws.send(BINARY)
        if await ws.recv() != BINARY:
            return False, "binary echo differs"
    elif name == "fragmented":
        await ws.send(FRAGMENTS)
        got = await ws.recv()
        if got != "".join(FRAGMENTS):
            return False, f"echo {got!r}"
    elif name == "large":
        await ws.send(LARGE)
        got = await ws.recv()
        if got != LARGE:
            return False, f"16 MiB echo differs ({len(got)} bytes)"
    elif name == "ping":
        waiter = await ws.ping(b"c-ping")
        await asyncio.wait_for(waiter, 10)
        await ws.send("ping me")
        got = await ws.recv()
        if got != "pong ok":
            return False, f"server said {got!r}"
    elif name == "client-close":
        await ws.close(4001, "client bye")
        code, _, clean = ended(ws)
        return code == 4001 and clean, f"echo {code}, clean {clean}"
    elif name == "server-close":
        await ws.send("close me")
        await drain(ws)
        code, reason, clean = ended(ws)
        return (code, reason, clean) == (4002, "server bye", True), f"{code} {reason!r} clean {clean}"
    elif name == "client-eof":
        await ws.send("eof")
        await asyncio.sleep(0.05)
        ws.transport.abort()
        return True, "dropped the connection"
    elif name == "server-eof":
        await ws.send("eof me")
        await drain(ws)
        code, _, clean = ended(ws)
        return code == 1006 and not clean, f"{code}, clean {clean}"
    await ws.close(1000)
    code, _, clean = ended(ws)
    return code == 1000 and clean, f"closed {code}, clean {clean}"


async def run_client(base):
    failures = 0
    for deflate in (False, True):
        for name in SCENARIOS:
            try:
                async with connect(f"{base}/{name}", compression="deflate" if deflate else None,
                                   max_size=None, ping_interval=None, proxy=None,
                                   open_timeout=10, close_timeout=5) as ws:
                    if agreed(ws.response.headers) != deflate:
                        ok, detail = False, "compression not as offered"
                    else:
                        ok, detail = await asyncio.wait_for(client_scenario(ws, name), 30)
            except Exception as e:  # a failed scenario, not a crash of the run
                ok, detail = False, f"{type(e).__name__}: {e}"
            failures += not ok
            verdict("client", name, deflate, ok, detail)
    return 1 if failures else 0


# ----------------------------------------------------------------- server

async def server_scenario(ws, name):
    if name in ("text", "binary", "large"):
        await ws.send(await ws.recv())
    elif name == "fragmented":
        got = await ws.recv()
        await ws.send([got[:4], got[4:12], got[12:]])
    elif name == "ping":
        await ws.recv()
        waiter = await ws.ping(b"s-ping")
        await asyncio.wait_for(waiter, 10)
        await ws.send("pong ok")
    elif name == "client-close":
        await drain(ws)
        code, reason, clean = ended(ws)
        return (code, reason, clean) == (4001, "client bye", True), f"{code} {reason!r} clean {clean}"
    elif name == "server-close":
        await ws.recv()
        await ws.close(4002, "server bye")
        code, _, clean = ended(ws)
        return code == 4002 and clean, f"echo {code}, clean {clean}"
    elif name == "client-eof":
        got = await ws.recv()
        await drain(ws)
        code, _, clean = ended(ws)
        return got == "eof" and code == 1006 and not clean, f"{code}, clean {clean}"
    elif name == "server-eof":
        await ws.recv()
        ws.transport.abort()
        return True, "dropped the connection"
    else:
        return False, f"unknown scenario {name}"
    await drain(ws)
    code, _, clean = ended(ws)
    return code == 1000 and clean, f"closed {code}, clean {clean}"


async def handler(ws):
    name = ws.request.path.strip("/")
    deflate = agreed(ws.response.headers)
    try:
        ok, detail = await asyncio.wait_for(server_scenario(ws, name), 30)
    except Exception as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    verdict("server", name, deflate, ok, detail)


async def run_server():
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None,
                     close_timeout=5) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        # Serve until the driver closes our stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    return 0


if __name__ == "__main__":
    print(f"# websockets {websockets.__version__}", file=sys.stderr)
    if sys.argv[1] == "client":
        sys.exit(asyncio.run(run_client(sys.argv[2].rstrip("/"))))
    sys.exit(asyncio.run(run_server()))
