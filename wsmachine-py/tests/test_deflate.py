"""permessage-deflate between our own client and server."""

import pytest

import wsmachine as ws
from conftest import events, open_pair, pump


@pytest.mark.parametrize(
    "deflate, expected",
    [
        (ws.Deflate(), "permessage-deflate"),
        (
            ws.Deflate(client_no_context_takeover=True, server_no_context_takeover=True),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        (ws.Deflate(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=10"),
    ],
)
def test_negotiation_and_round_trip(deflate, expected):
    config = ws.Config(deflate=deflate)
    client, server = open_pair(config)
    assert server.extensions == client.extensions
    assert server.extensions.startswith("permessage-deflate")
    for word in expected.split("; ")[1:]:
        assert word in server.extensions
    text = "compress me " * 1000
    for _ in range(3):
        client.send_text(text)
        sent = pump(client, server)
        assert sent < len(text) // 10
        assert events(server) == [ws.TextMessage(text)]
        server.send_binary(text.encode())
        pump(server, client)
        assert events(client) == [ws.BinaryMessage(text.encode())]
    client.send_text(text, compress=False)
    assert pump(client, server) > len(text)
    assert events(server) == [ws.TextMessage(text)]


def test_compression_off_on_either_side():
    client, server = open_pair(client_config=ws.Config(deflate=None), config=ws.Config())
    assert client.extensions is None and server.extensions is None


def test_deflate_settings_are_checked():
    with pytest.raises(ValueError):
        ws.Deflate(server_max_window_bits=7)
    with pytest.raises(ValueError):
        ws.Deflate(level=10)
    d = ws.Deflate(level=1, min_size=0)
    assert (d.level, d.min_size, d.memory, d.server_max_window_bits) == (1, 0, "small", 12)
    assert ws.Config(deflate=d).deflate.level == 1
    assert ws.Config(deflate=None).deflate is None


def test_memory_presets_set_the_windows():
    windows = {"tiny": 10, "small": 12, "medium": 13, "large": 15}
    for memory, bits in windows.items():
        d = ws.Deflate(memory=memory)
        assert (d.server_max_window_bits, d.client_max_window_bits) == (bits, bits)
    d = ws.Deflate(memory="tiny", server_max_window_bits=11)
    assert (d.server_max_window_bits, d.client_max_window_bits) == (11, 10)
    assert "memory='tiny'" in repr(d) or 'memory="tiny"' in repr(d)
    with pytest.raises(ValueError):
        ws.Deflate(memory="huge")


def test_memory_preset_is_negotiated():
    config = ws.Config(deflate=ws.Deflate(memory="tiny"))
    client, server = open_pair(config)
    assert "server_max_window_bits=10" in server.extensions
    assert "client_max_window_bits=10" in server.extensions
    text = "compress me " * 1000
    client.send_text(text)
    assert pump(client, server) < len(text) // 10
    assert events(server) == [ws.TextMessage(text)]
