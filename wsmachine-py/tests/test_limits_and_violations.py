"""Hostile input: limits, protocol violations, flooding."""

import zlib

import pytest

import wsmachine as ws
from conftest import DEFLATE_REQUEST, close_payload, events, frame, open_server, parse_frames


def failed_with(server, code, close_code):
    got = events(server)
    assert [type(e) for e in got[-2:]] == [ws.Error, ws.Closed], got
    error = got[-2]
    assert error.code == code and error.close_code == close_code
    assert isinstance(error.exception, ws.ProtocolError) and error.exception.code == code
    assert error.exception.close_code == close_code
    assert parse_frames(server.data_to_send())[-1] == (True, 8, close_payload(close_code))
    assert server.wants_shutdown
    return got


@pytest.mark.parametrize(
    "data, code, close_code",
    [
        (frame(1, b"hi", mask=None), 205, 1002),  # unmasked client frame
        (frame(3, b""), 200, 1002),  # reserved opcode
        (frame(9, b"x" * 126), 201, 1002),  # control frame too long
        (frame(9, b"", fin=False), 202, 1002),  # fragmented control frame
        (frame(1, b"x", rsv=2), 204, 1002),  # reserved bit
        (frame(0, b"x"), 207, 1002),  # continuation without a message
        (frame(1, b"a", fin=False) + frame(1, b"b"), 208, 1002),  # new message mid-message
        (frame(8, b"\x03"), 209, 1002),  # one-byte close payload
        (frame(8, close_payload(1005)), 210, 1002),  # close code that may not be sent
        (frame(1, b"ok \xff"), 220, 1007),  # invalid UTF-8 text
        (frame(8, close_payload(1000, b"\xff")), 220, 1007),  # invalid UTF-8 close reason
    ],
)
def test_protocol_violations_get_the_right_close_code(data, code, close_code):
    server = open_server(ws.Config(deflate=None))
    server.receive_data(data)
    failed_with(server, code, close_code)


def test_invalid_utf8_fails_at_the_first_bad_byte_mid_frame():
    server = open_server()
    data = frame(1, b"valid " + b"\xc3\x28" + b"x" * 10000)
    server.receive_data(data[:20])  # the rest never arrives
    failed_with(server, 220, 1007)


def test_message_and_frame_limits_close_with_1009():
    server = open_server(ws.Config(max_message_size=1000, deflate=None))
    server.receive_data(frame(2, b"a" * 600, fin=False) + frame(0, b"b" * 600))
    failed_with(server, 231, 1009)
    server = open_server(ws.Config(max_frame_size=1000))
    # Only the header of a frame declaring 2**62 bytes arrives.
    server.receive_data(frame(2, b"", length=1 << 62)[:14])
    failed_with(server, 230, 1009)


def test_decompression_bomb_is_refused_before_it_is_inflated():
    server = open_server(ws.Config(max_message_size=1 << 20), DEFLATE_REQUEST)
    assert server.extensions == "permessage-deflate; client_no_context_takeover; server_max_window_bits=12"
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\x00" * (64 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]  # RFC 7692 drops the empty block's tail
    server.receive_data(frame(2, payload, rsv=4))  # RSV1: compressed
    failed_with(server, 231, 1009)
    assert server.buffer_capacity < 4 << 20


def test_corrupt_compressed_data_is_1007():
    server = open_server(request=DEFLATE_REQUEST)
    server.receive_data(frame(2, b"\xff\xff\xff\xff", rsv=4))
    failed_with(server, 240, 1007)


def test_input_is_kept_while_the_application_does_not_poll():
    config = ws.Config(max_input_buffer=4096, deflate=None)
    server = open_server(config)
    data = frame(2, b"z" * 1000) * 100  # 100 messages in one read
    server.receive_data(data)
    assert not server.wants_read  # the driver pauses reading here
    assert server.buffered_input > 90_000
    assert server.buffer_capacity < 16 << 10  # kept by reference, not copied
    got = events(server)
    assert len(got) == 100 and all(m.data == b"z" * 1000 for m in got)
    assert server.wants_read and server.buffered_input == 0


def test_ping_flood_is_answered_within_a_bounded_output():
    server = open_server()
    server.receive_data(frame(9, b"p" * 125) * 10_000)
    assert len(events(server)) == 10_000
    # At most 16 pongs wait while the driver does not write.
    assert len(parse_frames(server.data_to_send())) <= 17


def test_handshake_header_count_limit():
    server = ws.ServerConnection(ws.Config(max_headers=8))
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(20)) + b"\r\n"
    server.receive_data(head)
    error, closed = events(server)
    assert error.code == 309 and error.http_status == 431


def test_garbage_instead_of_a_request():
    server = ws.ServerConnection()
    server.receive_data(bytes(range(256)) * 4)
    error, closed = events(server)
    assert error.code == 300 and error.http_status == 400
