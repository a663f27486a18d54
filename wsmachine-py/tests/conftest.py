"""Shared helpers: connections wired together in memory, raw frames."""

import os
import struct
import sys

import pytest

import wsmachine as ws

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)

REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
DEFLATE_REQUEST = REQUEST.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")


def pump(a, b):
    """Moves every pending byte of `a` into `b`; returns how many."""
    data = a.data_to_send()
    if data:
        b.receive_data(data)
    return len(data)


def events(conn):
    return list(conn.events())


def open_pair(config=None, client_config=None, **client_args):
    """A client and a server, handshake done, Open events taken."""
    client = ws.ClientConnection("ws://example.com/chat", config=client_config or config, **client_args)
    server = ws.ServerConnection(config)
    pump(client, server)
    (request,) = events(server)
    assert isinstance(request, ws.Request)
    server.accept()
    (opened,) = events(server)
    assert isinstance(opened, ws.Open)
    pump(server, client)
    (opened,) = events(client)
    assert isinstance(opened, ws.Open)
    return client, server


def open_server(config=None, request=REQUEST):
    """A server that accepted `request`; its 101 answer was taken."""
    server = ws.ServerConnection(config)
    server.receive_data(request)
    (request,) = events(server)
    server.accept()
    assert isinstance(events(server)[0], ws.Open)
    assert server.data_to_send().startswith(b"HTTP/1.1 101")
    return server


def frame(opcode, payload=b"", fin=True, mask=b"\x37\xfa\x21\x3d", rsv=0, length=None):
    """One frame; masked unless `mask` is None."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def parse_frames(data):
    """Unmasked (server) frames as (fin, opcode, payload) tuples."""
    out = []
    i = 0
    while i < len(data):
        b0, b1 = data[i], data[i + 1]
        n = b1 & 0x7F
        i += 2
        if n == 126:
            (n,) = struct.unpack("!H", data[i : i + 2])
            i += 2
        elif n == 127:
            (n,) = struct.unpack("!Q", data[i : i + 8])
            i += 8
        assert not b1 & 0x80, "server frames are not masked"
        out.append((bool(b0 & 0x80), b0 & 0x0F, data[i : i + n]))
        i += n
    return out


@pytest.fixture
def pair():
    return open_pair()
