//! End-to-end: the advert source address (root, network namespaces). keepalived's
//! `mcast_src_ip` and `unicast_src_ip` are one setting: the source of every advert, multicast
//! ones included. A node whose interface has a second address sends from the one it is given,
//! and the pair still elects by priority.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::pcap::{Capture, Kind};
use common::process::{Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);
const SECOND: &str = "10.200.0.201";

#[test]
fn mcast_src_ip_and_unicast_src_without_peers_set_the_multicast_source() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    for flag in ["--mcast-src-ip", "--unicast-src"] {
        let sc = Scenario::v3_fast(Fam::V4);
        let topo = Topology::new(2);
        let dir = TempDir::new(&format!("{}-source", topo.prefix));
        topo.nodes[0]
            .ns
            .ip(&["addr", "add", &format!("{SECOND}/24"), "dev", "eth0"])
            .unwrap();
        let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
        let ds: Vec<Daemon> = vec![
            spawn_node(&topo, &dir, 0, &sc.args(&topo, 0, 200, &[flag, SECOND])),
            spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[])),
        ];
        let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
        wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
        std::thread::sleep(Duration::from_millis(300));
        let frames = cap.stop();
        let from_master: Vec<(IpAddr, IpAddr)> = frames
            .iter()
            .filter_map(|f| match f.kind {
                Kind::Advert {
                    priority: 200,
                    src,
                    dst,
                    ..
                } => Some((src, dst)),
                _ => None,
            })
            .collect();
        let second: IpAddr = SECOND.parse().unwrap();
        let group: IpAddr = "224.0.0.18".parse().unwrap();
        assert!(from_master.len() > 3, "{flag}: {from_master:?}");
        assert!(
            from_master.iter().all(|&(s, d)| s == second && d == group),
            "{flag}: {from_master:?}"
        );
    }
}
