"""The end of a connection: closing handshake, teardown, failures, timers."""

import pytest

import wsmachine as ws
from conftest import close_payload, events, frame, open_pair, open_server, parse_frames, pump


def test_client_closes_and_the_server_half_closes_first(pair):
    client, server = pair
    client.close(1000, "bye")
    assert client.state is ws.State.CLOSING
    with pytest.raises(ws.InvalidStateError) as e:
        client.send_text("late")
    assert e.value.code == 101
    pump(client, server)
    (closed,) = events(server)
    assert (closed.code, closed.reason, closed.clean, closed.initiated_locally) == (1000, "bye", True, False)
    assert closed.sent_code == 1000
    assert server.state is ws.State.CLOSED
    assert not server.wants_shutdown  # the echo is not written yet
    pump(server, client)
    assert server.wants_shutdown and not server.is_finished
    (closed,) = events(client)
    assert closed.clean and closed.initiated_locally and closed.code == 1000
    assert not client.is_finished and not client.wants_shutdown  # waits for the server's EOF
    client.receive_eof()  # the server's half-close
    assert client.is_finished
    server.receive_eof()  # the client closed the transport
    assert server.is_finished
    with pytest.raises(ws.InvalidStateError) as e:
        server.close()
    assert e.value.code == 102


def test_server_closes(pair):
    client, server = pair
    server.close(4000, "custom")
    pump(server, client)
    (closed,) = events(client)
    assert (closed.code, closed.reason, closed.initiated_locally) == (4000, "custom", False)
    pump(client, server)
    (closed,) = events(server)
    assert closed.clean and closed.initiated_locally
    assert server.wants_shutdown


def test_messages_still_arrive_while_closing(pair):
    client, server = pair
    server.send_text("in flight")
    client.close()
    pump(server, client)
    pump(client, server)
    assert [type(e) for e in events(client)] == [ws.TextMessage]
    assert [type(e) for e in events(server)] == [ws.Closed]
    pump(server, client)
    assert [type(e) for e in events(client)] == [ws.Closed]


def test_invalid_close_arguments(pair):
    client, _ = pair
    with pytest.raises(ws.UsageError) as e:
        client.close(1005)
    assert e.value.code == 106
    with pytest.raises(ws.UsageError) as e:
        client.close(1000, "x" * 124)
    assert e.value.code == 105
    assert client.state is ws.State.OPEN


def test_abrupt_eof_mid_frame_is_1006():
    server = open_server()
    server.receive_data(frame(1, b"hello")[:4])
    server.receive_eof()
    (closed,) = events(server)
    assert (closed.code, closed.clean, closed.initiated_locally) == (1006, False, False)
    assert server.is_finished
    assert server.data_to_send() == b""


def test_eof_waits_for_kept_input():
    server = open_server(ws.Config(max_input_buffer=16, deflate=None))
    server.receive_data(frame(2, b"a" * 100) * 3)
    server.receive_eof()
    got = events(server)
    assert [type(e) for e in got] == [ws.BinaryMessage] * 3 + [ws.Closed]
    assert got[-1].code == 1006


def test_fail_sends_the_code_and_does_not_wait(pair):
    client, server = pair
    server.fail(1008, "policy")
    (closed,) = events(server)
    assert closed.sent_code == 1008 and closed.initiated_locally and not closed.clean
    assert parse_frames(server.data_to_send()) == [(True, 8, close_payload(1008, b"policy"))]
    assert server.wants_shutdown
    with pytest.raises(ws.InvalidStateError):
        server.fail(1008)


def test_abort_drops_output_and_finishes(pair):
    client, server = pair
    server.send_text("never sent")
    server.abort()
    (closed,) = events(server)
    assert closed.code == 1006 and closed.initiated_locally
    assert server.data_to_send() == b""
    assert server.is_finished and not server.wants_shutdown


def test_transport_error(pair):
    client, _ = pair
    client.receive_data(b"\x81")  # kept input is dropped too
    client.transport_error()
    error, closed = events(client)
    assert error.code == 260 and isinstance(error.exception, ws.ProtocolError)
    assert error.close_code is None and closed.code == 1006
    assert client.is_finished


def test_peer_that_never_answers_the_close(pair):
    client, server = open_pair(ws.Config(close_timeout=1.0))
    server.handle_timeout(10.0)
    server.close()
    server.handle_timeout(10.0)
    assert server.next_timeout() == pytest.approx(11.0)
    server.data_to_send()
    server.handle_timeout(11.5)
    error, closed = events(server)
    assert error.code == 251 and closed.code == 1006 and closed.initiated_locally
    assert server.is_finished


def test_peer_that_never_closes_the_transport(pair):
    client, server = open_pair(ws.Config(close_timeout=1.0))
    client.close()
    pump(client, server)
    events(server)
    server.handle_timeout(5.0)
    pump(server, client)
    assert server.wants_shutdown and not server.is_finished
    server.receive_data(b"garbage after the close is discarded")
    assert events(server) == []
    server.handle_timeout(6.5)
    assert server.is_finished


def test_peer_that_never_reads_fills_the_output_then_the_close_timer_ends_it():
    client, server = open_pair(ws.Config(max_output_buffer=64 << 10, close_timeout=1.0, deflate=None))
    sent = 0
    with pytest.raises(ws.OutputFullError):
        while True:
            server.send_binary(b"x" * 1000)
            sent += 1
    assert 50 < sent < 70
    server.handle_timeout(0.0)
    server.close()  # the Close frame fits in the control budget
    server.handle_timeout(0.0)
    server.handle_timeout(2.0)
    error, closed = events(server)
    assert error.code == 251
    assert server.is_finished


def test_keepalive_pings_then_fails_with_1011():
    client, server = open_pair(ws.Config(keepalive_interval=1.0, keepalive_timeout=0.5))
    server.handle_timeout(0.0)
    assert server.next_timeout() == pytest.approx(1.0)
    server.handle_timeout(1.0)
    (fin, opcode, _), = parse_frames(server.data_to_send())
    assert opcode == 9  # a keepalive ping
    server.handle_timeout(1.6)
    error, closed = events(server)
    assert error.code == 252 and error.close_code == 1011
    assert parse_frames(server.data_to_send()) == [(True, 8, close_payload(1011))]


def test_keepalive_traffic_keeps_it_alive():
    client, server = open_pair(ws.Config(keepalive_interval=1.0, keepalive_timeout=0.5))
    server.handle_timeout(0.0)
    for t in range(1, 6):
        client.send_text("tick")
        pump(client, server)
        events(server)
        server.handle_timeout(float(t))
    assert server.state is ws.State.OPEN


def test_close_during_the_handshake():
    server = ws.ServerConnection()
    client = ws.ClientConnection("ws://h/")
    pump(client, server)
    events(server)
    server.close()
    (closed,) = events(server)
    assert closed.initiated_locally
    assert server.data_to_send().startswith(b"HTTP/1.1 503 ")
    client.close()
    (closed,) = events(client)
    assert client.is_finished
