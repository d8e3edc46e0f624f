//! keepalived's own sample files, side by side: Debian's VRRP samples, with their interface
//! names rewritten for the test topology, run by keepalived (the Debian package) on one node
//! and by `hakitd --keepalived-conf` on the other, then swapped. For each sample:
//!
//! - mastership follows priority: the node given the sample's priorities holds every VIP of
//!   the file, the other (every priority 20 lower) none;
//! - the same VIPs, routes and rules appear: what each daemon added to its node
//!   (`ip -o addr`, `ip route show table all`, `ip rule`, `ip -6 rule`, compared with the
//!   node before the daemon started) is the same for keepalived as Master and for hakitd as
//!   Master, and for each as Backup (the static addresses, routes and rules included);
//! - the SMTP alerts (`keepalived.conf.vrrp` has them) are the same: a receiver on each node's
//!   loopback gets the same subjects and bodies from keepalived as from hakitd, on either side
//!   (but for the "Stopping" mails, which keepalived makes at shutdown and exits before
//!   sending, and hakitd sends);
//! - failover works both ways: the Master stopped (SIGTERM), the other side takes every VIP
//!   and ends up with what the stopped side had as Master, and the stopped side has removed
//!   everything it added.
//!
//! The rewriting: every instance's `interface` becomes the topology's `eth0` (the samples'
//! `eth1` and `eth0.1` instances would otherwise have no peer); `eth1`, `eth2` and `eth3`
//! exist as veth interfaces (their peers up, inside the node) for `dev`, `track_interface` and
//! the routes; the nodes also get addresses in the samples' 192.168.100/24, 192.168.200/24 and
//! 192.168.201/24 so that their gateways are reachable; the SMTP server becomes the node's own
//! receiver. In `keepalived.conf.vrrp` the second listing of 192.168.200.18 is left out
//! (keepalived 2.4 ignores it, as hakit does; the Debian package's 2.2.7 advertises the
//! address twice and refuses adverts that list it once). `keepalived.conf.IPv6` is not here:
//! it is an LVS sample without VRRP, run side by side with keepalived against a real IPVS in
//! `scripts/ipvs-vm/lvs-ha.sh`.
//!
//! Each test makes its own namespaces (named with the PID), removed on drop even on a panic,
//! and ends only the processes it started, by PID.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use common::keepalived::Keepalived;
use common::process::{wait_until, Daemon, TempDir};
use common::smtp::smtp_receiver;
use common::topology::{Netns, Topology};

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";
/// How much lower the low node's priorities are.
const LOWER: u8 = 20;
/// Where each node's SMTP receiver listens (on the node's own loopback).
const SMTP_PORT: u16 = 2525;
/// Time to settle: start-up (keepalived's 3 adverts down timer) and the VIPs' routes.
const SETTLE: Duration = Duration::from_secs(15);

/// The sample, rewritten for the topology; `lower`: every priority `LOWER` lower.
fn rewrite(sample: &str, lower: bool) -> String {
    let text = std::fs::read_to_string(Path::new(SAMPLES).join(sample)).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let line = match words.as_slice() {
            ["interface", _, rest @ ..] => format!("    interface eth0 {}", rest.join(" ")),
            ["priority", p, rest @ ..] if lower => {
                let p: u8 = p.parse().unwrap();
                format!("    priority {} {}", p - LOWER, rest.join(" "))
            }
            ["smtp_server", ..] => format!("   smtp_server 127.0.0.1 {SMTP_PORT}"),
            // keepalived.conf.vrrp lists 192.168.200.18 twice: keepalived 2.4 (and hakit)
            // ignore the second, 2.2.7 advertises it twice and refuses adverts without it.
            ["192.168.200.18", "label", "eth0:1"] => continue,
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The addresses of every `virtual_ipaddress` of `conf`, as hakit reads the file.
fn vips_of(conf: &Path) -> Vec<String> {
    let file = hakit::keepalived_conf::Reader::new()
        .host(Some("hakit-test"))
        .read_file(conf)
        .unwrap();
    let (config, _) = hakit::keepalived_conf::to_config(&file).unwrap();
    config
        .instance
        .iter()
        .flat_map(|i| &i.vips)
        .map(|v| {
            let first = v.split_whitespace().next().unwrap();
            first.split('/').next().unwrap().to_string()
        })
        .collect()
}

/// The dummies and addresses the samples expect, on node `i`.
fn prepare(ns: &Netns, i: usize) {
    // veth pairs inside the node (no dummy driver in every kernel): both ends up, carrier on.
    for dev in ["eth1", "eth2", "eth3"] {
        let peer = format!("{dev}p");
        ns.ip(&["link", "add", dev, "type", "veth", "peer", "name", &peer])
            .unwrap();
        ns.ip(&["link", "set", &peer, "up"]).unwrap();
        ns.ip(&["link", "set", dev, "up"]).unwrap();
    }
    for (net, dev) in [
        ("192.168.200", "eth0"),
        ("192.168.100", "eth0"),
        ("192.168.201", "eth0"),
        ("192.168.200", "eth1"),
        ("192.168.100", "eth2"),
    ] {
        let host = if dev == "eth0" { 241 } else { 231 } + i;
        ns.ip(&["addr", "add", &format!("{net}.{host}/24"), "dev", dev])
            .unwrap();
    }
}

/// Everything the node's addresses, routes and rules say, one normalized line each.
fn snapshot(ns: &Netns) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for line in ns.ip(&["-o", "addr", "show"]).unwrap().lines() {
        // "2: eth0    inet 10.0.0.1/24 scope global eth0\       valid_lft ...": no index,
        // no lifetimes.
        // Which VIP of a subnet is the primary one depends on the order the instances became
        // Master: `secondary` is left out, and the kernel routes' `src` below.
        let main = line.split('\\').next().unwrap();
        let words: Vec<&str> = main
            .split_whitespace()
            .skip(1)
            .filter(|w| *w != "secondary")
            .collect();
        all.insert(format!("addr: {}", words.join(" ")));
    }
    for (what, args) in [
        ("route", &["route", "show", "table", "all"][..]),
        ("route6", &["-6", "route", "show", "table", "all"][..]),
        ("rule", &["rule"][..]),
        ("rule6", &["-6", "rule"][..]),
    ] {
        for line in ns.ip(args).unwrap().lines() {
            // IPv6 routes carry the kernel's expiry and the multicast table changes by itself.
            if line.contains("fe80::") || line.starts_with("multicast ff") {
                continue;
            }
            let line = match line.split_once(" src ") {
                Some((head, _)) if line.contains("proto kernel") => head,
                _ => line,
            };
            all.insert(format!("{what}: {}", line.trim()));
        }
    }
    all
}

/// What the daemon on `ns` added, compared with `baseline`.
fn added(ns: &Netns, baseline: &BTreeSet<String>) -> BTreeSet<String> {
    snapshot(ns).difference(baseline).cloned().collect()
}

/// The addresses on the node's interfaces.
fn held(ns: &Netns) -> BTreeSet<String> {
    let out = ns.ip(&["-o", "addr", "show"]).unwrap_or_default();
    out.split_whitespace()
        .filter_map(|w| w.split('/').next())
        .map(str::to_string)
        .collect()
}

fn holds_all(ns: &Netns, vips: &[String]) -> bool {
    let held = held(ns);
    vips.iter().all(|v| held.contains(v))
}

fn holds_none(ns: &Netns, vips: &[String]) -> bool {
    let held = held(ns);
    vips.iter().all(|v| !held.contains(v))
}

/// One side of a pair.
enum Side {
    Ka(Keepalived),
    Hk(Daemon),
}

impl Side {
    fn start(ka: bool, name: &str, ns: &Netns, conf: &str, dir: &TempDir) -> Side {
        if ka {
            Side::Ka(Keepalived::start_with_config(name, &ns.name, conf, &dir.0))
        } else {
            let path = dir.join(&format!("{name}.conf"));
            std::fs::write(&path, conf).unwrap();
            let args = vec!["--keepalived-conf".to_string(), path.display().to_string()];
            Side::Hk(Daemon::spawn(
                name,
                &ns.name,
                Path::new(env!("CARGO_BIN_EXE_hakitd")),
                &args,
                &dir.join(&format!("{name}.log")),
            ))
        }
    }

    fn log(&self) -> String {
        match self {
            Side::Ka(k) => k.log(),
            Side::Hk(d) => std::fs::read_to_string(&d.log).unwrap_or_default(),
        }
    }

    /// SIGTERM, waited for.
    fn stop(&mut self) {
        match self {
            Side::Ka(k) => {
                k.stop();
            }
            Side::Hk(d) => {
                d.signal(libc::SIGTERM);
                assert!(
                    d.wait_exit(Duration::from_secs(15)).is_some(),
                    "hakitd did not exit on SIGTERM"
                );
            }
        }
    }
}

/// What one pairing showed: what the high side added as Master, the low side as Backup, and
/// the low side as Master after the high one stopped.
struct Outcome {
    master: BTreeSet<String>,
    backup: BTreeSet<String>,
    taken_over: BTreeSet<String>,
    /// The SMTP alerts of the high and of the low side, as (subject / body).
    mails: (BTreeSet<String>, BTreeSet<String>),
}

/// Node 0 runs the sample's priorities, node 1 every priority `LOWER` lower; `ka_high`: which
/// one keepalived runs.
fn pair(sample: &str, ka_high: bool) -> Outcome {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-kaconf", topo.prefix));
    let (n0, n1) = (&topo.nodes[0].ns, &topo.nodes[1].ns);
    prepare(n0, 0);
    prepare(n1, 1);
    let (base0, base1) = (snapshot(n0), snapshot(n1));
    let (mails0, mails1) = (
        smtp_receiver(&n0.name, SMTP_PORT),
        smtp_receiver(&n1.name, SMTP_PORT),
    );
    let high_conf = rewrite(sample, false);
    let low_conf = rewrite(sample, true);
    let conf_path: PathBuf = dir.join("high.conf");
    std::fs::write(&conf_path, &high_conf).unwrap();
    let vips = vips_of(&conf_path);
    assert!(!vips.is_empty(), "{sample}: no VIP");
    let (high_name, low_name) = if ka_high {
        ("ka-high", "hk-low")
    } else {
        ("hk-high", "ka-low")
    };
    let mut high = Side::start(ka_high, high_name, n0, &high_conf, &dir);
    let mut low = Side::start(!ka_high, low_name, n1, &low_conf, &dir);
    let logs = |high: &Side, low: &Side| {
        format!(
            "--- {high_name}:\n{}\n--- {low_name}:\n{}",
            high.log(),
            low.log()
        )
    };

    // Mastership follows priority.
    let settled = wait_until(SETTLE, || holds_all(n0, &vips) && holds_none(n1, &vips));
    assert!(
        settled,
        "{sample}: node 0 ({high_name}) should hold {vips:?}, node 1 none\n{}",
        logs(&high, &low)
    );
    // The routes and rules follow the VIPs; a few adverts more to see it stays so.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        holds_all(n0, &vips) && holds_none(n1, &vips),
        "{sample}: mastership moved\n{}",
        logs(&high, &low)
    );
    let master = added(n0, &base0);
    let backup = added(n1, &base1);

    // Failover: the Master stops, the Backup takes everything; the stopped side cleaned up.
    high.stop();
    let took = wait_until(SETTLE, || holds_all(n1, &vips));
    assert!(
        took,
        "{sample}: node 1 ({low_name}) did not take over\n{}",
        logs(&high, &low)
    );
    std::thread::sleep(Duration::from_secs(2));
    let taken_over = added(n1, &base1);
    let left = added(n0, &base0);
    assert!(
        left.is_empty(),
        "{sample}: {high_name} left behind after its stop: {left:#?}"
    );
    low.stop();
    // The last alerts (the takeover's) had the whole stop to go out.
    let mails = |m: &Mutex<Vec<String>>| m.lock().unwrap().iter().cloned().collect();
    Outcome {
        master,
        backup,
        taken_over,
        mails: (mails(&mails0), mails(&mails1)),
    }
}

fn side_by_side(sample: &str) {
    if !common::is_root() || !Path::new("/usr/sbin/keepalived").exists() {
        println!("skipped: needs root and keepalived");
        return;
    }
    if !Path::new(SAMPLES).join(sample).exists() {
        println!("skipped: {SAMPLES}/{sample} is absent");
        return;
    }
    let ka_master = pair(sample, true);
    let hk_master = pair(sample, false);
    let same = |what: &str, ka: &BTreeSet<String>, hk: &BTreeSet<String>| {
        assert!(
            ka == hk,
            "{sample}: {what} differ\nonly keepalived: {:#?}\nonly hakitd: {:#?}",
            ka.difference(hk).collect::<Vec<_>>(),
            hk.difference(ka).collect::<Vec<_>>()
        );
    };
    same("as Master", &ka_master.master, &hk_master.master);
    same("as Backup", &ka_master.backup, &hk_master.backup);
    same(
        "after a takeover",
        &hk_master.taken_over,
        &ka_master.taken_over,
    );
    same(
        "a takeover and a start as Master",
        &ka_master.taken_over,
        &ka_master.master,
    );
    // keepalived makes a "Stopping" mail at shutdown too, but exits before it goes out;
    // hakitd waits for it (a few seconds at most): compared without them.
    let running = |m: &BTreeSet<String>| -> BTreeSet<String> {
        m.iter()
            .filter(|s| !s.contains(" - Stopping / "))
            .cloned()
            .collect()
    };
    same(
        "the Master's mails",
        &running(&ka_master.mails.0),
        &running(&hk_master.mails.0),
    );
    same(
        "the Backup's mails",
        &running(&ka_master.mails.1),
        &running(&hk_master.mails.1),
    );
    let stops = hk_master.mails.0.len() - running(&hk_master.mails.0).len();
    let masters = hk_master
        .mails
        .0
        .iter()
        .filter(|s| s.contains(" - Entering MASTER state / "))
        .count();
    assert_eq!(stops, masters, "{sample}: one Stopping mail per instance");
    println!(
        "{sample}: what both add as Master {:#?}\nmails of the Master side {:#?}",
        hk_master.master, hk_master.mails.0
    );
}

#[test]
fn vrrp() {
    side_by_side("keepalived.conf.vrrp");
}

#[test]
fn vrrp_sync() {
    side_by_side("keepalived.conf.vrrp.sync");
}

#[test]
fn vrrp_scripts() {
    side_by_side("keepalived.conf.vrrp.scripts");
}

#[test]
fn vrrp_routes() {
    side_by_side("keepalived.conf.vrrp.routes");
}

#[test]
fn vrrp_rules() {
    side_by_side("keepalived.conf.vrrp.rules");
}

#[test]
fn track_interface() {
    side_by_side("keepalived.conf.track_interface");
}

#[test]
fn vrrp_static_ipaddress() {
    side_by_side("keepalived.conf.vrrp.static_ipaddress");
}

#[test]
fn vrrp_localcheck() {
    side_by_side("keepalived.conf.vrrp.localcheck");
}
