//! The route announcer's figures with real FRR 8.4 (an ignored test; `benches/routed.sh` runs
//! it): the topology of `common::routed` (an upstream router, two service nodes each with
//! hakit and FRR peering eBGP, a client), each figure measured `HAKIT_BENCH_RUNS` times in
//! one run and reported as its median (with min and max):
//!
//! - anycast: a node's health check starts failing (its listener closes) -> its next hop is
//!   gone from the upstream's FIB; the check passes again -> the next hop is back (checks
//!   every 100 ms, fall 2, rise 3; the FIB polled with `ip route`, about every 2 ms);
//! - VRRP-gated active-standby (Backup announcing MED 100): the client-visible outage (a
//!   request every 10 ms) and the upstream's path change, for a graceful stop of the Master
//!   (SIGTERM) and a crash of its node (hakit and FRR killed, its service gone);
//! - a hung node (FRR and hakit stopped by SIGSTOP, its service gone): its path removed,
//!   with BFD 3 x 100 ms and with the BGP hold time (3 s) alone;
//! - the same active-standby pair run by keepalived 2.2 with notify scripts that call
//!   `vtysh` (`network PREFIX route-map MASTER|BACKUP`), the way keepalived users do it;
//! - both pairs again with a Backup that withdraws (hakit without `backup_metric`, notify
//!   scripts that announce on Master only): the new Master must announce before traffic
//!   moves;
//! - FRR restarted on a node: the route back at the upstream, counted from FRR's start.
//!
//! `HAKIT_BENCH_ONLY` (words among `anycast vrrp keepalived vrrp-withdraw keepalived-withdraw
//! hung frr`) runs some cases only.
//!
//! The table goes to `HAKIT_BENCH_MD` (default `benches/ROUTED_RESULTS.table.md`).
mod common;

use std::time::{Duration, Instant};

use common::process::wait_until;
use common::routed::{
    anycast_toml, can_run, devs, meds, probe_v4, vrrp_toml, vrrp_withdraw_toml, Routed, SERVICE_V4,
};

const LONG: Duration = Duration::from_secs(30);

/// Polls the upstream's IPv4 next hops until they are `want`; the time it took from `since`.
fn until_hops(t: &Routed, want: &[&str], since: Instant) -> Duration {
    let want = devs(want);
    let ok = wait_until(LONG, || t.next_hops(SERVICE_V4) == want);
    assert!(
        ok,
        "next hops {:?}, wanted {want:?}",
        t.next_hops(SERVICE_V4)
    );
    since.elapsed()
}

/// Polls until node 2's next hop is among the upstream's; the time it took from `since`.
fn until_node2_hop(t: &Routed, since: Instant) -> Duration {
    let ok = wait_until(LONG, || t.next_hops(SERVICE_V4).contains("u2"));
    assert!(ok, "next hops {:?}, wanted u2", t.next_hops(SERVICE_V4));
    since.elapsed()
}

fn until_meds(t: &Routed, want: &[u32]) {
    let ok = wait_until(LONG, || meds(t, SERVICE_V4) == want);
    assert!(ok, "MEDs {:?}, wanted {want:?}", meds(t, SERVICE_V4));
}

/// Figures of one case.
struct Figure {
    name: String,
    samples: Vec<Duration>,
}

impl Figure {
    fn new(name: &str) -> Figure {
        Figure {
            name: name.into(),
            samples: Vec::new(),
        }
    }

    fn row(&self) -> String {
        let mut s = self.samples.clone();
        s.sort();
        let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
        match (s.first(), s.last()) {
            (Some(&lo), Some(&hi)) => format!(
                "| {} | {} | {} | {} | {} |",
                self.name,
                ms(s[s.len() / 2]),
                ms(lo),
                ms(hi),
                s.len()
            ),
            _ => format!("| {} | - | - | - | 0 |", self.name),
        }
    }
}

fn anycast(runs: usize) -> Vec<Figure> {
    let mut t = Routed::new(2, false);
    assert!(t.wait_sessions(LONG));
    for k in [1, 2] {
        t.open_service(k);
        t.start_hakit(k, &anycast_toml());
    }
    until_hops(&t, &["u1", "u2"], Instant::now());
    let mut down = Figure::new("anycast: check fails -> next hop gone (fall 2 x 100 ms)");
    let mut up = Figure::new("anycast: check passes -> next hop back (rise 3 x 100 ms)");
    for _ in 0..runs {
        let start = Instant::now();
        t.close_service(1);
        down.samples.push(until_hops(&t, &["u2"], start));
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        t.open_service(1);
        up.samples.push(until_hops(&t, &["u1", "u2"], start));
        std::thread::sleep(Duration::from_millis(300));
    }
    vec![down, up]
}

/// What runs the VRRP-gated pair: hakit, or keepalived with notify scripts.
trait Pair {
    /// How the figures are named.
    fn label(&self) -> String;
    /// Whether the Backup announces (MED 100) rather than withdraws.
    fn backup_announces(&self) -> bool;
    /// Starts node `k` with `priority`.
    fn start(&mut self, t: &mut Routed, k: usize, priority: u8);
    /// SIGTERM to node 1's daemon.
    fn stop_master(&mut self, t: &mut Routed);
    /// Waits until node 1's daemon has exited.
    fn wait_stopped(&mut self, t: &mut Routed);
    /// Node 1's daemon killed (its node crashes with it).
    fn kill_master(&mut self, t: &mut Routed);
}

/// How a pair's figures are named: who runs it and what its Backup does.
fn pair_label(who: &str, backup_announces: bool) -> String {
    let backup = if backup_announces {
        "Backup MED 100"
    } else {
        "Backup withdraws"
    };
    format!("{who} ({backup})")
}

/// hakit with `[[announce]]` gated by its VRRP instance; the Backup announces MED 100
/// (`backup_metric`) or withdraws.
struct HakitPair(bool);

impl Pair for HakitPair {
    fn label(&self) -> String {
        pair_label("VRRP-gated hakit", self.0)
    }
    fn backup_announces(&self) -> bool {
        self.0
    }
    fn start(&mut self, t: &mut Routed, k: usize, priority: u8) {
        let toml = if self.0 {
            vrrp_toml(priority)
        } else {
            vrrp_withdraw_toml(priority)
        };
        t.start_hakit(k, &toml);
    }
    fn stop_master(&mut self, t: &mut Routed) {
        t.nodes[0].hakit.as_ref().unwrap().signal(libc::SIGTERM);
    }
    fn wait_stopped(&mut self, t: &mut Routed) {
        t.nodes[0].hakit.as_mut().unwrap().wait_exit(LONG);
    }
    fn kill_master(&mut self, _t: &mut Routed) {
        // Routed::crash kills hakit.
    }
}

/// keepalived with notify scripts calling `vtysh` (see `Routed::start_keepalived`); the
/// Backup's script announces MED 100 or withdraws.
struct KeepalivedPair(Vec<Option<common::keepalived::Keepalived>>, bool);

impl Pair for KeepalivedPair {
    fn label(&self) -> String {
        pair_label("keepalived + vtysh", self.1)
    }
    fn backup_announces(&self) -> bool {
        self.1
    }
    fn start(&mut self, t: &mut Routed, k: usize, priority: u8) {
        self.0.resize_with(3, || None);
        self.0[k] = Some(t.start_keepalived(k, priority, self.1));
    }
    fn stop_master(&mut self, _t: &mut Routed) {
        self.0[1].as_ref().unwrap().daemon.signal(libc::SIGTERM);
    }
    fn wait_stopped(&mut self, _t: &mut Routed) {
        self.0[1].as_mut().unwrap().daemon.wait_exit(LONG);
    }
    fn kill_master(&mut self, _t: &mut Routed) {
        self.0[1].as_mut().unwrap().kill_hard();
    }
}

/// The client outage `probe` saw, from node 1's answers to node 2's (a figure without both
/// would hide an outage before or after the probe's window).
fn outage(probe: common::routed::Prober, what: &str) -> Duration {
    let log = probe.finish();
    assert!(
        log.answered_by.iter().take(5).any(|a| *a == Some(1)),
        "{what}: node 1 did not answer before the event"
    );
    assert_eq!(
        log.last_node(),
        Some(2),
        "{what}: node 2 does not answer ({} of {} lost)",
        log.lost(),
        log.sent.len()
    );
    let last = log.answered_by.iter().rposition(Option::is_some).unwrap();
    assert!(
        log.answered_by.len() - last < 10,
        "{what}: answers stopped {} requests before the end",
        log.answered_by.len() - last
    );
    if std::env::var_os("HAKIT_BENCH_DEBUG").is_some() {
        let mut runs: Vec<(Option<u8>, usize)> = Vec::new();
        for a in &log.answered_by {
            match runs.last_mut() {
                Some((b, n)) if b == a => *n += 1,
                _ => runs.push((*a, 1)),
            }
        }
        eprintln!("{what}: {runs:?}");
    }
    log.outage()
}

/// Node 1 (priority 150) and node 2 (100) run `pair`; node 1 is Master, node 2 announces MED
/// 100 or nothing. Each run: node 1's daemon stops (SIGTERM), then its node crashes.
fn active_standby(runs: usize, pair: &mut dyn Pair) -> Vec<Figure> {
    let mut t = Routed::new(2, false);
    assert!(t.wait_sessions(LONG));
    pair.start(&mut t, 1, 150);
    pair.start(&mut t, 2, 100);
    let steady: &[u32] = if pair.backup_announces() {
        &[10, 100]
    } else {
        &[10]
    };
    let name = |what: &str| format!("{}, {what}", pair.label());
    let mut g_out = Figure::new(&name("Master stops (SIGTERM): client outage"));
    let mut g_path = Figure::new(&name("Master stops (SIGTERM): best path moved"));
    let mut c_out = Figure::new(&name("Master's node crashes: client outage"));
    let mut c_path = Figure::new(&name("Master's node crashes: best path moved"));
    // A Backup that withdraws: when the new Master's path reaches the upstream (the old
    // one may still be there, ECMP, until it is withdrawn).
    let mut g_new = Figure::new(&name(
        "Master stops (SIGTERM): new Master's path at the upstream",
    ));
    let mut c_new = Figure::new(&name(
        "Master's node crashes: new Master's path at the upstream",
    ));
    let new_path = !pair.backup_announces();
    for _ in 0..runs {
        until_meds(&t, steady);
        until_hops(&t, &["u1"], Instant::now());
        std::thread::sleep(Duration::from_millis(300));
        let probe = probe_v4(&t);
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        pair.stop_master(&mut t);
        if new_path {
            g_new.samples.push(until_node2_hop(&t, start));
        }
        g_path.samples.push(until_hops(&t, &["u2"], start));
        std::thread::sleep(Duration::from_millis(700));
        g_out.samples.push(outage(probe, &g_out.name));
        pair.wait_stopped(&mut t);
        until_meds(&t, &[10]);
        pair.start(&mut t, 1, 150);
        until_meds(&t, steady);
        until_hops(&t, &["u1"], Instant::now());
        std::thread::sleep(Duration::from_millis(300));

        let probe = probe_v4(&t);
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        pair.kill_master(&mut t);
        t.crash(1);
        if new_path {
            c_new.samples.push(until_node2_hop(&t, start));
        }
        c_path.samples.push(until_hops(&t, &["u2"], start));
        std::thread::sleep(Duration::from_millis(700));
        c_out.samples.push(outage(probe, &c_out.name));
        until_meds(&t, &[10]);
        t.revive(1);
        assert!(t.wait_sessions(LONG));
        pair.start(&mut t, 1, 150);
    }
    if new_path {
        vec![g_out, g_new, g_path, c_out, c_new, c_path]
    } else {
        vec![g_out, g_path, c_out, c_path]
    }
}

fn hung_node(runs: usize, bfd: bool) -> Figure {
    let mut t = Routed::new(2, bfd);
    assert!(t.wait_sessions(LONG));
    let name = if bfd {
        "hung node: path removed, BFD 3 x 100 ms"
    } else {
        "hung node: path removed, BGP hold time 3 s"
    };
    let mut fig = Figure::new(name);
    for k in [1, 2] {
        t.open_service(k);
        t.start_hakit(k, &anycast_toml());
    }
    for _ in 0..runs {
        until_hops(&t, &["u1", "u2"], Instant::now());
        if bfd {
            let ok = wait_until(LONG, || {
                t.up_frr
                    .vtysh("show bfd peers brief")
                    .matches(" up ")
                    .count()
                    >= 4
            });
            assert!(ok, "BFD: {}", t.up_frr.vtysh("show bfd peers brief"));
        }
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        t.hang(1);
        fig.samples.push(until_hops(&t, &["u2"], start));
        t.revive(1);
        assert!(t.wait_sessions(LONG));
        t.start_hakit(1, &anycast_toml());
    }
    fig
}

fn frr_restart(runs: usize) -> Figure {
    let mut t = Routed::new(1, false);
    assert!(t.wait_sessions(LONG));
    t.open_service(1);
    t.start_hakit(1, &anycast_toml());
    until_hops(&t, &["u1"], Instant::now());
    let mut fig = Figure::new("FRR restarted on a node: route back at the upstream");
    for _ in 0..runs {
        t.nodes[0].frr.stop();
        until_hops(&t, &[], Instant::now());
        let start = Instant::now();
        t.nodes[0].frr.start_again();
        fig.samples.push(until_hops(&t, &["u1"], start));
    }
    fig
}

#[test]
#[ignore = "a benchmark: run benches/routed.sh"]
fn routed_figures() {
    if !can_run("routed bench") {
        return;
    }
    let runs: usize = std::env::var("HAKIT_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let only = std::env::var("HAKIT_BENCH_ONLY").unwrap_or_default();
    let wanted = |case: &str| only.is_empty() || only.split_whitespace().any(|o| o == case);
    let started = Instant::now();
    let mut figures = Vec::new();
    if wanted("anycast") {
        figures.extend(anycast(runs));
    }
    if wanted("vrrp") {
        figures.extend(active_standby(runs, &mut HakitPair(true)));
    }
    if wanted("keepalived") {
        figures.extend(active_standby(runs, &mut KeepalivedPair(Vec::new(), true)));
    }
    if wanted("vrrp-withdraw") {
        figures.extend(active_standby(runs, &mut HakitPair(false)));
    }
    if wanted("keepalived-withdraw") {
        figures.extend(active_standby(runs, &mut KeepalivedPair(Vec::new(), false)));
    }
    if wanted("hung") {
        figures.push(hung_node(runs, true));
        figures.push(hung_node(runs, false));
    }
    if wanted("frr") {
        figures.push(frr_restart(runs));
    }
    let mut md = String::from(
        "| case | median ms | min ms | max ms | runs |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    for f in &figures {
        md += &f.row();
        md.push('\n');
    }
    print!("{md}");
    println!("routed bench: {:?}", started.elapsed());
    let out = std::env::var("HAKIT_BENCH_MD").unwrap_or_else(|_| {
        format!(
            "{}/benches/ROUTED_RESULTS.table.md",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    std::fs::write(&out, md).unwrap_or_else(|e| panic!("writing {out}: {e}"));
}
