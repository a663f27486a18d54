"""A line-oriented asyncio WebSocket client on wsmachine.

    python echo_client.py ws://127.0.0.1:9001/ < lines.txt

Each line of stdin is sent as a text message; each message received is
printed on its own line. At the end of stdin it waits for replies (until as
many came back as were sent, or one second passes without one), closes
cleanly and exits 0; it says why when the end was not that clean close.
Only ws:// and wss:// (TLS from the ssl module) URIs.
"""

import asyncio
import ssl
import sys

import wsmachine as ws

REPLY_GRACE = 1.0


class ClientProtocol(asyncio.Protocol):
    def __init__(self, conn, out=sys.stdout):
        self.conn, self.out = conn, out
        loop = asyncio.get_running_loop()
        self.loop, self.opened, self.done = loop, loop.create_future(), loop.create_future()
        self.received, self.last_reply = 0, loop.time()
        self.error, self.closed = None, None
        self.timer = None

    def connection_made(self, transport):
        self.transport = transport
        self.pump()

    def data_received(self, data):
        self.conn.receive_data(data)
        self.pump()

    def eof_received(self):
        self.conn.receive_eof()
        self.pump()
        return True

    def connection_lost(self, exc):
        if not self.conn.is_finished:
            self.conn.transport_error()
            self.pump()
        if not self.done.done():
            self.done.set_result(None)

    def pump(self):
        conn = self.conn
        for event in conn.events():
            if isinstance(event, (ws.TextMessage, ws.BinaryMessage)):
                self.received += 1
                self.last_reply = self.loop.time()
                data = event.data if isinstance(event, ws.TextMessage) else repr(event.data)
                print(data, file=self.out, flush=True)
            elif isinstance(event, ws.Open) and not self.opened.done():
                self.opened.set_result(True)
            elif isinstance(event, ws.Error):
                self.error = event
            elif isinstance(event, ws.Closed):
                self.closed = event
                if not self.opened.done():
                    self.opened.set_result(False)
        if self.transport.is_closing():
            return
        data = conn.data_to_send()
        if data:
            self.transport.write(data)
        if conn.wants_shutdown and self.transport.can_write_eof():
            self.transport.write_eof()
        if conn.is_finished:
            self.transport.close()
            return
        if self.timer is not None:
            self.timer.cancel()
        deadline = conn.next_timeout()
        self.timer = None if deadline is None else self.loop.call_at(deadline, self.on_timer)

    def on_timer(self):
        self.conn.handle_timeout(self.loop.time())
        self.pump()


async def run(uri, lines, out=sys.stdout):
    """Sends `lines` (an async iterator of str); returns the exit status."""
    conn = ws.ClientConnection(uri)
    loop = asyncio.get_running_loop()
    tls = ssl.create_default_context() if conn.is_tls else None
    _, proto = await loop.create_connection(
        lambda: ClientProtocol(conn, out), conn.host, conn.port, ssl=tls
    )
    sent = 0
    if await proto.opened:
        async for line in lines:
            if conn.state is not ws.State.OPEN:
                break
            conn.send_text(line.rstrip("\n"))
            sent += 1
            proto.pump()
        while conn.state is ws.State.OPEN and proto.received < sent:
            if loop.time() - proto.last_reply >= REPLY_GRACE:
                break
            await asyncio.sleep(0.01)
        if conn.state is ws.State.OPEN:
            conn.close()
            proto.pump()
    await proto.done
    closed, error = proto.closed, proto.error
    if error is not None:
        print(f"client: {error.message} (error {error.code})", file=sys.stderr)
    if closed is None or not closed.clean or not closed.initiated_locally:
        who = "we" if closed is not None and closed.initiated_locally else "the server"
        code = closed.code if closed is not None else 1006
        print(f"client: {who} ended the connection: {code} {closed.reason if closed else ''}", file=sys.stderr)
        return 1
    return 0


async def stdin_lines():
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_client.py ws://HOST:PORT/PATH")
    sys.exit(asyncio.run(run(sys.argv[1], stdin_lines())))
