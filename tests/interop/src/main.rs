//! The interop matrix: wsmachine's adapters against implementations we did
//! not write (Python `websockets`, Node `ws`), in both roles, every
//! scenario with and without permessage-deflate.
//!
//! ```text
//! wsmachine-interop --python .venv/bin/python --node node [--only python|node]
//! ```
//!
//! For each peer: our server (in this process) against the peer's client
//! (a child process), then the peer's server (a child) against our client.
//! Both ends of every connection report a verdict; a cell passes when both
//! do. Prints the matrix and `N passed, M failed`; exits non-zero on any
//! failure.

mod blocking;
mod scenarios;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use scenarios::SCENARIOS;

/// A scenario's result on one side: a detail either way.
pub type Outcome = Result<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Client,
    Server,
}

/// One side's report on one connection.
#[derive(Clone, Debug)]
pub struct Verdict {
    side: Side,
    scenario: String,
    deflate: bool,
    ok: bool,
    detail: String,
}

impl Verdict {
    pub fn new(side: Side, scenario: &str, deflate: bool, outcome: Outcome) -> Verdict {
        let ok = outcome.is_ok();
        let detail = outcome.unwrap_or_else(|e| e);
        Verdict {
            side,
            scenario: scenario.to_string(),
            deflate,
            ok,
            detail,
        }
    }

    /// `verdict\tside\tscenario\tdeflate|plain\tok|FAIL\tdetail`, as the
    /// peers print it.
    fn parse(line: &str) -> Option<Verdict> {
        let f: Vec<&str> = line.trim_end().splitn(6, '\t').collect();
        let [tag, side, scenario, deflate, ok, detail] = f.as_slice() else {
            return None;
        };
        (*tag == "verdict").then(|| Verdict {
            side: if *side == "server" {
                Side::Server
            } else {
                Side::Client
            },
            scenario: scenario.to_string(),
            deflate: *deflate == "deflate",
            ok: *ok == "ok",
            detail: detail.to_string(),
        })
    }
}

/// A peer implementation: how to start it.
struct Peer {
    name: &'static str,
    program: PathBuf,
    script: PathBuf,
}

impl Peer {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.arg(&self.script);
        c
    }
}

/// One column of the matrix: who plays which role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    client: String,
    server: String,
}

/// A cell: both verdicts of one connection.
type Cells = BTreeMap<(Column, &'static str, bool), Vec<Verdict>>;

/// How long one direction of one peer may take in all.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// How long the far side's last verdicts may lag behind the near side's.
const STRAGGLERS: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let peers_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers");
    let (mut python, mut node, mut only) = ("python3".to_string(), "node".to_string(), None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--python" => python = args.next().expect("--python PATH"),
            "--node" => node = args.next().expect("--node PATH"),
            "--only" => only = args.next(),
            other => {
                eprintln!("unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let peers = [
        Peer {
            name: "python websockets",
            program: python.into(),
            script: peers_dir.join("peer.py"),
        },
        Peer {
            name: "node ws",
            program: node.into(),
            script: peers_dir.join("peer.mjs"),
        },
    ];
    let started = Instant::now();
    let mut cells = Cells::new();
    for peer in &peers {
        if only.as_deref().is_some_and(|o| !peer.name.contains(o)) {
            continue;
        }
        let ours = "wsmachine blocking";
        let t = Instant::now();
        peer_client_vs_our_server(peer, ours, &mut cells);
        eprintln!(
            "{} client vs {ours} server: {:.1} s",
            peer.name,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        our_client_vs_peer_server(peer, ours, &mut cells);
        eprintln!(
            "{ours} client vs {} server: {:.1} s",
            peer.name,
            t.elapsed().as_secs_f64()
        );
    }
    let columns: Vec<Column> = peers
        .iter()
        .filter(|p| only.as_deref().is_none_or(|o| p.name.contains(o)))
        .flat_map(|p| {
            let ours = "wsmachine blocking".to_string();
            [
                Column {
                    client: p.name.into(),
                    server: ours.clone(),
                },
                Column {
                    client: ours,
                    server: p.name.into(),
                },
            ]
        })
        .collect();
    let (total, failed) = print_matrix(&columns, &cells);
    println!(
        "interop ({:.1} s): {} passed, {} failed",
        started.elapsed().as_secs_f64(),
        total - failed,
        failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every (scenario, deflate) a client runs, in order.
fn runs() -> impl Iterator<Item = (&'static str, bool)> {
    [false, true]
        .into_iter()
        .flat_map(|d| SCENARIOS.into_iter().map(move |s| (s, d)))
}

fn record(cells: &mut Cells, column: &Column, v: Verdict) {
    let Some(&name) = SCENARIOS.iter().find(|s| **s == v.scenario) else {
        eprintln!("verdict for an unknown scenario: {v:?}");
        return;
    };
    cells
        .entry((column.clone(), name, v.deflate))
        .or_default()
        .push(v);
}

/// Collects `want` verdicts from `rx` until `deadline`.
fn collect(rx: &Receiver<Verdict>, want: usize, deadline: Instant) -> Vec<Verdict> {
    let mut got = Vec::new();
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) => got.push(v),
            Err(_) => break,
        }
    }
    got
}

/// Reads the child's verdict lines into `tx`; other lines go to stderr.
fn forward_verdicts(child: &mut Child, tx: Sender<Verdict>) -> thread::JoinHandle<Option<u16>> {
    let stdout = BufReader::new(child.stdout.take().unwrap());
    thread::spawn(move || {
        let mut port = None;
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("PORT ") {
                port = p.trim().parse().ok();
                let _ = tx.send(Verdict::new(Side::Server, "listening", false, Ok(line)));
            } else if let Some(v) = Verdict::parse(&line) {
                let _ = tx.send(v);
            } else {
                eprintln!("peer: {line}");
            }
        }
        port
    })
}

fn peer_client_vs_our_server(peer: &Peer, ours: &str, cells: &mut Cells) {
    let column = Column {
        client: peer.name.into(),
        server: ours.into(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("ws://{}", listener.local_addr().unwrap());
    let (server_tx, server_rx) = mpsc::channel();
    blocking::serve(listener, server_tx);
    let (client_tx, client_rx) = mpsc::channel();
    let mut child = match peer
        .command()
        .args(["client", &base])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start the {} client: {e}", peer.name);
            return;
        }
    };
    let reader = forward_verdicts(&mut child, client_tx);
    let deadline = Instant::now() + RUN_LIMIT;
    let n = runs().count();
    for v in collect(&client_rx, n, deadline) {
        record(cells, &column, v);
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    for v in collect(&server_rx, n, Instant::now() + STRAGGLERS) {
        record(cells, &column, v);
    }
}

fn our_client_vs_peer_server(peer: &Peer, ours: &str, cells: &mut Cells) {
    let column = Column {
        client: ours.into(),
        server: peer.name.into(),
    };
    let (server_tx, server_rx) = mpsc::channel();
    let mut child = match peer
        .command()
        .arg("server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start the {} server: {e}", peer.name);
            return;
        }
    };
    let stdin = child.stdin.take();
    let reader = forward_verdicts(&mut child, server_tx);
    let port = match server_rx.recv_timeout(Duration::from_secs(20)) {
        Ok(v) if v.scenario == "listening" => v.detail.trim_start_matches("PORT ").to_string(),
        _ => {
            eprintln!("the {} server did not start", peer.name);
            let _ = child.kill();
            return;
        }
    };
    let base = format!("ws://127.0.0.1:{port}");
    let deadline = Instant::now() + RUN_LIMIT;
    let mut n = 0;
    for (scenario, deflate) in runs() {
        if Instant::now() > deadline {
            break;
        }
        record(cells, &column, blocking::client(&base, scenario, deflate));
        n += 1;
    }
    for v in collect(&server_rx, n, Instant::now() + STRAGGLERS) {
        record(cells, &column, v);
    }
    drop(stdin);
    let t = Instant::now();
    while child.try_wait().ok().flatten().is_none() && t.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
}

/// Prints one row per scenario and compression, one column per pairing;
/// returns how many cells there are and how many failed (a cell with no
/// verdict fails).
fn print_matrix(columns: &[Column], cells: &Cells) -> (usize, usize) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "| scenario | deflate |");
    for c in columns {
        let _ = write!(out, " {} → {} |", c.client, c.server);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|---|{}", "---|".repeat(columns.len()));
    let mut failures = Vec::new();
    for (scenario, deflate) in runs() {
        let _ = write!(
            out,
            "| {scenario} | {} |",
            if deflate { "on" } else { "off" }
        );
        for c in columns {
            let verdicts = cells
                .get(&(c.clone(), scenario, deflate))
                .map_or(&[][..], Vec::as_slice);
            let has = |side| verdicts.iter().any(|v| v.side == side && v.ok);
            let ok = has(Side::Client) && has(Side::Server) && verdicts.len() == 2;
            if !ok {
                failures.push(format!(
                    "{} → {}, {scenario}, deflate {deflate}: {verdicts:?}",
                    c.client, c.server
                ));
            }
            let _ = write!(out, " {} |", if ok { "pass" } else { "FAIL" });
        }
        let _ = writeln!(out);
    }
    for f in &failures {
        let _ = writeln!(out, "failed: {f}");
    }
    (columns.len() * runs().count(), failures.len())
}
