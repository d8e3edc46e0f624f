//! A routed topology for the route announcer: an upstream router namespace running FRR
//! (AS 65000), service nodes each running FRR (AS 65000 + k) peering eBGP with it over IPv4
//! and IPv6, and a client namespace behind the upstream. Each node also has a veth pair whose
//! end `svc` holds the service address (its peer `svcp` stays down: no carrier, so zebra
//! makes no connected route of it) and a link `vr` to the other nodes' (one segment, for
//! VRRP between them).
//!
//! Addresses: upstream `uK` 10.0.K.1/24 and fd00:0:K::1/64, node K's `e0` 10.0.K.2/24 and
//! fd00:0:K::2/64; the client `e0` 10.0.100.2/24 and fd00:0:100::2/64 behind `uc`; the
//! nodes' `vr` 10.0.200.K/24. The service prefixes are [`SERVICE_V4`] and [`SERVICE_V6`].
//! Names carry the test's PID and a counter; dropping the topology stops every process and
//! deletes every namespace.

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::frr::Frr;
use super::process::{wait_until, Daemon, TempDir};
use super::topology::{in_netns, ip, Netns};

/// The IPv4 service prefix.
pub const SERVICE_V4: &str = "10.77.0.1/32";
/// The IPv6 service prefix.
pub const SERVICE_V6: &str = "fd77::1/128";
/// The TCP port of each node's service (and its health check).
pub const SERVICE_PORT: u16 = 8080;
/// The UDP port each node answers on with its number.
pub const ECHO_PORT: u16 = 9000;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// BGP keepalive and hold time, seconds.
pub const HOLD: (u32, u32) = (1, 3);

/// One service node.
pub struct Node {
    /// Its number, from 1.
    pub k: usize,
    /// Its FRR.
    pub frr: Frr,
    /// Its hakit, when running.
    pub hakit: Option<Daemon>,
    /// Its service listener (also what its check connects to), while open.
    pub service: Option<Service>,
    /// Stops its echo responder.
    pub echo_stop: Arc<AtomicBool>,
    /// Its namespace (dropped last).
    pub ns: Netns,
}

/// The whole topology.
pub struct Routed {
    /// The service nodes.
    pub nodes: Vec<Node>,
    /// The upstream router's FRR.
    pub up_frr: Frr,
    /// The upstream router.
    pub up: Netns,
    /// The client.
    pub client: Netns,
    /// Configuration files and logs.
    pub dir: TempDir,
    echo_stop: Arc<AtomicBool>,
}

/// The AS of node `k`: its own (eBGP with the upstream), or the upstream's (iBGP, where
/// LOCAL_PREF is carried).
fn node_as(k: usize, ibgp: bool) -> usize {
    if ibgp {
        65000
    } else {
        65000 + k
    }
}

/// The upstream's FRR configuration.
fn upstream_conf(nodes: usize, bfd: bool, ibgp: bool) -> String {
    let mut c = String::from(
        "hostname up\nrouter bgp 65000\n bgp router-id 10.0.100.1\n no bgp ebgp-requires-policy\n \
         no bgp default ipv4-unicast\n bgp bestpath as-path multipath-relax\n \
         bgp always-compare-med\n",
    );
    let mut v4 = String::new();
    let mut v6 = String::new();
    for k in 1..=nodes {
        for peer in [format!("10.0.{k}.2"), format!("fd00:0:{k}::2")] {
            c += &neighbor(&peer, node_as(k, ibgp), bfd);
        }
        v4 += &format!("  neighbor 10.0.{k}.2 activate\n");
        v6 += &format!("  neighbor fd00:0:{k}::2 activate\n");
    }
    c += &format!(
        " address-family ipv4 unicast\n  maximum-paths 8\n{v4} exit-address-family\n \
         address-family ipv6 unicast\n  maximum-paths 8\n{v6} exit-address-family\nexit\n"
    );
    c
}

/// A service node's FRR configuration: IPv4 from kernel tables 100 and 101, IPv6 from the
/// main table's kernel routes, the service prefix only; a route of metric 100 (hakit's
/// `backup_metric` in these tests) gets LOCAL_PREF 50 (the README's recipe: iBGP peers
/// prefer the Master's path; eBGP peers get no LOCAL_PREF and compare the MED).
fn node_conf(k: usize, bfd: bool, ibgp: bool) -> String {
    // MASTER and BACKUP are for keepalived's notify scripts (`network ... route-map M`, the
    // way keepalived users announce with vtysh); hakit does not use them.
    let mut c = format!(
        "hostname n{k}\nip import-table 100\nip import-table 101\n\
         route-map HAKIT permit 10\n match metric 100\n set local-preference 50\nexit\n\
         route-map HAKIT permit 20\nexit\n\
         route-map MASTER permit 10\n set metric 10\nexit\n\
         route-map BACKUP permit 10\n set metric 100\nexit\n\
         ipv6 prefix-list HAKIT6 seq 5 permit fd77::/64 le 128\n\
         route-map HAKIT6 permit 10\n match ipv6 address prefix-list HAKIT6\n \
         match metric 100\n set local-preference 50\nexit\n\
         route-map HAKIT6 permit 20\n match ipv6 address prefix-list HAKIT6\nexit\n\
         router bgp {}\n bgp router-id 10.0.{k}.2\n no bgp ebgp-requires-policy\n \
         no bgp default ipv4-unicast\n no bgp network import-check\n",
        node_as(k, ibgp)
    );
    for peer in [format!("10.0.{k}.1"), format!("fd00:0:{k}::1")] {
        c += &neighbor(&peer, 65000, bfd);
    }
    c += &format!(
        " address-family ipv4 unicast\n  neighbor 10.0.{k}.1 activate\n  \
         redistribute table 100 route-map HAKIT\n  redistribute table 101 route-map HAKIT\n \
         exit-address-family\n \
         address-family ipv6 unicast\n  neighbor fd00:0:{k}::1 activate\n  \
         redistribute kernel route-map HAKIT6\n exit-address-family\nexit\n"
    );
    c
}

fn neighbor(peer: &str, asn: usize, bfd: bool) -> String {
    let mut c = format!(
        " neighbor {peer} remote-as {asn}\n neighbor {peer} timers {} {}\n \
         neighbor {peer} timers connect 1\n neighbor {peer} advertisement-interval 0\n",
        HOLD.0, HOLD.1
    );
    if bfd {
        // BFD at 3 x 100 ms (FRR 8.4 applies these, where a `bfd profile` set in the
        // same file was left at 300 ms).
        c += &format!(" neighbor {peer} bfd 3 100 100\n");
    }
    c
}

impl Routed {
    /// Builds the namespaces, links and FRR instances for `n` nodes (with BFD or not) and
    /// starts an echo responder on each node. BGP comes up meanwhile (see
    /// [`Routed::wait_sessions`]).
    pub fn new(n: usize, bfd: bool) -> Routed {
        Routed::build(n, bfd, false)
    }

    /// [`Routed::new`] with the nodes in the upstream's AS (iBGP, no BFD): LOCAL_PREF
    /// reaches the upstream.
    pub fn new_ibgp(n: usize) -> Routed {
        Routed::build(n, false, true)
    }

    fn build(n: usize, bfd: bool, ibgp: bool) -> Routed {
        let id = format!(
            "rt{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = TempDir::new(&format!("hakit-{id}"));
        let up = Netns::new(format!("{id}up"));
        let client = Netns::new(format!("{id}cl"));
        for knob in [
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.fib_multipath_hash_policy=1",
            "net.ipv6.fib_multipath_hash_policy=1",
        ] {
            up.exec_ok("sysctl", &["-qw", knob]);
        }
        ip(&[
            "link",
            "add",
            "uc",
            "netns",
            &up.name,
            "type",
            "veth",
            "peer",
            "name",
            "e0",
            "netns",
            &client.name,
        ]);
        let addr = |ns: &Netns, a: &str, dev: &str| {
            let fam = if a.contains(':') { "-6" } else { "-4" };
            let mut args = vec![fam, "addr", "add", a, "dev", dev];
            if a.contains(':') {
                args.push("nodad");
            }
            ns.ip(&args).unwrap_or_else(|e| panic!("{e}"));
        };
        addr(&up, "10.0.100.1/24", "uc");
        addr(&up, "fd00:0:100::1/64", "uc");
        addr(&client, "10.0.100.2/24", "e0");
        addr(&client, "fd00:0:100::2/64", "e0");
        up.ip(&["link", "set", "uc", "up"]).unwrap();
        client.ip(&["link", "set", "e0", "up"]).unwrap();
        client
            .ip(&["route", "add", "default", "via", "10.0.100.1"])
            .unwrap();
        client
            .ip(&["-6", "route", "add", "default", "via", "fd00:0:100::1"])
            .unwrap();
        let mut node_ns = Vec::new();
        for k in 1..=n {
            let ns = Netns::new(format!("{id}n{k}"));
            let (u, e) = (format!("u{k}"), "e0");
            ip(&[
                "link", "add", &u, "netns", &up.name, "type", "veth", "peer", "name", e, "netns",
                &ns.name,
            ]);
            addr(&up, &format!("10.0.{k}.1/24"), &u);
            addr(&up, &format!("fd00:0:{k}::1/64"), &u);
            addr(&ns, &format!("10.0.{k}.2/24"), e);
            addr(&ns, &format!("fd00:0:{k}::2/64"), e);
            up.ip(&["link", "set", &u, "up"]).unwrap();
            ns.ip(&["link", "set", e, "up"]).unwrap();
            ns.ip(&[
                "route",
                "add",
                "10.0.100.0/24",
                "via",
                &format!("10.0.{k}.1"),
            ])
            .unwrap();
            ns.ip(&[
                "-6",
                "route",
                "add",
                "fd00:0:100::/64",
                "via",
                &format!("fd00:0:{k}::1"),
            ])
            .unwrap();
            // The service address's interface: a veth end whose peer stays down.
            ns.ip(&["link", "add", "svc", "type", "veth", "peer", "name", "svcp"])
                .unwrap();
            ns.ip(&["link", "set", "svc", "up"]).unwrap();
            node_ns.push(ns);
        }
        // The nodes' shared segment, for VRRP: a bridge in the upstream namespace would mix
        // it with routing, so the first two nodes get a veth pair of their own.
        if n >= 2 {
            ip(&[
                "link",
                "add",
                "vr",
                "netns",
                &node_ns[0].name,
                "type",
                "veth",
                "peer",
                "name",
                "vr",
                "netns",
                &node_ns[1].name,
            ]);
            for (k, ns) in node_ns.iter().take(2).enumerate() {
                addr(ns, &format!("10.0.200.{}/24", k + 1), "vr");
                ns.ip(&["link", "set", "vr", "up"]).unwrap();
            }
        }
        let up_frr = Frr::start(&up.name, &dir.join("up"), &upstream_conf(n, bfd, ibgp), bfd);
        let echo_stop = Arc::new(AtomicBool::new(false));
        let mut nodes = Vec::new();
        for (i, ns) in node_ns.into_iter().enumerate() {
            let k = i + 1;
            let frr = Frr::start(
                &ns.name,
                &dir.join(&format!("n{k}")),
                &node_conf(k, bfd, ibgp),
                bfd,
            );
            let node_echo = Arc::new(AtomicBool::new(false));
            start_echo(&ns.name, k as u8, echo_stop.clone(), node_echo.clone());
            nodes.push(Node {
                k,
                frr,
                hakit: None,
                service: None,
                echo_stop: node_echo,
                ns,
            });
        }
        Routed {
            nodes,
            up_frr,
            up,
            client,
            dir,
            echo_stop,
        }
    }

    /// Waits until every BGP session of the upstream is established (both families).
    pub fn wait_sessions(&self, timeout: Duration) -> bool {
        let want = self.nodes.len() * 2;
        wait_until(timeout, || {
            let out = self.up_frr.vtysh("show bgp summary established");
            // Each established neighbour's line ends in its received/sent prefix counts.
            let n = out
                .lines()
                .filter(|l| l.starts_with("10.0.") || l.starts_with("fd00:"))
                .count();
            n >= want
        })
    }

    /// The devices of the upstream's kernel route to `prefix` (one per ECMP next hop; `uK`
    /// is node K), empty without a route.
    pub fn next_hops(&self, prefix: &str) -> BTreeSet<String> {
        let fam = if prefix.contains(':') { "-6" } else { "-4" };
        let out = self
            .up
            .ip(&[fam, "route", "show", "to", "exact", prefix])
            .unwrap_or_default();
        let words: Vec<&str> = out.split_whitespace().collect();
        words
            .windows(2)
            .filter(|w| w[0] == "dev")
            .map(|w| w[1].to_string())
            .collect()
    }

    /// The MED of the upstream's best BGP path to `prefix`, and the node it goes to.
    pub fn best_path(&self, prefix: &str) -> String {
        let fam = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.up_frr
            .vtysh(&format!("show bgp {fam} unicast {prefix}"))
    }

    /// Writes node `k`'s hakit configuration file (with its own lock directory).
    fn write_hakit_config(&self, k: usize, toml: &str) -> std::path::PathBuf {
        let conf = self.dir.join(&format!("hakit-n{k}.toml"));
        let lock = self.dir.join(&format!("lock-n{k}"));
        let text = format!("lock_dir = \"{}\"\n{toml}", lock.display());
        std::fs::write(&conf, text).unwrap();
        conf
    }

    /// Writes node `k`'s hakit configuration and starts it (the minimal_failover example).
    pub fn start_hakit(&mut self, k: usize, toml: &str) {
        let conf = self.write_hakit_config(k, toml);
        let log = self.dir.join(&format!("hakit-n{k}.log"));
        let node = &mut self.nodes[k - 1];
        node.hakit = Some(Daemon::spawn(
            &format!("hakit-n{k}"),
            &node.ns.name,
            &super::process::example_binary(),
            &["--config".to_string(), conf.display().to_string()],
            &log,
        ));
    }

    /// Writes node `k`'s hakit configuration anew and sends its hakit SIGHUP (a reload).
    pub fn reload_hakit(&mut self, k: usize, toml: &str) {
        self.write_hakit_config(k, toml);
        self.nodes[k - 1]
            .hakit
            .as_ref()
            .expect("hakit running")
            .signal(libc::SIGHUP);
    }

    /// Stops node `k`'s hakit gracefully (SIGTERM) and waits for it to exit.
    pub fn stop_hakit(&mut self, k: usize) {
        let h = self.nodes[k - 1].hakit.as_mut().expect("hakit running");
        h.signal(libc::SIGTERM);
        assert!(
            h.wait_exit(std::time::Duration::from_secs(10)).is_some(),
            "hakit did not exit"
        );
    }

    /// Node `k`'s hakit log so far.
    pub fn hakit_log(&self, k: usize) -> String {
        std::fs::read_to_string(self.dir.join(&format!("hakit-n{k}.log"))).unwrap_or_default()
    }

    /// The upstream's BGP paths to `prefix`: each path's peer, LOCAL_PREF and whether it
    /// is the best, sorted by peer.
    pub fn local_prefs(&self, prefix: &str) -> Vec<(String, u32, bool)> {
        let fam = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let text = self
            .up_frr
            .vtysh(&format!("show bgp {fam} unicast {prefix} json"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut out: Vec<(String, u32, bool)> = json["paths"]
            .as_array()
            .map(|paths| {
                paths
                    .iter()
                    .map(|p| {
                        (
                            p["peer"]["peerId"].as_str().unwrap_or("?").to_string(),
                            p["locPrf"]
                                .as_u64()
                                .or_else(|| p["localpref"].as_u64())
                                .unwrap_or(100) as u32,
                            p["bestpath"]["overall"].as_bool().unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Starts keepalived on node `k` as keepalived users announce a routed VIP today: the
    /// VRRP pair of [`vrrp_toml`] (same segment, VRID, priorities, 0.1 s adverts) with notify
    /// scripts that hold the address and call `vtysh` to set `network PREFIX route-map
    /// MASTER|BACKUP` (MED 10 or 100), or remove it (then the address, 0.5 s later) on
    /// fault or stop; without `backup_announces`, a Backup withdraws it too (as
    /// `[[announce]]` without `backup_metric`). The scripts take a lock (`flock`), so one
    /// transition's script never overtakes the one before.
    pub fn start_keepalived(
        &mut self,
        k: usize,
        priority: u8,
        backup_announces: bool,
    ) -> super::keepalived::Keepalived {
        let vty = self.dir.join(&format!("n{k}"));
        let script = self.dir.join(&format!("ka-notify-n{k}.sh"));
        let prefix = SERVICE_V4;
        let addr = "10.77.0.1/32";
        // A Backup that withdraws keeps the address (harmless once withdrawn): removing it
        // would race with the next transition's script, which keepalived starts while this
        // one may still run.
        let backup = if backup_announces {
            format!("backup) ip addr replace {addr} dev svc; net 'network {prefix} route-map BACKUP' ;;\n")
        } else {
            format!("backup) net 'no network {prefix}' ;;\n")
        };
        let lock = self.dir.join(&format!("ka-notify-n{k}.lock"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 exec 9>{lock}; flock 9\n\
                 net() {{ /usr/bin/vtysh --vty_socket {vty} -c 'configure terminal' \
                 -c 'router bgp {asn}' -c 'address-family ipv4 unicast' -c \"$1\"; }}\n\
                 case \"$1\" in\n\
                 master) ip addr replace {addr} dev svc; net 'network {prefix} route-map MASTER' ;;\n\
                 {backup}\
                 *) net 'no network {prefix}'; sleep 0.5; ip addr del {addr} dev svc ;;\n\
                 esac\n",
                vty = vty.display(),
                lock = lock.display(),
                asn = 65000 + k,
            ),
        )
        .unwrap();
        super::topology::run("chmod", &["755", &script.display().to_string()]).unwrap();
        let s = script.display();
        let config = format!(
            "global_defs {{\n  router_id n{k}\n  script_user root\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance svc {{\n  state BACKUP\n  interface vr\n  virtual_router_id 7\n  \
             priority {priority}\n  advert_int 0.1\n  version 3\n  \
             virtual_ipaddress {{\n    10.0.200.100/24\n  }}\n  \
             notify_master \"{s} master\"\n  notify_backup \"{s} backup\"\n  \
             notify_fault \"{s} fault\"\n  notify_stop \"{s} stop\"\n}}\n"
        );
        let ns = self.nodes[k - 1].ns.name.clone();
        // A name (and pid files) of its own per start: a keepalived just stopped may still
        // be leaving.
        let run = COUNTER.fetch_add(1, Ordering::Relaxed);
        super::keepalived::Keepalived::start_with_config(
            &format!("ka-n{k}-{run}"),
            &ns,
            &config,
            &self.dir.0,
        )
    }

    /// Opens node `k`'s service listener.
    pub fn open_service(&mut self, k: usize) {
        let node = &mut self.nodes[k - 1];
        node.service = Some(Service::open(&node.ns.name));
    }

    /// Closes node `k`'s service listener (its checks then fail: connection refused).
    pub fn close_service(&mut self, k: usize) {
        self.nodes[k - 1].service = None;
    }

    /// Node `k` crashes: its hakit and FRR are killed and its echo port closes.
    pub fn crash(&mut self, k: usize) {
        let node = &mut self.nodes[k - 1];
        node.echo_stop.store(true, Ordering::Relaxed);
        if let Some(h) = node.hakit.as_mut() {
            h.kill();
        }
        node.frr.kill();
    }

    /// Node `k` hangs: its echo port closes and its FRR stops (SIGSTOP: no keepalive, no
    /// BFD, no closed session), hakit with it.
    pub fn hang(&mut self, k: usize) {
        let node = &mut self.nodes[k - 1];
        node.echo_stop.store(true, Ordering::Relaxed);
        if let Some(h) = node.hakit.as_ref() {
            h.signal(libc::SIGSTOP);
        }
        node.frr.signal_all(libc::SIGSTOP);
    }

    /// Node `k` after [`crash`](Self::crash) or [`hang`](Self::hang): its processes are
    /// killed if still there, its FRR and echo port start again (hakit does not: start it).
    pub fn revive(&mut self, k: usize) {
        let node = &mut self.nodes[k - 1];
        if let Some(mut h) = node.hakit.take() {
            h.kill();
        }
        node.frr.kill();
        node.frr.start_again();
        node.echo_stop = Arc::new(AtomicBool::new(false));
        start_echo(
            &node.ns.name,
            k as u8,
            self.echo_stop.clone(),
            node.echo_stop.clone(),
        );
    }

    /// A UDP socket in the client namespace.
    pub fn client_socket(&self, v6: bool) -> UdpSocket {
        let bind = if v6 { "[::]:0" } else { "0.0.0.0:0" };
        in_netns(&self.client.name, move || {
            UdpSocket::bind(bind).expect("binding the client socket")
        })
    }

    /// The kernel routes hakit announces on node `k` (protocol 85, every table).
    pub fn announced_on(&self, k: usize) -> String {
        let ns = &self.nodes[k - 1].ns;
        let v4 = ns
            .ip(&["-4", "route", "show", "table", "all", "proto", "85"])
            .unwrap_or_default();
        let v6 = ns
            .ip(&["-6", "route", "show", "table", "all", "proto", "85"])
            .unwrap_or_default();
        v4 + &v6
    }
}

impl Drop for Routed {
    fn drop(&mut self) {
        self.echo_stop.store(true, Ordering::Relaxed);
        for n in &mut self.nodes {
            if let Some(mut h) = n.hakit.take() {
                h.kill();
            }
            n.service = None;
            n.frr.kill();
        }
        self.up_frr.kill();
    }
}

/// Answers every datagram on [`ECHO_PORT`] (both families) with the node's number and the
/// datagram's first 8 bytes (a sequence number), until `stop` or `node_stop` (then the port
/// closes).
fn start_echo(ns: &str, k: u8, stop: Arc<AtomicBool>, node_stop: Arc<AtomicBool>) {
    // Dual stack: net.ipv6.bindv6only is 0 in a fresh namespace.
    let sock = in_netns(ns, || {
        UdpSocket::bind(("::", ECHO_PORT)).expect("binding the echo socket")
    });
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while !stop.load(Ordering::Relaxed) && !node_stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                let mut reply = vec![k];
                reply.extend_from_slice(&buf[..n.min(8)]);
                let _ = sock.send_to(&reply, from);
            }
        }
    });
}

/// A node's TCP service: accepts (and drops) every connection until dropped, when the port
/// closes.
pub struct Service {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Service {
    fn open(ns: &str) -> Service {
        let listener = in_netns(ns, || {
            TcpListener::bind(("0.0.0.0", SERVICE_PORT)).expect("binding the service")
        });
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Service {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A client sending one datagram every `period` to a service address, and what came back.
pub struct Prober {
    stop: Arc<AtomicBool>,
    sender: Option<std::thread::JoinHandle<Vec<std::time::Instant>>>,
    receiver: Option<std::thread::JoinHandle<Vec<(u64, u8)>>>,
    period: Duration,
}

/// What a [`Prober`] saw.
pub struct ProbeLog {
    /// When each request went out, by sequence number.
    pub sent: Vec<std::time::Instant>,
    /// The node that answered each request, if one did.
    pub answered_by: Vec<Option<u8>>,
    /// The period.
    pub period: Duration,
}

impl Prober {
    /// Starts probing `target` (`IP:PORT`) from `sock` every `period`.
    pub fn start(sock: UdpSocket, target: std::net::SocketAddr, period: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let rx = sock.try_clone().unwrap();
        let flag = stop.clone();
        let sender = std::thread::spawn(move || {
            let mut sent = Vec::new();
            let start = std::time::Instant::now();
            let mut seq: u64 = 0;
            while !flag.load(Ordering::Relaxed) {
                let due = start + period * seq as u32;
                if let Some(wait) = due.checked_duration_since(std::time::Instant::now()) {
                    std::thread::sleep(wait);
                }
                sent.push(std::time::Instant::now());
                let _ = sock.send_to(&seq.to_be_bytes(), target);
                seq += 1;
            }
            sent
        });
        let flag = stop.clone();
        let receiver = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            // Late answers still count: go on a little after the stop.
            let mut until: Option<std::time::Instant> = None;
            loop {
                if flag.load(Ordering::Relaxed) && until.is_none() {
                    until = Some(std::time::Instant::now() + Duration::from_millis(200));
                }
                if until.is_some_and(|u| std::time::Instant::now() > u) {
                    return got;
                }
                if let Ok((n, _)) = rx.recv_from(&mut buf) {
                    if n == 9 {
                        let seq = u64::from_be_bytes(buf[1..9].try_into().unwrap());
                        got.push((seq, buf[0]));
                    }
                }
            }
        });
        Prober {
            stop,
            sender: Some(sender),
            receiver: Some(receiver),
            period,
        }
    }

    /// Stops and returns the log.
    pub fn finish(mut self) -> ProbeLog {
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.sender.take().unwrap().join().unwrap();
        let got = self.receiver.take().unwrap().join().unwrap();
        let mut answered_by = vec![None; sent.len()];
        for (seq, k) in got {
            if let Some(slot) = answered_by.get_mut(seq as usize) {
                *slot = Some(k);
            }
        }
        ProbeLog {
            sent,
            answered_by,
            period: self.period,
        }
    }
}

impl ProbeLog {
    /// The longest time without an answer: from the last answered request before the
    /// longest run of unanswered ones to the first answered one after it (zero without a
    /// loss).
    pub fn outage(&self) -> Duration {
        let mut worst = Duration::ZERO;
        let mut last_ok: Option<usize> = None;
        for (i, a) in self.answered_by.iter().enumerate() {
            if a.is_some() {
                if let Some(prev) = last_ok {
                    if i > prev + 1 {
                        worst = worst.max(self.sent[i] - self.sent[prev]);
                    }
                }
                last_ok = Some(i);
            }
        }
        worst
    }

    /// Requests lost.
    pub fn lost(&self) -> usize {
        self.answered_by.iter().filter(|a| a.is_none()).count()
    }

    /// The node that answered the last answered request.
    pub fn last_node(&self) -> Option<u8> {
        self.answered_by.iter().rev().flatten().next().copied()
    }
}

/// Skips (saying why) unless root with FRR installed.
pub fn can_run(test: &str) -> bool {
    if !super::is_root() {
        eprintln!("{test}: skipped, needs root");
        return false;
    }
    if let Some(why) = super::frr::missing() {
        eprintln!("{test}: skipped, FRR is missing: {why}");
        return false;
    }
    true
}

/// A set of device names.
pub fn devs(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Health-gated announcements of both service prefixes, checked against the node's own
/// service port (every 100 ms, rise 3, fall 2).
pub fn anycast_toml() -> String {
    let check = "track_tcp = [{ connect = '127.0.0.1:8080', interval = 0.1, rise = 3, fall = 2 }]";
    format!(
        "[[announce]]\nprefix = '{SERVICE_V4}'\niface = 'svc'\n{check}\n\
         [[announce]]\nprefix = '{SERVICE_V6}'\niface = 'svc'\n{check}\n"
    )
}

/// A VRRP pair on the nodes' `vr` segment (advert_int 0.1 s) gating both prefixes: MED 10
/// for the Master, 100 for the Backup.
pub fn vrrp_toml(priority: u8) -> String {
    let gate = "metric = 10\nvrrp_instance = 'svc'\nbackup_metric = 100";
    format!(
        "[[instance]]\nname = 'svc'\niface = 'vr'\nvrid = 7\npriority = {priority}\n\
         vrrp_version = 3\nadvert_int = 0.1\nvips = ['10.0.200.100/24']\n\
         [[announce]]\nprefix = '{SERVICE_V4}'\niface = 'svc'\n{gate}\n\
         [[announce]]\nprefix = '{SERVICE_V6}'\niface = 'svc'\n{gate}\n"
    )
}

/// [`vrrp_toml`] without `backup_metric`: only the Master announces (MED 10), a Backup
/// withdraws.
pub fn vrrp_withdraw_toml(priority: u8) -> String {
    vrrp_toml(priority).replace("\nbackup_metric = 100", "")
}

/// The MEDs of the upstream's BGP paths to `prefix`, sorted.
pub fn meds(t: &Routed, prefix: &str) -> Vec<u32> {
    let text = t.best_path(prefix);
    let mut m: Vec<u32> = text
        .split("metric ")
        .skip(1)
        .filter_map(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    m.sort();
    m
}

/// Starts probing the IPv4 service address from the client every 10 ms.
pub fn probe_v4(t: &Routed) -> Prober {
    let target = format!("10.77.0.1:{ECHO_PORT}").parse().unwrap();
    Prober::start(t.client_socket(false), target, Duration::from_millis(10))
}
