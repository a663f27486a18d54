"""Messages both ways, fragmentation, chunk delivery, control frames."""

import pytest

import wsmachine as ws
from conftest import events, frame, open_pair, open_server, parse_frames, pump


@pytest.mark.parametrize("text", ["", "hello", "héllo wörld ✓ 🚀", "x" * 70000])
def test_text_round_trip(pair, text):
    client, server = pair
    client.send_text(text)
    pump(client, server)
    (msg,) = events(server)
    assert type(msg) is ws.TextMessage and msg.data == text
    server.send_text(msg.data)
    pump(server, client)
    assert events(client) == [ws.TextMessage(text)]


@pytest.mark.parametrize("data", [b"", b"\x00\xff", bytes(range(256)) * 300])
def test_binary_round_trip_from_any_bytes_like(pair, data):
    client, server = pair
    client.send_binary(data)
    client.send_binary(bytearray(data))
    client.send_binary(memoryview(data))
    pump(client, server)
    assert events(server) == [ws.BinaryMessage(data)] * 3
    server.send_binary(data)
    pump(server, client)
    assert events(client) == [ws.BinaryMessage(data)]


def test_input_one_byte_at_a_time_and_as_memoryview(pair):
    client, server = pair
    client.send_text("split")
    client.send_binary(b"\x01" * 300)
    data = client.data_to_send()
    got = []
    for i in range(len(data)):
        server.receive_data(memoryview(data)[i : i + 1])
        got += events(server)
    assert got == [ws.TextMessage("split"), ws.BinaryMessage(b"\x01" * 300)]


def test_events_come_one_at_a_time_and_replies_keep_their_order(pair):
    client, server = pair
    for i in range(5):
        client.send_text(str(i))
        client.ping(b"p%d" % i)
    pump(client, server)
    for event in server.events():
        if isinstance(event, ws.TextMessage):
            server.send_text("echo " + event.data)
    pump(server, client)
    got = [(type(e).__name__, e.data) for e in events(client)]
    expected = []
    for i in range(5):
        expected += [("TextMessage", "echo %d" % i), ("Pong", b"p%d" % i)]
    assert got == expected


def test_invalid_text_from_the_application_is_refused(pair):
    client, _ = pair
    with pytest.raises(ws.UsageError) as e:
        client.send_text(b"\xff")
    assert e.value.code == 109
    with pytest.raises(UnicodeEncodeError):
        client.send_text("\udc80")
    with pytest.raises(TypeError):
        client.send_binary("text is not bytes")
    with pytest.raises(TypeError):
        client.receive_data("text is not bytes")
    with pytest.raises(TypeError):
        client.receive_data(5)


def test_fragments_both_kinds():
    client, server = open_pair(ws.Config(deflate=None))
    client.send_text_fragment("hé"[:1])
    client.send_text_fragment("é".encode()[:1])  # a code point split between fragments
    client.send_text_fragment("é".encode()[1:], last=True)
    client.send_binary_fragment(b"ab")
    client.ping(b"between")
    client.send_binary_fragment(b"cd", last=True)
    pump(client, server)
    assert events(server) == [ws.TextMessage("hé"), ws.Ping(b"between"), ws.BinaryMessage(b"abcd")]
    server.send_binary_fragment(b"x")
    server.send_binary_fragment(b"y", last=True)
    # The automatic pong went out first.
    assert parse_frames(server.data_to_send()) == [(True, 0xA, b"between"), (False, 2, b"x"), (True, 0, b"y")]


def test_fragment_usage_errors(pair):
    client, _ = pair
    client.send_text_fragment("a")
    with pytest.raises(ws.UsageError) as e:
        client.send_binary_fragment(b"b")
    assert e.value.code == 108
    with pytest.raises(ws.UsageError) as e:
        client.send_text("whole message inside a fragmented one")
    assert e.value.code == 107
    with pytest.raises(ws.UsageError) as e:
        client.send_text_fragment(b"\xe2\x82", last=True)  # ends inside a code point
    assert e.value.code == 109
    client.send_text_fragment("b", last=True)


def test_received_fragments_and_chunk_delivery():
    server = open_server(ws.Config(delivery="chunks", deflate=None))
    data = frame(1, "hé".encode()[:2], fin=False) + frame(0, "hé".encode()[2:] + b"!", fin=True)
    data += frame(2, b"\x00" * 10, fin=False) + frame(0, b"\x01", fin=True)
    server.receive_data(data)
    got = events(server)
    assert [type(c) for c in got] == [ws.TextChunk, ws.TextChunk, ws.BinaryChunk, ws.BinaryChunk]
    assert "".join(c.data for c in got[:2]) == "hé!"
    assert got[0].data == "h"  # a split code point waits for its last byte
    assert (got[0].first, got[0].last, got[1].first, got[1].last) == (True, False, False, True)
    assert got[2].data + got[3].data == b"\x00" * 10 + b"\x01"


def test_received_fragmented_message_in_message_mode():
    server = open_server()
    server.receive_data(frame(1, b"ab", fin=False) + frame(9, b"x") + frame(0, b"cd"))
    assert events(server) == [ws.Ping(b"x"), ws.TextMessage("abcd")]


def test_ping_pong_and_manual_pongs():
    client, server = open_pair(ws.Config(auto_pong=False))
    client.ping(b"hi")
    pump(client, server)
    assert events(server) == [ws.Ping(b"hi")]
    assert server.data_to_send() == b""  # no automatic pong
    server.pong(b"hi")
    pump(server, client)
    assert events(client) == [ws.Pong(b"hi")]
    with pytest.raises(ws.UsageError) as e:
        client.ping(b"x" * 126)
    assert e.value.code == 105


def test_output_full_hands_back_control(pair):
    client, server = open_pair(ws.Config(max_output_buffer=10_000, deflate=None))
    server.send_binary(b"a" * 6000)
    with pytest.raises(ws.OutputFullError) as e:
        server.send_binary(b"b" * 6000)
    assert e.value.code == 103 and isinstance(e.value, ws.UsageError)
    with pytest.raises(ws.UsageError) as e:
        server.send_binary(b"c" * 20_000)
    assert e.value.code == 104
    pump(server, client)
    server.send_binary(b"b" * 6000)
    pump(server, client)
    assert [len(m.data) for m in events(client)] == [6000, 6000]
