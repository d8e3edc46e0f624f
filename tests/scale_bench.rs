//! The scale benchmark behind `benches/scale.sh` (ignored by default: it runs for minutes).
//!
//! Two nodes and an observer, N segments: each segment is a bridge of its own (these kernels
//! have no 802.1Q module and no dummy interfaces) in a bridge namespace, with a veth port from
//! each node and from the observer. One VRRPv3 IPv4 instance per segment and, with
//! `HAKIT_SCALE_IPV6`, one IPv6 instance beside it (link-local sources, VIP
//! `fd00:0:0:<segment>::100/64`, its VRID offset by 128 from the IPv4 one so that interface
//! and VRID name an instance in minimal_failover's transition lines), priorities crossed so
//! that node 0 is Master of the even segments and node 1 of the odd ones (both families).
//! minimal_failover (one `[[instance]]` per instance in a generated TOML) against keepalived
//! (one `vrrp_instance` each: `S<segment>` for IPv4, `T<segment>` for IPv6), each pair on a
//! fresh topology, one after the other.
//!
//! Per implementation and N:
//! - start-up: both nodes spawned at once, until every instance of both is in its final state
//!   (from minimal_failover's transition lines, keepalived's "Entering … STATE" log lines);
//! - wrong Masters: instances whose low-priority node entered Master during start-up;
//! - RSS (VmRSS; keepalived: parent + VRRP child) and CPU (schedstat, every thread) per node,
//!   the mean of both nodes, over a steady window;
//! - mass failover: SIGKILL of node 0 (SIGTERM with `HAKIT_SCALE_GRACEFUL`), then per
//!   instance it was Master of, on the wire (a capture on the observer's bridge, whose ports
//!   are isolated from each other; adverts are told apart by the VIP they carry, so the
//!   virtual MACs of `use_vmac` do not matter): the last advert of node 0 (graceful: its
//!   first priority-0 advert) to the first GARP or unsolicited NA for the instance's VIP,
//!   minus the RFC bound (Master_Down_Interval of priority 100: 3 intervals + Skew_Time;
//!   graceful: Skew_Time = 156/256 of an interval): median and max;
//! - the Masters that keep their segments (node 1's own, priority 150) during that mass
//!   takeover: the longest gap between two of an instance's adverts, in advert intervals;
//! - lines of each daemon's log (both nodes, start-up to stop) that name ENOBUFS, an
//!   overrun, or an error (case-insensitive; the first few are printed).
//!
//! Environment: `HAKIT_SCALE_NS` (segment counts, default "64 256 512"), `HAKIT_SCALE_ONLY`
//! (`mf` or `ka`), `HAKIT_SCALE_BIN` (another minimal_failover binary, e.g. an older
//! build to compare), `HAKIT_SCALE_CPU_WINDOW` (seconds, default 30), `HAKIT_SCALE_MD` (also
//! write the markdown table there); the variant: `HAKIT_SCALE_IPV6=1` (an IPv6 instance per
//! segment too), `HAKIT_SCALE_VMAC=1` (`use_vmac` on every instance, macvlans `v<segment>`
//! and `w<segment>`), `HAKIT_SCALE_ADVERT_MS` (advert interval, default 1000),
//! `HAKIT_SCALE_GRACEFUL=1` (SIGTERM instead of SIGKILL).
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::pcap::{Capture, Frame, Kind};
use common::process::{signal, wait_until_every, Daemon, TempDir};
use common::topology::{fmt_mac, run, Netns};
use common::usage::{cpu_ns, rss_kib};

const HIGH: u8 = 150;
const LOW: u8 = 100;
const MAC: [[u8; 6]; 2] = [[0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]];
const OBSERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

/// What is measured: the families, `use_vmac`, the advert interval, how node 0 stops.
#[derive(Debug, Clone, Copy)]
struct Variant {
    ipv6: bool,
    vmac: bool,
    advert: Duration,
    graceful: bool,
}

impl Variant {
    fn from_env() -> Variant {
        let flag = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "0");
        let ms = std::env::var("HAKIT_SCALE_ADVERT_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000u64);
        Variant {
            ipv6: flag("HAKIT_SCALE_IPV6"),
            vmac: flag("HAKIT_SCALE_VMAC"),
            advert: Duration::from_millis(ms),
            graceful: flag("HAKIT_SCALE_GRACEFUL"),
        }
    }

    /// The families measured: IPv4, and IPv6 when asked for.
    fn families(self) -> &'static [Fam] {
        if self.ipv6 {
            &[Fam::V4, Fam::V6]
        } else {
            &[Fam::V4]
        }
    }

    /// Instances per node at `n` segments.
    fn instances(self, n: usize) -> usize {
        n * self.families().len()
    }

    /// Skew_Time of `prio` at this interval (VRRPv3: (256 - priority) / 256 of it).
    fn skew(self, prio: u8) -> Duration {
        self.advert * (256 - u32::from(prio)) / 256
    }

    /// What a takeover is measured against: Master_Down_Interval of priority 100, or only
    /// its Skew_Time after a priority-0 advert.
    fn bound(self) -> Duration {
        if self.graceful {
            self.skew(LOW)
        } else {
            self.advert * 3 + self.skew(LOW)
        }
    }

    fn label(self) -> String {
        let mut s = format!(
            "{}, {} s adverts",
            if self.ipv6 { "IPv4 + IPv6" } else { "IPv4" },
            self.advert.as_secs_f64()
        );
        if self.vmac {
            s += ", use_vmac";
        }
        s += if self.graceful {
            ", SIGTERM"
        } else {
            ", SIGKILL"
        };
        s
    }
}

/// An address family of the instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

/// One instance of a node: its segment and family. Its index is `seg` for IPv4 and
/// `n + seg` for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Inst {
    seg: usize,
    fam: Fam,
}

impl Inst {
    fn index(self, n: usize) -> usize {
        match self.fam {
            Fam::V4 => self.seg,
            Fam::V6 => n + self.seg,
        }
    }

    fn all(v: Variant, n: usize) -> impl Iterator<Item = Inst> {
        v.families()
            .iter()
            .flat_map(move |&fam| (0..n).map(move |seg| Inst { seg, fam }))
    }

    fn vrid(self) -> u8 {
        match self.fam {
            Fam::V4 => (self.seg % 255) as u8 + 1,
            // Another VRID than the segment's IPv4 instance (a VRID space is per family, but
            // minimal_failover's transition lines name an instance by interface and VRID).
            Fam::V6 => ((self.seg + 128) % 255) as u8 + 1,
        }
    }

    fn vip(self) -> IpAddr {
        match self.fam {
            Fam::V4 => {
                let (a, b) = segment_net(self.seg);
                IpAddr::V4(Ipv4Addr::new(10, a, b, 100))
            }
            Fam::V6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, self.seg as u16, 0, 0, 0, 0x100)),
        }
    }

    fn vip_prefix(self) -> String {
        match self.fam {
            Fam::V4 => format!("{}/24", self.vip()),
            Fam::V6 => format!("{}/64", self.vip()),
        }
    }

    /// keepalived's instance name (and the configuration's).
    fn name(self) -> String {
        match self.fam {
            Fam::V4 => format!("S{}", self.seg),
            Fam::V6 => format!("T{}", self.seg),
        }
    }

    /// The macvlan's name under `use_vmac`.
    fn vmac(self) -> String {
        match self.fam {
            Fam::V4 => format!("v{}", self.seg),
            Fam::V6 => format!("w{}", self.seg),
        }
    }
}

/// Segment `i`'s /24: 10.(100 + i / 256).(i % 256).0.
fn segment_net(i: usize) -> (u8, u8) {
    ((100 + i / 256) as u8, (i % 256) as u8)
}

fn node_addr(i: usize, node: usize) -> Ipv4Addr {
    let (a, b) = segment_net(i);
    Ipv4Addr::new(10, a, b, node as u8 + 1)
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
    fn new(n: usize, v: Variant, dir: &Path) -> Segments {
        let prefix = format!("hks{}n{n}", std::process::id());
        let bridges = Netns::new(format!("{prefix}br"));
        let observer = Netns::new(format!("{prefix}obs"));
        let nodes = vec![
            Netns::new(format!("{prefix}a")),
            Netns::new(format!("{prefix}b")),
        ];
        // Room for N instances: multicast memberships, neighbours. IPv6 only on the nodes
        // and only for the IPv6 variant (no MLD or router solicitations on 3 N links
        // otherwise), without router solicitations or RAs.
        for (k, ns) in nodes.iter().chain([&observer, &bridges]).enumerate() {
            let v6 = if v.ipv6 && k < 2 { "0" } else { "1" };
            for kv in [
                "net.ipv4.igmp_max_memberships=4096".to_string(),
                "net.ipv4.neigh.default.gc_thresh1=8192".into(),
                "net.ipv4.neigh.default.gc_thresh2=16384".into(),
                "net.ipv4.neigh.default.gc_thresh3=32768".into(),
                "net.ipv6.neigh.default.gc_thresh1=8192".into(),
                "net.ipv6.neigh.default.gc_thresh2=16384".into(),
                "net.ipv6.neigh.default.gc_thresh3=32768".into(),
                "net.ipv6.conf.default.router_solicitations=0".into(),
                "net.ipv6.conf.default.accept_ra=0".into(),
                "net.core.optmem_max=1048576".into(),
                format!("net.ipv6.conf.default.disable_ipv6={v6}"),
                format!("net.ipv6.conf.all.disable_ipv6={v6}"),
            ] {
                let _ = ns.exec("sysctl", &["-qw", &kv]);
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

/// The advert interval in the configurations' words (seconds, fractional for VRRPv3).
fn advert_secs(v: Variant) -> String {
    format!("{:?}", v.advert.as_secs_f64())
}

/// minimal_failover's TOML for `node`: one instance per segment and family.
fn mf_config(n: usize, v: Variant, node: usize, lock_dir: &Path) -> String {
    let mut s = format!("lock_dir = {:?}\n", lock_dir.display().to_string());
    for inst in Inst::all(v, n) {
        let i = inst.seg;
        s += &format!(
            "\n[[instance]]\nname = \"{}\"\niface = \"s{i}\"\nvrid = {}\npriority = {}\n\
             vips = [\"{}\"]\nvrrp_version = 3\nadvert_int = {}\n",
            inst.name(),
            inst.vrid(),
            priority(i, node),
            inst.vip_prefix(),
            advert_secs(v),
        );
        if v.vmac {
            s += &format!("use_vmac = \"{}\"\n", inst.vmac());
        }
    }
    s
}

/// keepalived's configuration for `node`: one `vrrp_instance` per segment and family.
fn ka_config(n: usize, v: Variant, node: usize) -> String {
    let mut s = format!("global_defs {{\n  router_id scale{node}\n}}\n");
    for inst in Inst::all(v, n) {
        let i = inst.seg;
        // Under use_vmac the VIP goes on the instance's macvlan (no `dev`).
        let (vmac, dev) = if v.vmac {
            (format!("  use_vmac {}\n", inst.vmac()), String::new())
        } else {
            (String::new(), format!(" dev s{i}"))
        };
        s += &format!(
            "vrrp_instance {} {{\n  state BACKUP\n  interface s{i}\n  virtual_router_id {}\n  \
             priority {}\n  advert_int {}\n  version 3\n{vmac}  virtual_ipaddress {{\n    {}{dev}\n  }}\n}}\n",
            inst.name(),
            inst.vrid(),
            priority(i, node),
            advert_secs(v),
            inst.vip_prefix(),
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

/// The instance a keepalived log line is about: "(S12)" or "(T12)".
fn ka_instance(line: &str) -> Option<(Inst, &str)> {
    line.match_indices('(').find_map(|(at, _)| {
        let rest = &line[at + 1..];
        let fam = match rest.as_bytes().first()? {
            b'S' => Fam::V4,
            b'T' => Fam::V6,
            _ => return None,
        };
        let close = rest.find(')')?;
        let seg = rest[1..close].parse().ok()?;
        Some((Inst { seg, fam }, &rest[close..]))
    })
}

/// One node's daemon.
struct Node {
    daemon: Daemon,
    tail: Option<LogTail>,
    vrrp_pidfile: Option<PathBuf>,
    n: usize,
    variant: Variant,
}

impl Node {
    fn spawn(kind: Kind2, sg: &Segments, v: Variant, node: usize, dir: &Path) -> Node {
        let ns = &sg.nodes[node].name;
        let (daemon, tail, vrrp_pidfile) = match kind {
            Kind2::Mf => {
                let locks = dir.join(format!("locks{node}"));
                std::fs::create_dir_all(&locks).unwrap();
                let conf = dir.join(format!("mf{node}.toml"));
                std::fs::write(&conf, mf_config(sg.n, v, node, &locks)).unwrap();
                let args = vec!["--config".to_string(), conf.display().to_string()];
                let daemon = Daemon::spawn(
                    &format!("mf{node}"),
                    ns,
                    &std::env::var_os("HAKIT_SCALE_BIN")
                        .map_or_else(common::process::example_binary, PathBuf::from),
                    &args,
                    &dir.join(format!("mf{node}.log")),
                );
                (daemon, None, None)
            }
            Kind2::Ka => {
                let name = format!("ka{node}");
                let conf = dir.join(format!("{name}.conf"));
                std::fs::write(&conf, ka_config(sg.n, v, node)).unwrap();
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
                (daemon, Some(LogTail::start(log)), Some(vrrp_pid))
            }
        };
        Node {
            daemon,
            tail,
            vrrp_pidfile,
            n: sg.n,
            variant: v,
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

    /// The instance of a minimal_failover transition line: the segment from the interface
    /// (`s12`, or a macvlan `v12`/`w12`), the family from the VRID.
    fn mf_instance(&self, iface: &str, vrid: u8) -> Option<Inst> {
        let seg: usize = iface.get(1..)?.parse().ok()?;
        self.variant
            .families()
            .iter()
            .map(|&fam| Inst { seg, fam })
            .find(|i| i.vrid() == vrid)
    }

    /// Every transition so far: (seen at, instance index, new state "Master"/"Backup"/"Fault").
    fn transitions(&self) -> Vec<(Instant, usize, String)> {
        let n = self.n;
        match &self.tail {
            None => self
                .daemon
                .transitions()
                .into_iter()
                .filter_map(|(t, tr)| {
                    let inst = self.mf_instance(&tr.iface, tr.vrid)?;
                    Some((t, inst.index(n), tr.to))
                })
                .collect(),
            Some(tail) => tail
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter_map(|(t, l)| {
                    let (inst, after) = ka_instance(l)?;
                    let st = after.split("Entering ").nth(1)?.split_whitespace().next()?;
                    let st = match st {
                        "MASTER" => "Master",
                        "BACKUP" => "Backup",
                        "FAULT" => "Fault",
                        _ => return None,
                    };
                    Some((*t, inst.index(n), st.to_string()))
                })
                .collect(),
        }
    }

    /// The current state of each instance (by index).
    fn states(&self) -> Vec<Option<String>> {
        let mut s = vec![None; self.variant.instances(self.n)];
        for (_, idx, st) in self.transitions() {
            if idx < s.len() {
                s[idx] = Some(st);
            }
        }
        s
    }

    /// Hard kill: keepalived's parent frozen first (no respawn, no clean-up).
    fn kill_hard(&mut self) {
        // pid 0 once killed: a signal to it would go to our whole process group.
        if self.tail.is_some() && self.daemon.pid() != 0 && !exited(self.daemon.pid()) {
            signal(self.daemon.pid(), libc::SIGSTOP);
            if let Some(c) = self.vrrp_pid().filter(|&c| !exited(c)) {
                signal(c, libc::SIGKILL);
            }
        }
        self.daemon.kill();
    }

    /// Lines of the log naming ENOBUFS, an overrun, an error: (ENOBUFS, overrun, error).
    fn log_problems(&self) -> (usize, usize, usize) {
        let text = self.daemon.log_text();
        let mut c = (0, 0, 0);
        let mut shown = 0;
        for l in text.lines() {
            let low = l.to_ascii_lowercase();
            let hits = (
                low.contains("enobufs") || low.contains("no buffer space"),
                low.contains("overrun"),
                low.contains("error"),
            );
            c.0 += usize::from(hits.0);
            c.1 += usize::from(hits.1);
            c.2 += usize::from(hits.2);
            if (hits.0 || hits.1 || hits.2) && shown < 5 {
                shown += 1;
                eprintln!("  {}: {l}", self.daemon.name);
            }
        }
        c
    }
}

/// True when process `pid` is gone or a zombie.
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |st| {
        st.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Polls `f` every 20 ms until it is true or `timeout` passes (every 2 ms would re-read
/// thousands of transition lines each time, on the daemons' cores; the times measured are
/// when the lines were read, not when a poll saw them).
fn poll_until(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    wait_until_every(timeout, Duration::from_millis(20), f)
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
    /// The longest gap between two adverts of a Master that kept its segment during the
    /// mass takeover, in advert intervals, and how many of those Masters exceeded 1.1.
    steady_gap_ratio: f64,
    steady_over: usize,
    /// Log lines: ENOBUFS, overrun, error (both nodes).
    log_problems: (usize, usize, usize),
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

/// The instance an advert, GARP or NA on the observer's bridge is about: the VIP it carries.
fn frame_instance(f: &Frame, by_vip: &BTreeMap<IpAddr, Inst>) -> Option<Inst> {
    let ip = match f.kind {
        Kind::Advert { first, .. } => first?,
        Kind::Garp { ip } => IpAddr::V4(ip),
        Kind::Na { target, .. } => IpAddr::V6(target),
        Kind::Other => return None,
    };
    by_vip.get(&ip).copied()
}

/// Per instance node 0 led: from its last advert (graceful: its first priority-0 advert) to
/// the first GARP/NA for the VIP after it, minus the bound, in ms.
fn takeovers(frames: &[Frame], v: Variant, n: usize, stopped_at: Duration) -> Vec<f64> {
    let by_vip: BTreeMap<IpAddr, Inst> = Inst::all(v, n).map(|i| (i.vip(), i)).collect();
    let mut by_inst: BTreeMap<usize, (Option<Duration>, Option<Duration>)> = BTreeMap::new();
    for f in frames {
        let Some(inst) = frame_instance(f, &by_vip) else {
            continue;
        };
        if priority(inst.seg, 0) != HIGH {
            continue;
        }
        let e = by_inst.entry(inst.index(n)).or_default();
        match f.advert_priority() {
            Some(HIGH) if !v.graceful => e.0 = Some(e.0.map_or(f.ts, |t| t.max(f.ts))),
            Some(0) if v.graceful && e.0.is_none() => e.0 = Some(f.ts),
            Some(_) => {}
            None => {}
        }
    }
    // The announcements after the old Master's end (none of node 0's own: it is dead, or
    // it removes its VIPs without announcing them).
    for f in frames {
        let Some(inst) = frame_instance(f, &by_vip) else {
            continue;
        };
        if f.advert_priority().is_some() || f.ts + Duration::from_secs(1) < stopped_at {
            continue;
        }
        if let Some(e) = by_inst.get_mut(&inst.index(n)) {
            if e.1.is_none() && e.0.is_some_and(|last| f.ts > last) {
                e.1 = Some(f.ts);
            }
        }
    }
    let bound_ms = v.bound().as_secs_f64() * 1e3;
    let gaps: Vec<(usize, f64)> = by_inst
        .iter()
        .filter_map(|(&i, &(last, first))| {
            Some((i, (first? - last?).as_secs_f64() * 1e3 - bound_ms))
        })
        .collect();
    // The late ones by name, to look them up in the daemons' logs.
    let late: Vec<String> = gaps
        .iter()
        .filter(|(_, g)| *g > 50.0)
        .map(|(i, g)| {
            format!(
                "{} +{g:.1} ms",
                Inst::all(v, n).nth(*i).map_or(String::new(), |x| x.name())
            )
        })
        .collect();
    if !late.is_empty() {
        eprintln!("takeovers over +50 ms: {}", late.join(", "));
    }
    gaps.into_iter().map(|(_, g)| g).collect()
}

/// The Masters that keep their segments (node 1's, priority 150): per instance, the longest
/// gap between two adverts whose later one is in [from, to] (a gap still open at `end`
/// counts when it is already longer), in advert intervals. Returns (max, count over 1.1).
fn steady_gaps(
    frames: &[Frame],
    v: Variant,
    n: usize,
    from: Duration,
    to: Duration,
    end: Duration,
) -> (f64, usize) {
    let by_vip: BTreeMap<IpAddr, Inst> = Inst::all(v, n).map(|i| (i.vip(), i)).collect();
    let mut ts: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
    for f in frames {
        if f.advert_priority() != Some(HIGH) {
            continue;
        }
        if let Some(inst) = frame_instance(f, &by_vip).filter(|i| priority(i.seg, 1) == HIGH) {
            ts.entry(inst.index(n)).or_default().push(f.ts);
        }
    }
    let iv = v.advert.as_secs_f64();
    let mut worst = 0.0f64;
    let mut over = 0;
    for t in ts.values_mut() {
        t.sort();
        let mut m = t
            .windows(2)
            .filter(|w| w[1] >= from && w[1] <= to)
            .map(|w| (w[1] - w[0]).as_secs_f64() / iv)
            .fold(0.0f64, f64::max);
        if let Some(&last) = t.last() {
            m = m.max((end.saturating_sub(last)).as_secs_f64() / iv);
        }
        if m > 1.1 {
            over += 1;
        }
        worst = worst.max(m);
    }
    (worst, over)
}

fn one(kind: Kind2, n: usize, v: Variant, window: Duration) -> Outcome {
    let dir = TempDir::new(&format!("hakit-scale-{}-{n}", std::process::id()));
    let t_build = Instant::now();
    let sg = Segments::new(n, v, &dir.0);
    eprintln!(
        "[{} N={n}] topology built in {:.1} s ({})",
        kind.name(),
        t_build.elapsed().as_secs_f64(),
        v.label()
    );
    let t0 = Instant::now();
    let mut nodes: Vec<Node> = (0..2)
        .map(|k| Node::spawn(kind, &sg, v, k, &dir.0))
        .collect();
    let all_final = |nodes: &[Node]| {
        (0..2).all(|k| {
            let st = nodes[k].states();
            Inst::all(v, n).all(|i| st[i.index(n)].as_deref() == Some(expected_state(i.seg, k)))
        })
    };
    // A daemon that exited (a failed start-up) ends the wait: its log says why.
    poll_until(Duration::from_secs(180), || {
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
        for (_, idx, st) in nd.transitions() {
            if st == "Master" && priority(idx % n, k) == LOW {
                wrong.insert(idx);
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

    // Mass failover: node 0 dies (or stops); node 1 takes its segments over.
    let pcap = dir.join("observer.pcap");
    let cap = Capture::start_buffered(&sg.observer.name, "obr", &pcap, Some(65536));
    std::thread::sleep(Duration::from_millis(2500).max(v.advert * 3));
    let stopped_at = now();
    if v.graceful {
        nodes[0].daemon.signal(libc::SIGTERM);
    } else {
        nodes[0].kill_hard();
    }
    let taken = poll_until(Duration::from_secs(30), || {
        let st = nodes[1].states();
        Inst::all(v, n).all(|i| st[i.index(n)].as_deref() == Some("Master"))
    });
    let taken_at = now();
    if !taken {
        eprintln!(
            "[{} N={n}] node 1 did not take every instance over in 30 s",
            kind.name()
        );
    }
    if v.graceful {
        let t = Instant::now();
        let gone = poll_until(Duration::from_secs(30), || exited(nodes[0].daemon.pid()));
        eprintln!(
            "[{} N={n}] node 0 {} {:.2} s after the takeover",
            kind.name(),
            if gone { "exited" } else { "still running" },
            t.elapsed().as_secs_f64()
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let cap_end = now();
    let frames = cap.stop();
    let mut gaps = takeovers(&frames, v, n, stopped_at);
    (out.steady_gap_ratio, out.steady_over) =
        steady_gaps(&frames, v, n, stopped_at, taken_at, cap_end);
    out.expected_failovers = Inst::all(v, n)
        .filter(|i| priority(i.seg, 0) == HIGH)
        .count();
    out.failovers = gaps.len();
    out.failover_max_ms = gaps.iter().copied().fold(f64::NAN, f64::max);
    out.failover_median_ms = median(&mut gaps);
    for mut nd in nodes {
        nd.kill_hard();
        let (a, b, c) = nd.log_problems();
        out.log_problems.0 += a;
        out.log_problems.1 += b;
        out.log_problems.2 += c;
    }
    eprintln!("[{} N={n}] {out:?}", kind.name());
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
    let v = Variant::from_env();
    let kinds: Vec<Kind2> = [Kind2::Mf, Kind2::Ka]
        .into_iter()
        .filter(|k| {
            only.is_empty()
                || (only == "mf" && *k == Kind2::Mf)
                || (only == "ka" && *k == Kind2::Ka)
        })
        .collect();
    let over = if v.graceful {
        "over Skew_Time"
    } else {
        "over the bound"
    };
    let mut md = format!(
        "{}; bound {:.1} ms\n\n| N segments | instances per node | implementation | start-up | wrong Masters at start-up | RSS per node | steady CPU per node | mass failover {over}, median / max (taken over) | kept Masters' longest advert gap (over 1.1) | log lines ENOBUFS / overrun / error |\n|---|---|---|---|---|---|---|---|---|---|\n",
        v.label(),
        v.bound().as_secs_f64() * 1e3
    );
    for &n in &ns {
        for &k in &kinds {
            let o = one(k, n, v, window);
            md += &format!(
                "| {n} | {} | {} | {} | {} | {:.1} MiB | {:.2} % | {:.1} / {:.1} ms ({}/{}) | {:.2} intervals ({}) | {} / {} / {} |\n",
                v.instances(n),
                k.name(),
                fmt_opt(o.startup_s, "s"),
                o.wrong_masters,
                o.rss_mib,
                o.cpu_pct,
                o.failover_median_ms,
                o.failover_max_ms,
                o.failovers,
                o.expected_failovers,
                o.steady_gap_ratio,
                o.steady_over,
                o.log_problems.0,
                o.log_problems.1,
                o.log_problems.2,
            );
            println!("{md}");
        }
    }
    println!("{md}");
    if let Ok(p) = std::env::var("HAKIT_SCALE_MD") {
        std::fs::write(p, &md).expect("writing the table");
    }
}
