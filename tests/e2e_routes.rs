//! End-to-end: keepalived's `virtual_routes` and `virtual_rules` in minimal_failover (root, network namespaces):
//! the routes follow the mastership (in after the VIPs, out before them), a crashed Master's
//! leftovers go when it starts again as a Backup, and keepalived given the same routes and
//! rules installs the same `ip route` and `ip rule` entries.
mod common;

use std::time::Duration;

use common::cluster::spawn_node;
use common::keepalived::Keepalived;
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);

/// The routes of an instance whose VIP is `10.200.0.<vrid>`.
fn routes(vrid: u8) -> [String; 4] {
    [
        "10.99.0.0/16 via 10.200.0.254".to_string(),
        "blackhole 10.98.0.0/16".to_string(),
        format!("src 10.200.0.{vrid} 10.97.0.0/16 dev eth0 metric 20"),
        "10.96.0.0/16 via 10.200.0.254 table 1000".to_string(),
    ]
}

/// The rules of an instance whose VIP is `10.200.0.<vrid>`.
fn rules(vrid: u8) -> [String; 2] {
    [
        format!("from 10.200.0.{vrid} priority 1000 table 1000"),
        "to 10.90.0.0/16 priority 1001 blackhole".to_string(),
    ]
}

fn toml(vrid: u8, priority: u8) -> String {
    let quoted = |v: &[String]| -> String {
        let q: Vec<String> = v.iter().map(|r| format!("\"{r}\"")).collect();
        q.join(", ")
    };
    format!(
        "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = {vrid}\npriority = {priority}\n\
         vips = [\"10.200.0.{vrid}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
         virtual_routes = [{}]\nvirtual_rules = [{}]\n",
        quoted(&routes(vrid)),
        quoted(&rules(vrid))
    )
}

/// The keepalived-owned `ip rule` lines on node `i`, sorted (`ip rule show proto` does not
/// filter here).
fn our_rules(topo: &Topology, i: usize) -> Vec<String> {
    let out = topo.nodes[i].ns.ip(&["rule", "show"]).unwrap();
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| l.contains("proto keepalived"))
        .map(|l| l.trim().to_string())
        .collect();
    v.sort();
    v
}

/// `ip route show table all proto keepalived` on node `i`, one route per line, sorted.
fn our_routes(topo: &Topology, i: usize) -> Vec<String> {
    let out = topo.nodes[i]
        .ns
        .ip(&["route", "show", "table", "all", "proto", "keepalived"])
        .unwrap();
    let mut v: Vec<String> = out.lines().map(|l| l.trim().to_string()).collect();
    v.sort();
    v
}

fn start(topo: &Topology, dir: &TempDir, i: usize, vrid: u8, priority: u8) -> Daemon {
    let conf = dir.join(&format!("n{i}-{priority}.toml"));
    std::fs::write(&conf, toml(vrid, priority)).unwrap();
    spawn_node(
        topo,
        dir,
        i,
        &["--config".to_string(), conf.display().to_string()],
    )
}

#[test]
fn routes_follow_the_mastership_and_stale_ones_go_at_start() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-routes", topo.prefix));
    let mut n0 = start(&topo, &dir, 0, 85, 200);
    let mut n1 = start(&topo, &dir, 1, 85, 150);
    let four = |i: usize| our_routes(&topo, i).len() == 4 && our_rules(&topo, i).len() == 2;
    let none = |i: usize| our_routes(&topo, i).is_empty() && our_rules(&topo, i).is_empty();
    assert!(
        wait_until(SETTLE, || n0.state() == "Master"
            && n1.state() == "Backup"
            && four(0)
            && none(1)),
        "{:?} {:?}\n{}",
        our_routes(&topo, 0),
        our_routes(&topo, 1),
        n0.log_text()
    );

    // A crash leaves the routes behind; the new Master installs its own.
    n0.kill();
    assert!(wait_until(SETTLE, || n1.state() == "Master" && four(1)));
    assert!(four(0), "a SIGKILLed daemon cannot clean up");
    // Started again as the lower priority, it is not Master: its leftovers go.
    let mut n0 = start(&topo, &dir, 0, 85, 100);
    assert!(
        wait_until(SETTLE, || n0.state() == "Backup" && none(0)),
        "{:?}\n{}",
        our_routes(&topo, 0),
        n0.log_text()
    );
    assert!(n0.log_text().contains("removed a stale route"));

    // A graceful stop takes them out; the other node takes over with them.
    n1.signal(libc::SIGTERM);
    assert_eq!(n1.wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
    assert!(none(1), "{:?}", our_routes(&topo, 1));
    assert!(wait_until(SETTLE, || n0.state() == "Master" && four(0)));
    n0.signal(libc::SIGTERM);
    assert_eq!(n0.wait_exit(SETTLE).and_then(|s| s.code()), Some(0));
    assert!(none(0), "{:?}", our_routes(&topo, 0));
}

#[test]
fn keepalived_installs_the_same_routes() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-kroutes", topo.prefix));
    // Each alone on its VRID, so each is Master.
    let mf = start(&topo, &dir, 0, 86, 150);
    let body: String = routes(87).iter().map(|r| format!("    {r}\n")).collect();
    let rule_body: String = rules(87).iter().map(|r| format!("    {r}\n")).collect();
    let ka_conf = format!(
        "global_defs {{\n  router_id kaRt\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_87 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 87\n  \
         priority 150\n  advert_int 0.1\n  version 3\n  \
         virtual_ipaddress {{\n    10.200.0.87/24 dev eth0\n  }}\n  virtual_routes {{\n{body}  }}\n  \
         virtual_rules {{\n{rule_body}  }}\n}}\n"
    );
    let mut ka = Keepalived::start_with_config("kaRt", &topo.nodes[1].ns.name, &ka_conf, &dir.0);
    let four = |i: usize| our_routes(&topo, i).len() == 4 && our_rules(&topo, i).len() == 2;
    assert!(
        wait_until(SETTLE, || mf.state() == "Master" && four(0) && four(1)),
        "{:?} {:?}\n{}",
        our_routes(&topo, 0),
        our_routes(&topo, 1),
        ka.log()
    );
    let ours: Vec<String> = our_routes(&topo, 0)
        .iter()
        .map(|r| r.replace("10.200.0.86", "VIP"))
        .collect();
    let theirs: Vec<String> = our_routes(&topo, 1)
        .iter()
        .map(|r| r.replace("10.200.0.87", "VIP"))
        .collect();
    assert_eq!(ours, theirs);
    ka.stop();
    assert!(
        our_routes(&topo, 1).is_empty(),
        "keepalived removes its routes at exit"
    );
}

/// A reload changes a running Master's routes: a dropped one goes, a new one comes, using a
/// new VIP as its source (the VIP goes in first); the others stay.
#[test]
fn a_reload_changes_the_routes_of_a_running_master() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let dir = TempDir::new(&format!("{}-hroutes", topo.prefix));
    let n0 = start(&topo, &dir, 0, 88, 150);
    assert!(wait_until(SETTLE, || n0.state() == "Master"
        && our_routes(&topo, 0).len() == 4));
    let conf = dir.join("n0-150.toml");
    let text = toml(88, 150)
        .replace("\"blackhole 10.98.0.0/16\", ", "")
        .replace(
            "vips = [\"10.200.0.88/24\"]",
            "vips = [\"10.200.0.88/24\", \"10.200.0.89/24\"]",
        )
        .replace(
            "virtual_routes = [",
            "virtual_routes = [\"src 10.200.0.89 10.95.0.0/16 dev eth0\", ",
        );
    std::fs::write(&conf, text).unwrap();
    let before = n0.log_text().matches("reload applied").count();
    n0.signal(libc::SIGHUP);
    assert!(wait_until(SETTLE, || n0
        .log_text()
        .matches("reload applied")
        .count()
        > before));
    let has = |r: &str| our_routes(&topo, 0).iter().any(|l| l.starts_with(r));
    assert!(
        wait_until(SETTLE, || has("10.95.0.0/16 dev eth0 src 10.200.0.89")
            && !has("blackhole")),
        "{:?}\n{}",
        our_routes(&topo, 0),
        n0.log_text()
    );
    assert_eq!(our_routes(&topo, 0).len(), 4);
    assert!(!n0.log_text().contains("adding route"), "{}", n0.log_text());
    assert_eq!(n0.transitions().len(), 2);
}
