//! The exception hierarchy and conversions from the core's errors.
//!
//! ```text
//! WebSocketError            every error of this module; `.code` is the stable code
//! ├── UsageError            100–199: the application asked for something impossible
//! │   ├── InvalidStateError 100–102, 110: not open yet, closing, closed, no request
//! │   └── OutputFullError   103: write out `data_to_send()` and try again
//! └── ProtocolError         200–299: the peer, a timer or the transport failed it
//!     └── HandshakeError    300–399: the opening handshake failed
//! ```
//!
//! Usage errors are raised by the method that caused them and change
//! nothing. Protocol errors are never raised by a method: they arrive in an
//! `Error` event (its `exception`), after the connection has answered as
//! RFC 6455 requires.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    wsmachine,
    WebSocketError,
    PyException,
    "Base class of every error of this module. `code` is the error's stable \
     numeric code: 100-199 usage errors, 200-299 protocol errors, 300-399 \
     handshake errors."
);
create_exception!(
    wsmachine,
    UsageError,
    WebSocketError,
    "The application asked for something the connection cannot do (codes \
     100-199). Raised by the method that was called; the connection is \
     unchanged."
);
create_exception!(
    wsmachine,
    InvalidStateError,
    UsageError,
    "The connection is not in a state that allows this: the handshake has \
     not finished (100), the closing handshake has started (101), the \
     connection is closed (102), or no request awaits accept/reject (110)."
);
create_exception!(
    wsmachine,
    OutputFullError,
    UsageError,
    "The output buffer is full (103): write out data_to_send() and try \
     again. Nothing was queued."
);
create_exception!(
    wsmachine,
    ProtocolError,
    WebSocketError,
    "The peer broke the protocol or a limit, a timer ran out, or the \
     transport failed (codes 200-299). Never raised by a method: found in \
     the `exception` of an `Error` event. `close_code` is the close code \
     sent to the peer (None if none was sent)."
);
create_exception!(
    wsmachine,
    HandshakeError,
    ProtocolError,
    "The opening handshake failed (codes 300-399). `http_status` is the \
     status a server answered with; `response` is a client's rejection \
     (status, headers, body) when the server answered other than 101."
);

/// The Python exception for a usage error, with its `code`.
pub(crate) fn usage_error(py: Python<'_>, error: &wsmachine::UsageError) -> PyErr {
    use wsmachine::UsageError as U;
    let message = error.to_string();
    let err = match error {
        U::NotOpen | U::Closing | U::Closed | U::NoPendingRequest => {
            InvalidStateError::new_err(message)
        }
        U::OutputFull { .. } => OutputFullError::new_err(message),
        _ => UsageError::new_err(message),
    };
    set_attr(py, &err, "code", error.code());
    err
}

/// Builds the exception object for a core error (never raised by us).
pub(crate) fn protocol_error(
    py: Python<'_>,
    error: &wsmachine::Error,
    response: Option<&Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let message = error.to_string();
    let err = match error {
        wsmachine::Error::Handshake(_) => HandshakeError::new_err(message),
        _ => ProtocolError::new_err(message),
    };
    let value = err.value(py);
    value.setattr("code", error.code())?;
    value.setattr("close_code", error.close_code().map(|c| c.as_u16()))?;
    let status = match error {
        wsmachine::Error::Handshake(h) => Some(h.http_status()),
        _ => None,
    };
    value.setattr("http_status", status)?;
    value.setattr("response", response)?;
    Ok(value.clone().unbind().into_any())
}

fn set_attr(py: Python<'_>, err: &PyErr, name: &str, value: u16) {
    // Setting an attribute on a fresh exception instance cannot fail short
    // of memory exhaustion; the exception is still raised without it then.
    let _ = err.value(py).setattr(name, value);
}

/// Registers the exception classes in the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("WebSocketError", py.get_type::<WebSocketError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("InvalidStateError", py.get_type::<InvalidStateError>())?;
    m.add("OutputFullError", py.get_type::<OutputFullError>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    m.add("HandshakeError", py.get_type::<HandshakeError>())?;
    Ok(())
}
