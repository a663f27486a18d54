//! Timers driven by the caller's clock: opening handshake, closing handshake
//! (RFC 6455 §7.1.1, §7.1.7) and keepalive pings (§5.5.2).
mod common;

use common::*;
use std::time::Duration;
use wsmachine::*;

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

/// Tells the connection the time and returns the events it produced.
fn at(conn: &mut Connection, now: Instant) -> Vec<Event> {
    conn.handle_timeout(now);
    drain(conn)
}

fn keepalive(interval: u64, timeout: u64) -> Config {
    Config::new().keepalive(Some(Keepalive::new(
        Duration::from_secs(interval),
        Duration::from_secs(timeout),
    )))
}

// --------------------------------------------------- opening handshake

// A timer started without a known time asks for handle_timeout at once
// (poll_timeout returns the last known time) and is armed by it.
#[test]
fn pending_handshake_timer_is_armed_by_handle_timeout() {
    let mut server = Connection::server(Config::default());
    assert_eq!(server.poll_timeout(), Some(T0));
    assert!(at(&mut server, secs(100)).is_empty());
    assert_eq!(server.poll_timeout(), Some(secs(110)));
}

// The handshake fails if it has not finished in time.
#[test]
fn server_handshake_timeout() {
    let mut server = Connection::server(Config::default());
    at(&mut server, secs(1));
    server.feed(&REQUEST.as_bytes()[..20]);
    assert!(at(&mut server, Instant::from_millis(10_999)).is_empty());
    let events = at(&mut server, secs(11));
    assert_eq!(
        summaries(&events),
        ["error:Timeout(Handshake)", "closed:1006:false:"]
    );
    assert!(server.is_finished());
    assert_eq!(server.poll_timeout(), None);
}

// The handshake timer also covers a request the application leaves
// undecided.
#[test]
fn undecided_request_times_out() {
    let mut server =
        Connection::server(Config::new().handshake_timeout(Some(Duration::from_secs(2))));
    at(&mut server, T0);
    server.feed(REQUEST.as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    let events = at(&mut server, secs(2));
    assert_eq!(error_of(&events), &Error::Timeout(Timer::Handshake));
    assert_eq!(
        server.accept(Accept::new()),
        Err(UsageError::NoPendingRequest)
    );
}

// A client's handshake times out the same way.
#[test]
fn client_handshake_timeout() {
    let req = ClientRequest::new("ws://h/").unwrap();
    let mut client = Connection::client_with_rng(
        Config::new().handshake_timeout(Some(Duration::from_secs(5))),
        &req,
        test_rng(1),
    )
    .unwrap();
    assert_eq!(client.poll_timeout(), Some(T0));
    at(&mut client, secs(10));
    assert_eq!(client.poll_timeout(), Some(secs(15)));
    let events = at(&mut client, secs(15));
    assert_eq!(
        summaries(&events),
        ["error:Timeout(Handshake)", "closed:1006:false:"]
    );
}

// A finished handshake stops the timer.
#[test]
fn completed_handshake_stops_the_timer() {
    let mut server = Connection::server(Config::default());
    at(&mut server, T0);
    server.feed(REQUEST.as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(Accept::new()).unwrap();
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    assert_eq!(server.poll_timeout(), None);
    assert!(at(&mut server, secs(1000)).is_empty());
    assert_eq!(server.state(), State::Open);
}

// Config::handshake_timeout(None) disables the timer.
#[test]
fn handshake_timeout_can_be_disabled() {
    let mut server = Connection::server(Config::new().handshake_timeout(None));
    assert_eq!(server.poll_timeout(), None);
    assert!(at(&mut server, secs(1_000_000)).is_empty());
    assert_eq!(server.state(), State::Connecting);
}

// Time never goes backwards: an earlier instant changes nothing.
#[test]
fn earlier_instants_are_ignored() {
    let mut server = Connection::server(Config::default());
    at(&mut server, secs(50));
    assert!(at(&mut server, secs(3)).is_empty());
    assert_eq!(server.poll_timeout(), Some(secs(60)));
    assert_eq!(
        summaries(&at(&mut server, secs(60)))[0],
        "error:Timeout(Handshake)"
    );
}

// ---------------------------------------------------- closing handshake

// §7.1.7: an endpoint may fail the connection when the peer does not answer
// its Close in time.
#[test]
fn close_timeout_when_the_peer_never_answers() {
    let mut server = open_server(Config::new().close_timeout(Some(Duration::from_secs(5))));
    at(&mut server, secs(7));
    server.close(CloseCode::NORMAL, "bye").unwrap();
    // Started by close(), which carries no time: asks for attention now.
    assert_eq!(server.poll_timeout(), Some(secs(7)));
    assert!(at(&mut server, secs(8)).is_empty());
    assert_eq!(server.poll_timeout(), Some(secs(13)));
    assert!(at(&mut server, Instant::from_millis(12_999)).is_empty());
    let events = at(&mut server, secs(13));
    assert_eq!(error_of(&events), &Error::Timeout(Timer::Close));
    let closed = closed_of(&events);
    assert!(!closed.clean);
    assert!(closed.initiated_locally);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(server.is_finished());
}

// The peer's Close in time ends the closing handshake; the close timer
// starts again for the teardown (waiting for the client's EOF).
#[test]
fn answered_close_restarts_the_timer_for_the_teardown() {
    let mut server = open_server(Config::default());
    server.close(CloseCode::NORMAL, "").unwrap();
    at(&mut server, T0);
    let (events, _) = exchange(&mut server, &cframe(true, 0x8, &close_payload(1000, b"")));
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    assert_eq!(server.poll_timeout(), Some(T0), "armed at the next call");
    assert!(at(&mut server, secs(1)).is_empty());
    assert_eq!(server.poll_timeout(), Some(secs(6)));
    assert!(at(&mut server, secs(6)).is_empty());
    assert!(server.is_finished());
    assert_eq!(server.poll_timeout(), None);
}

// §7.1.1: the client waits for the server's EOF no longer than the close
// timeout, then closes cleanly.
#[test]
fn client_waiting_for_eof_times_out_cleanly() {
    let mut client = open_client(Config::new().close_timeout(Some(Duration::from_secs(2))));
    client.close(CloseCode::NORMAL, "").unwrap();
    at(&mut client, secs(1));
    let (events, _) = exchange(
        &mut client,
        &frame(true, 0x8, &close_payload(1000, b""), None),
    );
    assert_eq!(summaries(&events), ["closed:1000:true:"]);
    // The timer restarts for the wait for EOF.
    assert_eq!(client.poll_timeout(), Some(secs(1)));
    at(&mut client, secs(2));
    assert_eq!(client.poll_timeout(), Some(secs(4)));
    assert!(at(&mut client, secs(4)).is_empty());
    assert!(client.is_finished());
}

// Config::close_timeout(None): wait for the peer forever.
#[test]
fn close_timeout_can_be_disabled() {
    let mut server = open_server(Config::new().close_timeout(None));
    server.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.poll_timeout(), None);
    assert!(at(&mut server, secs(1_000_000)).is_empty());
    assert_eq!(server.state(), State::Closing);
}

// ------------------------------------------------------------ keepalive

// §5.5.2 ("A Ping frame may serve either as a keepalive or as a means to
// verify that the remote endpoint is still responsive"): a ping goes out
// after `interval` without traffic.
#[test]
fn keepalive_ping_after_an_idle_interval() {
    let mut server = upgraded_server(keepalive(30, 10));
    assert_eq!(server.poll_timeout(), Some(T0));
    at(&mut server, T0);
    assert_eq!(server.poll_timeout(), Some(secs(30)));
    assert!(at(&mut server, secs(29)).is_empty());
    assert!(!server.wants_write());
    assert!(at(&mut server, secs(30)).is_empty());
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0x9);
    assert!(frames[0].payload.len() <= 125);
    assert_eq!(server.poll_timeout(), Some(secs(40)));
}

// The same right after an opening handshake: the handshake's own bytes
// were before the interval started and do not count as traffic in it.
#[test]
fn keepalive_ping_after_an_idle_interval_following_the_handshake() {
    let mut server = open_server(keepalive(30, 10));
    at(&mut server, T0);
    assert_eq!(server.poll_timeout(), Some(secs(30)));
    at(&mut server, secs(30));
    let frames = parse_frames(&take_output(&mut server));
    assert_eq!(frames.len(), 1, "a ping after 30 s without traffic");
    assert_eq!(frames[0].opcode, 0x9);
}

// No answer (no traffic at all) before the deadline: fail with 1011.
#[test]
fn keepalive_fails_the_connection_with_1011_without_an_answer() {
    let mut server = upgraded_server(keepalive(30, 10));
    at(&mut server, T0);
    at(&mut server, secs(30));
    take_output(&mut server);
    assert!(at(&mut server, Instant::from_millis(39_999)).is_empty());
    let events = at(&mut server, secs(40));
    assert_eq!(error_of(&events), &Error::Timeout(Timer::Keepalive));
    assert_eq!(
        Error::Timeout(Timer::Keepalive).close_code(),
        Some(CloseCode::INTERNAL_ERROR)
    );
    let closed = closed_of(&events);
    assert!(!closed.clean);
    assert_eq!(
        closed.sent.as_ref().map(|f| f.code),
        Some(CloseCode::INTERNAL_ERROR)
    );
    assert_eq!(take_output(&mut server), server_close(1011));
    assert!(server.wants_shutdown());
    server.feed_eof();
    assert!(server.is_finished());
}

// The pong (or any traffic) before the deadline keeps the connection, and
// the next ping comes after another idle interval.
#[test]
fn keepalive_answer_keeps_the_connection() {
    let mut server = upgraded_server(keepalive(30, 10));
    at(&mut server, T0);
    at(&mut server, secs(30));
    let ping = parse_frames(&take_output(&mut server)).remove(0);
    let (events, _) = exchange(&mut server, &cframe(true, 0xA, &ping.payload));
    assert_eq!(events.len(), 1, "the pong is delivered");
    assert!(at(&mut server, secs(40)).is_empty());
    assert_eq!(server.state(), State::Open);
    assert!(!server.wants_write());
    // Drive time by the deadlines: the next ping comes, and at least an
    // interval after the pong.
    let mut now = secs(40);
    while !server.wants_write() {
        now = server.poll_timeout().expect("keepalive keeps running");
        assert!(now <= secs(1000));
        assert!(at(&mut server, now).is_empty());
    }
    assert!(now >= secs(60), "ping at {now:?}");
    assert_eq!(parse_frames(&take_output(&mut server))[0].opcode, 0x9);
}

// Traffic during the interval postpones the ping.
#[test]
fn keepalive_traffic_postpones_the_ping() {
    let mut server = upgraded_server(keepalive(30, 10));
    at(&mut server, T0);
    at(&mut server, secs(20));
    let (events, _) = exchange(&mut server, &cframe(true, 0x1, b"still here"));
    assert_eq!(events.len(), 1);
    assert!(at(&mut server, secs(30)).is_empty());
    assert!(!server.wants_write(), "no ping 10 s after traffic");
    let next = server.poll_timeout().unwrap();
    assert!(next >= secs(50), "{next:?}");
    let mut now = next;
    while !server.wants_write() {
        assert!(at(&mut server, now).is_empty());
        now = server.poll_timeout().unwrap();
        assert!(now <= secs(1000));
    }
    assert_eq!(parse_frames(&take_output(&mut server))[0].opcode, 0x9);
}

// A client's keepalive ping is masked.
#[test]
fn client_keepalive_ping_is_masked() {
    let mut client = upgraded_client(keepalive(5, 5));
    at(&mut client, T0);
    at(&mut client, secs(5));
    let frames = parse_frames(&take_output(&mut client));
    assert_eq!(frames[0].opcode, 0x9);
    assert!(frames[0].mask.is_some());
}

// Keepalive stops once the closing handshake starts.
#[test]
fn keepalive_stops_when_closing() {
    let mut server = upgraded_server(keepalive(30, 10).close_timeout(None));
    at(&mut server, T0);
    server.close(CloseCode::NORMAL, "").unwrap();
    take_output(&mut server);
    assert_eq!(server.poll_timeout(), None);
    assert!(at(&mut server, secs(1000)).is_empty());
    assert!(!server.wants_write());
}

// Without keepalive an open connection has no timer at all.
#[test]
fn no_timer_runs_on_an_idle_open_connection() {
    let server = open_server(Config::default());
    assert_eq!(server.poll_timeout(), None);
    let client = open_client(Config::default());
    assert_eq!(client.poll_timeout(), None);
}
