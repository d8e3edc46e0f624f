//! End-to-end: keepalived's `virtual_ipaddress_excluded` (`vips_excluded`) in
//! minimal_failover (root, network namespaces): the Master holds and announces the excluded
//! addresses with its VIPs, of either family, but its adverts carry the VIPs only; a reload
//! adds one live; they leave with the mastership.
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::pcap::{Capture, Kind};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);
const EXCLUDED_V6: &str = "fd00:200::200";
const EXCLUDED_V4: &str = "10.200.0.201";
const ADDED_V4: &str = "10.200.0.202";

fn config(sc: &Scenario, excluded: &[&str]) -> String {
    let list: Vec<String> = excluded
        .iter()
        .map(|a| {
            let prefix = if a.contains(':') { 64 } else { 24 };
            format!("\"{a}/{prefix}\"")
        })
        .collect();
    format!(
        "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = {}\npriority = 200\n\
         vips = [\"{}\"]\nvrrp_version = 3\nadvert_int = 0.1\nvips_excluded = [{}]\n",
        sc.vrid,
        sc.fam.vip_cidr(),
        list.join(", ")
    )
}

#[test]
fn excluded_addresses_are_held_and_announced_but_not_advertised() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-excluded", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let conf = dir.join("n0.toml");
    std::fs::write(&conf, config(&sc, &[EXCLUDED_V6, EXCLUDED_V4])).unwrap();
    let mut ds: Vec<Daemon> = vec![
        spawn_node(
            &topo,
            &dir,
            0,
            &["--config".to_string(), conf.display().to_string()],
        ),
        spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[])),
    ];
    {
        let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
        wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
    }
    let n0 = &topo.nodes[0];
    assert!(wait_until(SETTLE, || n0.has_addr(EXCLUDED_V6)
        && n0.has_addr(EXCLUDED_V4)));
    assert!(!topo.nodes[1].has_addr(EXCLUDED_V4));

    // A reload adds an excluded address to the running Master, announced at once.
    std::fs::write(&conf, config(&sc, &[EXCLUDED_V6, EXCLUDED_V4, ADDED_V4])).unwrap();
    ds[0].signal(libc::SIGHUP);
    assert!(
        wait_until(SETTLE, || n0.has_addr(ADDED_V4)),
        "{}",
        ds[0].log_text()
    );
    assert_eq!(ds[0].state(), "Master");
    // Ten more adverts on the wire.
    std::thread::sleep(Duration::from_secs(1));
    let frames = cap.stop();

    let announced = |a: &str| {
        let ip: IpAddr = a.parse().unwrap();
        frames
            .iter()
            .any(|f| f.announces(ip) && f.src_mac == n0.mac)
    };
    for a in [EXCLUDED_V6, EXCLUDED_V4, ADDED_V4] {
        assert!(announced(a), "{a} was not announced");
    }
    let counts: Vec<u8> = frames
        .iter()
        .filter(|f| f.src_mac == n0.mac)
        .filter_map(|f| match f.kind {
            Kind::Advert { count, .. } => Some(count),
            _ => None,
        })
        .collect();
    assert!(counts.len() >= 5);
    assert!(
        counts.iter().all(|&c| c == 1),
        "adverts carry the VIP only: {counts:?}"
    );

    // Leaving mastership (SIGTERM) takes the excluded addresses along.
    ds[0].signal(libc::SIGTERM);
    assert_eq!(ds[0].wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
    for a in [EXCLUDED_V6, EXCLUDED_V4, ADDED_V4] {
        assert!(!n0.has_addr(a), "{a} left behind");
    }
    assert!(wait_until(SETTLE, || ds[1].state() == "Master"));
}
