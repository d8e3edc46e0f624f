//! Fuzz entry point for the checkers' reply parsers, shared by the cargo-fuzz target
//! `checker_replies` and by the stable test that replays its corpus (hidden: not part of the
//! supported API). It panics only when a parser breaks one of its own bounds; a bad reply alone
//! never panics.
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, BufReader, ReadBuf};

use crate::checkers::{dns, http_response, icmp, smtp, udp::ReplyPattern};

/// The head limit the HTTP case uses (small, so the fuzzer reaches it).
const MAX_HEADER: usize = 256;
/// The body limit the HTTP case uses.
const MAX_BODY: usize = 256;

/// Target `checker_replies`: the first octet picks the parser (its value modulo 5: HTTP
/// response, DNS reply, SMTP reply, UDP reply pattern, ICMP echo reply) and its high bits
/// that parser's options; the rest is what a server or the network sent.
pub fn checker_replies(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 5 {
        0 => http(sel, rest),
        1 => dns_reply(sel, rest),
        2 => smtp(rest),
        3 => udp(rest),
        _ => icmp_reply(sel, rest),
    }
}

/// An HTTP response read in slices of 1 to 32 octets (the server's segmenting is the
/// attacker's too) and all at once, with or without the body wanted: both readings give the
/// same verdict.
fn http(sel: u8, data: &[u8]) {
    let Some((&step, reply)) = data.split_first() else {
        return;
    };
    let want = http_response::BodyWant {
        digest: sel & 0x10 != 0,
        keep: sel & 0x20 != 0,
    };
    let read = |step: usize| {
        let mut r = Trickle { data: reply, step };
        run_ready(http_response::read_response(
            &mut r, MAX_HEADER, MAX_BODY, want,
        ))
    };
    let sliced = read(usize::from(step % 32) + 1);
    let whole = read(usize::MAX);
    match (&sliced, &whole) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                (a.status, a.body_md5, &a.body),
                (b.status, b.body_md5, &b.body)
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!("sliced reading gave {sliced:?}, whole reading {whole:?}"),
    }
    let Ok(resp) = sliced else {
        return;
    };
    assert_eq!(resp.body_md5.is_some(), want.digest, "digest not as asked");
    assert_eq!(resp.body.is_some(), want.keep, "body not as asked");
    if let Some(body) = &resp.body {
        assert!(
            body.len() <= MAX_BODY,
            "kept {} > {MAX_BODY} octets",
            body.len()
        );
    }
}

/// A DNS reply judged against the id in its own first two octets (else it is ignored before
/// any parsing), for the query type in the next two.
fn dns_reply(sel: u8, data: &[u8]) {
    let Some((qtype, msg)) = data.split_first_chunk::<2>() else {
        return;
    };
    let id = match msg {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let _ = dns::judge_reply(msg, id, u16::from_be_bytes(*qtype), sel & 0x10 != 0);
}

/// SMTP reply lines: banner then the answer to HELO, as the checker reads them, in slices of
/// 1 to 32 octets and all at once: both readings give the same codes.
fn smtp(data: &[u8]) {
    let Some((&step, reply)) = data.split_first() else {
        return;
    };
    let codes = |step: usize| {
        let mut r = BufReader::new(Trickle { data: reply, step });
        let mut codes = Vec::new();
        for _ in 0..2 {
            match run_ready(smtp::reply_code(&mut r)) {
                Ok(code) => codes.push(code),
                Err(_) => break,
            }
        }
        codes
    };
    assert_eq!(codes(usize::from(step % 32) + 1), codes(usize::MAX));
}

/// keepalived's `require_reply` hex (up to the first newline), then a reply matched against
/// it; a pattern that parses prints back to the same prefix.
fn udp(data: &[u8]) {
    let (hex, reply) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(hex) = std::str::from_utf8(hex) else {
        return;
    };
    let Ok(p) = ReplyPattern::from_hex(hex) else {
        return;
    };
    assert_eq!(p.prefix.len() * 2, hex.len());
    let matched = p.matches(reply);
    if matched {
        assert!(reply.len() >= p.prefix.len());
    }
}

/// An ICMP echo reply as a raw or datagram, IPv4 or IPv6 socket delivers it, for the id and
/// sequence in the packet's own octets 4..8 (where they sit without an IP header).
fn icmp_reply(sel: u8, pkt: &[u8]) {
    let v6 = sel & 0x10 != 0;
    let raw = sel & 0x20 != 0;
    let id = pkt
        .get(4..6)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let seq = pkt
        .get(6..8)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let _ = icmp::is_our_reply(pkt, v6, raw, id, seq);
}

/// Polls a future whose reader never waits (a slice) to its end.
fn run_ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a parser waited on a reader that never blocks"),
    }
}

/// A reader that hands out at most `step` octets per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.step.min(buf.remaining()).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}
