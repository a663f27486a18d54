"""Server-side echo throughput of wsmachine, wsproto and websockets' sans-I/O
protocol objects, in one run on the same bytes.

    python bench.py [--rounds N] [--quick]

Each library is a server that completed the opening handshake (no
compression). The timed part feeds the same masked client frames, in the
same reads, parses them, delivers each message, sends it back as a reply
(encoded into an unmasked frame) and takes the bytes to write. Rounds
alternate between the libraries; the best round of each counts. Prints a
Markdown table with microseconds per message and the ratios.
"""

import argparse
import os
import platform
import struct
import sys
import time

import websockets
import wsproto
import wsproto.events as wpe
from websockets.frames import Opcode
from websockets.server import ServerProtocol

import wsmachine as ws

REQUEST = (
    b"GET /bench HTTP/1.1\r\nHost: bench.example\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
MASK = b"\x9b\x2c\x5e\x71"
READ = 64 << 10  # the size of one read from the socket


def masked_frame(payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([0x82, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", n)
    key = int.from_bytes((MASK * (n // 4 + 1))[:n], "big")
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
    return head + MASK + masked


def workload(size, count, per_frame):
    payload = bytes((i * 7 + 3) & 0xFF for i in range(size))
    frame = masked_frame(payload)
    if per_frame:
        return payload, [frame] * count
    stream = frame * count
    return payload, [stream[i : i + READ] for i in range(0, len(stream), READ)]


# ------------------------------------------------------------- the servers


def run_wsmachine(reads):
    conn = ws.ServerConnection(ws.Config(deflate=None))
    conn.receive_data(REQUEST)
    (request,) = conn.events()
    conn.accept()
    (opened,) = conn.events()
    conn.data_to_send()
    binary = ws.BinaryMessage
    start = time.perf_counter()
    messages = written = 0
    for data in reads:
        conn.receive_data(data)
        for event in conn.events():
            if type(event) is binary:
                conn.send_binary(event.data)
                messages += 1
        written += len(conn.data_to_send())
    return time.perf_counter() - start, messages, written


def run_wsproto(reads):
    conn = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    conn.receive_data(REQUEST)
    (request,) = conn.events()
    conn.send(wpe.AcceptConnection())
    bytes_message = wpe.BytesMessage
    start = time.perf_counter()
    messages = written = 0
    parts = []
    for data in reads:
        conn.receive_data(data)
        out = []
        for event in conn.events():
            if type(event) is bytes_message:
                if event.message_finished and not parts:
                    out.append(conn.send(bytes_message(data=event.data)))
                    messages += 1
                elif event.message_finished:
                    parts.append(event.data)
                    out.append(conn.send(bytes_message(data=b"".join(parts))))
                    parts = []
                    messages += 1
                else:
                    parts.append(event.data)
        written += len(b"".join(out))
    return time.perf_counter() - start, messages, written


def run_websockets(reads):
    conn = ServerProtocol(max_size=None)
    conn.receive_data(REQUEST)
    (request,) = conn.events_received()
    conn.send_response(conn.accept(request))
    conn.data_to_send()
    binary = Opcode.BINARY
    start = time.perf_counter()
    messages = written = 0
    for data in reads:
        conn.receive_data(data)
        for frame in conn.events_received():
            if frame.opcode is binary:
                conn.send_binary(frame.data)
                messages += 1
        written += len(b"".join(conn.data_to_send()))
    return time.perf_counter() - start, messages, written


LIBRARIES = [("wsmachine", run_wsmachine), ("wsproto", run_wsproto), ("websockets", run_websockets)]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="few messages, one round (a smoke test)")
    args = parser.parse_args(argv)
    scale = 0.05 if args.quick else 1.0
    rounds = 1 if args.quick else args.rounds
    cases = [
        ("20 B", 20, 20000, False),
        ("20 B, one frame per read", 20, 20000, True),
        ("1 KiB", 1024, 10000, False),
        ("64 KiB", 64 << 10, 400, False),
    ]
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); Python {platform.python_version()}; "
          f"wsmachine {ws.__version__}, wsproto {wsproto.__version__}, websockets {websockets.__version__}")
    print(f"best of {rounds} rounds; µs per message: parse, deliver, reply, take the output\n")
    print("| frames | wsmachine µs | wsproto µs | websockets µs | × wsproto | × websockets |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, size, count, per_frame in cases:
        count = max(1, int(count * scale))
        payload, reads = workload(size, count, per_frame)
        expected = len(payload) + (2 if size < 126 else 4 if size < 1 << 16 else 10)
        best = {}
        for _ in range(rounds):
            for name, run in LIBRARIES:
                seconds, messages, written = run(reads)
                assert messages == count, (name, messages, count)
                assert written == count * expected, (name, written, count * expected)
                best[name] = min(best.get(name, seconds), seconds)
        us = {name: best[name] / count * 1e6 for name in best}
        print(f"| {label} | {us['wsmachine']:.2f} | {us['wsproto']:.2f} | {us['websockets']:.2f} | "
              f"{us['wsproto'] / us['wsmachine']:.1f} | {us['websockets'] / us['wsmachine']:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
