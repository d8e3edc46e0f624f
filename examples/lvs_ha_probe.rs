//! A long-lived TCP connection through an LVS virtual server, measured request by request:
//! the real servers and the client of `scripts/ipvs-vm/lvs-ha.sh` (std only, so it runs in
//! the IPVS VM as is).
//!
//! ```text
//! lvs_ha_probe serve ADDR:PORT NAME            line-echo server: answers "NAME LINE" per line
//! lvs_ha_probe probe ADDR:PORT EVERY_MS SECONDS
//! ```
//!
//! `probe` opens ONE connection and sends a numbered line every `EVERY_MS`, waiting for its
//! answer before the next one, for `SECONDS`. When the connection breaks (reset, or no
//! answer for 10 s) it counts the requests that got no answer and reconnects, so the figures
//! say what a user would have seen. It prints one line:
//!
//! ```text
//! probe sent=N ok=N lost=N stalled=N max_gap_ms=N broke=N servers=NAME[,NAME]
//! ```
//!
//! `lost`: requests without an answer; `stalled`: answers later than 100 ms; `max_gap_ms`:
//! the longest time between two answers; `broke`: how many times the connection broke
//! (0 means the same connection lasted the whole run); `servers`: who answered, in order.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// An answer later than this counts as stalled.
const STALLED: Duration = Duration::from_millis(100);
/// No answer for this long: the connection is given up as broken.
const GIVE_UP: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", addr, name] => serve(addr, name),
        ["probe", addr, every, secs] => probe(addr, every, secs),
        _ => Err(
            "usage: lvs_ha_probe serve ADDR:PORT NAME | probe ADDR:PORT EVERY_MS SECONDS".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvs_ha_probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{what}: {s:?} is not valid"))
}

/// Answers every line of every connection with "NAME LINE", one thread a connection.
fn serve(addr: &str, name: &str) -> Result<(), String> {
    let addr: SocketAddr = parse("address", addr)?;
    let listener = TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let name = name.to_string();
        std::thread::spawn(move || echo(conn, &name));
    }
    Ok(())
}

fn echo(conn: TcpStream, name: &str) {
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(conn);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if out.write_all(format!("{name} {line}").as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// What a probe run saw.
#[derive(Default)]
struct Figures {
    sent: u64,
    ok: u64,
    lost: u64,
    stalled: u64,
    max_gap: Duration,
    broke: u64,
    servers: Vec<String>,
}

/// One connection: its reader and writer.
struct Conn {
    out: TcpStream,
    lines: BufReader<TcpStream>,
}

fn connect(addr: SocketAddr) -> Option<Conn> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(GIVE_UP)).ok()?;
    let out = s.try_clone().ok()?;
    Some(Conn {
        out,
        lines: BufReader::new(s),
    })
}

/// One request on `conn`: the name of the server that answered, or `None` if it broke.
fn ask(conn: &mut Conn, seq: u64) -> Option<String> {
    conn.out.write_all(format!("{seq}\n").as_bytes()).ok()?;
    let mut line = String::new();
    match conn.lines.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            let (name, rest) = line.trim_end().split_once(' ')?;
            (rest == seq.to_string()).then(|| name.to_string())
        }
    }
}

fn probe(addr: &str, every: &str, secs: &str) -> Result<(), String> {
    let addr: SocketAddr = parse("address", addr)?;
    let every = Duration::from_millis(parse("EVERY_MS", every)?);
    let run_for = Duration::from_secs_f64(parse("SECONDS", secs)?);
    let mut conn = Some(connect(addr).ok_or_else(|| format!("cannot connect to {addr}"))?);
    let start = Instant::now();
    let mut last_answer = start;
    let mut next = start;
    let mut f = Figures::default();
    while start.elapsed() < run_for {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += every;
        f.sent += 1;
        let asked = Instant::now();
        let answer = match conn.as_mut() {
            Some(c) => ask(c, f.sent),
            None => None,
        };
        match answer {
            Some(name) => {
                let done = Instant::now();
                f.ok += 1;
                if done - asked > STALLED {
                    f.stalled += 1;
                }
                f.max_gap = f.max_gap.max(done - last_answer);
                last_answer = done;
                if f.servers.last() != Some(&name) {
                    f.servers.push(name);
                }
            }
            None => {
                f.lost += 1;
                if conn.take().is_some() {
                    f.broke += 1;
                }
                conn = connect(addr);
            }
        }
        // A request that took longer than the period: the next ones start now.
        next = next.max(Instant::now());
    }
    f.max_gap = f.max_gap.max(last_answer.elapsed());
    println!(
        "probe sent={} ok={} lost={} stalled={} max_gap_ms={} broke={} servers={}",
        f.sent,
        f.ok,
        f.lost,
        f.stalled,
        f.max_gap.as_millis(),
        f.broke,
        f.servers.join(",")
    );
    Ok(())
}
