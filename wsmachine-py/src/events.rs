//! The event classes and the conversion from the core's `Event`.
//!
//! Every event is an immutable object with read-only attributes. Payloads
//! are copied once, from the core's buffer into the `bytes` or `str` the
//! application gets.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use wsmachine::{Event as CoreEvent, Message, MessageKind};

use crate::errors;

fn header_list<'a, 'py>(
    py: Python<'py>,
    headers: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (name, value) in headers {
        list.append((name, PyBytes::new(py, value)))?;
    }
    Ok(list)
}

/// Server: a valid upgrade request arrived. Answer it with
/// `ServerConnection.accept()` or `ServerConnection.reject()`; no further
/// event comes until then.
#[pyclass(frozen, module = "wsmachine")]
pub(crate) struct Request {
    inner: wsmachine::Request,
}

#[pymethods]
impl Request {
    /// The request target as sent: `/chat?room=7`, or an absolute URI.
    #[getter]
    fn target(&self) -> &str {
        self.inner.target()
    }

    /// The path and query, e.g. `/chat?room=7`.
    #[getter]
    fn resource(&self) -> &str {
        self.inner.resource()
    }

    /// The path (before `?`).
    #[getter]
    fn path(&self) -> &str {
        self.inner.path()
    }

    /// The query (after `?`), or None.
    #[getter]
    fn query(&self) -> Option<&str> {
        self.inner.query()
    }

    /// The `Host` header.
    #[getter]
    fn host(&self) -> &str {
        self.inner.host()
    }

    /// The `Origin` header, or None.
    #[getter]
    fn origin(&self) -> Option<&str> {
        self.inner.origin()
    }

    /// Every header field in order: `(name, value)` with names as sent.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        header_list(py, self.inner.headers())
    }

    /// The subprotocols the client offers, most preferred first.
    #[getter]
    fn subprotocols(&self) -> Vec<&str> {
        self.inner.subprotocols().collect()
    }

    /// The extensions the client offers, each as `name; param=value`.
    #[getter]
    fn extensions(&self) -> Vec<String> {
        self.inner
            .extensions()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The first value of a header (name matched case-insensitively).
    fn header<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyBytes>> {
        self.inner.header(name).map(|v| PyBytes::new(py, v))
    }

    fn __repr__(&self) -> String {
        format!("Request(target={:?})", self.inner.target())
    }
}

/// An HTTP answer to a client's upgrade request: the 101 of an accepted
/// connection (`Open.response`) or a rejection (`Error.response`).
#[pyclass(frozen, module = "wsmachine")]
pub(crate) struct Response {
    inner: wsmachine::Response,
}

#[pymethods]
impl Response {
    /// The HTTP status.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status()
    }

    /// The reason phrase.
    #[getter]
    fn reason(&self) -> &str {
        self.inner.reason()
    }

    /// Every header field in order: `(name, value)`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        header_list(py, self.inner.headers())
    }

    /// The body of a rejection (at most `max_handshake_size` bytes).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body())
    }

    /// The first value of a header (name matched case-insensitively).
    fn header<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyBytes>> {
        self.inner.header(name).map(|v| PyBytes::new(py, v))
    }

    fn __repr__(&self) -> String {
        format!(
            "Response(status={}, reason={:?})",
            self.inner.status(),
            self.inner.reason()
        )
    }
}

/// The opening handshake finished; the connection is open.
#[pyclass(frozen, get_all, module = "wsmachine")]
pub(crate) struct Open {
    /// The agreed subprotocol, or None.
    subprotocol: Option<String>,
    /// The agreed `Sec-WebSocket-Extensions` value, or None.
    extensions: Option<String>,
    /// Client: the server's 101 answer. Server: None.
    response: Option<Py<Response>>,
}

#[pymethods]
impl Open {
    fn __repr__(&self) -> String {
        format!(
            "Open(subprotocol={}, extensions={})",
            opt_repr(self.subprotocol.as_deref()),
            opt_repr(self.extensions.as_deref())
        )
    }
}

/// The repr of a payload, or its length when it is long.
fn short_repr(data: &Bound<'_, PyAny>) -> PyResult<String> {
    let len = data.len()?;
    if len > 64 {
        let what = if data.is_instance_of::<PyString>() {
            "characters"
        } else {
            "bytes"
        };
        return Ok(format!("<{len} {what}>"));
    }
    Ok(data.repr()?.to_string())
}

fn opt_repr(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "None".into(),
    }
}

macro_rules! payload_event {
    ($name:ident, $ty:ty, $doc:literal, $field_doc:literal) => {
        #[doc = $doc]
        #[pyclass(frozen, get_all, freelist = 64, module = "wsmachine")]
        pub(crate) struct $name {
            #[doc = $field_doc]
            data: Py<$ty>,
        }

        #[pymethods]
        impl $name {
            #[new]
            fn new(data: Py<$ty>) -> Self {
                $name { data }
            }

            #[classattr]
            fn __match_args__() -> (&'static str,) {
                ("data",)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                Ok(format!(
                    concat!(stringify!($name), "({})"),
                    short_repr(self.data.bind(py))?
                ))
            }

            fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
                match other.cast::<$name>() {
                    Ok(o) => self.data.bind(py).as_any().eq(o.get().data.bind(py)),
                    Err(_) => Ok(false),
                }
            }
        }
    };
}

payload_event!(
    TextMessage,
    PyString,
    "A complete text message (delivery `'messages'`).",
    "The text."
);
payload_event!(
    BinaryMessage,
    PyBytes,
    "A complete binary message (delivery `'messages'`).",
    "The bytes."
);
payload_event!(
    Ping,
    PyBytes,
    "A ping arrived (already answered unless `auto_pong` is off).",
    "The ping's payload."
);
payload_event!(Pong, PyBytes, "A pong arrived.", "The pong's payload.");

macro_rules! chunk_event {
    ($name:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(frozen, get_all, freelist = 16, module = "wsmachine")]
        pub(crate) struct $name {
            /// This piece of the message.
            data: Py<$ty>,
            /// Whether this is the message's first piece.
            first: bool,
            /// Whether this is the message's last piece.
            last: bool,
        }

        #[pymethods]
        impl $name {
            #[classattr]
            fn __match_args__() -> (&'static str, &'static str, &'static str) {
                ("data", "first", "last")
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                Ok(format!(
                    concat!(stringify!($name), "({}, first={}, last={})"),
                    short_repr(self.data.bind(py))?,
                    if self.first { "True" } else { "False" },
                    if self.last { "True" } else { "False" },
                ))
            }
        }
    };
}

chunk_event!(
    TextChunk,
    PyString,
    "A piece of a text message (delivery `'chunks'`): valid UTF-8 on its own."
);
chunk_event!(
    BinaryChunk,
    PyBytes,
    "A piece of a binary message (delivery `'chunks'`)."
);

/// The peer (or a timer, or the transport) failed the connection. The
/// connection has already answered as RFC 6455 requires (close code or
/// HTTP status); `Closed` follows.
#[pyclass(frozen, get_all, module = "wsmachine")]
pub(crate) struct Error {
    /// The stable error code (200-299 protocol, 300-399 handshake).
    code: u16,
    /// What went wrong, for people.
    message: String,
    /// The close code sent to the peer because of it, or None.
    close_code: Option<u16>,
    /// Server: the HTTP status the handshake failure was answered with.
    http_status: Option<u16>,
    /// Client: the server's answer when it was not 101, else None.
    response: Option<Py<PyAny>>,
    /// The error as a `ProtocolError` (or `HandshakeError`) to raise.
    exception: Py<PyAny>,
}

#[pymethods]
impl Error {
    fn __repr__(&self) -> String {
        format!("Error(code={}, message={:?})", self.code, self.message)
    }
}

/// The WebSocket connection is closed; always the last event. Keep
/// driving the connection until `is_finished`: its last bytes are still to
/// be written and the transport torn down.
#[pyclass(frozen, get_all, module = "wsmachine")]
pub(crate) struct Closed {
    /// The peer's close code; 1005 if its Close frame had none; 1006 if no
    /// Close frame was received.
    code: u16,
    /// The reason in the peer's Close frame (empty otherwise).
    reason: String,
    /// Whether both Close frames were exchanged.
    clean: bool,
    /// Whether this side ended the connection first.
    initiated_locally: bool,
    /// The code of the Close frame this side sent, or None.
    sent_code: Option<u16>,
    /// The reason of the Close frame this side sent, or None.
    sent_reason: Option<String>,
}

#[pymethods]
impl Closed {
    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("code", "reason")
    }

    fn __repr__(&self) -> String {
        format!(
            "Closed(code={}, reason={:?}, clean={}, initiated_locally={})",
            self.code,
            self.reason,
            if self.clean { "True" } else { "False" },
            if self.initiated_locally {
                "True"
            } else {
                "False"
            },
        )
    }
}

/// The Python object for a core event (None for an event kind this
/// binding does not know).
pub(crate) fn convert(py: Python<'_>, event: CoreEvent) -> PyResult<Option<Py<PyAny>>> {
    Ok(Some(match event {
        CoreEvent::Message(Message::Binary(b)) => Py::new(
            py,
            BinaryMessage {
                data: PyBytes::new(py, &b).unbind(),
            },
        )?
        .into_any(),
        CoreEvent::Message(Message::Text(t)) => Py::new(
            py,
            TextMessage {
                data: PyString::new(py, t.as_str()).unbind(),
            },
        )?
        .into_any(),
        CoreEvent::Chunk(c) => match c.kind {
            MessageKind::Text => Py::new(
                py,
                TextChunk {
                    data: PyString::new(py, c.text().unwrap_or_default()).unbind(),
                    first: c.first,
                    last: c.last,
                },
            )?
            .into_any(),
            MessageKind::Binary => Py::new(
                py,
                BinaryChunk {
                    data: PyBytes::new(py, &c.data).unbind(),
                    first: c.first,
                    last: c.last,
                },
            )?
            .into_any(),
        },
        CoreEvent::Ping(p) => Py::new(
            py,
            Ping {
                data: PyBytes::new(py, &p).unbind(),
            },
        )?
        .into_any(),
        CoreEvent::Pong(p) => Py::new(
            py,
            Pong {
                data: PyBytes::new(py, &p).unbind(),
            },
        )?
        .into_any(),
        CoreEvent::Request(r) => Py::new(py, Request { inner: r })?.into_any(),
        CoreEvent::Open(o) => Py::new(
            py,
            Open {
                subprotocol: o.subprotocol,
                extensions: o.extensions,
                response: o
                    .response
                    .map(|r| Py::new(py, Response { inner: r }))
                    .transpose()?,
            },
        )?
        .into_any(),
        CoreEvent::Error(e) => {
            let response = match &e {
                wsmachine::Error::Handshake(wsmachine::HandshakeError::Rejected(r)) => Some(
                    Py::new(
                        py,
                        Response {
                            inner: (**r).clone(),
                        },
                    )?
                    .into_any(),
                ),
                _ => None,
            };
            let exception = errors::protocol_error(py, &e, response.as_ref())?;
            let http_status = match &e {
                wsmachine::Error::Handshake(h) if response.is_none() => Some(h.http_status()),
                _ => None,
            };
            Py::new(
                py,
                Error {
                    code: e.code(),
                    message: e.to_string(),
                    close_code: e.close_code().map(|c| c.as_u16()),
                    http_status,
                    response,
                    exception,
                },
            )?
            .into_any()
        }
        CoreEvent::Closed(c) => Py::new(
            py,
            Closed {
                code: c.code.as_u16(),
                reason: c.reason,
                clean: c.clean,
                initiated_locally: c.initiated_locally,
                sent_code: c.sent.as_ref().map(|f| f.code.as_u16()),
                sent_reason: c.sent.map(|f| f.reason),
            },
        )?
        .into_any(),
        // The core's Event is non-exhaustive: a newer event this binding
        // does not know yet is skipped rather than crashing.
        _ => return Ok(None),
    }))
}

/// Registers the event classes in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Request>()?;
    m.add_class::<Response>()?;
    m.add_class::<Open>()?;
    m.add_class::<TextMessage>()?;
    m.add_class::<BinaryMessage>()?;
    m.add_class::<TextChunk>()?;
    m.add_class::<BinaryChunk>()?;
    m.add_class::<Ping>()?;
    m.add_class::<Pong>()?;
    m.add_class::<Error>()?;
    m.add_class::<Closed>()?;
    Ok(())
}
