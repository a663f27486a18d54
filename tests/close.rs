//! The closing handshake and close codes (RFC 6455 §5.5.1, §7).
mod common;

use common::*;
use std::time::Duration;
use wsmachine::*;

/// A client-to-server Close frame.
fn cclose(code: u16, reason: &[u8]) -> Vec<u8> {
    cframe(true, 0x8, &close_payload(code, reason))
}

/// A server-to-client Close frame.
fn sclose(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(true, 0x8, &close_payload(code, reason), None)
}

/// What a `Closed` event should hold (`Closed` itself is non-exhaustive).
#[derive(Debug)]
struct Expect {
    code: CloseCode,
    reason: String,
    clean: bool,
    sent: Option<CloseFrame>,
    initiated_locally: bool,
}

impl PartialEq<Expect> for Closed {
    fn eq(&self, e: &Expect) -> bool {
        self.code == e.code
            && self.reason == e.reason
            && self.clean == e.clean
            && self.sent == e.sent
            && self.initiated_locally == e.initiated_locally
    }
}

fn sent(code: u16, reason: &str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code: CloseCode::new(code),
        reason: reason.into(),
    })
}

// ------------------------------------------------- receiving a Close

// §5.5.1: "the endpoint MUST send a Close frame in response ... typically
// echoing the status code it received"; §7.1.1: the server then closes the
// TCP connection first: it asks to half-close, and is finished at the
// client's EOF.
#[test]
fn server_echoes_the_close_code_and_finishes() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &cclose(1000, b"bye"));
    assert_eq!(output, server_close(1000));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        closed_of(&events),
        &Expect {
            code: CloseCode::NORMAL,
            reason: "bye".into(),
            clean: true,
            sent: sent(1000, ""),
            initiated_locally: false,
        }
    );
    assert_eq!(server.state(), State::Closed);
    assert!(server.wants_shutdown());
    assert!(server.wants_read(), "it reads on to see the client's EOF");
    assert!(!server.is_finished());
    server.feed_eof();
    assert!(server.is_finished());
    assert!(!server.wants_read());
}

// §5.5.1: a Close with no body is answered with a Close with no body;
// §7.1.5: the close code is then 1005.
#[test]
fn close_without_payload_is_echoed_empty() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &cframe(true, 0x8, b""));
    assert_eq!(output, [0x88, 0x00]);
    let closed = closed_of(&events);
    assert_eq!(closed.code, CloseCode::NO_STATUS);
    assert_eq!(closed.reason, "");
    assert!(closed.clean);
    assert_eq!(closed.sent, None);
    server.feed_eof();
    assert!(server.is_finished());
}

// §5.5.1: a body, if present, starts with a two-byte code: one byte is
// malformed.
#[test]
fn one_byte_close_payload_is_a_protocol_error() {
    let mut server = open_server(Config::default());
    let (events, output) = exchange(&mut server, &cframe(true, 0x8, &[0x03]));
    assert_server_fails(
        &events,
        &output,
        &Error::Protocol(ProtocolViolation::InvalidCloseFrame),
        1002,
    );
}

// §7.4.1 / §7.4.2: reserved and unassigned codes are protocol errors.
#[test]
fn invalid_close_codes_are_protocol_errors() {
    for code in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &cclose(code, b""));
        assert_server_fails(
            &events,
            &output,
            &Error::Protocol(ProtocolViolation::InvalidCloseCode(code)),
            1002,
        );
    }
}

// §7.4.1 / §7.4.2 and the IANA registry: valid codes are echoed.
#[test]
fn valid_close_codes_are_echoed() {
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &cclose(code, b"why"));
        assert_eq!(output, server_close(code), "code {code}");
        let closed = closed_of(&events);
        assert_eq!(closed.code.as_u16(), code);
        assert_eq!(closed.reason, "why");
        assert!(closed.clean);
    }
}

// §5.5.1: the reason "is not guaranteed to be human readable" but MUST be
// UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
#[test]
fn invalid_utf8_close_reason_is_1007() {
    for reason in [
        &[0xFF][..],
        &[b'o', b'k', 0xC0, 0xAF],
        &[0xED, 0xA0, 0x80],
        &[0xE2, 0x82],
        &[0xF4, 0x90, 0x80, 0x80],
    ] {
        let mut server = open_server(Config::default());
        let (events, output) = exchange(&mut server, &cclose(1000, reason));
        assert_server_fails(&events, &output, &Error::InvalidUtf8, 1007);
    }
}

// The longest reason that fits (123 bytes, multi-byte UTF-8) is accepted.
#[test]
fn longest_close_reason_is_accepted() {
    let reason = "é".repeat(61) + "!";
    assert_eq!(reason.len(), MAX_REASON_LEN);
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &cclose(1001, reason.as_bytes()));
    assert_eq!(closed_of(&events).reason, reason);
}

// §7.1.1 / §7.1.2: a client echoes (the closing handshake is then
// complete), then waits for the server to close the TCP connection; it
// never asks to half-close first.
#[test]
fn client_echoes_then_waits_for_eof() {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, &sclose(1000, b"done"));
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0x8);
    assert!(frames[0].mask.is_some());
    assert_eq!(frames[0].payload, close_payload(1000, b""));
    assert_eq!(client.state(), State::Closed);
    assert!(!client.is_finished());
    assert!(!client.wants_shutdown());
    assert!(client.wants_read());
    assert_eq!(
        closed_of(&events),
        &Expect {
            code: CloseCode::NORMAL,
            reason: "done".into(),
            clean: true,
            sent: sent(1000, ""),
            initiated_locally: false,
        }
    );
    assert_eq!(events.len(), 1);
    client.feed_eof();
    assert!(drain(&mut client).is_empty());
    assert!(client.is_finished());
}

// §5.5.1: a client answers a Close without a body with an empty (masked)
// Close; the close code is 1005.
#[test]
fn client_echoes_an_empty_close_empty() {
    let mut client = open_client(Config::default());
    let (events, output) = exchange(&mut client, &frame(true, 0x8, b"", None));
    let frames = parse_frames(&output);
    assert_eq!(frames.len(), 1);
    assert_eq!((frames[0].opcode, frames[0].payload.len()), (0x8, 0));
    assert!(frames[0].mask.is_some());
    assert_eq!(summaries(&events), ["closed:1005:true:"]);
}

// Reading stays useful after the close (to see the peer's EOF), and stops
// at EOF.
#[test]
fn wants_read_ends_with_the_connection() {
    let mut server = open_server(Config::default());
    assert!(server.wants_read());
    let _ = exchange(&mut server, &cclose(1000, b""));
    assert!(server.wants_read());
    server.feed_eof();
    assert!(!server.wants_read());
    let mut client = open_client(Config::default());
    let _ = exchange(&mut client, &sclose(1000, b""));
    assert!(client.wants_read(), "the client reads on to see the EOF");
    client.feed_eof();
    assert!(!client.wants_read());
}

// §7.1.1: a client that waits too long for the server's EOF closes itself,
// still cleanly (both Close frames were exchanged).
#[test]
fn client_stops_waiting_for_eof_at_the_close_timeout() {
    let mut client = open_client(Config::new().close_timeout(Some(Duration::from_secs(3))));
    let (events, _) = exchange(&mut client, &sclose(1000, b""));
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    client.handle_timeout(T0);
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, T0 + Duration::from_secs(3));
    client.handle_timeout(Instant::from_millis(2999));
    assert!(!client.is_finished());
    client.handle_timeout(deadline);
    assert!(client.poll_event().is_none());
    assert!(client.is_finished());
}

// §7.1.4: bytes after the Close frame are not data (the server finished).
#[test]
fn server_ignores_data_after_close() {
    let mut server = open_server(Config::default());
    let mut input = cclose(1000, b"");
    input.extend(cframe(true, 0x1, b"late"));
    let (events, output) = exchange(&mut server, &input);
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert_eq!(output, server_close(1000));
    let (events, output) = exchange(&mut server, &cframe(true, 0x9, b"later"));
    assert!(events.is_empty());
    assert!(output.is_empty());
    assert_eq!(server.buffered_input(), 0);
}

// §5.5.1: "after sending a Close frame ... the endpoint MUST NOT send any
// further data"; a client also ignores what the server sends after its
// Close.
#[test]
fn client_ignores_data_after_close() {
    let mut client = open_client(Config::default());
    let mut input = sclose(1000, b"");
    input.extend(frame(true, 0x1, b"late", None));
    input.extend(frame(true, 0x9, b"ping", None));
    let (events, output) = exchange(&mut client, &input);
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert_eq!(parse_frames(&output).len(), 1, "only the close echo");
    let (events, _) = exchange(&mut client, &frame(true, 0x1, b"later", None));
    assert!(events.is_empty());
    assert_eq!(client.buffered_input(), 0);
    client.feed_eof();
    assert!(drain(&mut client).is_empty());
    assert!(client.is_finished());
}

// ---------------------------------------------------- sending a Close

// §5.5.1 / §7.1.2: close() sends code and reason; the server keeps reading
// until the peer's Close, then finishes.
#[test]
fn server_initiated_close() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::GOING_AWAY, "restart").unwrap();
    assert_eq!(take_output(&mut server), sclose(1001, b"restart"));
    assert_eq!(server.state(), State::Closing);
    assert!(server.poll_event().is_none());
    let (events, output) = exchange(&mut server, &cclose(1001, b""));
    assert!(output.is_empty(), "no second Close");
    assert_eq!(
        closed_of(&events),
        &Expect {
            code: CloseCode::GOING_AWAY,
            reason: "".into(),
            clean: true,
            sent: sent(1001, "restart"),
            initiated_locally: true,
        }
    );
    assert!(server.wants_shutdown());
    server.feed_eof();
    assert!(server.is_finished());
}

// §7.1.2: messages that arrive after we sent Close are still delivered.
#[test]
fn messages_before_the_peers_close_are_delivered() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    let mut input = cframe(true, 0x1, b"in flight");
    input.extend(cframe(true, 0x8, b""));
    let (events, _) = exchange(&mut server, &input);
    assert_eq!(summaries(&events), ["text:in flight", "closed:1005:true:"]);
}

// §7.1.2 / §7.1.3: a client-initiated close, end to end.
#[test]
fn client_initiated_close_end_to_end() {
    let mut client = open_client(Config::default());
    let mut server = open_server(Config::default());
    client.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(client.state(), State::Closing);
    pump(&mut client, &mut server);
    let server_events = drain(&mut server);
    assert_eq!(
        closed_of(&server_events),
        &Expect {
            code: CloseCode::NORMAL,
            reason: "bye".into(),
            clean: true,
            sent: sent(1000, ""),
            initiated_locally: false,
        }
    );
    pump(&mut server, &mut client);
    assert!(server.wants_shutdown());
    let client_events = drain(&mut client);
    assert!(!client.is_finished(), "the client waits for EOF");
    client.feed_eof();
    assert!(client.is_finished());
    assert_eq!(
        closed_of(&client_events),
        &Expect {
            code: CloseCode::NORMAL,
            reason: "".into(),
            clean: true,
            sent: sent(1000, "bye"),
            initiated_locally: true,
        }
    );
}

// §7.1.3: both ends closing at once is still a clean close.
#[test]
fn simultaneous_close_is_clean() {
    let mut client = open_client(Config::default());
    let mut server = open_server(Config::default());
    client.close(CloseCode::NORMAL, "c").unwrap();
    server.close(CloseCode::GOING_AWAY, "s").unwrap();
    pump(&mut client, &mut server);
    pump(&mut server, &mut client);
    let server_events = drain(&mut server);
    let s = closed_of(&server_events);
    assert_eq!((s.code.as_u16(), s.reason.as_str()), (1000, "c"));
    assert!(s.clean && s.initiated_locally);
    let client_events = drain(&mut client);
    let c = closed_of(&client_events);
    assert_eq!((c.code.as_u16(), c.reason.as_str()), (1001, "s"));
    assert!(c.clean && c.initiated_locally);
}

// §7.4: codes that may not be sent are refused; nothing is queued.
#[test]
fn close_with_an_unsendable_code_is_refused() {
    let mut server = open_server(Config::default());
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000] {
        assert_eq!(
            server.close(CloseCode::new(code), ""),
            Err(UsageError::InvalidCloseCode(code))
        );
    }
    assert!(!server.wants_write());
    assert_eq!(server.state(), State::Open);
}

// §5.5: a reason longer than 123 bytes would not fit in a control frame.
#[test]
fn close_with_a_long_reason_is_refused() {
    let mut server = open_server(Config::default());
    assert_eq!(
        server.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert!(!server.wants_write());
    server.close(CloseCode::NORMAL, &"x".repeat(123)).unwrap();
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames[0].payload.len(), 125);
}

// §5.5.1: no data after a Close was sent or received.
#[test]
fn sending_after_close_is_refused() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    let pending = server.output_len();
    assert_eq!(
        server.send("late").map_err(|e| e.error),
        Err(UsageError::Closing)
    );
    assert_eq!(
        server.send(vec![1u8]).map_err(|e| e.error),
        Err(UsageError::Closing)
    );
    assert_eq!(
        server.close(CloseCode::NORMAL, ""),
        Err(UsageError::Closing)
    );
    assert_eq!(server.output_len(), pending);
    // A client that received a Close is closed.
    let mut client = open_client(Config::default());
    let _ = exchange(&mut client, &sclose(1000, b""));
    assert_eq!(
        client.send("late").map_err(|e| e.error),
        Err(UsageError::Closed)
    );
    // Once closed, the error says so.
    let mut server = open_server(Config::default());
    let _ = exchange(&mut server, &cclose(1000, b""));
    assert_eq!(
        server.send("late").map_err(|e| e.error),
        Err(UsageError::Closed)
    );
    assert_eq!(server.close(CloseCode::NORMAL, ""), Err(UsageError::Closed));
}

// ------------------------------------------------------------ teardown

// The close belongs to the machine: until is_finished() the last Close is
// still to be written, and input keeps being read (and discarded) so that
// unread bytes do not turn the close into a TCP reset.
#[test]
fn teardown_discards_input_until_eof_without_buffering_it() {
    let mut server = open_server(Config::default());
    let _ = exchange(&mut server, &cclose(1000, b""));
    let junk = cframe(true, 0x2, &vec![7u8; 200_000]);
    assert_eq!(server.feed(&junk), junk.len(), "taken, and dropped");
    for _ in 0..10 {
        let room = server.read_buf().len();
        assert!(room > 0);
        server.commit_read(room);
    }
    assert!(server.poll_event().is_none());
    assert_eq!(server.buffered_input(), 0);
    assert!(
        server.buffer_capacity() <= 16 << 10,
        "{}",
        server.buffer_capacity()
    );
    assert!(!server.is_finished());
    server.feed_eof();
    assert!(server.is_finished());
}

// The close timeout bounds the teardown: a peer that never closes the
// transport, or never reads our Close, is given up on.
#[test]
fn teardown_ends_at_the_close_timeout() {
    let config = || Config::new().close_timeout(Some(Duration::from_secs(2)));
    // A client that never closes after the closing handshake.
    let mut server = open_server(config());
    let _ = exchange(&mut server, &cclose(1000, b""));
    server.handle_timeout(T0);
    assert_eq!(server.poll_timeout(), Some(T0 + Duration::from_secs(2)));
    server.handle_timeout(Instant::from_millis(2000));
    assert!(server.is_finished());
    // A peer that never reads: our Close stays queued.
    let mut server = open_server(config());
    server.close(CloseCode::NORMAL, "").unwrap();
    server.handle_timeout(T0);
    assert!(server.wants_write());
    server.handle_timeout(Instant::from_millis(2000));
    let events = drain(&mut server);
    assert_eq!(error_of(&events), &Error::Timeout(Timer::Close));
    assert!(server.is_finished());
    assert!(!server.wants_write(), "the stuck output is dropped");
}

// wants_shutdown waits until the last byte was taken.
#[test]
fn shutdown_comes_after_the_last_byte() {
    let mut server = open_server(Config::default());
    server.feed(&cclose(1000, b""));
    let _ = drain(&mut server);
    assert!(server.wants_write());
    assert!(!server.wants_shutdown());
    let first = server.output()[..1].to_vec();
    server.consume_output(first.len());
    assert!(!server.wants_shutdown());
    assert!(server.poll_transmit().is_some());
    assert!(server.wants_shutdown());
}

// §7.1.7 from the application: fail() sends the code and closes without
// waiting for the peer's Close; the driver keeps going until finished.
#[test]
fn the_application_fails_the_connection() {
    let mut server = open_server(Config::default());
    server
        .fail(CloseCode::POLICY_VIOLATION, "not allowed")
        .unwrap();
    assert_eq!(take_output(&mut server), sclose(1008, b"not allowed"));
    let events = drain(&mut server);
    assert_eq!(
        closed_of(&events),
        &Expect {
            code: CloseCode::ABNORMAL,
            reason: String::new(),
            clean: false,
            sent: sent(1008, "not allowed"),
            initiated_locally: true,
        }
    );
    assert!(server.wants_shutdown());
    // The peer's answer is not processed (§7.1.7).
    let (events, output) = exchange(&mut server, &cclose(1008, b""));
    assert!(events.is_empty() && output.is_empty());
    server.feed_eof();
    assert!(server.is_finished());
    assert_eq!(server.fail(CloseCode::NORMAL, ""), Err(UsageError::Closed));
    assert_eq!(
        open_server(Config::default()).fail(CloseCode::ABNORMAL, ""),
        Err(UsageError::InvalidCloseCode(1006))
    );
}

// abort(): no Close frame, nothing more written, finished at once.
#[test]
fn abort_ends_at_once() {
    let mut client = open_client(Config::default());
    client.send("queued").unwrap();
    client.abort();
    assert!(!client.wants_write());
    assert_eq!(summaries(&drain(&mut client)), ["closed:1006:false:"]);
    assert!(client.is_finished());
    client.abort();
    assert!(client.poll_event().is_none());
}

// close() during the opening handshake: nothing to close yet.
#[test]
fn close_during_the_handshake() {
    // A server still reading the request just tears down.
    let mut server = Connection::server(Config::default());
    server.close(CloseCode::GOING_AWAY, "").unwrap();
    assert!(!server.wants_write());
    let closed = closed_of(&drain(&mut server)).clone();
    assert!(closed.initiated_locally && !closed.clean);
    assert!(server.wants_shutdown());
    server.feed_eof();
    assert!(server.is_finished());
    // A server with a request waiting for a decision answers 503.
    let mut server = Connection::server(Config::default());
    server.feed(REQUEST.as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.close(CloseCode::GOING_AWAY, "").unwrap();
    let answer = String::from_utf8(take_output(&mut server)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert_eq!(summaries(&drain(&mut server)), ["closed:1006:false:"]);
    // A client gives up; its request need not be written.
    let request = ClientRequest::new("ws://localhost/").unwrap();
    let mut client = Connection::client_with_rng(Config::default(), &request, test_rng(1)).unwrap();
    client.close(CloseCode::NORMAL, "").unwrap();
    assert!(!client.wants_write());
    assert_eq!(summaries(&drain(&mut client)), ["closed:1006:false:"]);
    assert!(client.is_finished());
}

// A read error is not an EOF: the application learns why.
#[test]
fn transport_error_is_reported() {
    let mut server = open_server(Config::default());
    server.send("never written").unwrap();
    server.transport_error();
    let events = drain(&mut server);
    assert_eq!(error_of(&events), &Error::Transport);
    assert_eq!(closed_of(&events).code, CloseCode::ABNORMAL);
    assert!(server.is_finished());
    assert!(!server.wants_write());
    // After the close it only ends the teardown.
    let mut server = open_server(Config::default());
    let _ = exchange(&mut server, &cclose(1000, b""));
    server.transport_error();
    assert!(server.poll_event().is_none());
    assert!(server.is_finished());
}

// The example client's bug: a client that fails the connection (a masked
// frame from the server) must still deliver its Close 1002, and must not
// report that the server closed.
#[test]
fn a_failing_client_keeps_its_close_frame_until_finished() {
    let mut client = open_client(Config::default());
    let masked = frame(true, 0x1, b"masked", Some([1, 2, 3, 4]));
    let events = feed_all(&mut client, &masked);
    assert_eq!(
        error_of(&events),
        &Error::Protocol(ProtocolViolation::MaskedFrame)
    );
    let closed = closed_of(&events);
    assert!(closed.initiated_locally, "the client failed it");
    assert_eq!(closed.sent, sent(1002, ""));
    assert!(!client.is_finished(), "the Close is still to be written");
    let frames = parse_frames(&take_output(&mut client));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].payload, close_payload(1002, b""));
    // It waits for the server to close the transport (bounded).
    assert!(!client.is_finished());
    client.feed_eof();
    assert!(client.is_finished());
}

// §5.5.2: no pong once the closing handshake is complete, even one held
// back while pongs waited to be written (wire order data, Close, Pong).
#[test]
fn no_pong_after_the_closing_handshake() {
    let mut client = open_client(Config::default().limits(Limits::new().max_output_buffer(64)));
    client.send("data").unwrap();
    client.close(CloseCode::NORMAL, "").unwrap();
    let mut input = Vec::new();
    for i in 0..20u8 {
        input.extend(frame(true, 0x9, &[i], None));
    }
    input.extend(sclose(1000, b""));
    let events = feed_all(&mut client, &input);
    assert_eq!(events.len(), 21);
    assert_eq!(summary(&events[20]), "closed:1000:true:");
    let frames = parse_frames(&take_output(&mut client));
    let ops: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    let mut want = vec![0x1, 0x8];
    want.extend([0xA; 16]);
    assert_eq!(ops, want, "the 16 pongs queued before the peer's Close");
    assert_eq!(frames.last().unwrap().payload, [15]);
}

// ----------------------------------------------------- abnormal ends

// §7.1.5: "If ... the TCP connection [is] closed ... [without a Close
// frame], _The WebSocket Connection Close Code_ is considered to be 1006."
#[test]
fn eof_without_close_is_1006() {
    for role in [Role::Server, Role::Client] {
        let mut conn = match role {
            Role::Server => open_server(Config::default()),
            Role::Client => open_client(Config::default()),
        };
        conn.feed_eof();
        let events = drain(&mut conn);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            closed_of(&events),
            &Expect {
                code: CloseCode::ABNORMAL,
                reason: String::new(),
                clean: false,
                sent: None,
                initiated_locally: false,
            }
        );
        assert!(conn.is_finished());
        assert!(!conn.wants_write(), "nothing is sent on EOF");
    }
}

// §7.1.5: EOF in the middle of a frame is also 1006; complete messages
// before it are delivered.
#[test]
fn eof_in_the_middle_of_a_frame() {
    let mut server = open_server(Config::default());
    let mut input = cframe(true, 0x1, b"complete");
    let partial = cframe(true, 0x1, b"partial");
    input.extend(&partial[..partial.len() - 3]);
    server.feed(&input);
    server.feed_eof();
    assert_eq!(
        summaries(&drain(&mut server)),
        ["text:complete", "closed:1006:false:"]
    );
}

// §7.1.5: EOF after we sent Close but before the answer: not clean.
#[test]
fn eof_after_sending_close_is_not_clean() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "x").unwrap();
    server.feed_eof();
    let events = drain(&mut server);
    assert_eq!(
        closed_of(&events),
        &Expect {
            code: CloseCode::ABNORMAL,
            reason: String::new(),
            clean: false,
            sent: sent(1000, "x"),
            initiated_locally: true,
        }
    );
}

// §5.5.1: only one Close frame is ever sent, even when the peer breaks the
// protocol while we wait for its Close.
#[test]
fn failure_while_closing_sends_no_second_close() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    take_output(&mut server);
    let (events, output) = exchange(&mut server, &cframe(true, 0x1, &[0xFF]));
    assert_eq!(error_of(&events), &Error::InvalidUtf8);
    assert!(output.is_empty(), "{output:?}");
    let closed = closed_of(&events);
    assert_eq!(closed.sent, sent(1000, ""));
    assert!(!closed.clean);
}

// §7.1.7: a failure sends the error's close code; Closed records it.
#[test]
fn failure_records_the_sent_close_code() {
    let mut server = open_server(Config::default());
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, &[0xFF]));
    let closed = closed_of(&events);
    assert_eq!(closed.sent, sent(1007, ""));
    assert!(closed.initiated_locally);
    assert!(!closed.clean);
    assert_eq!(
        Error::InvalidUtf8.close_code(),
        Some(CloseCode::INVALID_PAYLOAD)
    );
}

// The event stream ends with exactly one Closed.
#[test]
fn closed_is_reported_once_and_last() {
    let mut server = open_server(Config::default());
    let mut input = cframe(true, 0x1, b"a");
    input.extend(cclose(1000, b""));
    server.feed(&input);
    server.feed_eof();
    let events = drain(&mut server);
    assert_eq!(summaries(&events), ["text:a", "closed:1000:true:"]);
    server.feed_eof();
    server.handle_timeout(Instant::from_millis(1_000_000));
    assert!(server.poll_event().is_none());
}

// §7.4.1: the constants carry the codes of the RFC.
#[test]
fn close_code_constants() {
    for (code, value, sendable) in [
        (CloseCode::NORMAL, 1000, true),
        (CloseCode::GOING_AWAY, 1001, true),
        (CloseCode::PROTOCOL_ERROR, 1002, true),
        (CloseCode::UNSUPPORTED_DATA, 1003, true),
        (CloseCode::NO_STATUS, 1005, false),
        (CloseCode::ABNORMAL, 1006, false),
        (CloseCode::INVALID_PAYLOAD, 1007, true),
        (CloseCode::POLICY_VIOLATION, 1008, true),
        (CloseCode::MESSAGE_TOO_BIG, 1009, true),
        (CloseCode::MANDATORY_EXTENSION, 1010, true),
        (CloseCode::INTERNAL_ERROR, 1011, true),
        (CloseCode::TLS_HANDSHAKE, 1015, false),
    ] {
        assert_eq!(code.as_u16(), value);
        assert_eq!(code.is_sendable(), sendable, "{value}");
        assert_eq!(CloseCode::from(value), code);
    }
}

// A finished connection asks for no more timer calls, and its Debug output
// stays small whatever its buffers hold.
#[test]
fn a_finished_connection_has_no_deadline_and_a_short_debug() {
    let mut server = open_server(Config::default());
    let _ = feed_all(&mut server, &cframe(false, 0x2, &vec![0u8; 1 << 20]));
    assert!(format!("{server:?}").len() < 4096);
    server.abort();
    assert_eq!(summaries(&drain(&mut server)), ["closed:1006:false:"]);
    assert!(server.is_finished());
    assert_eq!(server.poll_timeout(), None);
}
