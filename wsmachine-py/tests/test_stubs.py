"""The type stubs in the wheel describe the module as it is."""

import ast
import os

import wsmachine as ws

PACKAGE = os.path.dirname(ws.__file__)


def stub_tree():
    with open(os.path.join(PACKAGE, "__init__.pyi")) as f:
        return ast.parse(f.read())


def test_the_wheel_ships_stubs_and_py_typed():
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))
    assert os.path.exists(os.path.join(PACKAGE, "__init__.pyi"))


def test_every_public_name_is_in_the_stubs_and_the_other_way_round():
    tree = stub_tree()
    stubbed = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            stubbed.add(node.target.id)
        elif isinstance(node, ast.Assign):
            stubbed.update(t.id for t in node.targets)
    stubbed = {n for n in stubbed if not n.startswith("_") or n == "__version__"}
    runtime = {n for n in dir(ws) if not n.startswith("_") and n != "wsmachine"} | {"__version__"}
    assert runtime - stubbed - {"Event"} == set()
    assert stubbed - runtime - {"Event"} == set()


def test_every_stubbed_member_exists():
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(ws, node.name)
        for item in node.body:
            name = None
            if isinstance(item, ast.FunctionDef):
                name = item.name
            elif isinstance(item, ast.AnnAssign):
                name = item.target.id
            if name is None or name == "__init__":
                continue
            if issubclass(cls, BaseException) and name in {"code", "close_code", "http_status", "response"}:
                continue  # set on each instance
            assert hasattr(cls, name), f"{node.name}.{name}"


def test_exception_hierarchy():
    assert issubclass(ws.UsageError, ws.WebSocketError)
    assert issubclass(ws.InvalidStateError, ws.UsageError)
    assert issubclass(ws.OutputFullError, ws.UsageError)
    assert issubclass(ws.ProtocolError, ws.WebSocketError)
    assert issubclass(ws.HandshakeError, ws.ProtocolError)
    assert not issubclass(ws.ProtocolError, ws.UsageError)
    assert issubclass(ws.WebSocketError, Exception)


def test_config_reads_back():
    c = ws.Config(
        max_message_size=1000,
        delivery="chunks",
        handshake_timeout=None,
        keepalive_interval=30.0,
        keepalive_timeout=5.0,
        origins="same-host",
    )
    assert (c.max_message_size, c.delivery, c.handshake_timeout) == (1000, "chunks", None)
    assert (c.keepalive_interval, c.keepalive_timeout, c.origins) == (30.0, 5.0, "same-host")
    assert c.close_timeout == 5.0 and c.deflate.level == 6
    for bad in [dict(delivery="x"), dict(close_timeout=-1.0), dict(max_input_buffer=0), dict(origins="x")]:
        try:
            ws.Config(**bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
    assert repr(ws.ServerConnection()) == "<ServerConnection state=CONNECTING>"
