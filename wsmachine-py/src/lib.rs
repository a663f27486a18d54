//! Python bindings for wsmachine: a sans-I/O WebSocket connection in the
//! style of `wsproto` and `websockets`' protocol objects.
//!
//! Built with maturin into an abi3 wheel (one wheel for every CPython from
//! 3.9 on) and imported as `wsmachine`. `docs/python.md` describes the
//! Python API; the type stubs are `wsmachine.pyi`.

mod config;
mod connection;
mod errors;
mod events;

use pyo3::prelude::*;

/// A sans-I/O WebSocket (RFC 6455, RFC 7692) connection: bytes in, events
/// and bytes out. See ServerConnection and ClientConnection.
#[pymodule]
#[pyo3(name = "wsmachine")]
fn wsmachine_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<config::Config>()?;
    m.add_class::<config::Deflate>()?;
    connection::register(m)?;
    events::register(m)?;
    errors::register(m)?;
    Ok(())
}
