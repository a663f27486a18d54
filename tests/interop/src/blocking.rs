//! Our side of every scenario, on `wsmachine::blocking`.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::Duration;

use wsmachine::blocking::{Error, WebSocket};
use wsmachine::{Accept, Bytes, ClientRequest, CloseCode, Config, Event, Message, MessageKind};

use crate::scenarios::{FRAGMENTED, TEXT, binary, large, pieces};
use crate::{Outcome, Side, Verdict};

/// No scenario waits longer than this for the peer.
const PATIENCE: Duration = Duration::from_secs(30);

fn config(deflate: bool) -> Config {
    let config = Config::default();
    if deflate {
        config
    } else {
        config.deflate(None)
    }
}

fn agreed(ws: &WebSocket<TcpStream>) -> bool {
    ws.connection()
        .extensions()
        .is_some_and(|e| e.contains("permessage-deflate"))
}

fn recv(ws: &mut WebSocket<TcpStream>) -> Result<Message, String> {
    ws.read().map_err(|e| format!("expected a message: {e}"))
}

/// Reads until the end; how it ended. A reset instead of an EOF is an
/// abnormal end too (code 1006).
fn end(ws: &mut WebSocket<TcpStream>) -> Result<wsmachine::Closed, String> {
    match ws.read() {
        Ok(m) => Err(format!("unexpected message of {} bytes", m.len())),
        Err(Error::Closed(c)) => Ok(c),
        Err(
            Error::Io(_)
            | Error::Failed {
                error: wsmachine::Error::Transport,
                ..
            },
        ) => Err("reset".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn expect_close(ws: &mut WebSocket<TcpStream>, code: u16, reason: Option<&str>) -> Outcome {
    let c = match end(ws) {
        Err(reset) if reset == "reset" && code == 1006 => return Ok("reset (1006)".into()),
        other => other?,
    };
    let detail = format!("{} {:?} clean {}", c.code, c.reason, c.clean);
    let reason_ok = reason.is_none_or(|r| c.reason == r);
    if c.code.as_u16() == code && reason_ok && c.clean == (code != 1006) {
        Ok(detail)
    } else {
        Err(detail)
    }
}

fn same(got: Message, want: &[u8], kind: MessageKind) -> Result<(), String> {
    if got.kind() == kind && got.as_bytes() == want {
        Ok(())
    } else {
        Err(format!("{} bytes differ", got.len()))
    }
}

fn send_fragments(ws: &mut WebSocket<TcpStream>, bytes: &[u8]) -> Result<(), String> {
    let parts = pieces(bytes);
    let last = parts.len() - 1;
    for (i, part) in parts.into_iter().enumerate() {
        ws.connection_mut()
            .send_fragment(MessageKind::Text, Bytes::copy_from_slice(part), i == last)
            .map_err(|e| e.to_string())?;
    }
    ws.flush().map_err(|e| e.to_string())
}

fn wait_pong(ws: &mut WebSocket<TcpStream>, want: &[u8]) -> Result<(), String> {
    loop {
        match ws.read_event().map_err(|e| e.to_string())? {
            Event::Pong(p) if p == want => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
            other => return Err(format!("expected a pong, got {other:?}")),
        }
    }
}

// ------------------------------------------------------------------ server

/// Serves scenarios on `listener` until the process ends, one thread per
/// connection; each connection's verdict goes to `verdicts`.
pub fn serve(listener: TcpListener, verdicts: Sender<Verdict>) {
    let config = Arc::new(Config::default());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, verdicts) = (config.clone(), verdicts.clone());
            thread::spawn(move || {
                let mut path = String::new();
                let ws = WebSocket::accept_with(stream, config, |request| {
                    path = request.path().trim_start_matches('/').to_string();
                    Ok(Accept::new())
                });
                let (deflate, outcome) = match ws {
                    Ok(mut ws) => {
                        ws.set_read_timeout(Some(PATIENCE));
                        (agreed(&ws), server_scenario(ws, &path))
                    }
                    Err(e) => (false, Err(format!("handshake: {e}"))),
                };
                let _ = verdicts.send(Verdict::new(Side::Server, &path, deflate, outcome));
            });
        }
    });
}

fn server_scenario(mut ws: WebSocket<TcpStream>, name: &str) -> Outcome {
    let ws = &mut ws;
    match name {
        "text" | "binary" | "large" => {
            let m = recv(ws)?;
            ws.send(m).map_err(|e| e.to_string())?;
        }
        "fragmented" => {
            let m = recv(ws)?;
            same(m.clone(), FRAGMENTED.as_bytes(), MessageKind::Text)?;
            send_fragments(ws, m.as_bytes())?;
        }
        "ping" => {
            recv(ws)?;
            ws.ping(b"s-ping").map_err(|e| e.to_string())?;
            wait_pong(ws, b"s-ping")?;
            ws.send("pong ok").map_err(|e| e.to_string())?;
        }
        "client-close" => return expect_close(ws, 4001, Some("client bye")),
        "server-close" => {
            recv(ws)?;
            ws.close(CloseCode::new(4002), "server bye")
                .map_err(|e| e.to_string())?;
            return expect_close(ws, 4002, None);
        }
        "client-eof" => {
            same(recv(ws)?, b"eof", MessageKind::Text)?;
            return expect_close(ws, 1006, None);
        }
        // Drop the socket without a Close frame.
        "server-eof" => return recv(ws).map(|_| "dropped the connection".into()),
        other => return Err(format!("unknown scenario {other}")),
    }
    expect_close(ws, 1000, None)
}

// ------------------------------------------------------------------ client

/// Runs one scenario as the client against `base` (`ws://host:port`).
pub fn client(base: &str, name: &str, deflate: bool) -> Verdict {
    let outcome = ClientRequest::new(&format!("{base}/{name}"))
        .map_err(|e| e.to_string())
        .and_then(|request| {
            WebSocket::connect_with(&request, config(deflate)).map_err(|e| e.to_string())
        })
        .and_then(|(mut ws, _)| {
            if agreed(&ws) != deflate {
                return Err("compression not as offered".into());
            }
            ws.set_read_timeout(Some(PATIENCE));
            client_scenario(ws, name)
        });
    Verdict::new(Side::Client, name, deflate, outcome)
}

fn client_scenario(mut ws: WebSocket<TcpStream>, name: &str) -> Outcome {
    let ws = &mut ws;
    let echo = |ws: &mut WebSocket<TcpStream>, m: Message| -> Result<(), String> {
        let kind = m.kind();
        let want = m.as_bytes().to_vec();
        ws.send(m).map_err(|e| e.to_string())?;
        same(recv(ws)?, &want, kind)
    };
    match name {
        "text" => echo(ws, Message::from(TEXT))?,
        "binary" => echo(ws, Message::from(binary()))?,
        "large" => {
            ws.send(Bytes::from_static(large()))
                .map_err(|e| e.to_string())?;
            same(recv(ws)?, large(), MessageKind::Binary)?;
        }
        "fragmented" => {
            send_fragments(ws, FRAGMENTED.as_bytes())?;
            same(recv(ws)?, FRAGMENTED.as_bytes(), MessageKind::Text)?;
        }
        "ping" => {
            ws.ping(b"c-ping").map_err(|e| e.to_string())?;
            wait_pong(ws, b"c-ping")?;
            ws.send("ping me").map_err(|e| e.to_string())?;
            // The server's ping is answered on the way.
            same(recv(ws)?, b"pong ok", MessageKind::Text)?;
        }
        "client-close" => {
            ws.close(CloseCode::new(4001), "client bye")
                .map_err(|e| e.to_string())?;
            return expect_close(ws, 4001, None);
        }
        "server-close" => {
            ws.send("close me").map_err(|e| e.to_string())?;
            return expect_close(ws, 4002, Some("server bye"));
        }
        "client-eof" => {
            ws.send("eof").map_err(|e| e.to_string())?;
            thread::sleep(Duration::from_millis(50));
            // Dropping the socket: no Close frame.
            return Ok("dropped the connection".into());
        }
        "server-eof" => {
            ws.send("eof me").map_err(|e| e.to_string())?;
            return expect_close(ws, 1006, None);
        }
        other => return Err(format!("unknown scenario {other}")),
    }
    ws.close(CloseCode::NORMAL, "").map_err(|e| e.to_string())?;
    expect_close(ws, 1000, None)
}
