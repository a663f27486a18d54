"""The opening handshake, both roles."""

import pytest

import wsmachine as ws
from conftest import REQUEST, events, open_pair, pump


def test_request_attributes_and_accept_with_subprotocol_and_headers():
    client = ws.ClientConnection(
        "ws://example.com:8080/chat?room=7",
        subprotocols=["v2", "v1"],
        headers={"Origin": "http://example.com", "Authorization": "Bearer x"},
    )
    assert (client.host, client.port, client.is_tls, client.target) == ("example.com", 8080, False, "/chat?room=7")
    assert client.state is ws.State.CONNECTING
    server = ws.ServerConnection()
    pump(client, server)
    (req,) = events(server)
    assert isinstance(req, ws.Request)
    assert (req.path, req.query, req.resource, req.host) == ("/chat", "room=7", "/chat?room=7", "example.com:8080")
    assert req.origin == "http://example.com"
    assert req.subprotocols == ["v2", "v1"]
    assert req.header("authorization") == b"Bearer x"
    assert ("Authorization", b"Bearer x") in req.headers
    assert req.extensions == ["permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"]
    assert not server.wants_read  # it waits for the decision
    server.accept("v1", [("Set-Cookie", "id=1")])
    (opened,) = events(server)
    assert isinstance(opened, ws.Open) and opened.subprotocol == "v1" and opened.response is None
    pump(server, client)
    (opened,) = events(client)
    assert opened.subprotocol == "v1"
    assert opened.extensions == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
    assert opened.response.status == 101
    assert opened.response.header("set-cookie") == b"id=1"
    assert client.subprotocol == server.subprotocol == "v1"
    assert client.state is server.state is ws.State.OPEN


def test_accept_without_compression():
    client = ws.ClientConnection("ws://h/")
    server = ws.ServerConnection()
    pump(client, server)
    events(server)
    server.accept(compression=False)
    events(server)
    pump(server, client)
    (opened,) = events(client)
    assert opened.extensions is None


def test_reject_reaches_the_client_with_the_whole_response():
    client = ws.ClientConnection("ws://h/")
    server = ws.ServerConnection()
    pump(client, server)
    events(server)
    server.reject(401, {"WWW-Authenticate": "Bearer"}, "log in first")
    (closed,) = events(server)
    assert isinstance(closed, ws.Closed) and closed.code == 1006
    pump(server, client)
    client.receive_eof()
    error, closed = events(client)
    assert isinstance(error, ws.Error) and error.code == 310
    assert error.response.status == 401
    assert error.response.header("www-authenticate") == b"Bearer"
    assert error.response.body == b"log in first"
    exc = error.exception
    assert isinstance(exc, ws.HandshakeError) and isinstance(exc, ws.ProtocolError)
    assert exc.code == 310 and exc.response.status == 401
    assert isinstance(closed, ws.Closed)
    assert client.is_finished


def test_usage_errors_in_the_handshake():
    with pytest.raises(ws.UsageError) as e:
        ws.ClientConnection("http://example.com/")
    assert e.value.code == 115
    with pytest.raises(ws.UsageError) as e:
        ws.ClientConnection("ws://h/", headers=[("Sec-WebSocket-Key", "x")])
    assert e.value.code == 113
    with pytest.raises(ws.UsageError) as e:
        ws.ClientConnection("ws://h/", headers=[("X-Bad", "a\r\nb")])
    assert e.value.code == 112
    server = ws.ServerConnection()
    with pytest.raises(ws.InvalidStateError) as e:
        server.accept()
    assert e.value.code == 110
    with pytest.raises(ws.InvalidStateError) as e:
        server.send_text("too early")
    assert e.value.code == 100
    server.receive_data(REQUEST)
    events(server)
    with pytest.raises(ws.UsageError) as e:
        server.accept("not-offered")
    assert e.value.code == 111
    with pytest.raises(ws.UsageError) as e:
        server.reject(101)
    assert e.value.code == 114
    server.accept()  # the refused calls changed nothing
    assert isinstance(events(server)[0], ws.Open)


@pytest.mark.parametrize(
    "request_bytes, status, code",
    [
        (b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", 400, 301),
        (REQUEST.replace(b"Version: 13", b"Version: 8"), 426, 305),
        (b"GET / HTTP/1.1\nHost: h\n\n", 400, 300),
        (b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 40000 + b"\r\n\r\n", 431, 308),
    ],
)
def test_bad_requests_are_answered_with_an_http_error(request_bytes, status, code):
    server = ws.ServerConnection()
    server.receive_data(request_bytes)
    error, closed = events(server)
    assert isinstance(error, ws.Error) and error.code == code and error.http_status == status
    assert isinstance(error.exception, ws.HandshakeError) and error.exception.http_status == status
    assert isinstance(closed, ws.Closed)
    answer = server.data_to_send()
    assert answer.startswith(b"HTTP/1.1 %d " % status)
    assert server.wants_shutdown
    server.receive_eof()
    assert server.is_finished


def origin_request(origin):
    return REQUEST.replace(b"\r\n\r\n", b"\r\nOrigin: " + origin + b"\r\n\r\n")


@pytest.mark.parametrize(
    "origins, origin, allowed",
    [
        ("same-host", b"https://example.com", True),
        ("same-host", b"https://evil.example", False),
        (["https://ok.example"], b"https://OK.example", True),
        (["https://ok.example"], b"https://ok.example.evil", False),
        (lambda o: o is not None and o.endswith(".ok"), b"https://a.ok", True),
        (lambda o: o is not None and o.endswith(".ok"), b"https://a.no", False),
    ],
)
def test_origin_policy(origins, origin, allowed):
    server = ws.ServerConnection(ws.Config(origins=origins))
    server.receive_data(origin_request(origin))
    first = events(server)[0]
    if allowed:
        assert isinstance(first, ws.Request)
    else:
        assert isinstance(first, ws.Error) and first.code == 307 and first.http_status == 403
        assert server.data_to_send().startswith(b"HTTP/1.1 403 ")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_origin_check_that_raises_refuses_the_request():
    def check(origin):
        raise RuntimeError("boom")

    server = ws.ServerConnection(ws.Config(origins=check))
    server.receive_data(origin_request(b"https://a.example"))
    first = events(server)[0]
    assert isinstance(first, ws.Error) and first.code == 307


def test_client_checks_the_answer():
    client = ws.ClientConnection("ws://h/")
    client.data_to_send()
    client.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"
    )
    error, closed = events(client)
    assert error.code == 311 and isinstance(error.exception, ws.HandshakeError)
    assert client.is_finished


def test_handshake_timeout():
    server = ws.ServerConnection(ws.Config(handshake_timeout=2.0), time_origin=100.0)
    assert server.next_timeout() == 100.0  # a pending timer: call handle_timeout now
    server.handle_timeout(100.0)
    assert server.next_timeout() == pytest.approx(102.0)
    server.receive_data(REQUEST[:20])
    server.handle_timeout(101.0)
    assert events(server) == []
    server.handle_timeout(102.5)
    error, closed = events(server)
    assert error.code == 250 and closed.code == 1006
    assert server.is_finished


def test_bytes_after_the_request_wait_for_accept():
    # The client's first frame arrives together with the request.
    client, _ = open_pair()
    client2 = ws.ClientConnection("ws://example.com/chat")
    request = client2.data_to_send()
    server = ws.ServerConnection()
    server.receive_data(request + b"\x81\x85\x00\x00\x00\x00hello")
    (req,) = events(server)
    assert events(server) == []  # nothing until the decision
    server.accept()
    opened, message = events(server)
    assert isinstance(opened, ws.Open) and message == ws.TextMessage("hello")
