//! End-to-end: keepalived's finer knobs in minimal_failover's TOML (`[instance.tuning]`, and
//! `unicast_ttl`) act on the wire (root, network namespaces, a capture in the observer
//! namespace).
mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::cluster::spawn_node;
use common::pcap::{Capture, Frame, Kind};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);

fn config(vrid: u8, tuning: &str) -> String {
    format!(
        "[[instance]]\nname = \"vi{vrid}\"\niface = \"eth0\"\nvrid = {vrid}\npriority = 100\n\
         vips = [\"10.200.0.{vrid}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\ngarp_repeat = 1\n\
         [instance.tuning]\n{tuning}"
    )
}

/// Starts node `i` from a TOML file holding `text`.
fn spawn_from_toml(topo: &Topology, dir: &TempDir, i: usize, text: &str) -> Daemon {
    let conf = dir.join(&format!("n{i}.toml"));
    std::fs::write(&conf, text).unwrap();
    spawn_node(
        topo,
        dir,
        i,
        &["--config".to_string(), conf.display().to_string()],
    )
}

/// Two lone nodes (different VRIDs), each Master of its own VIP, one GARP per burst and no
/// delayed second burst. Node 0 also has `garp_master_refresh = 0.3` with
/// `garp_master_refresh_repeat = 2`: while Master it repeats two GARPs every 0.3 s; node 1,
/// without refresh, sends its one GARP and no more.
#[test]
fn garp_master_refresh_repeats_gratuitous_arps_while_master() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-tuning", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let tunings = [
        "state = \"MASTER\"\ngarp_master_delay = 0\ngarp_master_refresh = 0.3\n\
         garp_master_refresh_repeat = 2\n",
        "garp_master_delay = 0\n",
    ];
    let ds: Vec<_> = (0..2)
        .map(|i| spawn_from_toml(&topo, &dir, i, &config(10 + i as u8, tunings[i])))
        .collect();
    assert!(
        wait_until(SETTLE, || ds.iter().all(|d| d.state() == "Master")),
        "{}\n{}",
        ds[0].log_text(),
        ds[1].log_text()
    );
    std::thread::sleep(Duration::from_millis(1600));
    let frames = cap.stop();
    let garps = |vip: &str| -> Vec<&Frame> {
        let ip: IpAddr = vip.parse().unwrap();
        frames.iter().filter(|f| f.announces(ip)).collect()
    };
    let (refreshed, plain) = (garps("10.200.0.10"), garps("10.200.0.11"));
    assert_eq!(plain.len(), 1, "no refresh: one GARP, got {}", plain.len());
    // The first burst (1) and at least four refreshes of two in the next 1.6 s.
    assert!(refreshed.len() >= 9, "{} GARPs", refreshed.len());
    // Refreshes come in pairs, the pairs about 0.3 s apart (judged loosely: 0.15..0.6 s).
    let pair_starts: Vec<Duration> = refreshed[1..].chunks(2).map(|c| c[0].ts).collect();
    for w in pair_starts.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap > Duration::from_millis(150) && gap < Duration::from_millis(600),
            "refresh gap {gap:?}"
        );
    }
    for pair in refreshed[1..].chunks_exact(2) {
        assert!(pair[1].ts - pair[0].ts < Duration::from_millis(100));
    }
}

/// A bad knob is refused with its field named, exit 2, before anything is touched.
#[test]
fn a_bad_tuning_value_names_its_field() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let dir = TempDir::new(&format!("{}-tuningbad", topo.prefix));
    for (tuning, field) in [
        ("state = \"PRIMARY\"\n", "instance[0].tuning.state"),
        (
            "down_timer_adverts = 0\n",
            "instance[0].tuning.down_timer_adverts",
        ),
        (
            "garp_master_refresh = -1\n",
            "instance[0].tuning.garp_master_refresh",
        ),
        ("garp_refresh = 1\n", "garp_refresh"),
    ] {
        let mut d = spawn_from_toml(&topo, &dir, 0, &config(20, tuning));
        let st = d.wait_exit(SETTLE).expect("exits");
        assert_eq!(st.code(), Some(2), "{tuning}: {}", d.log_text());
        assert!(d.log_text().contains(field), "{tuning}: {}", d.log_text());
        assert!(!topo.nodes[0].has_addr("10.200.0.20"));
    }
}

/// keepalived's `unicast_ttl`: unicast adverts leave with that TTL (a routed peer sees it
/// lowered further), and the receiver, which skips the TTL check in unicast mode as
/// keepalived does, accepts them: the pair stays Master/Backup.
#[test]
fn unicast_ttl_sets_the_ttl_of_unicast_adverts() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-uttl", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let addr = |i: usize| topo.nodes[i].ipv4.to_string();
    let ds: Vec<_> = [(0usize, 200u8), (1, 100)]
        .iter()
        .map(|&(i, prio)| {
            let text = format!(
                "[[instance]]\nname = \"u\"\niface = \"eth0\"\nvrid = 30\npriority = {prio}\n\
                 vips = [\"10.200.0.30/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
                 unicast_src = \"{}\"\nunicast_peers = [\"{}\"]\nunicast_ttl = 64\n",
                addr(i),
                addr(1 - i)
            );
            spawn_from_toml(&topo, &dir, i, &text)
        })
        .collect();
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Master"
            && ds[1].state() == "Backup"),
        "{}\n{}",
        ds[0].log_text(),
        ds[1].log_text()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ds[1].transitions().len(), 1, "{}", ds[1].log_text());
    let frames = cap.stop();
    let ttls: Vec<u8> = frames
        .iter()
        .filter(|f| f.src_mac == topo.nodes[0].mac)
        .filter_map(|f| match f.kind {
            Kind::Advert { vrid: 30, ttl, .. } => Some(ttl),
            _ => None,
        })
        .collect();
    assert!(
        ttls.len() >= 10 && ttls.iter().all(|&t| t == 64),
        "{ttls:?}"
    );
}
