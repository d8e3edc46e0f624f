//! One hostile-traffic case, run the same way against either implementation: a pair
//! (priorities 200 and 100, VRRPv3, 0.1 s adverts) on a bridge, a flood from the observer
//! namespace, and what it did, read on the wire (an observer capture) and in the logs.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::cluster::{Fam, Scenario};
use super::flood::{Flood, Payload};
use super::pcap::{Capture, Kind};
use super::peer::{Peer, PeerKind};
use super::process::{wait_until, TempDir};
use super::topology::{Topology, VIP4};

/// The flooder's address on the bridge.
pub const FLOODER: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 250);

/// What one flood did to one pair.
#[derive(Debug, Clone)]
pub struct FloodFigures {
    /// Which implementation.
    pub kind: PeerKind,
    /// Ours with its eBPF wake filter (`false`: started without `CAP_BPF` and
    /// `CAP_SYS_ADMIN`, so the kernel refuses to load it and the classic filters serve);
    /// always `true` for keepalived, which has none.
    pub ebpf: bool,
    /// eBPF programs the Backup held during the flood (what `ebpf` asked for, checked).
    pub backup_bpf_programs: usize,
    /// Where frames were dropped during the flood, read around it (see [`Drops`]).
    pub drops: Drops,
    /// What was sent.
    pub payload: Payload,
    /// Packets per second asked for (0: as fast as possible).
    pub rate: u32,
    /// Datagrams sent.
    pub sent: u64,
    /// How long.
    pub duration: Duration,
    /// Frames the Master sent meanwhile (adverts, GARPs).
    pub master_frames: usize,
    /// Frames the Backup sent meanwhile.
    pub backup_frames: usize,
    /// Log lines the Master wrote meanwhile.
    pub master_log_lines: usize,
    /// Log lines the Backup wrote meanwhile.
    pub backup_log_lines: usize,
    /// The longest gap between two of the Master's adverts.
    pub max_advert_gap: Duration,
    /// Whether the Backup became Master meanwhile.
    pub takeover: bool,
    /// The Master's RSS before and after, KiB.
    pub rss_kib: (u64, u64),
}

fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .sum()
}

/// Frames dropped on the way to the Backup during a flood: by the kernel's per-CPU backlog
/// (`/proc/net/softnet_stat`, the whole box: a veth hands each frame to it), on the Backup's
/// `eth0` (`rx_dropped`), on the bridge port towards it (`tx_dropped`), and by its sockets'
/// full receive buffers (the drops column of `/proc/net/raw` and `raw6`, every raw socket of
/// its namespace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// softnet backlog drops, all CPUs.
    pub backlog: u64,
    /// The Backup's eth0 receive drops.
    pub backup_rx: u64,
    /// The bridge port towards the Backup, transmit drops.
    pub bridge_tx: u64,
    /// The Backup's raw sockets, receive-buffer drops.
    pub backup_sockets: u64,
}

impl Drops {
    fn read(topo: &Topology) -> Drops {
        let backlog = std::fs::read_to_string("/proc/net/softnet_stat")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter_map(|h| u64::from_str_radix(h, 16).ok())
            .sum();
        let link_stat = |ns: &super::topology::Netns, dev: &str, stat: &str| -> u64 {
            ns.exec("cat", &[&format!("/sys/class/net/{dev}/statistics/{stat}")])
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        };
        // The last column of /proc/net/raw and raw6: each raw socket's drops (full buffer).
        let backup_sockets = ["/proc/net/raw", "/proc/net/raw6"]
            .iter()
            .map(|f| topo.nodes[1].ns.exec("cat", &[f]).unwrap_or_default())
            .flat_map(|t| {
                t.lines()
                    .skip(1)
                    .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                    .collect::<Vec<_>>()
            })
            .sum();
        Drops {
            backlog,
            backup_rx: link_stat(&topo.nodes[1].ns, "eth0", "rx_dropped"),
            bridge_tx: link_stat(&topo.bridge, &topo.nodes[1].bridge_port, "tx_dropped"),
            backup_sockets,
        }
    }

    fn since(self, before: Drops) -> Drops {
        Drops {
            backlog: self.backlog.saturating_sub(before.backlog),
            backup_rx: self.backup_rx.saturating_sub(before.backup_rx),
            bridge_tx: self.bridge_tx.saturating_sub(before.bridge_tx),
            backup_sockets: self.backup_sockets.saturating_sub(before.backup_sockets),
        }
    }
}

/// eBPF programs process `pid` holds open (`anon_inode:bpf-prog` descriptors).
fn bpf_programs(pids: &[u32]) -> usize {
    pids.iter()
        .filter_map(|p| std::fs::read_dir(format!("/proc/{p}/fd")).ok())
        .flat_map(|d| d.flatten())
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().contains("bpf-prog"))
        })
        .count()
}

/// Runs one flood against a fresh pair of `kind` and reads what happened.
pub fn flood_case(kind: PeerKind, payload: Payload, rate: u32, duration: Duration) -> FloodFigures {
    flood_case_with(kind, true, payload, rate, duration)
}

/// minimal_failover node `i` started without `CAP_BPF` and `CAP_SYS_ADMIN` (dropped from the
/// bounding set before it runs): the kernel refuses its eBPF wake filter, as on a host that
/// grants only `CAP_NET_RAW` and `CAP_NET_ADMIN`, and the classic filters serve instead.
fn spawn_without_ebpf(sc: &Scenario, topo: &Topology, dir: &TempDir, i: usize, prio: u8) -> Peer {
    let mut args = vec![
        "--bounding-set=-bpf,-sys_admin".to_string(),
        "--".to_string(),
        super::process::example_binary().display().to_string(),
    ];
    args.extend(sc.args(topo, i, prio, &[]));
    Peer::Mf(super::process::Daemon::spawn(
        &format!("mf{i}"),
        &topo.nodes[i].ns.name,
        std::path::Path::new("/usr/bin/setpriv"),
        &args,
        &dir.join(&format!("mf{i}-noebpf.log")),
    ))
}

/// [`flood_case`], ours optionally without its eBPF wake filter (`ebpf: false`; ignored for
/// keepalived).
pub fn flood_case_with(
    kind: PeerKind,
    ebpf: bool,
    payload: Payload,
    rate: u32,
    duration: Duration,
) -> FloodFigures {
    let ebpf = ebpf || kind == PeerKind::Ka;
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-flood", topo.prefix));
    topo.observer
        .ip(&["addr", "add", &format!("{FLOODER}/24"), "dev", "eth0"])
        .unwrap();
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let start = |i: usize, prio: u8| {
        if ebpf {
            Peer::start(kind, &sc, &topo, &dir, i, prio, 0)
        } else {
            spawn_without_ebpf(&sc, &topo, &dir, i, prio)
        }
    };
    let master = start(0, 200);
    let backup = start(1, 100);
    let settled = wait_until(Duration::from_secs(10), || {
        master.is_master() && !backup.is_master() && topo.holders(VIP4) == vec![0]
    });
    assert!(
        settled,
        "{kind:?} pair never settled:\n{}\n{}",
        master.log(),
        backup.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    let lines = |p: &Peer| p.log().lines().count();
    let (m0, b0) = (lines(&master), lines(&backup));
    let backup_was_master = backup.ever_master();
    let rss_before = rss_kib(&master.pids());
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let backup_bpf_programs = bpf_programs(&backup.pids());
    let drops_before = Drops::read(&topo);
    let flood = Flood::start(
        &topo.observer.name,
        FLOODER,
        sc.vrid,
        VIP4.parse().unwrap(),
        payload,
        rate,
    );
    let started = Instant::now();
    std::thread::sleep(duration);
    let sent = flood.stop();
    let elapsed = started.elapsed();
    let drops = Drops::read(&topo).since(drops_before);
    std::thread::sleep(Duration::from_millis(300));
    let rss_after = rss_kib(&master.pids());
    let takeover = !backup_was_master && backup.ever_master();
    if takeover {
        // Why, in the Backup's own words (the bench's output keeps it).
        let log = backup.log();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!(
            "{kind:?} (eBPF {ebpf}) Backup took over; its log ends:\n{}",
            lines[lines.len().saturating_sub(25)..].join("\n")
        );
    }
    let (m1, b1) = (lines(&master), lines(&backup));
    let frames = cap.stop();
    let window = |ts: Duration| ts >= wall && ts <= wall + elapsed;
    let from = |mac: [u8; 6]| {
        frames
            .iter()
            .filter(|f| f.src_mac == mac && window(f.ts))
            .count()
    };
    let adverts: Vec<Duration> = frames
        .iter()
        .filter(|f| {
            f.src_mac == topo.nodes[0].mac
                && window(f.ts)
                && matches!(f.kind, Kind::Advert { priority: 200, .. })
        })
        .map(|f| f.ts)
        .collect();
    let max_advert_gap = adverts
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(elapsed);
    FloodFigures {
        kind,
        ebpf,
        backup_bpf_programs,
        drops,
        payload,
        rate,
        sent,
        duration: elapsed,
        master_frames: from(topo.nodes[0].mac),
        backup_frames: from(topo.nodes[1].mac),
        master_log_lines: m1.saturating_sub(m0),
        backup_log_lines: b1.saturating_sub(b0),
        max_advert_gap,
        takeover,
        rss_kib: (rss_before, rss_after),
    }
}

impl FloodFigures {
    /// One line for logs and the bench's table.
    pub fn row(&self) -> String {
        let payload = match self.payload {
            Payload::Valid { priority } => format!("valid, priority {priority}"),
            Payload::Junk => "junk (bad checksum)".into(),
        };
        let rate = if self.rate == 0 {
            format!(
                "max ({:.0}/s)",
                self.sent as f64 / self.duration.as_secs_f64()
            )
        } else {
            format!("{}/s", self.rate)
        };
        let daemon = match (self.kind, self.ebpf) {
            (PeerKind::Mf, false) => "Mf, no eBPF".to_string(),
            (kind, _) => format!("{kind:?}"),
        };
        let d = self.drops;
        format!(
            "| {daemon} | {} | {payload} | {rate} | {:.0} s | {} | {} / {} | {:.3} | {} / {} | {:.0} ms | {} | {} / {} / {} / {} | {:.1} → {:.1} MiB |",
            self.backup_bpf_programs,
            self.duration.as_secs_f64(),
            self.sent,
            self.master_frames,
            self.backup_frames,
            (self.master_frames + self.backup_frames) as f64 / self.sent.max(1) as f64,
            self.master_log_lines,
            self.backup_log_lines,
            self.max_advert_gap.as_secs_f64() * 1000.0,
            if self.takeover { "yes" } else { "no" },
            d.backlog,
            d.backup_rx,
            d.bridge_tx,
            d.backup_sockets,
            self.rss_kib.0 as f64 / 1024.0,
            self.rss_kib.1 as f64 / 1024.0,
        )
    }

    /// The table's header.
    pub fn header() -> &'static str {
        "| daemon | Backup's eBPF programs | flood | rate | for | sent | frames out Master / Backup | out per in | log lines Master / Backup | longest Master advert gap | takeover | drops: backlog / Backup eth0 / bridge port / Backup sockets | Master RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    }
}

/// What random loss of the Master's frames did to a pair.
#[derive(Debug, Clone)]
pub struct LossFigures {
    /// Which implementation.
    pub kind: PeerKind,
    /// Percent of the Master's frames dropped on the bridge.
    pub loss: u32,
    /// How long.
    pub duration: Duration,
    /// Times the Backup became Master.
    pub takeovers: usize,
    /// Polls (every 20 ms) where a node said Master without holding the VIP, as in the poll
    /// before (a transition seen mid-way is not counted).
    pub master_without_vip: usize,
    /// Polls where no node held the VIP, as in the poll before.
    pub no_holder: usize,
}

/// `loss` percent of node 0's frames dropped on the bridge (nftables `numgen random`; these
/// kernels have no netem) for `duration`, polling both nodes every 20 ms.
pub fn loss_case(kind: PeerKind, loss: u32, duration: Duration) -> LossFigures {
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-loss", topo.prefix));
    let master = Peer::start(kind, &sc, &topo, &dir, 0, 200, 0);
    let backup = Peer::start(kind, &sc, &topo, &dir, 1, 100, 0);
    let settled = wait_until(Duration::from_secs(10), || {
        master.is_master() && !backup.is_master() && topo.holders(VIP4) == vec![0]
    });
    assert!(settled, "{kind:?} pair never settled");
    let port = &topo.nodes[0].bridge_port;
    let percent = loss.to_string();
    topo.bridge
        .exec_ok("nft", &["add", "table", "bridge", "hakit_loss"]);
    topo.bridge.exec_ok(
        "nft",
        &[
            "add",
            "chain",
            "bridge",
            "hakit_loss",
            "drop_some",
            "{ type filter hook forward priority 0 ; }",
        ],
    );
    topo.bridge.exec_ok(
        "nft",
        &[
            "add",
            "rule",
            "bridge",
            "hakit_loss",
            "drop_some",
            "iifname",
            port,
            "numgen",
            "random",
            "mod",
            "100",
            "<",
            &percent,
            "drop",
        ],
    );
    let entered = |p: &Peer| match p {
        Peer::Mf(d) => d
            .transitions()
            .iter()
            .filter(|(_, t)| t.to == "Master")
            .count(),
        Peer::Ka(k) => k.entered("MASTER"),
    };
    let before = entered(&backup);
    let (mut master_without_vip, mut no_holder) = (0, 0);
    let mut last = (false, false);
    let start = Instant::now();
    while start.elapsed() < duration {
        let holders = topo.holders(VIP4);
        let empty = holders.is_empty();
        let lost = [&master, &backup]
            .into_iter()
            .enumerate()
            .any(|(i, p)| p.is_master() && !holders.contains(&i));
        no_holder += usize::from(empty && last.0);
        master_without_vip += usize::from(lost && last.1);
        last = (empty, lost);
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = topo
        .bridge
        .exec("nft", &["delete", "table", "bridge", "hakit_loss"]);
    LossFigures {
        kind,
        loss,
        duration,
        takeovers: entered(&backup) - before,
        master_without_vip,
        no_holder,
    }
}

impl LossFigures {
    /// One line of the bench's loss table.
    pub fn row(&self) -> String {
        format!(
            "| {:?} | {} % | {:.0} s | {} | {} | {} |",
            self.kind,
            self.loss,
            self.duration.as_secs_f64(),
            self.takeovers,
            self.master_without_vip,
            self.no_holder
        )
    }

    /// The loss table's header.
    pub fn header() -> &'static str {
        "| daemon | loss of the Master's frames | for | takeovers | polls with a Master without the VIP | polls with no VIP holder |\n|---|---|---|---|---|---|"
    }
}
