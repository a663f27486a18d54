"""The asyncio examples over real sockets, against implementations we did
not write (websockets, wsproto) and against hostile peers."""

import asyncio
import io
import socket
import threading
import time

import pytest
import websockets.asyncio.client
import websockets.asyncio.server
import wsproto
import wsproto.events as wpe

import echo_client
import echo_server
import wsmachine as ws
from conftest import REQUEST, close_payload, frame


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def start_echo_server():
    ready = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(echo_server.serve("127.0.0.1", 0, ready))
    return task, await ready


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo_server_with_a_websockets_client(compression):
    async def main():
        task, port = await start_echo_server()
        try:
            async with websockets.asyncio.client.connect(
                f"ws://127.0.0.1:{port}/", compression=compression, max_size=None
            ) as client:
                for message in ["hello", "é" * 1000, b"\x00" * 100_000, b"", "x" * (3 << 20)]:
                    await client.send(message)
                    assert await client.recv() == message
                await client.ping(b"alive")
                await client.close(1000, "done")
                assert client.close_code == 1000
        finally:
            task.cancel()

    run(main())


def test_echo_server_with_a_wsproto_client_in_memory():
    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    proto = echo_server.EchoProtocol()
    written = []

    class Transport:
        def write(self, data):
            written.append(data)

        def is_closing(self):
            return False

        def can_write_eof(self):
            return True

        def write_eof(self):
            written.append(None)

        def close(self):
            written.append("closed")

        def pause_reading(self):
            pass

        def resume_reading(self):
            pass

    async def main():
        proto.connection_made(Transport())
        proto.data_received(client.send(wpe.Request(host="example.com", target="/")))
        for chunk in written:
            client.receive_data(chunk)
        written.clear()
        assert isinstance(next(client.events()), wpe.AcceptConnection)
        proto.data_received(client.send(wpe.TextMessage("over wsproto")) + client.send(wpe.BytesMessage(b"\x01" * 70000)))
        for chunk in written:
            client.receive_data(chunk)
        written.clear()
        got = list(client.events())
        assert got[0].data == "over wsproto"
        assert b"".join(e.data for e in got[1:]) == b"\x01" * 70000
        proto.data_received(client.send(wpe.CloseConnection(code=1000, reason="bye")))
        assert written[-1] is None  # the server half-closed after its Close
        proto.eof_received()
        assert written[-1] == "closed"
        proto.connection_lost(None)

    run(main())


def test_echo_client_against_a_websockets_server(capsys):
    async def echo(conn):
        async for message in conn:
            await conn.send(message)

    async def main():
        async with websockets.asyncio.server.serve(echo, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]

            async def lines():
                for line in ["one\n", "two ✓\n", "three\n"]:
                    yield line

            out = io.StringIO()
            status = await echo_client.run(f"ws://127.0.0.1:{port}/", lines(), out)
            assert status == 0
            assert out.getvalue().splitlines() == ["one", "two ✓", "three"]

    run(main())


def test_echo_client_with_our_server():
    async def main():
        task, port = await start_echo_server()
        try:

            async def lines():
                for i in range(50):
                    yield f"line {i}\n"

            out = io.StringIO()
            assert await echo_client.run(f"ws://127.0.0.1:{port}/x", lines(), out) == 0
            assert out.getvalue().splitlines() == [f"line {i}" for i in range(50)]
        finally:
            task.cancel()

    run(main())


def handshake(sock):
    sock.sendall(REQUEST)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101")


def test_server_with_a_peer_that_never_reads_stays_bounded():
    """The peer sends 1 MiB messages and never reads the echoes: the server
    stops reading (pause_writing, then the connection's input cap), so its
    memory stays bounded and TCP flow control stops the peer."""
    protocols = []

    class Tracked(echo_server.EchoProtocol):
        def __init__(self):
            super().__init__()
            protocols.append(self)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Tracked, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        await loop.run_in_executor(None, handshake, sock)
        message = frame(2, b"m" * (1 << 20))
        sent = [0]

        def flood():
            sock.settimeout(1.0)
            try:
                for _ in range(100):
                    sock.sendall(message)
                    sent[0] += 1
            except OSError:
                pass

        writer = threading.Thread(target=flood)
        writer.start()
        peak = 0
        while writer.is_alive():
            await asyncio.sleep(0.05)
            (p,) = protocols
            held = p.transport.get_write_buffer_size() + p.conn.buffered_input + p.conn.buffered_output
            peak = max(peak, held)
        assert sent[0] < 100, "TCP flow control never stopped the peer"
        assert peak < 8 << 20, peak
        sock.close()
        server.close()
        await server.wait_closed()

    run(main(), timeout=60)


def test_server_with_peers_that_vanish_or_misbehave():
    async def main():
        task, port = await start_echo_server()
        loop = asyncio.get_running_loop()
        try:
            # 1. EOF in the middle of the handshake, of a frame.
            for data in [REQUEST[:30], REQUEST + frame(1, b"hello")[:5]]:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(data)
                writer.write_eof()
                await asyncio.wait_for(reader.read(), 5)  # the server closes
                writer.close()
            # 2. A protocol violation: close 1002, then the server half-closes.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(REQUEST + frame(1, b"x", mask=None))
            data = await asyncio.wait_for(reader.read(), 5)
            assert data.endswith(b"\x88\x02" + close_payload(1002))
            writer.close()
            # 3. A peer that resets the connection mid-message.
            sock = socket.create_connection(("127.0.0.1", port))
            await loop.run_in_executor(None, handshake, sock)
            sock.sendall(frame(2, b"a" * 100_000)[:50_000])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
            # 4. The server still serves.
            async with websockets.asyncio.client.connect(f"ws://127.0.0.1:{port}/") as client:
                await client.send("still up")
                assert await client.recv() == "still up"
        finally:
            task.cancel()

    run(main())


def test_server_closes_a_peer_that_never_closes_the_transport():
    """After the closing handshake the server half-closes and waits for the
    peer's EOF at most close_timeout, then closes the socket itself."""
    protocols = []

    def factory():
        protocols.append(echo_server.EchoProtocol(ws.Config(close_timeout=0.3)))
        return protocols[-1]

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST + frame(8, close_payload(1000)))
        data = await asyncio.wait_for(reader.read(), 5)  # up to the half-close
        assert data.endswith(b"\x88\x02" + close_payload(1000))
        (proto,) = protocols
        assert not proto.transport.is_closing()  # it waits for our EOF
        await asyncio.sleep(0.6)  # we never send it
        assert proto.transport.is_closing() and proto.conn.is_finished
        writer.close()
        server.close()

    run(main())
