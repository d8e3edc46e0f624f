//! End-to-end: a real Prometheus server scrapes the metrics endpoint of a running hakitd pair
//! in network namespaces (root), and PromQL finds exactly one Master per VRID before and after
//! a failover; `promtool check metrics` accepts the exposition.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::cluster::{wait_single_master, Fam, Scenario};
use common::process::{wait_until, Daemon, TempDir};
use common::scraper::Scraper;
use common::topology::{Netns, Topology};

const PORT: u16 = 9650;
const PROMETHEUS: &str = "127.0.0.1:9090";

fn hakitd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hakitd"))
}

/// `curl` inside `ns`; `None` on any failure.
fn fetch(ns: &Netns, url: &str) -> Option<String> {
    ns.exec("curl", &["-sf", "--max-time", "2", url]).ok()
}

/// A PromQL instant query through Prometheus's HTTP API: the result vector's samples as
/// (labels, value).
fn query(ns: &Netns, expr: &str) -> Vec<(serde_json::Value, f64)> {
    let out = ns
        .exec(
            "curl",
            &[
                "-sf",
                "--max-time",
                "2",
                "--data-urlencode",
                &format!("query={expr}"),
                &format!("http://{PROMETHEUS}/api/v1/query"),
            ],
        )
        .unwrap_or_default();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) else {
        return Vec::new();
    };
    v["data"]["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| {
                    let value = s["value"][1].as_str()?.parse().ok()?;
                    Some((s["metric"].clone(), value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `count by (vrid)` of the instances Prometheus sees as Master: exactly one for VRID 51.
const MASTERS_PER_VRID: &str = "count by (vrid) (hakit_vrrp_state{state=\"master\"} == 1)";

/// Waits until the query says one Master for VRID 51 and that the Master is `node`'s target.
fn one_master_at(ns: &Netns, target: &str) -> bool {
    wait_until(Duration::from_secs(15), || {
        // Prometheus scrapes every 200 ms: no need to ask more often.
        std::thread::sleep(Duration::from_millis(200));
        let per_vrid = query(ns, MASTERS_PER_VRID);
        let who = query(ns, "hakit_vrrp_state{state=\"master\"} == 1");
        per_vrid.len() == 1
            && per_vrid[0].0["vrid"] == "51"
            && per_vrid[0].1 == 1.0
            && who.len() == 1
            && who[0].0["instance"] == "VI_51"
            && who[0].0["job"] == "hakit"
            && who[0].0["target"] == target
    })
}

fn prometheus_config(dir: &Path, targets: &[String]) -> PathBuf {
    let mut text = String::from(
        "global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n",
    );
    text.push_str("  - job_name: hakit\n    static_configs:\n");
    for t in targets {
        // Our own label: Prometheus renames a scraped `instance` label to `exported_instance`
        // only when it clashes; honor_labels keeps ours as `instance`.
        text.push_str(&format!(
            "      - targets: ['{t}']\n        labels:\n          target: '{t}'\n"
        ));
    }
    text.push_str("    honor_labels: true\n");
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, text).expect("writing prometheus.yml");
    path
}

#[test]
fn prometheus_sees_one_master_per_vrid_across_a_failover() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-metrics", topo.prefix));
    let targets: Vec<String> = topo
        .nodes
        .iter()
        .map(|n| format!("{}:{PORT}", n.ipv4))
        .collect();
    let mut nodes: Vec<Daemon> = Vec::new();
    for (i, prio) in [(0usize, 200u8), (1, 100)] {
        let args = sc.args(&topo, i, prio, &["--metrics-listen", &targets[i]]);
        nodes.push(Daemon::spawn(
            &format!("hakitd{i}"),
            &topo.nodes[i].ns.name,
            &hakitd(),
            &args,
            &dir.join(&format!("hakitd{i}.log")),
        ));
    }
    let live: Vec<(usize, &Daemon)> = nodes.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), Duration::from_secs(6));

    // The exposition as a scraper reads it, checked by Prometheus's own linter.
    let ns0 = &topo.nodes[0].ns;
    let text = fetch(ns0, &format!("http://{}/metrics", targets[0])).expect("scraping node 0");
    for name in [
        "hakit_vrrp_state{",
        "hakit_vrrp_base_priority{",
        "hakit_vrrp_effective_priority{",
        "hakit_vrrp_transitions_total{",
        "hakit_vrrp_advert_sent_total{",
        "hakit_vrrp_advert_rcvd_total{",
        "hakit_vrrp_become_master_total{",
        "hakit_vrrp_pri_zero_rcvd_total{",
    ] {
        assert!(text.contains(name), "exposition lacks {name}:\n{text}");
    }
    assert!(
        text.contains("reason=\"master_down_timer\"")
            || text.contains("reason=\"preempted\"")
            || text.contains("reason=\"startup\""),
        "no transition by reason:\n{text}"
    );
    let lint_in = dir.join("exposition.txt");
    std::fs::write(&lint_in, &text).unwrap();
    let lint = Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", lint_in.display()))
        .output()
        .expect("running promtool");
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    // A real Prometheus in node 0's namespace scrapes both daemons.
    let config = prometheus_config(&dir.0, &targets);
    let data = dir.join("tsdb");
    let mut prometheus = Daemon::spawn(
        "prometheus",
        &ns0.name,
        Path::new("/usr/bin/prometheus"),
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            format!("--web.listen-address={PROMETHEUS}"),
            "--log.level=warn".into(),
        ],
        &dir.join("prometheus.log"),
    );
    assert!(
        one_master_at(ns0, &targets[0]),
        "before the failover: not exactly one Master (node 0) per VRID; log:\n{}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    );

    // Failover: the Master stops gracefully (priority 0), node 1 takes over, scraped 10 times
    // a second all along (as benches/failover.sh SCRAPE_HZ=10 does).
    let fast = Scraper::start(&topo.nodes[1].ns.name, targets[1].parse().unwrap(), 10.0);
    nodes[0].signal(libc::SIGTERM);
    assert!(nodes[0].wait_exit(Duration::from_secs(10)).is_some());
    assert!(
        wait_until(Duration::from_secs(5), || topo.nodes[1]
            .has_addr(sc.fam.vip())),
        "node 1 did not take the VIP"
    );
    assert!(
        one_master_at(ns0, &targets[1]),
        "after the failover: not exactly one Master (node 1) per VRID"
    );
    let (answered, failed) = fast.stop();
    assert!(
        answered >= 3 && failed == 0,
        "10 Hz scrapes of node 1: {answered} answered, {failed} failed"
    );
    let pri_zero = query(ns0, "hakit_vrrp_pri_zero_rcvd_total");
    assert!(
        pri_zero.iter().any(|(_, v)| *v >= 1.0),
        "node 1 did not count the priority-0 advert: {pri_zero:?}"
    );
    prometheus.signal(libc::SIGTERM);
    if prometheus.wait_exit(Duration::from_secs(10)).is_none() {
        prometheus.kill();
    }
    nodes[1].signal(libc::SIGTERM);
    assert!(nodes[1].wait_exit(Duration::from_secs(10)).is_some());
}
