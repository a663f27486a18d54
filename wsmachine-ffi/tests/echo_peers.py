#!/usr/bin/env python3
"""Hostile and demanding peers against the C echo server.

    echo_peers.py ECHO_SERVER [--valgrind]

Starts ECHO_SERVER on a free port (under valgrind with --valgrind, which
then must report no error and no leak), and checks, with a WebSocket client
written here from RFC 6455 (standard library only):

- many connections at once, each echoing messages of every length form,
  text and binary, then closing cleanly (the server half-closes first);
- a peer that sends without reading: the server stops reading it (TCP
  pushes back) while it keeps serving others, and loses nothing;
- a peer that vanishes mid-frame, one that sends garbage instead of HTTP,
  one that closes first and then stays silent;
- SIGTERM: every connection gets Close 1001, the server exits 0.
"""
import base64
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what, flush=True)


def masked_frame(opcode, payload, fin=True):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    if n == 0:
        return head + key
    mask = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return head + key + body


class Client:
    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def handshake(self):
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        head = self.read_until(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        return head.startswith(b"HTTP/1.1 101 ") and accept in head

    def read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("EOF before %r" % marker)
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head + marker

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("EOF inside a frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        b0, b1 = self.read_exact(2)
        n = b1 & 0x7F
        if b1 & 0x80:
            raise ValueError("a masked frame from the server")
        if n == 126:
            n = int.from_bytes(self.read_exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self.read_exact(8), "big")
        return b0 & 0x0F, bool(b0 & 0x80), self.read_exact(n)

    def read_eof(self):
        return self.buf == b"" and self.sock.recv(1) == b""

    def send(self, opcode, payload):
        self.sock.sendall(masked_frame(opcode, payload))

    def close_cleanly(self, code=1000):
        self.send(0x8, code.to_bytes(2, "big") + b"done")
        opcode, _, payload = self.read_frame()
        ok = opcode == 0x8 and payload[:2] == code.to_bytes(2, "big")
        ok = ok and self.read_eof()  # the server half-closed first
        self.sock.close()
        return ok


def payload_for(i, n):
    rng = random.Random(i * 1000003 + n)
    if i % 2:
        return 0x1, "".join(rng.choice("aé€𝄞") for _ in range(n // 3)).encode()
    return 0x2, rng.randbytes(n)


def many_connections(port, count=60):
    sizes = [0, 1, 125, 126, 1000, 65535, 65536, 200000]
    errors = []

    def one(i):
        try:
            c = Client(port)
            if not c.handshake():
                errors.append("handshake %d" % i)
                return
            for n in sizes:
                opcode, data = payload_for(i, n)
                c.send(opcode, data)
                got = c.read_frame()
                if got != (opcode, True, data):
                    errors.append("echo %d/%d" % (i, n))
            c.send(0x9, b"ping %d" % i)
            if c.read_frame() != (0xA, True, b"ping %d" % i):
                errors.append("pong %d" % i)
            if not c.close_cleanly():
                errors.append("close %d" % i)
        except Exception as e:  # noqa: BLE001 - any failure is the test's
            errors.append("connection %d: %r" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "many connections: %s" % errors[:5])


def slow_reader(port):
    """Sends 48 MiB without reading; the server must push back, keep
    serving another client, and then deliver every echo in order."""
    slow = Client(port)
    check(slow.handshake(), "slow reader: handshake")
    slow.sock.setblocking(False)
    messages = [random.Random(k).randbytes(1 << 20) for k in range(48)]
    wire = b"".join(masked_frame(0x2, m) for m in messages)
    sent = 0
    stalled_at = None
    deadline = time.monotonic() + 30
    while sent < len(wire) and time.monotonic() < deadline:
        try:
            sent += slow.sock.send(wire[sent : sent + (1 << 20)])
            stalled_at = None
        except BlockingIOError:
            if stalled_at is None:
                stalled_at = time.monotonic()
            elif time.monotonic() - stalled_at > 1.0:
                break  # pushed back for a second: the server stopped reading
            time.sleep(0.01)
    check(sent < len(wire), "slow reader: the server kept reading (%d bytes taken)" % sent)

    # Meanwhile another client is served at once.
    started = time.monotonic()
    other = Client(port, timeout=5)
    check(other.handshake(), "slow reader: second client's handshake")
    other.send(0x1, b"still there?")
    check(other.read_frame() == (0x1, True, b"still there?"), "slow reader: second client's echo")
    check(other.close_cleanly(), "slow reader: second client's close")
    check(time.monotonic() - started < 5, "slow reader: the second client waited")

    # Now read everything back, sending the rest as room appears.
    slow.sock.setblocking(True)
    slow.sock.settimeout(30)
    rest = wire[sent:]
    sender = threading.Thread(target=slow.sock.sendall, args=(rest,))
    sender.start()
    for k, m in enumerate(messages):
        got = slow.read_frame()
        if got != (0x2, True, m):
            check(False, "slow reader: echo %d differs" % k)
            break
    sender.join()
    check(slow.close_cleanly(), "slow reader: close")


def abrupt_peers(port):
    # Vanishes in the middle of a frame.
    c = Client(port)
    check(c.handshake(), "abrupt: handshake")
    c.sock.sendall(masked_frame(0x2, b"x" * 1000)[:500])
    c.sock.close()
    # Resets the connection mid-message.
    c = Client(port)
    check(c.handshake(), "reset: handshake")
    c.sock.sendall(masked_frame(0x1, b"y" * 100000)[:50000])
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.sock.close()
    # Garbage instead of an upgrade request: 400, then the server closes.
    c = Client(port)
    c.sock.sendall(b"\x16\x03\x01\x02\x00 this is not HTTP\r\n\r\n")
    head = c.read_until(b"\r\n")
    check(head.startswith(b"HTTP/1.1 400"), "garbage: answered %r" % head[:40])
    c.sock.close()
    # A protocol violation (an unmasked frame): Close 1002, then EOF.
    c = Client(port)
    check(c.handshake(), "violation: handshake")
    c.sock.sendall(b"\x81\x02hi")
    opcode, _, payload = c.read_frame()
    check(opcode == 0x8 and payload[:2] == (1002).to_bytes(2, "big"), "violation: close 1002")
    check(c.read_eof(), "violation: EOF after the close")
    c.sock.close()
    # Closes first, reads the answer, and never closes its socket (the
    # server gives up after its close timeout; the socket is kept open
    # until the end of the run).
    c = Client(port)
    check(c.handshake(), "silent: handshake")
    c.send(0x8, (1000).to_bytes(2, "big"))
    opcode, _, _ = c.read_frame()
    check(opcode == 0x8, "silent: close echoed")
    return c.sock


def still_serving(port):
    c = Client(port, timeout=5)
    ok = c.handshake()
    c.send(0x1, b"ok")
    ok = ok and c.read_frame() == (0x1, True, b"ok") and c.close_cleanly()
    check(ok, "the server still serves")


def shutdown(server, port):
    c = Client(port)
    check(c.handshake(), "shutdown: handshake")
    server.send_signal(signal.SIGTERM)
    opcode, _, payload = c.read_frame()
    check(opcode == 0x8 and payload[:2] == (1001).to_bytes(2, "big"), "shutdown: close 1001")
    c.send(0x8, payload[:2])
    check(c.read_eof(), "shutdown: EOF")
    c.sock.close()
    check(server.wait(timeout=60) == 0, "shutdown: exit status %s" % server.returncode)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    command = [argv[1], "0"]
    if "--valgrind" in argv:
        command = ["valgrind", "-q", "--error-exitcode=1", "--leak-check=full"] + command
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = server.stdout.readline().decode()
    port = int(line.rsplit(":", 1)[1])
    print("echo server on port %d" % port, flush=True)
    try:
        started = time.monotonic()
        many_connections(port)
        print("many connections: %.1f s" % (time.monotonic() - started), flush=True)
        slow_reader(port)
        print("slow reader: done", flush=True)
        silent = abrupt_peers(port)
        still_serving(port)
        print("abrupt peers: done", flush=True)
        shutdown(server, port)
        silent.close()
    finally:
        if server.poll() is None:
            server.kill()
    print("echo_peers: %s" % ("%d failures" % len(failures) if failures else "all passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
