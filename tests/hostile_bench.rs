//! `benches/hostile.sh`: the hostile-traffic table, ours (with and without its eBPF wake
//! filter) beside keepalived's (root; ignored by default: about 15 minutes). Each row: a
//! fresh pair, a 20 s flood from the observer namespace, what came out on the wire and in the
//! logs, and where frames were dropped.
mod common;

use std::time::Duration;

use common::flood::Payload;
use common::hostile::{flood_case_with, loss_case, FloodFigures, LossFigures};
use common::peer::PeerKind;

#[test]
#[ignore = "a benchmark: run by benches/hostile.sh"]
fn hostile_bench() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let secs: u64 = std::env::var("HAKIT_HOSTILE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    // HAKIT_HOSTILE_RATES="0" (the box's maximum only), HAKIT_HOSTILE_LOSS="" (no loss
    // rows): a part of the table.
    let list = |var: &str, default: &[u32]| -> Vec<u32> {
        match std::env::var(var) {
            Ok(v) => v.split(',').filter_map(|r| r.trim().parse().ok()).collect(),
            Err(_) => default.to_vec(),
        }
    };
    let rates = list("HAKIT_HOSTILE_RATES", &[2000, 5000, 0]);
    let losses = list("HAKIT_HOSTILE_LOSS", &[20, 50]);
    let mut table = String::from(FloodFigures::header());
    for payload in [Payload::Junk, Payload::Valid { priority: 50 }] {
        for &rate in &rates {
            // Ours with its eBPF wake filter and without (no CAP_BPF), keepalived.
            for (kind, ebpf) in [
                (PeerKind::Mf, true),
                (PeerKind::Mf, false),
                (PeerKind::Ka, true),
            ] {
                let f = flood_case_with(kind, ebpf, payload, rate, Duration::from_secs(secs));
                eprintln!("{}", f.row());
                table.push('\n');
                table.push_str(&f.row());
            }
        }
    }
    table.push_str("\n\n");
    table.push_str(LossFigures::header());
    for &loss in &losses {
        for kind in [PeerKind::Mf, PeerKind::Ka] {
            let f = loss_case(kind, loss, Duration::from_secs(secs * 3));
            eprintln!("{}", f.row());
            table.push('\n');
            table.push_str(&f.row());
        }
    }
    println!("{table}");
    if let Ok(path) = std::env::var("HAKIT_HOSTILE_MD") {
        std::fs::write(&path, table + "\n").expect("writing the table");
    }
}
