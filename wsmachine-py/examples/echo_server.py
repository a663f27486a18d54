"""An asyncio WebSocket echo server on wsmachine.

    python echo_server.py [HOST:PORT]      (default 127.0.0.1:9001; port 0 picks one)

Every text and binary message is sent back as it came. The driver follows
the polling order: after every input, iterate events, write what
data_to_send() returns, half-close when wants_shutdown, close the transport
when is_finished, pause reading while the connection cannot take input, and
keep one timer at next_timeout().
"""

import asyncio
import sys

import wsmachine as ws

CONFIG = ws.Config()  # one Config serves every connection
FLUSH_AT = 64 << 10  # write out replies once this much is queued


class EchoProtocol(asyncio.Protocol):
    def __init__(self, config=CONFIG):
        self.conn = ws.ServerConnection(config)
        self.transport = None
        self.timer = None
        self.deadline = None
        self.writing_paused = False
        self.reading_paused = False
        self.shut = False

    # asyncio callbacks ---------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self.pump()

    def data_received(self, data):
        self.conn.receive_data(data)
        self.pump()

    def eof_received(self):
        self.conn.receive_eof()
        self.pump()
        return True  # keep the transport: it is closed once is_finished

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()
        if not self.conn.is_finished:
            self.conn.transport_error()

    def pause_writing(self):
        self.writing_paused = True

    def resume_writing(self):
        self.writing_paused = False
        self.pump()

    # the driver ----------------------------------------------------------
    def on_message(self, event):
        """The application: echo. Replace this to do something else."""
        if isinstance(event, ws.TextMessage):
            self.conn.send_text(event.data)
        else:
            self.conn.send_binary(event.data)

    def pump(self):
        conn, transport = self.conn, self.transport
        if transport.is_closing():
            return
        # 1. events, unless the transport's buffer is full: then the
        #    connection stops taking input and reading pauses below.
        if not self.writing_paused:
            for event in conn.events():
                kind = type(event)
                if kind is ws.TextMessage or kind is ws.BinaryMessage:
                    self.on_message(event)
                    if conn.buffered_output >= FLUSH_AT:
                        transport.write(conn.data_to_send())
                        if self.writing_paused:
                            break
                elif kind is ws.Request:
                    conn.accept()
        # 2. write
        data = conn.data_to_send()
        if data:
            transport.write(data)
        # 3. half-close (the server closes the TCP connection first)
        if conn.wants_shutdown and not self.shut:
            self.shut = True
            if transport.can_write_eof():
                transport.write_eof()
        # 4. stop
        if conn.is_finished:
            transport.close()
            return
        # 5. wait: read only while the connection takes input, and keep
        #    one timer at the next deadline.
        want = conn.wants_read
        if want == self.reading_paused:
            self.reading_paused = not want
            if want:
                transport.resume_reading()
            else:
                transport.pause_reading()
        deadline = conn.next_timeout()
        if deadline != self.deadline:
            if self.timer is not None:
                self.timer.cancel()
            self.deadline = deadline
            self.timer = None
            if deadline is not None:
                self.timer = self.loop.call_at(deadline, self.on_timer)

    def on_timer(self):
        self.timer = self.deadline = None
        self.conn.handle_timeout(self.loop.time())
        self.pump()


async def serve(host="127.0.0.1", port=9001, ready=None):
    """Serves until cancelled; `ready` (a future) gets the bound port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, host, port)
    bound = server.sockets[0].getsockname()[1]
    if ready is not None:
        ready.set_result(bound)
    else:
        print(f"echo server on ws://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv):
    host, _, port = (argv[1] if len(argv) > 1 else "127.0.0.1:9001").rpartition(":")
    try:
        asyncio.run(serve(host or "127.0.0.1", int(port)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv)
