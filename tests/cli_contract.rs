//! The command-line contract of minimal_failover: bad flags or config exit 2 with a message
//! naming the field and touch nothing; missing privileges exit 1 with a clear message.
mod common;

use std::process::{Command, Output};

use common::process::example_binary;
use common::topology::{Topology, VIP4};

fn run_in(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(example_binary())
        .args(args)
        .output()
        .expect("running minimal_failover")
}

const BASE: &[&str] = &[
    "--iface",
    "eth0",
    "--vrid",
    "51",
    "--priority",
    "100",
    "--vip",
    "10.200.0.100/24",
];

fn with(extra: &[&'static str], drop_flag: Option<&str>) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    let mut skip = false;
    for a in BASE {
        if skip {
            skip = false;
            continue;
        }
        if Some(*a) == drop_flag {
            skip = true;
            continue;
        }
        v.push(a);
    }
    v.extend_from_slice(extra);
    v
}

#[test]
fn bad_flags_exit_2_naming_the_field_and_touch_nothing() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let ns = topo.nodes[0].ns.name.clone();
    let dir = std::env::temp_dir().join(format!("{}-cli", topo.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_toml = dir.join("bad.toml");
    std::fs::write(&bad_toml, "[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['10.200.0.100/24']\nadvert_int=0.5\n").unwrap();
    let unknown_key = dir.join("unknown.toml");
    std::fs::write(
        &unknown_key,
        "[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['10.200.0.100/24']\nbogus=1\n",
    )
    .unwrap();
    let bad_auth = dir.join("bad_auth.toml");
    std::fs::write(
        &bad_auth,
        "[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['10.200.0.100/24']\n\
         [instance.auth_hmac]\nkeys={ 1 = 'too short' }\nactive_key=1\n",
    )
    .unwrap();
    let bad_auth_s: &'static str = Box::leak(bad_auth.display().to_string().into_boxed_str());
    let bad_toml_s: &'static str = Box::leak(bad_toml.display().to_string().into_boxed_str());
    let unknown_s: &'static str = Box::leak(unknown_key.display().to_string().into_boxed_str());
    let cases: Vec<(Vec<&'static str>, &str)> = vec![
        (with(&["--vrid", "0"], Some("--vrid")), "--vrid"),
        (with(&["--vrid", "300"], Some("--vrid")), "--vrid"),
        (with(&["--priority", "0"], Some("--priority")), "--priority"),
        (with(&[], Some("--vip")), "--vip"),
        (with(&["--vip", "10.200.0.100/40"], Some("--vip")), "--vip"),
        (with(&["--vip", "not-an-ip/24"], Some("--vip")), "--vip"),
        (with(&["--advert-int", "0.5"], None), "--advert-int"),
        (
            with(&["--vrrp-version", "3", "--advert-int", "0.005"], None),
            "--advert-int",
        ),
        (with(&["--vrrp-version", "4"], None), "--vrrp-version"),
        (
            with(&["--vrrp-version", "3", "--auth-pass", "x"], None),
            "--auth-pass",
        ),
        (
            with(&["--auth-pass", "muchtoolongpassword"], None),
            "--auth-pass",
        ),
        (with(&["--vip", "fd00::1/64"], None), "--vip"),
        (with(&["--unicast-peer", "fe80::1"], None), "--unicast-peer"),
        (with(&["--preempt-delay", "5000"], None), "--preempt-delay"),
        (
            with(&["--track-script", "true", "--track-weight", "300"], None),
            "--track-weight",
        ),
        (with(&["--track-iface", "eth0:abc"], None), "--track-iface"),
        (with(&["--iface", "nosuch0"], Some("--iface")), "--iface"),
        (with(&["--log-format", "xml"], None), "--log-format"),
        (with(&["--bogus"], None), "--bogus"),
        (vec!["--config", bad_toml_s], "instance[0].advert_int"),
        (vec!["--config", unknown_s], "bogus"),
        (vec!["--config", bad_auth_s], "instance[0].auth_hmac.keys.1"),
        (vec!["--config", "/nonexistent.toml"], "--config"),
    ];
    for (args, field) in cases {
        let out = run_in(&ns, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: exit {:?}, stderr {stderr}",
            out.status
        );
        assert!(
            stderr.contains(field),
            "{args:?}: stderr does not name {field}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: printed on stdout");
        assert!(
            !topo.nodes[0].has_addr(VIP4),
            "{args:?}: touched the network"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_privileges_exit_1_with_a_clear_message() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &topo.nodes[0].ns.name,
            "setpriv",
            "--bounding-set=-net_raw,-net_admin",
            "--",
        ])
        .arg(example_binary())
        .args(BASE)
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("CAP_NET_RAW") && stderr.contains("CAP_NET_ADMIN"),
        "{stderr}"
    );
    assert!(!topo.nodes[0].has_addr(VIP4));
}

#[test]
fn help_lists_the_fixed_flags() {
    let out = Command::new(example_binary())
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--iface",
        "--vrid",
        "--priority",
        "--vip",
        "--vrrp-version",
        "--advert-int",
        "--preempt-delay",
        "--nopreempt",
        "--auth-pass",
        "--unicast-src",
        "--unicast-peer",
        "--track-script",
        "--track-weight",
        "--track-interval",
        "--track-fall",
        "--track-rise",
        "--track-iface",
        "--garp-repeat",
        "--log-format",
        "--config",
        "--demo",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn config_test_validates_prints_and_touches_nothing() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let ns = topo.nodes[0].ns.name.clone();
    let dir = std::env::temp_dir().join(format!("{}-cfgtest", topo.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[instance]]\nname='web'\niface='eth0'\nvrid=7\npriority=150\nvips=['10.200.0.100/24']\nvrrp_version=3\nadvert_int=0.5\n",
    )
    .unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[instance]]\niface='eth0'\nvrid=7\npriority=0\nvips=['10.200.0.100/24']\n",
    )
    .unwrap();

    let out = run_in(&ns, &["--config", good.to_str().unwrap(), "--config-test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("web: eth0 vrid 7 priority 150 VRRPv3 advert 500ms, 1 VIP(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("configuration OK"), "{stdout}");

    // The documented sample (every key, a sync group with its scripts) is valid.
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/minimal_failover/sample.toml"
    );
    let out = run_in(&ns, &["--config", sample, "--config-test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "web: eth0 vrid 51",
        "db: eth0 vrid 52",
        "legacy: eth0 vrid 53",
        "virtual_server[0]: TCP 10.200.0.100:80 wrr NAT, 1 real server(s)",
        "virtual_server[1]: group web-vips (12 services) rr NAT, 1 real server(s)",
    ] {
        assert!(stdout.contains(line), "{stdout}");
    }

    let out = run_in(&ns, &["--config", bad.to_str().unwrap(), "-t"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("priority"), "{stderr}");

    let out = run_in(&ns, &with(&["-t"], None));
    assert_eq!(out.status.code(), Some(0));
    // Nothing was started: no VIP, and no VRRP packet socket was left.
    assert!(!topo.nodes[0].has_addr(VIP4));
    std::fs::remove_dir_all(&dir).ok();
}
