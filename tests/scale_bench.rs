//! The scale benchmark behind `benches/scale.sh` (ignored by default: it runs for minutes).
//!
//! Two nodes and an observer, N segments: each segment is a bridge of its own (these kernels
//! have no 802.1Q module and no dummy interfaces) in a bridge namespace, with a veth port from
//! each node and from the observer. One VRRPv3 IPv4 instance per segment (1 s adverts), its
//! priorities crossed so that node 0 is Master of the even segments and node 1 of the odd ones.
//! minimal_failover (one `[[instance]]` per segment in a generated TOML) against keepalived
//! (one `vrrp_instance` per segment), each pair on a fresh topology, one after the other.
//!
//! Per implementation and N:
//! - start-up: both nodes spawned at once, until every instance of both is in its final state
//!   (from minimal_failover's transition lines, keepalived's "Entering … STATE" log lines);
//! - wrong Masters: segments whose low-priority node entered Master during start-up;
//! - RSS (VmRSS; keepalived: parent + VRRP child) and CPU (schedstat, every thread) per node,
//!   the mean of both nodes, over a steady window;
//! - mass failover: SIGKILL of node 0, then per segment it was Master of, on the wire (a
//!   capture on the observer's bridge, whose ports are isolated from each other), the last
//!   advert of node 0 to the first GARP of node 1 for the segment's VIP, minus the RFC bound
//!   (Master_Down_Interval of priority 100: 3 s + 156/256 s): median and max.
//!
//! Environment: `HAKIT_SCALE_NS` (segment counts, default "64 256 512"), `HAKIT_SCALE_ONLY`
//! (`mf` or `ka`), `HAKIT_SCALE_BIN` (another minimal_failover binary, e.g. an older
//! build to compare), `HAKIT_SCALE_CPU_WINDOW` (seconds, default 30), `HAKIT_SCALE_MD` (also
//! write the markdown table there).
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::pcap::{Capture, Kind};
use common::process::{signal, wait_until, Daemon, TempDir};
use common::topology::{fmt_mac, run, Netns};
use common::usage::{cpu_ns, rss_kib};

const HIGH: u8 = 150;
const LOW: u8 = 100;
const MAC: [[u8; 6]; 2] = [[0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]];
const OBSERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

/// Segment `i`'s /24: 10.(100 + i / 256).(i % 256).0.
fn segment_net(i: usize) -> (u8, u8) {
    ((100 + i / 256) as u8, (i % 256) as u8)
}

fn node_addr(i: usize, node: usize) -> Ipv4Addr {
    let (a, b) = segment_net(i);
    Ipv4Addr::new(10, a, b, node as u8 + 1)
}

fn vip(i: usize) -> Ipv4Addr {
    let (a, b) = segment_net(i);
    Ipv4Addr::new(10, a, b, 100)
}

fn vrid(i: usize) -> u8 {
    (i % 255) as u8 + 1
}

/// The priority of `node` on segment `i`: node 0 leads the even segments, node 1 the odd.
fn priority(i: usize, node: usize) -> u8 {
    if (i % 2 == 0) == (node == 0) {
        HIGH
    } else {
        LOW
    }
}

/// Runs `ip -n ns -batch` over `lines`.
fn ip_batch(ns: &str, lines: &[String], dir: &Path, tag: &str) {
    let file = dir.join(format!("{ns}.{tag}.batch"));
    std::fs::write(&file, lines.join("\n") + "\n").expect("writing the batch");
    run("ip", &["-n", ns, "-batch", &file.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
}

/// The N-segment topology; dropping it deletes the namespaces (and every link in them).
struct Segments {
    n: usize,
    nodes: Vec<Netns>,
    observer: Netns,
    /// Held for its drop (the bridges go with it).
    _bridges: Netns,
}

impl Segments {
    fn new(n: usize, dir: &Path) -> Segments {
        let prefix = format!("hks{}n{n}", std::process::id());
        let bridges = Netns::new(format!("{prefix}br"));
        let observer = Netns::new(format!("{prefix}obs"));
        let nodes = vec![
            Netns::new(format!("{prefix}a")),
            Netns::new(format!("{prefix}b")),
        ];
        // Room for N instances: multicast memberships, neighbours; IPv6 off (IPv4 instances
        // only: no MLD or router solicitations on 3 N links).
        for ns in nodes.iter().chain([&observer, &bridges]) {
            for kv in [
                "net.ipv4.igmp_max_memberships=4096",
                "net.ipv4.neigh.default.gc_thresh1=8192",
                "net.ipv4.neigh.default.gc_thresh2=16384",
                "net.ipv4.neigh.default.gc_thresh3=32768",
                "net.core.optmem_max=1048576",
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv6.conf.all.disable_ipv6=1",
            ] {
                let _ = ns.exec("sysctl", &["-qw", kv]);
            }
        }
        let br = bridges.name.clone();
        let mut bl = Vec::new();
        for i in 0..n {
            bl.push(format!(
                "link add b{i} type bridge stp_state 0 forward_delay 0 mcast_snooping 0"
            ));
            bl.push(format!("link set b{i} up"));
        }
        ip_batch(&br, &bl, dir, "bridges");
        let ports = ["a", "b", "o"];
        for (k, ns) in nodes.iter().chain([&observer]).enumerate() {
            let mac = if k < 2 { MAC[k] } else { OBSERVER_MAC };
            let mut l = Vec::new();
            for i in 0..n {
                l.push(format!(
                    "link add s{i} address {} type veth peer name p{i}{} netns {br}",
                    fmt_mac(&mac),
                    ports[k]
                ));
                if k < 2 {
                    l.push(format!("addr add {}/24 dev s{i}", node_addr(i, k)));
                }
                l.push(format!("link set s{i} up"));
            }
            ip_batch(&ns.name, &l, dir, "links");
        }
        let mut pl = Vec::new();
        for i in 0..n {
            for p in ports {
                pl.push(format!("link set p{i}{p} master b{i}"));
                pl.push(format!("link set p{i}{p} up"));
            }
        }
        ip_batch(&br, &pl, dir, "ports");
        // The observer's ports on one bridge, isolated from each other (nothing forwarded
        // between segments): a capture on it sees every segment's multicast and broadcast.
        let mut ol = vec![
            "link add obr type bridge stp_state 0 forward_delay 0 mcast_snooping 0".to_string(),
        ];
        for i in 0..n {
            ol.push(format!("link set s{i} master obr"));
            ol.push(format!("link set dev s{i} type bridge_slave isolated on"));
        }
        ol.push("link set obr up".into());
        ip_batch(&observer.name, &ol, dir, "observer");
        Segments {
            n,
            nodes,
            observer,
            _bridges: bridges,
        }
    }
}

/// minimal_failover's TOML for `node`: one instance per segment.
fn mf_config(n: usize, node: usize, lock_dir: &Path) -> String {
    let mut s = format!("lock_dir = {:?}\n", lock_dir.display().to_string());
    for i in 0..n {
        s += &format!(
            "\n[[instance]]\nname = \"S{i}\"\niface = \"s{i}\"\nvrid = {}\npriority = {}\n\
             vips = [\"{}/24\"]\nvrrp_version = 3\nadvert_int = 1.0\n",
            vrid(i),
            priority(i, node),
            vip(i)
        );
    }
    s
}

/// keepalived's configuration for `node`: one `vrrp_instance` per segment.
fn ka_config(n: usize, node: usize) -> String {
    let mut s = format!("global_defs {{\n  router_id scale{node}\n}}\n");
    for i in 0..n {
        s += &format!(
            "vrrp_instance S{i} {{\n  state BACKUP\n  interface s{i}\n  virtual_router_id {}\n  \
             priority {}\n  advert_int 1\n  version 3\n  virtual_ipaddress {{\n    {}/24 dev s{i}\n  }}\n}}\n",
            vrid(i),
            priority(i, node),
            vip(i)
        );
    }
    s
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind2 {
    Mf,
    Ka,
}

impl Kind2 {
    fn name(self) -> &'static str {
        match self {
            Kind2::Mf => "minimal_failover",
            Kind2::Ka => "keepalived 2.2.7",
        }
    }
}

/// The lines of a growing log file with the time each was first seen (keepalived's).
struct LogTail {
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl LogTail {
    fn start(path: PathBuf) -> LogTail {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, halt) = (lines.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut pos = 0u64;
            let mut partial = String::new();
            while !halt.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(mut f) = std::fs::File::open(&path) {
                    if f.seek(SeekFrom::Start(pos)).is_ok() {
                        let mut r = BufReader::new(f);
                        let mut buf = String::new();
                        while let Ok(k) = r.read_line(&mut buf) {
                            if k == 0 {
                                break;
                            }
                            pos += k as u64;
                            if buf.ends_with('\n') {
                                let line = std::mem::take(&mut partial) + buf.trim_end();
                                sink.lock().unwrap().push((Instant::now(), line));
                            } else {
                                partial.push_str(&buf);
                            }
                            buf.clear();
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        LogTail { lines, stop }
    }
}

impl Drop for LogTail {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One node's daemon.
struct Node {
    daemon: Daemon,
    tail: Option<LogTail>,
    vrrp_pidfile: Option<PathBuf>,
}

impl Node {
    fn spawn(kind: Kind2, sg: &Segments, node: usize, dir: &Path) -> Node {
        let ns = &sg.nodes[node].name;
        match kind {
            Kind2::Mf => {
                let locks = dir.join(format!("locks{node}"));
                std::fs::create_dir_all(&locks).unwrap();
                let conf = dir.join(format!("mf{node}.toml"));
                std::fs::write(&conf, mf_config(sg.n, node, &locks)).unwrap();
                let args = vec!["--config".to_string(), conf.display().to_string()];
                let daemon = Daemon::spawn(
                    &format!("mf{node}"),
                    ns,
                    &std::env::var_os("HAKIT_SCALE_BIN")
                        .map_or_else(common::process::example_binary, PathBuf::from),
                    &args,
                    &dir.join(format!("mf{node}.log")),
                );
                Node {
                    daemon,
                    tail: None,
                    vrrp_pidfile: None,
                }
            }
            Kind2::Ka => {
                let name = format!("ka{node}");
                let conf = dir.join(format!("{name}.conf"));
                std::fs::write(&conf, ka_config(sg.n, node)).unwrap();
                let vrrp_pid = dir.join(format!("{name}.vrrp.pid"));
                let log = dir.join(format!("{name}.log"));
                let p = |s: &str| dir.join(format!("{name}.{s}")).display().to_string();
                let args: Vec<String> = vec![
                    "-n".into(),
                    "-l".into(),
                    "-D".into(),
                    "-P".into(),
                    "-f".into(),
                    conf.display().to_string(),
                    "-p".into(),
                    p("pid"),
                    "-r".into(),
                    vrrp_pid.display().to_string(),
                    "-c".into(),
                    p("chk.pid"),
                    "-b".into(),
                    p("bfd.pid"),
                ];
                let daemon =
                    Daemon::spawn(&name, ns, Path::new("/usr/sbin/keepalived"), &args, &log);
                Node {
                    daemon,
                    tail: Some(LogTail::start(log)),
                    vrrp_pidfile: Some(vrrp_pid),
                }
            }
        }
    }

    fn vrrp_pid(&self) -> Option<u32> {
        let f = self.vrrp_pidfile.as_ref()?;
        std::fs::read_to_string(f).ok()?.trim().parse().ok()
    }

    fn pids(&self) -> Vec<u32> {
        std::iter::once(self.daemon.pid())
            .chain(self.vrrp_pid())
            .collect()
    }

    /// Every transition so far: (seen at, segment, new state "Master"/"Backup"/"Fault").
    fn transitions(&self) -> Vec<(Instant, usize, String)> {
        match &self.tail {
            None => self
                .daemon
                .transitions()
                .into_iter()
                .filter_map(|(t, tr)| {
                    let seg = tr.iface.strip_prefix('s')?.parse().ok()?;
                    Some((t, seg, tr.to))
                })
                .collect(),
            Some(tail) => tail
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter_map(|(t, l)| {
                    let at = l.find("(S")?;
                    let rest = &l[at + 2..];
                    let close = rest.find(')')?;
                    let seg = rest[..close].parse().ok()?;
                    let after = &rest[close..];
                    let st = after.split("Entering ").nth(1)?.split_whitespace().next()?;
                    let st = match st {
                        "MASTER" => "Master",
                        "BACKUP" => "Backup",
                        "FAULT" => "Fault",
                        _ => return None,
                    };
                    Some((*t, seg, st.to_string()))
                })
                .collect(),
        }
    }

    /// The current state of each segment's instance.
    fn states(&self, n: usize) -> Vec<Option<String>> {
        let mut s = vec![None; n];
        for (_, seg, st) in self.transitions() {
            if seg < n {
                s[seg] = Some(st);
            }
        }
        s
    }

    /// Hard kill: keepalived's parent frozen first (no respawn, no clean-up).
    fn kill_hard(&mut self) {
        // pid 0 once killed: a signal to it would go to our whole process group.
        if self.tail.is_some() && self.daemon.pid() != 0 {
            signal(self.daemon.pid(), libc::SIGSTOP);
            if let Some(c) = self.vrrp_pid() {
                signal(c, libc::SIGKILL);
            }
        }
        self.daemon.kill();
    }
}

/// True when process `pid` is gone or a zombie.
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |st| {
        st.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// What one implementation did at one N.
#[derive(Debug, Default, Clone)]
struct Outcome {
    startup_s: Option<f64>,
    wrong_masters: usize,
    rss_mib: f64,
    cpu_pct: f64,
    failover_median_ms: f64,
    failover_max_ms: f64,
    failovers: usize,
    expected_failovers: usize,
}

fn expected_state(seg: usize, node: usize) -> &'static str {
    if priority(seg, node) == HIGH {
        "Master"
    } else {
        "Backup"
    }
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn one(kind: Kind2, n: usize, window: Duration) -> Outcome {
    let dir = TempDir::new(&format!("hakit-scale-{}-{n}", std::process::id()));
    let t_build = Instant::now();
    let sg = Segments::new(n, &dir.0);
    eprintln!(
        "[{} N={n}] topology built in {:.1} s",
        kind.name(),
        t_build.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let mut nodes: Vec<Node> = (0..2).map(|k| Node::spawn(kind, &sg, k, &dir.0)).collect();
    let all_final = |nodes: &[Node]| {
        (0..2).all(|k| {
            let st = nodes[k].states(n);
            st.iter()
                .enumerate()
                .all(|(i, s)| s.as_deref() == Some(expected_state(i, k)))
        })
    };
    // A daemon that exited (a failed start-up) ends the wait: its log says why.
    wait_until(Duration::from_secs(180), || {
        all_final(&nodes) || nodes.iter().any(|nd| exited(nd.daemon.pid()))
    });
    let finished = all_final(&nodes);
    for nd in &nodes {
        if exited(nd.daemon.pid()) {
            eprintln!(
                "[{} N={n}] {} exited; its log:\n{}",
                kind.name(),
                nd.daemon.name,
                nd.daemon.log_text()
            );
        }
    }
    let mut out = Outcome::default();
    if finished {
        // The last transition of any instance: when the final state was reached.
        let last = nodes
            .iter()
            .flat_map(|nd| nd.transitions().into_iter().map(|(t, _, _)| t))
            .max()
            .unwrap_or(t0);
        out.startup_s = Some((last - t0).as_secs_f64());
    } else {
        eprintln!(
            "[{} N={n}] not every instance reached its final state in 180 s",
            kind.name()
        );
    }
    for (k, nd) in nodes.iter().enumerate() {
        let mut wrong = std::collections::BTreeSet::new();
        for (_, seg, st) in nd.transitions() {
            if st == "Master" && priority(seg, k) == LOW {
                wrong.insert(seg);
            }
        }
        out.wrong_masters += wrong.len();
    }
    std::thread::sleep(Duration::from_secs(3));
    let pids: Vec<Vec<u32>> = nodes.iter().map(Node::pids).collect();
    let rss: Vec<u64> = pids
        .iter()
        .map(|p| p.iter().map(|&x| rss_kib(x)).sum())
        .collect();
    let cpu0: Vec<u64> = pids
        .iter()
        .map(|p| p.iter().map(|&x| cpu_ns(x)).sum())
        .collect();
    let w0 = Instant::now();
    std::thread::sleep(window);
    let cpu1: Vec<u64> = pids
        .iter()
        .map(|p| p.iter().map(|&x| cpu_ns(x)).sum())
        .collect();
    let wall = w0.elapsed().as_nanos() as f64;
    out.rss_mib = rss.iter().sum::<u64>() as f64 / 2.0 / 1024.0;
    out.cpu_pct = (0..2)
        .map(|k| (cpu1[k] - cpu0[k]) as f64 / wall * 100.0)
        .sum::<f64>()
        / 2.0;

    // Mass failover: node 0 dies; node 1 takes its segments over.
    let pcap = dir.join("observer.pcap");
    let cap = Capture::start(&sg.observer.name, "obr", &pcap);
    std::thread::sleep(Duration::from_millis(2500));
    let killed_at = now();
    nodes[0].kill_hard();
    let taken = wait_until(Duration::from_secs(30), || {
        nodes[1]
            .states(n)
            .iter()
            .all(|s| s.as_deref() == Some("Master"))
    });
    if !taken {
        eprintln!(
            "[{} N={n}] node 1 did not take every segment over in 30 s",
            kind.name()
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let frames = cap.stop();
    // Master_Down_Interval of the taking-over priority: 3 intervals + Skew_Time.
    let bound = Duration::from_secs(3) + Duration::from_secs(1) * (256 - u32::from(LOW)) / 256;
    let mut gaps = Vec::new();
    let mut by_seg: BTreeMap<usize, (Option<Duration>, Option<Duration>)> = BTreeMap::new();
    let seg_of_src: BTreeMap<IpAddr, usize> =
        (0..n).map(|i| (IpAddr::V4(node_addr(i, 0)), i)).collect();
    let seg_of_vip: BTreeMap<Ipv4Addr, usize> = (0..n).map(|i| (vip(i), i)).collect();
    for f in &frames {
        match &f.kind {
            Kind::Advert { src, priority, .. } if f.src_mac == MAC[0] && *priority > 0 => {
                if let Some(&seg) = seg_of_src.get(src) {
                    let e = by_seg.entry(seg).or_default();
                    e.0 = Some(e.0.map_or(f.ts, |t: Duration| t.max(f.ts)));
                }
            }
            Kind::Garp { ip }
                if f.src_mac == MAC[1] && f.ts + Duration::from_secs(1) >= killed_at =>
            {
                if let Some(&seg) = seg_of_vip.get(ip) {
                    let e = by_seg.entry(seg).or_default();
                    if e.1.is_none() {
                        e.1 = Some(f.ts);
                    }
                }
            }
            _ => {}
        }
    }
    for i in (0..n).step_by(2) {
        if let Some((Some(last), Some(first))) = by_seg.get(&i) {
            if first > last {
                gaps.push((*first - *last).as_secs_f64() * 1e3 - bound.as_secs_f64() * 1e3);
            }
        }
    }
    out.expected_failovers = n.div_ceil(2);
    out.failovers = gaps.len();
    out.failover_max_ms = gaps.iter().copied().fold(f64::NAN, f64::max);
    out.failover_median_ms = median(&mut gaps);
    eprintln!("[{} N={n}] {out:?}", kind.name());
    for mut nd in nodes {
        nd.kill_hard();
    }
    drop(sg);
    out
}

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("not reached".into(), |x| format!("{x:.2} {unit}"))
}

#[test]
#[ignore = "benchmark: minutes; run benches/scale.sh"]
fn scale_bench() {
    if !common::is_root() {
        eprintln!("skipping: needs root");
        return;
    }
    let ns: Vec<usize> = std::env::var("HAKIT_SCALE_NS")
        .unwrap_or_else(|_| "64 256 512".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    let only = std::env::var("HAKIT_SCALE_ONLY").unwrap_or_default();
    let window = Duration::from_secs(
        std::env::var("HAKIT_SCALE_CPU_WINDOW")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let kinds: Vec<Kind2> = [Kind2::Mf, Kind2::Ka]
        .into_iter()
        .filter(|k| {
            only.is_empty()
                || (only == "mf" && *k == Kind2::Mf)
                || (only == "ka" && *k == Kind2::Ka)
        })
        .collect();
    let mut md = String::from(
        "| N segments | implementation | start-up | wrong Masters at start-up | RSS per node | steady CPU per node | mass failover over the bound, median / max (taken over) |\n|---|---|---|---|---|---|---|\n",
    );
    for &n in &ns {
        for &k in &kinds {
            let o = one(k, n, window);
            md += &format!(
                "| {n} | {} | {} | {} | {:.1} MiB | {:.2} % | {:.1} / {:.1} ms ({}/{}) |\n",
                k.name(),
                fmt_opt(o.startup_s, "s"),
                o.wrong_masters,
                o.rss_mib,
                o.cpu_pct,
                o.failover_median_ms,
                o.failover_max_ms,
                o.failovers,
                o.expected_failovers
            );
            println!("{md}");
        }
    }
    println!("{md}");
    if let Ok(p) = std::env::var("HAKIT_SCALE_MD") {
        std::fs::write(p, &md).expect("writing the table");
    }
}
