"""A check without dependencies that the wheel works on this interpreter:
the handshake, a message each way and a clean close, in memory.

    python smoke.py
"""

import sys

import wsmachine as ws


def pump(a, b):
    b.receive_data(a.data_to_send())


client = ws.ClientConnection("ws://example.com/")
server = ws.ServerConnection()
pump(client, server)
(request,) = server.events()
server.accept()
pump(server, client)
assert [type(e) for e in server.events()] == [ws.Open]
assert [type(e) for e in client.events()] == [ws.Open]
client.send_text("hé" * 100)
pump(client, server)
(message,) = server.events()
assert message.data == "hé" * 100
server.send_binary(b"\x00" * 70000)
pump(server, client)
(message,) = client.events()
assert message.data == b"\x00" * 70000
client.close()
pump(client, server)
(closed,) = server.events()
assert closed.clean
pump(server, client)
(closed,) = client.events()
assert closed.clean and closed.initiated_locally
client.receive_eof()
server.receive_eof()
assert client.is_finished and server.is_finished
print(f"wsmachine {ws.__version__} works on Python {sys.version.split()[0]}")
