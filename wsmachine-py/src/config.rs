//! `Config` and `Deflate`: the settings of a connection.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use wsmachine::deflate::{DeflateConfig, Memory};
use wsmachine::{Delivery, Keepalive, Limits, OriginPolicy};

/// permessage-deflate (RFC 7692) settings: what a client offers and a
/// server accepts.
#[pyclass(frozen, get_all, module = "wsmachine", from_py_object)]
#[derive(Clone, Copy)]
pub(crate) struct Deflate {
    /// Compression level, 0 (none) to 9 (best).
    level: u32,
    /// The memory budget: "tiny", "small" (the default), "medium" or
    /// "large" (the core's `Memory` presets).
    memory: &'static str,
    /// The largest window the server compresses with (8-15).
    server_max_window_bits: u8,
    /// The largest window the client compresses with (8-15).
    client_max_window_bits: u8,
    /// The server resets its compressor after every message.
    server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    client_no_context_takeover: bool,
    /// Messages shorter than this many bytes are sent uncompressed.
    min_size: usize,
}

#[pymethods]
impl Deflate {
    #[new]
    #[pyo3(signature = (
        *,
        level = 6,
        memory = "small",
        server_max_window_bits = None,
        client_max_window_bits = None,
        server_no_context_takeover = false,
        client_no_context_takeover = false,
        min_size = 32,
    ))]
    fn new(
        level: u32,
        memory: &str,
        server_max_window_bits: Option<u8>,
        client_max_window_bits: Option<u8>,
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        min_size: usize,
    ) -> PyResult<Deflate> {
        if level > 9 {
            return Err(PyValueError::new_err("level must be 0-9"));
        }
        let (memory, window) = match memory {
            "tiny" => ("tiny", 10),
            "small" => ("small", 12),
            "medium" => ("medium", 13),
            "large" => ("large", 15),
            _ => {
                return Err(PyValueError::new_err(
                    "memory must be \"tiny\", \"small\", \"medium\" or \"large\"",
                ));
            }
        };
        let server_max_window_bits = server_max_window_bits.unwrap_or(window);
        let client_max_window_bits = client_max_window_bits.unwrap_or(window);
        for bits in [server_max_window_bits, client_max_window_bits] {
            if !(8..=15).contains(&bits) {
                return Err(PyValueError::new_err("window bits must be 8-15"));
            }
        }
        Ok(Deflate {
            level,
            memory,
            server_max_window_bits,
            client_max_window_bits,
            server_no_context_takeover,
            client_no_context_takeover,
            min_size,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Deflate(level={}, memory={:?}, server_max_window_bits={}, client_max_window_bits={}, \
             server_no_context_takeover={}, client_no_context_takeover={}, min_size={})",
            self.level,
            self.memory,
            self.server_max_window_bits,
            self.client_max_window_bits,
            py_bool(self.server_no_context_takeover),
            py_bool(self.client_no_context_takeover),
            self.min_size
        )
    }
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            level: 6,
            memory: "small",
            server_max_window_bits: 12,
            client_max_window_bits: 12,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            min_size: 32,
        }
    }
}

impl Deflate {
    fn core(&self) -> DeflateConfig {
        let memory = match self.memory {
            "tiny" => Memory::Tiny,
            "medium" => Memory::Medium,
            "large" => Memory::Large,
            _ => Memory::Small,
        };
        DeflateConfig::new()
            .memory(memory)
            .level(self.level)
            .server_max_window_bits(self.server_max_window_bits)
            .client_max_window_bits(self.client_max_window_bits)
            .server_no_context_takeover(self.server_no_context_takeover)
            .client_no_context_takeover(self.client_no_context_takeover)
            .min_size(self.min_size)
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The settings of a connection: limits, delivery mode, timers,
/// permessage-deflate and the Origin policy. Immutable; one `Config`
/// serves any number of connections without being copied.
#[pyclass(frozen, module = "wsmachine")]
pub(crate) struct Config {
    pub(crate) inner: Arc<wsmachine::Config>,
    deflate: Option<Py<Deflate>>,
    origins: Option<Py<PyAny>>,
}

fn seconds(name: &str, value: Option<f64>) -> PyResult<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                PyValueError::new_err(format!("{name} must be a number of seconds >= 0"))
            })
        })
        .transpose()
}

fn origin_policy(origins: Option<&Bound<'_, PyAny>>) -> PyResult<OriginPolicy> {
    let Some(origins) = origins else {
        return Ok(OriginPolicy::Any);
    };
    if let Ok(s) = origins.cast::<PyString>() {
        return match s.to_cow()?.as_ref() {
            "same-host" => Ok(OriginPolicy::SameHost),
            "any" => Ok(OriginPolicy::Any),
            _ => Err(PyValueError::new_err(
                "origins must be None, 'any', 'same-host', a list of origins or a callable",
            )),
        };
    }
    if origins.is_callable() {
        let check: Py<PyAny> = origins.clone().unbind();
        return Ok(OriginPolicy::Custom(Arc::new(
            move |origin: Option<&str>| {
                Python::attach(|py| match check.call1(py, (origin,)) {
                    Ok(answer) => answer.is_truthy(py).unwrap_or(false),
                    Err(e) => {
                        // An exception in the check refuses the request (403).
                        e.write_unraisable(py, Some(check.bind(py)));
                        false
                    }
                })
            },
        )));
    }
    let list: Vec<String> = origins.extract().map_err(|_| {
        PyTypeError::new_err("origins must be None, 'same-host', a list of str or a callable")
    })?;
    Ok(OriginPolicy::AllowList(list))
}

#[pymethods]
impl Config {
    /// All arguments are keyword-only; sizes are in bytes, times in
    /// seconds, `None` turns a timer (or compression) off.
    #[new]
    #[pyo3(signature = (
        *,
        max_frame_size = 16 << 20,
        max_message_size = 16 << 20,
        max_handshake_size = 32 << 10,
        max_headers = 64,
        max_output_buffer = (16 << 20) + (4 << 10),
        max_input_buffer = 64 << 10,
        delivery = "messages",
        auto_pong = true,
        handshake_timeout = Some(10.0),
        close_timeout = Some(5.0),
        keepalive_interval = None,
        keepalive_timeout = 10.0,
        deflate = Some(Deflate::default()),
        origins = None,
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "keyword arguments of a Python constructor"
    )]
    fn new(
        py: Python<'_>,
        max_frame_size: u64,
        max_message_size: u64,
        max_handshake_size: usize,
        max_headers: usize,
        max_output_buffer: usize,
        max_input_buffer: usize,
        delivery: &str,
        auto_pong: bool,
        handshake_timeout: Option<f64>,
        close_timeout: Option<f64>,
        keepalive_interval: Option<f64>,
        keepalive_timeout: f64,
        deflate: Option<Deflate>,
        origins: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Config> {
        let delivery = match delivery {
            "messages" => Delivery::Messages,
            "chunks" => Delivery::Chunks,
            _ => {
                return Err(PyValueError::new_err(
                    "delivery must be 'messages' or 'chunks'",
                ));
            }
        };
        if max_input_buffer == 0 {
            return Err(PyValueError::new_err("max_input_buffer must be at least 1"));
        }
        let keepalive = match seconds("keepalive_interval", keepalive_interval)? {
            Some(interval) => {
                let timeout =
                    seconds("keepalive_timeout", Some(keepalive_timeout))?.unwrap_or_default();
                Some(Keepalive::new(interval, timeout))
            }
            None => None,
        };
        let limits = Limits::new()
            .max_frame_size(max_frame_size)
            .max_message_size(max_message_size)
            .max_handshake_size(max_handshake_size)
            .max_headers(max_headers)
            .max_output_buffer(max_output_buffer)
            .max_input_buffer(max_input_buffer);
        let inner = wsmachine::Config::new()
            .limits(limits)
            .delivery(delivery)
            .auto_pong(auto_pong)
            .handshake_timeout(seconds("handshake_timeout", handshake_timeout)?)
            .close_timeout(seconds("close_timeout", close_timeout)?)
            .keepalive(keepalive)
            .deflate(deflate.map(|d| d.core()))
            .origin_policy(origin_policy(origins.as_ref())?);
        Ok(Config {
            inner: Arc::new(inner),
            deflate: deflate.map(|d| Py::new(py, d)).transpose()?,
            origins: origins.map(Bound::unbind),
        })
    }

    /// The largest frame payload accepted (bytes).
    #[getter]
    fn max_frame_size(&self) -> u64 {
        self.inner.limits.max_frame_size
    }

    /// The largest message accepted (bytes, after decompression).
    #[getter]
    fn max_message_size(&self) -> u64 {
        self.inner.limits.max_message_size
    }

    /// The largest HTTP head of the opening handshake (bytes).
    #[getter]
    fn max_handshake_size(&self) -> usize {
        self.inner.limits.max_handshake_size
    }

    /// The most header fields accepted in the opening handshake.
    #[getter]
    fn max_headers(&self) -> usize {
        self.inner.limits.max_headers
    }

    /// How many bytes may wait in the output buffer.
    #[getter]
    fn max_output_buffer(&self) -> usize {
        self.inner.limits.max_output_buffer
    }

    /// How many received bytes the connection buffers while events wait.
    #[getter]
    fn max_input_buffer(&self) -> usize {
        self.inner.limits.max_input_buffer
    }

    /// `'messages'` (whole messages) or `'chunks'` (pieces as they arrive).
    #[getter]
    fn delivery(&self) -> &'static str {
        match self.inner.delivery {
            Delivery::Messages => "messages",
            Delivery::Chunks => "chunks",
        }
    }

    /// Whether pings are answered automatically.
    #[getter]
    fn auto_pong(&self) -> bool {
        self.inner.auto_pong
    }

    /// Opening handshake timeout (seconds), or None.
    #[getter]
    fn handshake_timeout(&self) -> Option<f64> {
        self.inner.handshake_timeout.map(|d| d.as_secs_f64())
    }

    /// Closing handshake and teardown timeout (seconds), or None.
    #[getter]
    fn close_timeout(&self) -> Option<f64> {
        self.inner.close_timeout.map(|d| d.as_secs_f64())
    }

    /// Idle time before a keepalive ping (seconds), or None.
    #[getter]
    fn keepalive_interval(&self) -> Option<f64> {
        self.inner.keepalive.map(|k| k.interval.as_secs_f64())
    }

    /// How long to wait for traffic after a keepalive ping (seconds).
    #[getter]
    fn keepalive_timeout(&self) -> Option<f64> {
        self.inner.keepalive.map(|k| k.timeout.as_secs_f64())
    }

    /// The permessage-deflate settings, or None when compression is off.
    #[getter]
    fn deflate(&self, py: Python<'_>) -> Option<Py<Deflate>> {
        self.deflate.as_ref().map(|d| d.clone_ref(py))
    }

    /// The Origin policy as given (None: any origin).
    #[getter]
    fn origins(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.origins.as_ref().map(|o| o.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let deflate = match &self.deflate {
            Some(d) => d.bind(py).repr()?.to_string(),
            None => "None".into(),
        };
        Ok(format!(
            "Config(max_frame_size={}, max_message_size={}, delivery='{}', deflate={})",
            self.max_frame_size(),
            self.max_message_size(),
            self.delivery(),
            deflate
        ))
    }
}

impl Config {
    /// The default configuration, shared by every connection made without
    /// one.
    pub(crate) fn default_inner() -> Arc<wsmachine::Config> {
        static DEFAULT: std::sync::OnceLock<Arc<wsmachine::Config>> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| Arc::new(wsmachine::Config::default()))
            .clone()
    }
}
