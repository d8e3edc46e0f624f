//! End-to-end: keepalived's per-address words on a virtual address (root, network
//! namespaces): `label` and `scope` reach the kernel on the Master, with the VIP.
mod common;

use std::time::Duration;

use common::cluster::spawn_node;
use common::process::{wait_until, TempDir};
use common::topology::Topology;

#[test]
fn a_vip_s_label_and_scope_reach_the_kernel() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let dir = TempDir::new(&format!("{}-vipopts", topo.prefix));
    let conf = dir.join("n0.toml");
    std::fs::write(
        &conf,
        "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = 91\npriority = 150\n\
         vips = [\"10.200.0.91/24 dev eth0 label eth0:web no_track\"]\n\
         vips_excluded = [\"10.200.0.92/32 scope host\"]\nvrrp_version = 3\nadvert_int = 0.1\n",
    )
    .unwrap();
    let mut n0 = spawn_node(
        &topo,
        &dir,
        0,
        &["--config".to_string(), conf.display().to_string()],
    );
    let shown = || {
        topo.nodes[0]
            .ns
            .ip(&["-4", "addr", "show", "dev", "eth0"])
            .unwrap()
    };
    assert!(
        wait_until(Duration::from_secs(6), || n0.state() == "Master"
            && shown().contains("10.200.0.92")),
        "{}\n{}",
        shown(),
        n0.log_text()
    );
    let out = shown();
    let line = |addr: &str| {
        out.lines()
            .find(|l| l.contains(addr))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("10.200.0.91/24").ends_with("eth0:web"), "{out}");
    assert!(line("10.200.0.92/32").contains("scope host"), "{out}");
    n0.signal(libc::SIGTERM);
    assert_eq!(
        n0.wait_exit(Duration::from_secs(6)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(!shown().contains("10.200.0.91"), "{}", shown());
}
