//! Packet capture in the observer namespace (tcpdump -w, nanosecond timestamps) and a small
//! parser of the pcap file for what failover is judged on: VRRP adverts, gratuitous ARPs and
//! unsolicited neighbour advertisements, each with its kernel timestamp.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a captured frame is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A VRRP advertisement (IPv4 protocol 112 or IPv6 next header 112).
    Advert {
        /// 2 or 3.
        version: u8,
        /// Virtual router id.
        vrid: u8,
        /// Sender priority.
        priority: u8,
        /// Count of addresses carried.
        count: u8,
        /// Wire interval field (seconds for v2, centiseconds for v3).
        interval: u16,
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// TTL / hop limit.
        ttl: u8,
        /// The first address carried (of the packet's family), when there is one.
        first: Option<IpAddr>,
    },
    /// An ARP whose sender and target protocol addresses are equal.
    Garp {
        /// The announced address.
        ip: Ipv4Addr,
    },
    /// An ICMPv6 neighbour advertisement.
    Na {
        /// The target address.
        target: Ipv6Addr,
        /// Override flag.
        override_flag: bool,
    },
    /// Anything else.
    Other,
}

/// One captured frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Capture timestamp (since the Unix epoch).
    pub ts: Duration,
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// What it is.
    pub kind: Kind,
}

impl Frame {
    /// True for a GARP of `ip` or an NA for `ip`.
    pub fn announces(&self, ip: IpAddr) -> bool {
        match (&self.kind, ip) {
            (Kind::Garp { ip: a }, IpAddr::V4(b)) => *a == b,
            (Kind::Na { target, .. }, IpAddr::V6(b)) => *target == b,
            _ => false,
        }
    }

    /// The advert priority when this is an advert.
    pub fn advert_priority(&self) -> Option<u8> {
        match self.kind {
            Kind::Advert { priority, .. } => Some(priority),
            _ => None,
        }
    }
}

/// Parses a whole pcap file (micro- or nanosecond, either byte order, Ethernet link type).
pub fn parse_pcap(data: &[u8]) -> Result<Vec<Frame>, String> {
    if data.len() < 24 {
        return Err("pcap: short global header".into());
    }
    let magic_le = u32::from_le_bytes(data[0..4].try_into().unwrap());
    let magic_be = u32::from_be_bytes(data[0..4].try_into().unwrap());
    let (le, nanos) = match (magic_le, magic_be) {
        (0xa1b2c3d4, _) => (true, false),
        (0xa1b23c4d, _) => (true, true),
        (_, 0xa1b2c3d4) => (false, false),
        (_, 0xa1b23c4d) => (false, true),
        _ => return Err(format!("pcap: bad magic {magic_le:#x}")),
    };
    let rd32 = |b: &[u8]| {
        let a: [u8; 4] = b[..4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let linktype = rd32(&data[20..24]);
    if linktype != 1 {
        return Err(format!("pcap: link type {linktype}, want Ethernet"));
    }
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let sec = rd32(&data[off..]);
        let frac = rd32(&data[off + 4..]);
        let incl = rd32(&data[off + 8..]) as usize;
        off += 16;
        if off + incl > data.len() {
            break; // truncated last record (capture still being written)
        }
        let pkt = &data[off..off + incl];
        off += incl;
        let ts = Duration::new(
            u64::from(sec),
            if nanos {
                frac
            } else {
                frac.saturating_mul(1000)
            },
        );
        if let Some(f) = parse_ethernet(ts, pkt) {
            frames.push(f);
        }
    }
    Ok(frames)
}

fn parse_ethernet(ts: Duration, p: &[u8]) -> Option<Frame> {
    if p.len() < 14 {
        return None;
    }
    let src_mac: [u8; 6] = p[6..12].try_into().ok()?;
    let mut et = u16::from_be_bytes([p[12], p[13]]);
    let mut l3 = &p[14..];
    if et == 0x8100 && l3.len() >= 4 {
        et = u16::from_be_bytes([l3[2], l3[3]]);
        l3 = &l3[4..];
    }
    let kind = match et {
        0x0800 => parse_ipv4(l3),
        0x86dd => parse_ipv6(l3),
        0x0806 => parse_arp(l3),
        _ => Kind::Other,
    };
    Some(Frame { ts, src_mac, kind })
}

fn parse_vrrp(v: &[u8], src: IpAddr, dst: IpAddr, ttl: u8) -> Kind {
    if v.len() < 8 {
        return Kind::Other;
    }
    let version = v[0] >> 4;
    let interval = if version == 2 {
        u16::from(v[5])
    } else {
        u16::from_be_bytes([v[4], v[5]]) & 0x0fff
    };
    let first = match src {
        _ if v[3] == 0 => None,
        IpAddr::V4(_) => v
            .get(8..12)
            .map(|a| IpAddr::from(<[u8; 4]>::try_from(a).unwrap())),
        IpAddr::V6(_) => v
            .get(8..24)
            .map(|a| IpAddr::from(<[u8; 16]>::try_from(a).unwrap())),
    };
    Kind::Advert {
        version,
        vrid: v[1],
        priority: v[2],
        count: v[3],
        interval,
        src,
        dst,
        ttl,
        first,
    }
}

fn parse_ipv4(p: &[u8]) -> Kind {
    if p.len() < 20 {
        return Kind::Other;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if p.len() < ihl {
        return Kind::Other;
    }
    let src = IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
    match p[9] {
        112 => parse_vrrp(&p[ihl..], src, dst, p[8]),
        // keepalived's auth_type AH: a 24-octet AH whose next header is VRRP.
        51 if p.len() >= ihl + 24 && p[ihl] == 112 => parse_vrrp(&p[ihl + 24..], src, dst, p[8]),
        _ => Kind::Other,
    }
}

fn parse_ipv6(p: &[u8]) -> Kind {
    if p.len() < 40 {
        return Kind::Other;
    }
    let src: [u8; 16] = p[8..24].try_into().unwrap();
    let dst: [u8; 16] = p[24..40].try_into().unwrap();
    let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
    let body = &p[40..];
    match p[6] {
        112 => parse_vrrp(body, src.into(), dst.into(), p[7]),
        58 if body.len() >= 24 && body[0] == 136 => Kind::Na {
            target: Ipv6Addr::from(<[u8; 16]>::try_from(&body[8..24]).unwrap()),
            override_flag: body[4] & 0x20 != 0,
        },
        _ => Kind::Other,
    }
}

fn parse_arp(p: &[u8]) -> Kind {
    if p.len() < 28 || p[4] != 6 || p[5] != 4 {
        return Kind::Other;
    }
    let spa = Ipv4Addr::new(p[14], p[15], p[16], p[17]);
    let tpa = Ipv4Addr::new(p[24], p[25], p[26], p[27]);
    if spa == tpa {
        Kind::Garp { ip: spa }
    } else {
        Kind::Other
    }
}

/// A running tcpdump writing a pcap file; stopped (SIGINT, flushed) by [`Capture::stop`] or on drop.
pub struct Capture {
    child: Option<Child>,
    /// The pcap file.
    pub path: PathBuf,
}

impl Capture {
    /// Starts tcpdump on `iface` in namespace `ns`, returning once it is listening.
    pub fn start(ns: &str, iface: &str, path: &Path) -> Capture {
        Capture::start_buffered(ns, iface, path, None)
    }

    /// [`Capture::start`] with tcpdump's kernel buffer at `buffer_kib` (`-B`; its default,
    /// 2 MiB, drops frames when thousands of instances advertise at once on a loaded box).
    pub fn start_buffered(ns: &str, iface: &str, path: &Path, buffer_kib: Option<u32>) -> Capture {
        let buffer: Vec<String> = buffer_kib
            .map(|k| vec!["-B".to_string(), k.to_string()])
            .unwrap_or_default();
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "tcpdump",
                "-i",
                iface,
                "-n",
                "-U",
                "-s",
                "256",
                "--immediate-mode",
            ])
            .args(&buffer)
            .args(["--time-stamp-precision=nano", "-w"])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tcpdump (apt-get install tcpdump)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        // 30 s: on a box busy with a thousand instances tcpdump took more than 10 s.
        rx.recv_timeout(Duration::from_secs(30))
            .expect("tcpdump did not start listening");
        Capture {
            child: Some(child),
            path: path.to_path_buf(),
        }
    }

    /// Reads what has been captured so far.
    pub fn frames(&self) -> Vec<Frame> {
        let data = std::fs::read(&self.path).unwrap_or_default();
        parse_pcap(&data).unwrap_or_default()
    }

    /// Stops tcpdump (it flushes on SIGINT) and returns every frame.
    pub fn stop(mut self) -> Vec<Frame> {
        self.halt();
        self.frames()
    }

    fn halt(&mut self) {
        if let Some(mut c) = self.child.take() {
            crate::common::process::signal(c.id(), libc::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The on-wire failover gap: from the last advert sent by `old_mac` (at or before the new
/// master's first announcement) to the first GARP/NA for `vip` sent by `new_mac` after it.
/// Only frames at or after `after` are considered.
pub fn failover_gap(
    frames: &[Frame],
    old_mac: [u8; 6],
    new_mac: [u8; 6],
    vip: IpAddr,
    after: Duration,
) -> Option<(Duration, Duration)> {
    let last_old = frames
        .iter()
        .filter(|f| f.ts >= after && f.src_mac == old_mac && f.advert_priority().is_some())
        .map(|f| f.ts)
        .max()?;
    let first_new = frames
        .iter()
        .filter(|f| f.ts >= last_old && f.src_mac == new_mac && f.announces(vip))
        .map(|f| f.ts)
        .min()?;
    Some((last_old, first_new - last_old))
}
