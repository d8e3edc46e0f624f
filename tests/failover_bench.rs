//! The failover benchmark behind `benches/failover.sh` (ignored by default: it runs for
//! minutes). minimal_failover and keepalived in the same topology, hard (SIGKILL) and graceful
//! (SIGTERM) failover, several runs each, measured on the wire from an observer capture: the
//! old Master's last advert → the new Master's first GARP/NA. Also CPU and RSS of both daemons
//! while steady (Master and Backup).
//!
//! Environment: `HAKIT_BENCH_RUNS` (runs per cell for sub-second intervals, default 10; 1 s
//! intervals use half), `HAKIT_BENCH_MD` (write the markdown table there),
//! `HAKIT_BENCH_ONLY` (substring filter on the setting name).
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::cluster::{spawn_node, Fam, Scenario};
use common::keepalived::{KaInstance, Keepalived};
use common::pcap::{failover_gap, Capture};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const HIGH: u8 = 200;
const LOW: u8 = 100;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Mf,
    Ka,
}

enum Running {
    Mf(Daemon),
    Ka(Keepalived),
}

impl Running {
    fn pids(&self) -> Vec<u32> {
        match self {
            Running::Mf(d) => vec![d.pid()],
            Running::Ka(k) => {
                let mut v = vec![k.daemon.pid()];
                v.extend(k.vrrp_pid());
                v
            }
        }
    }
    fn is_master(&self) -> bool {
        match self {
            Running::Mf(d) => d.state() == "Master",
            Running::Ka(k) => {
                k.entered("MASTER") > 0 && k.entered("MASTER") > k.entered("BACKUP") - 1
            }
        }
    }
    fn kill_hard(&mut self) {
        match self {
            Running::Mf(d) => d.kill(),
            Running::Ka(k) => k.kill_hard(),
        }
    }
    fn stop(&mut self) {
        match self {
            Running::Mf(d) => {
                d.signal(libc::SIGTERM);
                d.wait_exit(Duration::from_secs(5));
            }
            Running::Ka(k) => k.stop(),
        }
    }
}

/// CPU time of every thread of a process, in nanoseconds (schedstat: exact, unlike the
/// 10 ms ticks of /proc/<pid>/stat).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// VmRSS in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Usage {
    master_cpu: f64,
    backup_cpu: f64,
    master_rss: u64,
    backup_rss: u64,
}

fn measure_usage(master: &Running, backup: &Running, secs: f64) -> Usage {
    let sum = |r: &Running| r.pids().iter().map(|p| cpu_ns(*p)).sum::<u64>();
    let (m0, b0) = (sum(master), sum(backup));
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (m1, b1) = (sum(master), sum(backup));
    let pct = |d: u64| d as f64 / 1e9 / secs * 100.0;
    Usage {
        master_cpu: pct(m1 - m0),
        backup_cpu: pct(b1 - b0),
        master_rss: master.pids().iter().map(|p| rss_kib(*p)).sum(),
        backup_rss: backup.pids().iter().map(|p| rss_kib(*p)).sum(),
    }
}

fn start(
    which: Impl,
    sc: &Scenario,
    topo: &Topology,
    dir: &TempDir,
    i: usize,
    prio: u8,
) -> Running {
    match which {
        Impl::Mf => Running::Mf(spawn_node(topo, dir, i, &sc.args(topo, i, prio, &[]))),
        Impl::Ka => {
            let inst = KaInstance {
                iface: "eth0".into(),
                vrid: sc.vrid,
                priority: prio,
                version: sc.version,
                advert_int: sc.advert_int,
                vips: vec![sc.fam.vip_cidr()],
                auth_pass: sc.auth_pass.clone(),
                unicast_src: None,
                unicast_peers: vec![],
                nopreempt: false,
            };
            Running::Ka(Keepalived::start(
                &format!("ka{i}"),
                &topo.nodes[i].ns.name,
                &inst,
                &dir.0,
            ))
        }
    }
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

/// One failover: returns the on-wire gap, and the steady-state usage when asked.
fn one_run(
    which: Impl,
    sc: &Scenario,
    hard: bool,
    with_usage: bool,
    seed: &mut u64,
) -> Option<(Duration, Option<Usage>)> {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-bench", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let mut high = start(which, sc, &topo, &dir, 0, HIGH);
    let low = start(which, sc, &topo, &dir, 1, LOW);
    let vip = sc.fam.vip();
    let settle = sc.master_down(HIGH) * 3 + Duration::from_secs(5);
    if !wait_until(settle, || high.is_master() && topo.holders(vip) == vec![0]) {
        eprintln!("{which:?} {sc:?}: no initial Master");
        return None;
    }
    let usage =
        with_usage.then(|| measure_usage(&high, &low, (sc.advert_int * 20.0).clamp(2.0, 10.0)));
    std::thread::sleep(sc.interval() * 2 + sc.interval().mul_f64(jitter(seed)));
    let t0 = now();
    if hard {
        high.kill_hard();
    } else {
        high.stop();
    }
    let limit = sc.master_down(LOW) * 2 + Duration::from_secs(2);
    if !wait_until(limit, || low.is_master() && topo.nodes[1].has_addr(vip)) {
        eprintln!("{which:?} {sc:?}: no takeover");
        return None;
    }
    std::thread::sleep(Duration::from_millis(30));
    let frames = cap.stop();
    drop(low);
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        t0 - Duration::from_secs(30),
    )?;
    Some((gap, usage))
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

#[test]
#[ignore = "benchmark: run with benches/failover.sh"]
fn failover_bench() {
    assert!(common::is_root(), "the benchmark needs root");
    let runs: usize = std::env::var("HAKIT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let only = std::env::var("HAKIT_BENCH_ONLY").unwrap_or_default();
    let settings: Vec<(String, Scenario)> = vec![
        ("v2 1 s IPv4", 2, 1.0, Fam::V4),
        ("v3 1 s IPv4", 3, 1.0, Fam::V4),
        ("v3 0.1 s IPv4", 3, 0.1, Fam::V4),
        ("v3 0.01 s IPv4", 3, 0.01, Fam::V4),
        ("v3 1 s IPv6", 3, 1.0, Fam::V6),
        ("v3 0.1 s IPv6", 3, 0.1, Fam::V6),
        ("v3 0.01 s IPv6", 3, 0.01, Fam::V6),
    ]
    .into_iter()
    .filter(|(n, ..)| n.contains(only.as_str()))
    .map(|(n, v, i, f)| {
        (
            n.to_string(),
            Scenario {
                vrid: 51,
                version: v,
                advert_int: i,
                fam: f,
                auth_pass: None,
                unicast: false,
            },
        )
    })
    .collect();
    let mut seed = now().as_nanos() as u64;
    let mut failover_rows = Vec::new();
    let mut usage_rows = Vec::new();
    for (name, sc) in &settings {
        let n = if sc.advert_int >= 1.0 {
            runs.div_ceil(2).max(3)
        } else {
            runs
        };
        let mut cells = Vec::new();
        let mut usages = Vec::new();
        for hard in [true, false] {
            let bound = if hard {
                sc.master_down(LOW)
            } else {
                sc.skew(LOW)
            };
            for which in [Impl::Mf, Impl::Ka] {
                let mut gaps = Vec::new();
                for r in 0..n {
                    if let Some((gap, usage)) = one_run(which, sc, hard, hard && r == 0, &mut seed)
                    {
                        eprintln!(
                            "{name} {which:?} {} run {r}: {:.3} ms (bound {:.3} ms)",
                            if hard { "hard" } else { "graceful" },
                            ms(gap),
                            ms(bound)
                        );
                        gaps.push(ms(gap) - ms(bound));
                        if let Some(u) = usage {
                            usages.push((which, u));
                        }
                    }
                }
                let max = gaps.iter().cloned().fold(f64::NAN, f64::max);
                let med = median(&mut gaps);
                cells.push((hard, which, ms(bound), med, max, gaps.len()));
            }
        }
        failover_rows.push((name.clone(), n, cells));
        usage_rows.push((name.clone(), usages));
    }

    let mut md = String::new();
    md += "| setting | runs | kind | RFC bound | minimal_failover median (max) over bound | keepalived 2.2.7 median (max) over bound |\n";
    md += "|---|---|---|---|---|---|\n";
    for (name, n, cells) in &failover_rows {
        for hard in [true, false] {
            let get = |w: Impl| cells.iter().find(|c| c.0 == hard && c.1 == w).unwrap();
            let (m, k) = (get(Impl::Mf), get(Impl::Ka));
            md += &format!(
                "| {name} | {n} | {} | {:.3} ms | {:+.3} ms ({:+.3} ms) | {:+.3} ms ({:+.3} ms) |\n",
                if hard { "hard (SIGKILL), Master_Down_Interval" } else { "graceful (SIGTERM), Skew_Time" },
                m.2, m.3, m.4, k.3, k.4
            );
        }
    }
    md += "\n| setting | minimal_failover CPU Master / Backup | keepalived CPU Master / Backup | minimal_failover RSS Master / Backup | keepalived RSS Master / Backup (parent + VRRP child) |\n";
    md += "|---|---|---|---|---|\n";
    for (name, usages) in &usage_rows {
        let get = |w: Impl| usages.iter().find(|(x, _)| *x == w).map(|(_, u)| u);
        let fmt_cpu = |u: Option<&Usage>| {
            u.map(|u| format!("{:.3} % / {:.3} %", u.master_cpu, u.backup_cpu))
                .unwrap_or_else(|| "n/a".into())
        };
        let fmt_rss = |u: Option<&Usage>| {
            u.map(|u| {
                format!(
                    "{:.1} MiB / {:.1} MiB",
                    u.master_rss as f64 / 1024.0,
                    u.backup_rss as f64 / 1024.0
                )
            })
            .unwrap_or_else(|| "n/a".into())
        };
        md += &format!(
            "| {name} | {} | {} | {} | {} |\n",
            fmt_cpu(get(Impl::Mf)),
            fmt_cpu(get(Impl::Ka)),
            fmt_rss(get(Impl::Mf)),
            fmt_rss(get(Impl::Ka))
        );
    }
    println!("\n{md}");
    if let Ok(path) = std::env::var("HAKIT_BENCH_MD") {
        std::fs::write(&path, &md).expect("writing the markdown table");
    }
}
