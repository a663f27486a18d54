"""A sans-I/O WebSocket (RFC 6455, RFC 7692) connection: bytes in, events and
bytes out. See ServerConnection and ClientConnection."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import ClassVar, Literal, Optional, Union, final

__version__: str

_Bytes = Union[bytes, bytearray, memoryview]
_Headers = Union[Iterable[tuple[str, str]], Mapping[str, str]]

# ---------------------------------------------------------------- exceptions

class WebSocketError(Exception):
    """Base class of every error of this module."""

    code: int
    """The stable numeric code: 100-199 usage, 200-299 protocol, 300-399 handshake."""

class UsageError(WebSocketError):
    """The application asked for something the connection cannot do (100-199).
    Raised by the method that was called; the connection is unchanged."""

class InvalidStateError(UsageError):
    """Not open yet (100), closing (101), closed (102), no request to
    accept or reject (110)."""

class OutputFullError(UsageError):
    """The output buffer is full (103): write out data_to_send(), try again."""

class ProtocolError(WebSocketError):
    """The peer broke the protocol or a limit, a timer ran out, or the
    transport failed (200-299). Found in Error.exception, never raised by a
    method."""

    close_code: Optional[int]
    """The close code sent to the peer because of it, or None."""
    http_status: Optional[int]
    """A server's HTTP answer to a failed handshake, or None."""
    response: Optional[Response]
    """A client's rejection by the server, or None."""

class HandshakeError(ProtocolError):
    """The opening handshake failed (300-399)."""

# -------------------------------------------------------------------- config

@final
class Deflate:
    """permessage-deflate (RFC 7692) settings: what a client offers and a
    server accepts."""

    level: int
    memory: Literal["tiny", "small", "medium", "large"]
    server_max_window_bits: int
    client_max_window_bits: int
    server_no_context_takeover: bool
    client_no_context_takeover: bool
    min_size: int
    def __init__(
        self,
        *,
        level: int = 6,
        memory: Literal["tiny", "small", "medium", "large"] = "small",
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Optional[int] = None,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        min_size: int = 32,
    ) -> None: ...

@final
class Config:
    """The settings of a connection. Immutable; share one between
    connections. Sizes in bytes, times in seconds; None turns a timer or
    compression off."""

    def __init__(
        self,
        *,
        max_frame_size: int = 16 << 20,
        max_message_size: int = 16 << 20,
        max_handshake_size: int = 32 << 10,
        max_headers: int = 64,
        max_output_buffer: int = (16 << 20) + (4 << 10),
        max_input_buffer: int = 64 << 10,
        delivery: Literal["messages", "chunks"] = "messages",
        auto_pong: bool = True,
        handshake_timeout: Optional[float] = 10.0,
        close_timeout: Optional[float] = 5.0,
        keepalive_interval: Optional[float] = None,
        keepalive_timeout: float = 10.0,
        deflate: Optional[Deflate] = ...,
        origins: Union[
            None, Literal["any", "same-host"], Iterable[str], Callable[[Optional[str]], bool]
        ] = None,
    ) -> None: ...
    @property
    def max_frame_size(self) -> int: ...
    @property
    def max_message_size(self) -> int: ...
    @property
    def max_handshake_size(self) -> int: ...
    @property
    def max_headers(self) -> int: ...
    @property
    def max_output_buffer(self) -> int: ...
    @property
    def max_input_buffer(self) -> int: ...
    @property
    def delivery(self) -> Literal["messages", "chunks"]: ...
    @property
    def auto_pong(self) -> bool: ...
    @property
    def handshake_timeout(self) -> Optional[float]: ...
    @property
    def close_timeout(self) -> Optional[float]: ...
    @property
    def keepalive_interval(self) -> Optional[float]: ...
    @property
    def keepalive_timeout(self) -> Optional[float]: ...
    @property
    def deflate(self) -> Optional[Deflate]: ...
    @property
    def origins(self) -> object: ...

# -------------------------------------------------------------------- events

@final
class Request:
    """Server: a valid upgrade request. Answer with ServerConnection.accept()
    or .reject(); no further event comes until then."""

    @property
    def target(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> Optional[str]: ...
    @property
    def host(self) -> str: ...
    @property
    def origin(self) -> Optional[str]: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...
    @property
    def subprotocols(self) -> list[str]: ...
    @property
    def extensions(self) -> list[str]: ...
    def header(self, name: str) -> Optional[bytes]: ...

@final
class Response:
    """A server's HTTP answer: the 101 (Open.response) or a rejection
    (Error.response)."""

    @property
    def status(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...
    @property
    def body(self) -> bytes: ...
    def header(self, name: str) -> Optional[bytes]: ...

@final
class Open:
    """The opening handshake finished."""

    @property
    def subprotocol(self) -> Optional[str]: ...
    @property
    def extensions(self) -> Optional[str]: ...
    @property
    def response(self) -> Optional[Response]: ...

@final
class TextMessage:
    """A complete text message (delivery 'messages')."""

    __match_args__ = ("data",)
    def __init__(self, data: str) -> None: ...
    @property
    def data(self) -> str: ...

@final
class BinaryMessage:
    """A complete binary message (delivery 'messages')."""

    __match_args__ = ("data",)
    def __init__(self, data: bytes) -> None: ...
    @property
    def data(self) -> bytes: ...

@final
class TextChunk:
    """A piece of a text message (delivery 'chunks'), valid UTF-8 on its own."""

    __match_args__ = ("data", "first", "last")
    @property
    def data(self) -> str: ...
    @property
    def first(self) -> bool: ...
    @property
    def last(self) -> bool: ...

@final
class BinaryChunk:
    """A piece of a binary message (delivery 'chunks')."""

    __match_args__ = ("data", "first", "last")
    @property
    def data(self) -> bytes: ...
    @property
    def first(self) -> bool: ...
    @property
    def last(self) -> bool: ...

@final
class Ping:
    """A ping arrived (already answered unless auto_pong is off)."""

    __match_args__ = ("data",)
    def __init__(self, data: bytes) -> None: ...
    @property
    def data(self) -> bytes: ...

@final
class Pong:
    """A pong arrived."""

    __match_args__ = ("data",)
    def __init__(self, data: bytes) -> None: ...
    @property
    def data(self) -> bytes: ...

@final
class Error:
    """The peer, a timer or the transport failed the connection; it has
    answered as RFC 6455 requires. Closed follows."""

    @property
    def code(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def close_code(self) -> Optional[int]: ...
    @property
    def http_status(self) -> Optional[int]: ...
    @property
    def response(self) -> Optional[Response]: ...
    @property
    def exception(self) -> ProtocolError: ...

@final
class Closed:
    """The WebSocket connection is closed; always the last event. Drive on
    until is_finished."""

    __match_args__ = ("code", "reason")
    @property
    def code(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def clean(self) -> bool: ...
    @property
    def initiated_locally(self) -> bool: ...
    @property
    def sent_code(self) -> Optional[int]: ...
    @property
    def sent_reason(self) -> Optional[str]: ...

Event = Union[
    Request,
    Open,
    TextMessage,
    BinaryMessage,
    TextChunk,
    BinaryChunk,
    Ping,
    Pong,
    Error,
    Closed,
]

# ---------------------------------------------------------------- connection

@final
class State:
    """The state of a connection, as RFC 6455 names it."""

    CONNECTING: ClassVar[State]
    OPEN: ClassVar[State]
    CLOSING: ClassVar[State]
    CLOSED: ClassVar[State]
    def __int__(self) -> int: ...

@final
class EventIterator(Iterator[Event]):
    def __iter__(self) -> EventIterator: ...
    def __next__(self) -> Event: ...

class Connection:
    """What ServerConnection and ClientConnection share."""

    def receive_data(self, data: _Bytes) -> None: ...
    def receive_eof(self) -> None: ...
    def transport_error(self) -> None: ...
    def events(self) -> EventIterator: ...
    def data_to_send(self) -> bytes: ...
    def next_timeout(self) -> Optional[float]: ...
    def handle_timeout(self, now: float) -> None: ...
    def send_text(self, data: Union[str, _Bytes], *, compress: bool = True) -> None: ...
    def send_binary(self, data: _Bytes, *, compress: bool = True) -> None: ...
    def send_text_fragment(self, data: Union[str, _Bytes], last: bool = False) -> None: ...
    def send_binary_fragment(self, data: _Bytes, last: bool = False) -> None: ...
    def ping(self, payload: Optional[_Bytes] = None) -> None: ...
    def pong(self, payload: Optional[_Bytes] = None) -> None: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...
    def fail(self, code: int, reason: str = "") -> None: ...
    def abort(self) -> None: ...
    @property
    def state(self) -> State: ...
    @property
    def is_client(self) -> bool: ...
    @property
    def subprotocol(self) -> Optional[str]: ...
    @property
    def extensions(self) -> Optional[str]: ...
    @property
    def is_finished(self) -> bool: ...
    @property
    def wants_shutdown(self) -> bool: ...
    @property
    def wants_read(self) -> bool: ...
    @property
    def wants_write(self) -> bool: ...
    @property
    def buffered_input(self) -> int: ...
    @property
    def buffered_output(self) -> int: ...
    @property
    def buffer_capacity(self) -> int: ...
    @property
    def time_origin(self) -> float: ...

@final
class ServerConnection(Connection):
    """A server connection: the upgrade request arrives as a Request event."""

    def __init__(self, config: Optional[Config] = None, *, time_origin: float = 0.0) -> None: ...
    def accept(
        self,
        subprotocol: Optional[str] = None,
        headers: Optional[_Headers] = None,
        *,
        compression: bool = True,
    ) -> None: ...
    def reject(
        self,
        status: int = 400,
        headers: Optional[_Headers] = None,
        body: Union[None, str, _Bytes] = None,
    ) -> None: ...

@final
class ClientConnection(Connection):
    """A client connection: the upgrade request is in data_to_send() at once."""

    def __init__(
        self,
        uri: str,
        *,
        subprotocols: Optional[Sequence[str]] = None,
        headers: Optional[_Headers] = None,
        config: Optional[Config] = None,
        time_origin: float = 0.0,
    ) -> None: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def is_tls(self) -> bool: ...
    @property
    def target(self) -> str: ...
