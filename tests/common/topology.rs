//! A throw-away L2 topology of network namespaces: one bridge namespace, N node namespaces each
//! joined to the bridge by a veth pair, and one observer namespace that only listens.
//!
//! Every name carries the test process id and a counter, so tests running in parallel (and
//! several test binaries at once) never collide. Dropping the [`Topology`] deletes every
//! namespace, which also destroys the veth pairs and the bridge inside them.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs a command, failing with its stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("spawning {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `ip` with the given arguments, panicking with context on failure (test set-up only).
pub fn ip(args: &[&str]) -> String {
    run("ip", args).unwrap_or_else(|e| panic!("{e}"))
}

/// A network namespace deleted on drop.
#[derive(Debug)]
pub struct Netns {
    /// The namespace name as `ip netns` knows it.
    pub name: String,
}

impl Netns {
    /// Creates the namespace, brings `lo` up and disables IPv6 DAD (so link-local and static
    /// addresses are usable at once: VRRPv3/IPv6 adverts are sent from the link-local address).
    pub fn new(name: String) -> Netns {
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec_ok("sysctl", &["-qw", "net.ipv6.conf.all.accept_dad=0"]);
        ns.exec_ok("sysctl", &["-qw", "net.ipv6.conf.default.accept_dad=0"]);
        ns.exec_ok("sysctl", &["-qw", "net.ipv6.conf.all.dad_transmits=0"]);
        ns.exec_ok("sysctl", &["-qw", "net.ipv6.conf.default.dad_transmits=0"]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Runs a program inside the namespace and returns its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["netns", "exec", self.name.as_str(), program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Like [`Netns::exec`], panicking on failure.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> String {
        self.exec(program, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Adds `eth1`, up but without carrier (a veth whose peer `eth1p` stays down until
    /// `ip link set eth1p up`): an instance tracking it is in FAULT.
    pub fn add_eth1_without_carrier(&self) {
        self.ip(&[
            "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ])
        .unwrap();
        self.ip(&["link", "set", "eth1", "up"]).unwrap();
    }

    /// `ip -n <ns> <args>`.
    pub fn ip(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run("ip", &full)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes still inside keep the namespace alive only until they exit; the
        // guards of the processes are dropped before the topology (declared later).
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// One VRRP node: its namespace and its addresses on `eth0`.
#[derive(Debug)]
pub struct Node {
    /// The namespace.
    pub ns: Netns,
    /// Index, 0-based.
    pub index: usize,
    /// Interface inside the namespace.
    pub iface: String,
    /// Its IPv4 address on the shared /24.
    pub ipv4: Ipv4Addr,
    /// Its global IPv6 address on the shared /64.
    pub ipv6: Ipv6Addr,
    /// Its MAC address, fixed so captures can tell nodes apart.
    pub mac: [u8; 6],
    /// Name of the veth end inside the bridge namespace.
    pub bridge_port: String,
}

impl Node {
    /// True when `addr` (e.g. "10.200.0.100") is configured on the node's interface.
    pub fn has_addr(&self, addr: &str) -> bool {
        let out = self
            .ns
            .ip(&["-o", "addr", "show", "dev", &self.iface])
            .unwrap_or_default();
        out.split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// The node's IPv6 link-local address (fe80::…).
    pub fn link_local(&self) -> Ipv6Addr {
        let m = self.mac;
        Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]]),
        )
    }
}

/// The whole topology. Field order matters for drop: nodes and observer before the bridge.
#[derive(Debug)]
pub struct Topology {
    /// Prefix shared by every namespace of this topology.
    pub prefix: String,
    /// The VRRP nodes.
    pub nodes: Vec<Node>,
    /// The passive observer (for captures).
    pub observer: Netns,
    /// The namespace holding the bridge `br0`.
    pub bridge: Netns,
}

/// The IPv4 VIP used by the tests.
pub const VIP4: &str = "10.200.0.100";
/// The IPv6 VIP used by the tests.
pub const VIP6: &str = "fd00:200::100";

impl Topology {
    /// Builds a bridge with `n` nodes and an observer.
    pub fn new(n: usize) -> Topology {
        let id = COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("hk{}x{}", std::process::id(), id);
        let bridge = Netns::new(format!("{prefix}br"));
        bridge
            .ip(&[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
                // ageing 0: no learned MACs, every frame is flooded, so the observer also
                // sees unicast adverts.
                "ageing_time",
                "0",
            ])
            .unwrap();
        bridge.ip(&["link", "set", "br0", "up"]).unwrap();
        let observer = Netns::new(format!("{prefix}obs"));
        let mut topo = Topology {
            prefix: prefix.clone(),
            nodes: Vec::new(),
            observer,
            bridge,
        };
        topo.attach(
            &topo.observer.name.clone(),
            "vobs",
            [0x02, 0, 0, 0, 0, 0xfe],
        );
        topo.observer
            .exec_ok("sysctl", &["-qw", "net.ipv6.conf.eth0.disable_ipv6=1"]);
        for i in 0..n {
            let ns = Netns::new(format!("{prefix}n{i}"));
            let mac = [0x02, 0, 0, 0, 0, (i + 1) as u8];
            let port = format!("v{i}");
            topo.attach(&ns.name, &port, mac);
            let ipv4 = Ipv4Addr::new(10, 200, 0, (i + 1) as u8);
            let ipv6 = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, (i + 1) as u16);
            ns.ip(&["addr", "add", &format!("{ipv4}/24"), "dev", "eth0"])
                .unwrap();
            ns.ip(&["addr", "add", &format!("{ipv6}/64"), "dev", "eth0", "nodad"])
                .unwrap();
            topo.nodes.push(Node {
                ns,
                index: i,
                iface: "eth0".into(),
                ipv4,
                ipv6,
                mac,
                bridge_port: port,
            });
        }
        topo
    }

    /// Creates a veth pair `port` (bridge side, enslaved to br0) / `eth0` (inside `ns`).
    fn attach(&mut self, ns: &str, port: &str, mac: [u8; 6]) {
        let br = self.bridge.name.clone();
        let mac_s = fmt_mac(&mac);
        ip(&[
            "-n", &br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        ip(&["-n", ns, "link", "set", "eth0", "address", &mac_s]);
        ip(&["-n", &br, "link", "set", port, "master", "br0"]);
        ip(&["-n", &br, "link", "set", port, "up"]);
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
    }

    /// Cuts node `i` off the bridge: its `eth0` loses carrier (operstate DOWN).
    pub fn unplug(&self, i: usize) {
        self.bridge
            .ip(&["link", "set", &self.nodes[i].bridge_port, "down"])
            .unwrap();
    }

    /// Plugs node `i` back in.
    pub fn plug(&self, i: usize) {
        self.bridge
            .ip(&["link", "set", &self.nodes[i].bridge_port, "up"])
            .unwrap();
    }

    /// The indexes of the nodes holding `vip`.
    pub fn holders(&self, vip: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .filter(|n| n.has_addr(vip))
            .map(|n| n.index)
            .collect()
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Runs `f` on a thread inside namespace `ns` and returns what it returns (threads it starts,
/// a daemon's VRRP thread among them, inherit the namespace).
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::os::fd::AsRawFd;
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("opening the namespace");
        // SAFETY: setns on this thread only, with a namespace descriptor we hold open.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}");
        f()
    })
    .join()
    .expect("the namespace thread panicked")
}
