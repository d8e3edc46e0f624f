//! `--keepalived-conf`: keepalived's own file read by the daemon's command line, checked with
//! `-t`, turned into TOML with `--print-toml` (which `--config` then reads the same), and a line
//! hakit cannot apply refused with the file, line and keyword (exit 2, nothing touched).
mod common;

use std::process::Command;

use common::process::{example_binary, TempDir};

const KEEPALIVED_CONF: &str = "\
! a keepalived.conf
global_defs {
  router_id node1
  notification_email {
    ops@example.org
  }
  smtp_server 127.0.0.1 2525
}
static_routes {
  10.99.0.0/16 dev lo
}
vrrp_script chk {
  script \"/bin/true\"
  interval 2
  weight -20
}
vrrp_instance VI_1 {
  state BACKUP
  interface lo
  virtual_router_id 51
  priority 150
  advert_int 1
  smtp_alert
  virtual_ipaddress {
    10.0.0.100/24
  }
  track_script {
    chk
  }
}
";

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(example_binary()).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keepalived_conf_is_checked_printed_as_toml_and_refused_by_line() {
    let dir = TempDir::new(&format!("hk-kaconf-{}", std::process::id()));
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, KEEPALIVED_CONF).unwrap();
    let conf = conf.to_str().unwrap();

    let (code, out, err) = run(&["--keepalived-conf", conf, "-t"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("VI_1: lo vrid 51 priority 150 VRRPv2 advert 1s, 1 VIP(s)"),
        "{out}"
    );
    assert!(
        !err.contains("router_id"),
        "router_id names the mails: {err}"
    );

    let (code, toml, err) = run(&["--keepalived-conf", conf, "--print-toml"]);
    assert_eq!(code, Some(0), "{err}");
    let toml_path = dir.join("from-keepalived.toml");
    std::fs::write(&toml_path, &toml).unwrap();
    let (code, out, err) = run(&["--config", toml_path.to_str().unwrap(), "-t"]);
    assert_eq!(code, Some(0), "{toml}\n{err}");
    assert!(out.contains("VI_1: lo vrid 51 priority 150"), "{out}");
    assert!(toml.contains("cmd = \"/bin/true\""), "{toml}");
    for key in [
        "router_id = \"node1\"",
        "smtp_server = \"127.0.0.1 2525\"",
        "notification_email = [\"ops@example.org\"]",
        "static_routes = [\"10.99.0.0/16 dev lo\"]",
        "smtp_alert = true",
    ] {
        assert!(toml.contains(key), "{key} in {toml}");
    }

    let bad = dir.join("bad.conf");
    std::fs::write(
        &bad,
        KEEPALIVED_CONF.replace(
            "  advert_int 1\n",
            "  advert_int 1\n  lvs_sync_daemon_interface lo\n",
        ),
    )
    .unwrap();
    let (code, _, err) = run(&["--keepalived-conf", bad.to_str().unwrap(), "-t"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("bad.conf:23: lvs_sync_daemon_interface"),
        "{err}"
    );
}
