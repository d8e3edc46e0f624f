//! The failover benchmark behind `benches/failover.sh` (ignored by default: it runs for
//! minutes). minimal_failover and keepalived in the same topology, hard (SIGKILL) and graceful
//! (SIGTERM) failover, several runs each, measured on the wire from an observer capture: the
//! old Master's last advert → the new Master's first GARP/NA.
//!
//! CPU and RSS of both daemons while steady (Master and Backup) are measured in every run,
//! hard and graceful, before the kill: CPU over a window of 50 advert intervals (at least 2 s,
//! at most 5 s) from schedstat (every thread; keepalived counts its parent and its VRRP
//! child), RSS as VmRSS. The table gives, per setting and implementation, the median over all
//! samples, the sample count, and the ratio of the medians minimal_failover / keepalived.
//!
//! Environment:
//! - `HAKIT_BENCH_RUNS`: runs per cell for sub-second intervals (default 10; 1 s intervals use
//!   half, at least 3).
//! - `HAKIT_BENCH_ONLY`: substring filter on the setting name (e.g. `0.1 s IPv4`).
//! - `HAKIT_BENCH_MD`: also write the markdown table(s) there.
//! - `HAKIT_BENCH_CPU_WINDOW`: the CPU window in seconds instead of 50 intervals in [2 s, 5 s].
//!   At 1 s intervals the default window holds only 5 adverts, and one slow wake-up moves a
//!   sample by tens of percent: `CPU_ONLY=1 CPU_WINDOW=30` gives steadier 1 s figures.
//! - `HAKIT_BENCH_CPU_ONLY=1`: no failover at all. Per setting, `HAKIT_BENCH_RUNS` rounds, each
//!   a fresh minimal_failover pair and a fresh keepalived pair, each on its own topology,
//!   running at the same time: wait for both initial Masters, measure both over one window,
//!   stop. Side by side, a drift in the machine's speed (other load, the host scheduling our
//!   vCPUs) hits both alike, which consecutive windows do not guarantee. Prints only the
//!   CPU/RSS table and the spread of the per-round ratios.
//! - `HAKIT_BENCH_SCRAPE_HZ`: minimal_failover serves metrics (`--metrics-listen`) and each
//!   node is scraped at this rate (e.g. 10) from its namespace, throughout the failover runs;
//!   compare with a run without it (failover.sh `SCRAPE_HZ=10`).
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::cluster::spawn_node;
use common::cluster::{Fam, Scenario};
use common::pcap::{failover_gap, Capture};
use common::peer::{Peer, PeerKind};
use common::process::{wait_until, TempDir};
use common::scraper::Scraper;
use common::topology::Topology;
use common::usage::{cpu_ns, rss_kib};

const HIGH: u8 = 200;
const LOW: u8 = 100;
const KINDS: [PeerKind; 2] = [PeerKind::Mf, PeerKind::Ka];

/// CPU (% of one core) and RSS (KiB) of a Master and its Backup over one steady window.
struct Usage {
    master_cpu: f64,
    backup_cpu: f64,
    master_rss: u64,
    backup_rss: u64,
}

/// The steady-state window: `HAKIT_BENCH_CPU_WINDOW` seconds, or 50 advert intervals
/// clamped to [2 s, 5 s].
fn usage_window(sc: &Scenario) -> Duration {
    let forced = std::env::var("HAKIT_BENCH_CPU_WINDOW")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0);
    Duration::from_secs_f64(forced.unwrap_or_else(|| (sc.advert_int * 50.0).clamp(2.0, 5.0)))
}

fn measure_usage(master: &Peer, backup: &Peer, window: Duration) -> Usage {
    let [u] = measure_usage_together([(master, backup)], window);
    u
}

/// Usage of several Master/Backup pairs over one and the same window: pairs measured side
/// by side see the same machine (other load, the host's scheduling of our vCPUs), so their
/// ratio does not drift with it the way two windows one after the other do.
fn measure_usage_together<const N: usize>(
    pairs: [(&Peer, &Peer); N],
    window: Duration,
) -> [Usage; N] {
    let sum = |p: &Peer| p.pids().iter().map(|pid| cpu_ns(*pid)).sum::<u64>();
    let start = pairs.map(|(m, b)| (sum(m), sum(b)));
    let t0 = std::time::Instant::now();
    std::thread::sleep(window);
    let end = pairs.map(|(m, b)| (sum(m), sum(b)));
    let secs = t0.elapsed().as_secs_f64();
    let pct = |d: u64| d as f64 / 1e9 / secs * 100.0;
    std::array::from_fn(|i| {
        let ((master, backup), (m0, b0), (m1, b1)) = (pairs[i], start[i], end[i]);
        Usage {
            master_cpu: pct(m1.saturating_sub(m0)),
            backup_cpu: pct(b1.saturating_sub(b0)),
            master_rss: master.pids().iter().map(|p| rss_kib(*p)).sum(),
            backup_rss: backup.pids().iter().map(|p| rss_kib(*p)).sum(),
        }
    })
}

/// Waits until node 0 (high priority) says Master and is the only VIP holder.
fn wait_initial_master(sc: &Scenario, topo: &Topology, high: &Peer) -> bool {
    let settle = sc.master_down(HIGH) * 3 + Duration::from_secs(5);
    wait_until(settle, || {
        high.is_master() && topo.holders(sc.fam.vip()) == vec![0]
    })
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// A cheap pseudo-random fraction in [0, 1) (where in the advert cycle the kill lands).
fn jitter(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

/// What one failover run yielded: the steady usage (once the initial Master is up) and the
/// on-wire gap (once the takeover is seen on the wire).
struct RunOutcome {
    usage: Option<Usage>,
    gap: Option<Duration>,
}

/// One failover: steady usage over one window, then the kill and the on-wire gap.
/// `HAKIT_BENCH_SCRAPE_HZ`: scrapes per second of each minimal_failover node, if set.
fn scrape_hz() -> Option<f64> {
    std::env::var("HAKIT_BENCH_SCRAPE_HZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&hz: &f64| hz > 0.0)
}

fn one_run(kind: PeerKind, sc: &Scenario, hard: bool, seed: &mut u64) -> RunOutcome {
    let mut out = RunOutcome {
        usage: None,
        gap: None,
    };
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-bench", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let scrape_hz = scrape_hz().filter(|_| kind == PeerKind::Mf);
    let metrics = |i: usize| std::net::SocketAddr::from((topo.nodes[i].ipv4, 9650));
    let start = |i: usize, prio: u8| match scrape_hz {
        Some(_) => {
            let listen = metrics(i).to_string();
            let extra = ["--metrics-listen", listen.as_str()];
            Peer::Mf(spawn_node(&topo, &dir, i, &sc.args(&topo, i, prio, &extra)))
        }
        None => Peer::start(kind, sc, &topo, &dir, i, prio, 0),
    };
    let mut high = start(0, HIGH);
    let low = start(1, LOW);
    let _scrapers: Vec<Scraper> = scrape_hz
        .into_iter()
        .flat_map(|hz| (0..2).map(move |i| (i, hz)))
        .map(|(i, hz)| Scraper::start(&topo.nodes[i].ns.name, metrics(i), hz))
        .collect();
    let vip = sc.fam.vip();
    if !wait_initial_master(sc, &topo, &high) {
        eprintln!("{kind:?} {sc:?}: no initial Master");
        return out;
    }
    out.usage = Some(measure_usage(&high, &low, usage_window(sc)));
    std::thread::sleep(sc.interval() * 2 + sc.interval().mul_f64(jitter(seed)));
    let t0 = now();
    if hard {
        high.kill_hard();
    } else {
        // The exit code is interop_keepalived's business; here only the wire counts.
        let _ = high.stop();
    }
    let limit = sc.master_down(LOW) * 2 + Duration::from_secs(2);
    if !wait_until(limit, || low.is_master() && topo.nodes[1].has_addr(vip)) {
        eprintln!("{kind:?} {sc:?}: no takeover");
        return out;
    }
    std::thread::sleep(Duration::from_millis(30));
    let frames = cap.stop();
    if std::env::var("HAKIT_BENCH_DIAG").is_ok_and(|v| !v.is_empty() && v != "0") {
        // The new Master's own account of the takeover (failover.sh DIAG=1).
        for l in low.log().lines().filter(|l| l.contains("actions_done_us")) {
            eprintln!("  low: {l}");
        }
    }
    drop(low);
    out.gap = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        t0 - Duration::from_secs(30),
    )
    .map(|(_, gap)| gap);
    out
}

/// CPU-only round: a fresh minimal_failover pair and a fresh keepalived pair, each on its
/// own topology and running at the same time, both initial Masters up, one window over
/// both, all stopped. Returns the usage in [`KINDS`] order.
fn usage_only_round(sc: &Scenario) -> Option<[Usage; 2]> {
    let topos = KINDS.map(|_| Topology::new(2));
    let dirs = topos
        .each_ref()
        .map(|t| TempDir::new(&format!("{}-cpu", t.prefix)));
    let mut pairs: [(Peer, Peer); 2] = std::array::from_fn(|i| {
        let (kind, topo, dir) = (KINDS[i], &topos[i], &dirs[i]);
        let high = Peer::start(kind, sc, topo, dir, 0, HIGH, 0);
        let low = Peer::start(kind, sc, topo, dir, 1, LOW, 0);
        (high, low)
    });
    for (k, (high, _)) in pairs.iter().enumerate() {
        if !wait_initial_master(sc, &topos[k], high) {
            eprintln!("{:?} {sc:?}: no initial Master", KINDS[k]);
            return None;
        }
    }
    let [(mf_high, mf_low), (ka_high, ka_low)] = &pairs;
    let usage = measure_usage_together([(mf_high, mf_low), (ka_high, ka_low)], usage_window(sc));
    // Backups first, so the Masters' priority-0 adverts trigger no takeover.
    for (_, low) in pairs.iter_mut() {
        let _ = low.stop();
    }
    for (high, _) in pairs.iter_mut() {
        let _ = high.stop();
    }
    Some(usage)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Medians of one implementation's usage samples in one setting.
struct UsageMedians {
    samples: usize,
    master_cpu: f64,
    backup_cpu: f64,
    master_rss_mib: f64,
    backup_rss_mib: f64,
}

impl UsageMedians {
    fn of(samples: &[Usage]) -> UsageMedians {
        let med =
            |f: &dyn Fn(&Usage) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
        UsageMedians {
            samples: samples.len(),
            master_cpu: med(&|u| u.master_cpu),
            backup_cpu: med(&|u| u.backup_cpu),
            master_rss_mib: med(&|u| u.master_rss as f64 / 1024.0),
            backup_rss_mib: med(&|u| u.backup_rss as f64 / 1024.0),
        }
    }
}

/// Usage samples of one setting, per implementation.
struct UsageRow {
    name: String,
    window: Duration,
    mf: Vec<Usage>,
    ka: Vec<Usage>,
}

impl UsageRow {
    fn new(name: &str, sc: &Scenario) -> UsageRow {
        UsageRow {
            name: name.to_string(),
            window: usage_window(sc),
            mf: Vec::new(),
            ka: Vec::new(),
        }
    }

    fn push(&mut self, kind: PeerKind, u: Usage) {
        match kind {
            PeerKind::Mf => self.mf.push(u),
            PeerKind::Ka => self.ka.push(u),
        }
    }
}

/// "0.82×", or "n/a" without a keepalived figure.
fn ratio(mf: f64, ka: f64) -> String {
    if mf.is_finite() && ka.is_finite() && ka > 0.0 {
        format!("{:.2}×", mf / ka)
    } else {
        "n/a".into()
    }
}

fn usage_table(rows: &[UsageRow]) -> String {
    let mut md = String::new();
    md += "| setting | window | samples minimal_failover / keepalived | minimal_failover CPU Master / Backup (median) | keepalived CPU Master / Backup (median) | CPU ratio Master (minimal_failover / keepalived) | CPU ratio Backup (minimal_failover / keepalived) | minimal_failover RSS Master / Backup (median) | keepalived RSS Master / Backup (parent + VRRP child, median) |\n";
    md += "|---|---|---|---|---|---|---|---|---|\n";
    for row in rows {
        let (m, k) = (UsageMedians::of(&row.mf), UsageMedians::of(&row.ka));
        let cpu = |u: &UsageMedians| {
            if u.samples == 0 {
                "n/a".to_string()
            } else {
                format!("{:.3} % / {:.3} %", u.master_cpu, u.backup_cpu)
            }
        };
        let rss = |u: &UsageMedians| {
            if u.samples == 0 {
                "n/a".to_string()
            } else {
                format!("{:.1} MiB / {:.1} MiB", u.master_rss_mib, u.backup_rss_mib)
            }
        };
        md += &format!(
            "| {} | {} s | {} / {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            row.window.as_secs_f64(),
            m.samples,
            k.samples,
            cpu(&m),
            cpu(&k),
            ratio(m.master_cpu, k.master_cpu),
            ratio(m.backup_cpu, k.backup_cpu),
            rss(&m),
            rss(&k),
        );
    }
    md
}

/// One setting's failover cell: (hard, implementation, bound ms, median ms, max ms).
type FailoverCell = (bool, PeerKind, f64, f64, f64);

fn failover_table(rows: &[(String, usize, Vec<FailoverCell>)]) -> String {
    let mut md = String::new();
    md += "| setting | runs | kind | RFC bound | minimal_failover median (max) over bound | keepalived 2.2.7 median (max) over bound |\n";
    md += "|---|---|---|---|---|---|\n";
    for (name, n, cells) in rows {
        for hard in [true, false] {
            let get = |w: PeerKind| cells.iter().find(|c| c.0 == hard && c.1 == w).unwrap();
            let (m, k) = (get(PeerKind::Mf), get(PeerKind::Ka));
            md += &format!(
                "| {name} | {n} | {} | {:.3} ms | {:+.3} ms ({:+.3} ms) | {:+.3} ms ({:+.3} ms) |\n",
                if hard { "hard (SIGKILL), Master_Down_Interval" } else { "graceful (SIGTERM), Skew_Time" },
                m.2, m.3, m.4, k.3, k.4
            );
        }
    }
    md
}

fn settings(only: &str) -> Vec<(String, Scenario)> {
    [
        ("v2 1 s IPv4", 2, 1.0, Fam::V4),
        ("v3 1 s IPv4", 3, 1.0, Fam::V4),
        ("v3 0.1 s IPv4", 3, 0.1, Fam::V4),
        ("v3 0.01 s IPv4", 3, 0.01, Fam::V4),
        ("v3 1 s IPv6", 3, 1.0, Fam::V6),
        ("v3 0.1 s IPv6", 3, 0.1, Fam::V6),
        ("v3 0.01 s IPv6", 3, 0.01, Fam::V6),
    ]
    .into_iter()
    .filter(|(n, ..)| n.contains(only))
    .map(|(n, v, i, f)| {
        (
            n.to_string(),
            Scenario {
                vrid: 51,
                version: v,
                advert_int: i,
                fam: f,
                auth_pass: None,
                auth_ah: false,
                unicast: false,
            },
        )
    })
    .collect()
}

/// `HAKIT_BENCH_CPU_ONLY`: `runs` rounds per setting, each both implementations side by
/// side over one window; besides the table, the spread of the per-round Master and Backup
/// ratios (each from one shared window).
fn cpu_only(settings: &[(String, Scenario)], runs: usize) -> String {
    let mut rows = Vec::new();
    let mut spreads = String::new();
    for (name, sc) in settings {
        let mut row = UsageRow::new(name, sc);
        let (mut master_ratios, mut backup_ratios) = (Vec::new(), Vec::new());
        for r in 0..runs {
            let Some(round) = usage_only_round(sc) else {
                continue;
            };
            for (kind, u) in KINDS.into_iter().zip(round) {
                eprintln!(
                    "{name} {kind:?} round {r}: CPU Master {:.3} % Backup {:.3} %, RSS {} / {} KiB",
                    u.master_cpu, u.backup_cpu, u.master_rss, u.backup_rss
                );
                row.push(kind, u);
            }
            let (m, k) = (row.mf.last().unwrap(), row.ka.last().unwrap());
            master_ratios.push(m.master_cpu / k.master_cpu);
            backup_ratios.push(m.backup_cpu / k.backup_cpu);
        }
        spreads += &format!(
            "| {name} | {} | {} | {} |\n",
            master_ratios.len(),
            spread(&mut master_ratios),
            spread(&mut backup_ratios)
        );
        rows.push(row);
    }
    format!(
        "{}\n| setting | rounds | per-round CPU ratio Master: min / median / max | per-round CPU ratio Backup: min / median / max |\n|---|---|---|---|\n{spreads}",
        usage_table(&rows)
    )
}

/// "0.81× / 0.90× / 1.02×" (min / median / max of the finite values), or "n/a".
fn spread(v: &mut Vec<f64>) -> String {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return "n/a".into();
    }
    // `median` sorts `v`: its ends are the minimum and the maximum.
    let med = median(v);
    format!("{:.2}× / {med:.2}× / {:.2}×", v[0], v[v.len() - 1])
}

/// The full benchmark: failover gaps and usage from every run.
fn failover_and_usage(settings: &[(String, Scenario)], runs: usize) -> String {
    let mut seed = now().as_nanos() as u64;
    let mut failover_rows = Vec::new();
    let mut usage_rows = Vec::new();
    for (name, sc) in settings {
        let n = if sc.advert_int >= 1.0 {
            runs.div_ceil(2).max(3)
        } else {
            runs
        };
        let mut cells = Vec::new();
        let mut usage = UsageRow::new(name, sc);
        for hard in [true, false] {
            let bound = if hard {
                sc.master_down(LOW)
            } else {
                sc.skew(LOW)
            };
            let what = if hard { "hard" } else { "graceful" };
            for kind in KINDS {
                let mut gaps = Vec::new();
                for r in 0..n {
                    let run = one_run(kind, sc, hard, &mut seed);
                    if let Some(u) = run.usage {
                        eprintln!(
                            "{name} {kind:?} {what} run {r}: CPU Master {:.3} % Backup {:.3} %",
                            u.master_cpu, u.backup_cpu
                        );
                        usage.push(kind, u);
                    }
                    if let Some(gap) = run.gap {
                        eprintln!(
                            "{name} {kind:?} {what} run {r}: {:.3} ms (bound {:.3} ms)",
                            ms(gap),
                            ms(bound)
                        );
                        gaps.push(ms(gap) - ms(bound));
                    }
                }
                let max = gaps.iter().cloned().fold(f64::NAN, f64::max);
                let med = median(&mut gaps);
                cells.push((hard, kind, ms(bound), med, max));
            }
        }
        failover_rows.push((name.clone(), n, cells));
        usage_rows.push(usage);
    }
    format!(
        "{}\n{}",
        failover_table(&failover_rows),
        usage_table(&usage_rows)
    )
}

#[test]
#[ignore = "benchmark: run with benches/failover.sh"]
fn failover_bench() {
    assert!(common::is_root(), "the benchmark needs root");
    let runs: usize = std::env::var("HAKIT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let only = std::env::var("HAKIT_BENCH_ONLY").unwrap_or_default();
    let cpu_only_mode = std::env::var("HAKIT_BENCH_CPU_ONLY")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    let settings = settings(&only);
    let md = if cpu_only_mode {
        cpu_only(&settings, runs)
    } else {
        failover_and_usage(&settings, runs)
    };
    println!("\n{md}");
    if let Ok(path) = std::env::var("HAKIT_BENCH_MD") {
        std::fs::write(&path, &md).expect("writing the markdown table");
    }
}
