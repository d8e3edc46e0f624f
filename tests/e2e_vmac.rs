//! End-to-end: keepalived's `use_vmac` in minimal_failover (root, network namespaces). The
//! VIPs live on a private macvlan carrying the virtual MAC, GARPs and adverts leave from that
//! MAC, failover moves the MAC with the address, the VMACs a run created go at exit; and a
//! minimal_failover/keepalived pair, both with use_vmac, elect by priority both ways.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::cluster::spawn_node;
use common::keepalived::Keepalived;
use common::pcap::{Capture, Kind};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::{Topology, VIP4, VIP6};

const SETTLE: Duration = Duration::from_secs(6);
const VRID: u8 = 77;

macro_rules! need_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

fn args(priority: u8, vip: &str) -> Vec<String> {
    [
        "--iface",
        "eth0",
        "--vrid",
        &VRID.to_string(),
        "--priority",
        &priority.to_string(),
        "--vip",
        vip,
        "--vrrp-version",
        "3",
        "--advert-int",
        "0.1",
        "--garp-repeat",
        "1",
        "--use-vmac",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The link line of `name` in node `i`'s namespace (`ip -d link show`), or `None`.
fn vmac_link(topo: &Topology, i: usize, name: &str) -> Option<String> {
    topo.nodes[i]
        .ns
        .ip(&["-d", "link", "show", "dev", name])
        .ok()
}

/// Whether `vip` ("addr/prefix") is configured on `dev` of node `i`.
fn vip_on(topo: &Topology, i: usize, dev: &str, vip: &str) -> bool {
    topo.nodes[i]
        .ns
        .ip(&["addr", "show", "dev", dev])
        .is_ok_and(|s| s.contains(&format!(" {vip} ")))
}

#[test]
fn ipv4_vips_live_on_the_vmac_and_move_with_the_virtual_mac() {
    need_root!();
    vmac_failover(&format!("{VIP4}/24"), [0, 0, 0x5e, 0, 1, VRID]);
}

/// IPv6: the VMAC carries 00:00:5e:00:02:VRID, the unsolicited NAs leave from it, and the
/// adverts keep the parent's link-local source (the VMAC gets the same EUI-64 address).
#[test]
fn ipv6_vips_live_on_the_vmac_and_move_with_the_virtual_mac() {
    need_root!();
    vmac_failover(&format!("{VIP6}/64"), [0, 0, 0x5e, 0, 2, VRID]);
}

fn vmac_failover(vip_cidr: &str, vmac: [u8; 6]) {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-vmac", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let mut ds: Vec<Option<Daemon>> = [200u8, 100]
        .iter()
        .enumerate()
        .map(|(i, &p)| Some(spawn_node(&topo, &dir, i, &args(p, vip_cidr))))
        .collect();
    let name = format!("vrrp.{VRID}");
    let d = |i: usize| ds[i].as_ref().unwrap();
    assert!(
        wait_until(SETTLE, || d(0).state() == "Master"
            && d(1).state() == "Backup"
            && vip_on(&topo, 0, &name, vip_cidr)),
        "{}\n{}",
        d(0).log_text(),
        d(1).log_text()
    );
    for i in 0..2 {
        let link = vmac_link(&topo, i, &name).expect("a VMAC on every node");
        assert!(link.contains("macvlan mode private"), "{link}");
        let mac = vmac.map(|b| format!("{b:02x}")).join(":");
        assert!(link.contains(&mac), "{link}");
    }
    assert!(vip_on(&topo, 0, &name, vip_cidr) && !vip_on(&topo, 0, "eth0", vip_cidr));
    assert!(!vip_on(&topo, 1, &name, vip_cidr));

    // Hard failover: node 1 takes the VIP onto its own VMAC.
    let mut old = ds[0].take().unwrap();
    old.kill();
    assert!(
        wait_until(SETTLE, || ds[1].as_ref().unwrap().state() == "Master"
            && vip_on(&topo, 1, &name, vip_cidr)),
        "{}",
        ds[1].as_ref().unwrap().log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let frames = cap.stop();
    let vip: IpAddr = vip_cidr.split('/').next().unwrap().parse().unwrap();
    let garps: Vec<_> = frames.iter().filter(|f| f.announces(vip)).collect();
    assert!(
        garps.len() >= 2,
        "a GARP/NA from each Master, got {}",
        garps.len()
    );
    assert!(
        garps.iter().all(|f| f.src_mac == vmac),
        "GARPs/NAs from the virtual MAC"
    );
    let adverts: Vec<_> = frames
        .iter()
        .filter(|f| matches!(f.kind, Kind::Advert { vrid, .. } if vrid == VRID))
        .collect();
    assert!(adverts.len() >= 3);
    assert!(
        adverts.iter().all(|f| f.src_mac == vmac),
        "adverts from the virtual MAC"
    );
    // The IP source stays the parent's address, as keepalived's.
    let parent = if vip.is_ipv4() {
        IpAddr::V4(topo.nodes[1].ipv4)
    } else {
        IpAddr::V6(topo.nodes[1].link_local())
    };
    assert!(adverts
        .iter()
        .any(|f| matches!(f.kind, Kind::Advert { src, .. } if src == parent)));

    // Graceful stop: the VMAC this run created goes with it.
    let mut d1 = ds[1].take().unwrap();
    d1.signal(libc::SIGTERM);
    assert_eq!(d1.wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
    assert_eq!(vmac_link(&topo, 1, &name), None, "VMAC removed at exit");
}

/// minimal_failover and keepalived 2.2.7, both with use_vmac, on one bridge: the higher
/// priority is Master whichever daemon has it, and failover works both ways.
#[test]
fn vmac_pair_with_keepalived_elects_by_priority_both_ways() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-vmacka", topo.prefix));
    let ka_conf = |prio: u8| {
        format!(
            "global_defs {{\n  router_id kaV\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_{VRID} {{\n  state BACKUP\n  interface eth0\n  use_vmac\n  \
             virtual_router_id {VRID}\n  priority {prio}\n  advert_int 0.1\n  version 3\n  \
             virtual_ipaddress {{\n    {VIP4}/24\n  }}\n}}\n"
        )
    };
    let name = format!("vrrp.{VRID}");
    let vip = format!("{VIP4}/24");
    for (mf_prio, ka_prio) in [(200u8, 100u8), (100, 200)] {
        let mut mf = spawn_node(&topo, &dir, 0, &args(mf_prio, &vip));
        let mut ka = Keepalived::start_with_config(
            &format!("ka{ka_prio}"),
            &topo.nodes[1].ns.name,
            &ka_conf(ka_prio),
            &dir.0,
        );
        let winner = if mf_prio > ka_prio { 0 } else { 1 };
        let settled = |w: usize| {
            vip_on(&topo, w, &name, &vip)
                && !vip_on(&topo, 1 - w, &name, &vip)
                && (w == 0) == (mf.state() == "Master")
                && (w == 1) == ka.is_master()
        };
        assert!(
            wait_until(SETTLE, || settled(winner)),
            "mf {mf_prio} ka {ka_prio}\n{}\n{}",
            mf.log_text(),
            ka.log()
        );
        // Fail the winner over (gracefully: each daemon cleans its VMAC up).
        if winner == 0 {
            mf.signal(libc::SIGTERM);
            assert_eq!(mf.wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
            assert!(
                wait_until(SETTLE, || ka.is_master() && vip_on(&topo, 1, &name, &vip)),
                "{}",
                ka.log()
            );
            assert_eq!(ka.stop(), Some(0));
        } else {
            assert_eq!(ka.stop(), Some(0));
            assert!(
                wait_until(SETTLE, || mf.state() == "Master"
                    && vip_on(&topo, 0, &name, &vip)),
                "{}",
                mf.log_text()
            );
            mf.signal(libc::SIGTERM);
            assert_eq!(mf.wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
        }
        assert!(ka.rejections().is_empty(), "{:?}", ka.rejections());
        for i in 0..2 {
            assert!(
                wait_until(SETTLE, || vmac_link(&topo, i, &name).is_none()),
                "node {i} kept its VMAC"
            );
        }
    }
}

/// `vmac_xmit_base`: adverts leave (and arrive) on the parent with its MAC, while the VIP and
/// its GARP stay on the VMAC; the Backup hears the Master there and stays Backup.
#[test]
fn vmac_xmit_base_sends_adverts_from_the_parent() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-vmacxb", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let vip = format!("{VIP4}/24");
    let ds: Vec<Daemon> = [200u8, 100]
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let mut a = args(p, &vip);
            a.push("--vmac-xmit-base".into());
            spawn_node(&topo, &dir, i, &a)
        })
        .collect();
    let name = format!("vrrp.{VRID}");
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Master"
            && ds[1].state() == "Backup"
            && vip_on(&topo, 0, &name, &vip)),
        "{}\n{}",
        ds[0].log_text(),
        ds[1].log_text()
    );
    // Ten intervals more: the Backup keeps hearing the Master on its parent.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ds[1].state(), "Backup", "{}", ds[1].log_text());
    assert_eq!(ds[1].transitions().len(), 1);
    let frames = cap.stop();
    let adverts: Vec<_> = frames
        .iter()
        .filter(|f| matches!(f.kind, Kind::Advert { vrid, .. } if vrid == VRID))
        .collect();
    assert!(adverts.len() >= 10);
    assert!(adverts.iter().all(|f| f.src_mac == topo.nodes[0].mac));
    let garps: Vec<_> = frames
        .iter()
        .filter(|f| f.announces(VIP4.parse().unwrap()))
        .collect();
    assert!(!garps.is_empty() && garps.iter().all(|f| f.src_mac == [0, 0, 0x5e, 0, 1, VRID]));
}
