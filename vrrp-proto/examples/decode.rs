//! Decode VRRP packets given as hex and print one JSON object per packet.
//!
//! ```text
//! cargo run -p vrrp-proto --example decode -- 45c00020...          # whole IPv4 packets
//! cargo run -p vrrp-proto --example decode -- --src fe80::1 --dst ff02::12 v6:3133...
//! some-capture-tool | cargo run -p vrrp-proto --example decode     # one packet per line
//! ```
//!
//! Options: `--src ADDR` / `--dst ADDR` (IPv6 pseudo-header addresses for `v6:` payloads;
//! default destination ff02::12), `--hop-limit N` (default 255), `--unicast` (skip the
//! TTL/hop-limit check). Prints `{"error": "<variant>"}` for a packet that fails validation.
use std::io::BufRead;
use std::net::Ipv6Addr;
use std::process::ExitCode;

use vrrp_proto::{decode_ipv4, decode_ipv6, DecodeOptions, ReceivedAdvert, VRRP_MCAST_V6};

struct Args {
    src: Option<Ipv6Addr>,
    dst: Ipv6Addr,
    hop_limit: u8,
    opts: DecodeOptions,
    packets: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        src: None,
        dst: VRRP_MCAST_V6,
        hop_limit: 255,
        opts: DecodeOptions::default(),
        packets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--src" => a.src = Some(value("--src")?.parse().map_err(|e| format!("--src: {e}"))?),
            "--dst" => a.dst = value("--dst")?.parse().map_err(|e| format!("--dst: {e}"))?,
            "--hop-limit" => {
                a.hop_limit = value("--hop-limit")?
                    .parse()
                    .map_err(|e| format!("--hop-limit: {e}"))?
            }
            "--unicast" => a.opts.check_ttl = false,
            "-h" | "--help" => {
                return Err("usage: decode [--src ADDR] [--dst ADDR] [--hop-limit N] [--unicast] [HEX | v6:HEX]...".into())
            }
            _ => a.packets.push(arg),
        }
    }
    Ok(a)
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A JSON string literal (our strings hold no quote or control character, but escape anyway).
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn error_json(name: &str) -> String {
    format!("{{\"error\": {}}}", q(name))
}

fn to_json(rx: &ReceivedAdvert<'_>) -> String {
    let p = rx.packet();
    let (auth_type, auth_data) = if p.version() == 2 {
        let data: String = p
            .v2_auth_data()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (p.v2_auth_type().to_string(), q(&data))
    } else {
        ("null".to_string(), "null".to_string())
    };
    let addresses: Vec<String> = rx.addresses().map(|a| q(&a.to_string())).collect();
    let mut out = format!(
        "{{\"version\": {}, \"type\": {}, \"vrid\": {}, \"priority\": {}, \"count\": {}, \
         \"adver_int\": {}, \"checksum\": {}, \"checksum_ok\": true, \"auth_type\": {}, \
         \"auth_data\": {}, \"addresses\": [{}], \"checksum_mode\": {}, \"src\": {}, \"dst\": {}",
        p.version(),
        p.msg_type(),
        rx.vrid(),
        rx.priority(),
        p.count(),
        rx.max_adver_int(),
        q(&format!("0x{:04x}", p.checksum())),
        auth_type,
        auth_data,
        addresses.join(", "),
        q(rx.checksum_mode().name()),
        q(&rx.src().to_string()),
        q(&rx.dst().to_string()),
    );
    if let Some(t) = rx.auth_trailer() {
        out.push_str(&format!(
            ", \"auth_trailer\": {{\"ext_type\": {}, \"key_id\": {}, \"seconds\": {}, \
             \"subseconds\": {}, \"counter\": {}}}",
            t.ext_type, t.key_id, t.sequence.seconds, t.sequence.subseconds, t.sequence.counter
        ));
    }
    out.push('}');
    out
}

fn decode_line(line: &str, a: &Args) -> String {
    let line = line.trim();
    let (v6, hex) = match line.strip_prefix("v6:") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let Some(bytes) = hex_bytes(hex) else {
        return error_json("invalid_hex");
    };
    let res = if v6 {
        let Some(src) = a.src else {
            return error_json("missing_src");
        };
        decode_ipv6(&bytes, src, a.dst, a.hop_limit, &a.opts).map(|rx| to_json(&rx))
    } else {
        decode_ipv4(&bytes, &a.opts).map(|rx| to_json(&rx))
    };
    res.unwrap_or_else(|e| error_json(e.name()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.packets.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            println!("{}", decode_line(&line, &args));
        }
    } else {
        for p in &args.packets {
            println!("{}", decode_line(p, &args));
        }
    }
    ExitCode::SUCCESS
}
