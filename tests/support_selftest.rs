//! Checks the test support itself against real keepalived: topology, capture, pcap parser.
mod common;

use common::keepalived::{KaInstance, Keepalived};
use common::pcap::{failover_gap, Capture, Kind};
use common::process::{wait_until, TempDir};
use common::topology::{Topology, VIP4};
use std::time::Duration;

#[test]
fn keepalived_pair_fails_over_on_the_wire() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-selftest", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let inst = |prio| KaInstance {
        iface: "eth0".into(),
        vrid: 51,
        priority: prio,
        version: 3,
        advert_int: 0.1,
        vips: vec![format!("{VIP4}/24")],
        auth_pass: None,
        auth_ah: false,
        unicast_src: None,
        unicast_peers: vec![],
        nopreempt: false,
    };
    let mut a = Keepalived::start("ka0", &topo.nodes[0].ns.name, &inst(200), &dir.0);
    let b = Keepalived::start("ka1", &topo.nodes[1].ns.name, &inst(100), &dir.0);
    assert!(wait_until(Duration::from_secs(5), || topo.holders(VIP4) == vec![0]));
    std::thread::sleep(Duration::from_millis(500));
    a.kill_hard();
    assert!(wait_until(Duration::from_secs(5), || topo.nodes[1].has_addr(VIP4)));
    std::thread::sleep(Duration::from_millis(100));
    let frames = cap.stop();
    assert!(frames.iter().any(|f| matches!(
        f.kind,
        Kind::Advert {
            version: 3,
            vrid: 51,
            ..
        }
    )));
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        VIP4.parse().unwrap(),
        Duration::ZERO,
    )
    .expect("failover seen on the wire");
    // Master_Down_Interval = 3 * 100 ms + (256-100) * 100 ms / 256 = 360.9 ms
    eprintln!("keepalived hard failover gap {gap:?}");
    assert!(gap > Duration::from_millis(300) && gap < Duration::from_millis(500));
    assert!(b.rejections().is_empty(), "{:?}", b.rejections());
    eprintln!("{}", b.log());
}
