//! keepalived's SMTP alerts through `hakitd --keepalived-conf`, to an SMTP receiver on the
//! node's loopback: a mail per transition, in keepalived's words, with the settings a SIGHUP
//! reload gave, and the "Stopping" mail sent before the daemon exits.
mod common;

use std::time::Duration;

use common::process::{spawn_hakitd, wait_until, Daemon, TempDir};
use common::smtp::smtp_receiver;
use common::topology::Topology;

const PORT: u16 = 2526;

fn conf(router_id: &str) -> String {
    format!(
        "\
global_defs {{
  router_id {router_id}
  notification_email {{
    ops@example.org
  }}
  notification_email_from lb1@example.org
  smtp_server 127.0.0.1 {PORT}
  smtp_connect_timeout 5
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 0.2
  version 3
  smtp_alert
  track_interface {{
    eth1
  }}
  virtual_ipaddress {{
    10.200.0.100/24
  }}
}}
"
    )
}

#[test]
fn transitions_are_mailed_with_the_reloaded_settings_and_the_stop_too() {
    if !common::is_root() {
        println!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let ns = &topo.nodes[0].ns;
    // eth1: a veth whose peer is down at first: no carrier, the instance starts in FAULT.
    ns.add_eth1_without_carrier();
    let mails = smtp_receiver(&ns.name, PORT);
    let dir = TempDir::new(&format!("{}-smtp", topo.prefix));
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf("R1")).unwrap();
    let mut hk = spawn_hakitd(&ns.name, &path, &dir);
    let log = Daemon::stderr_text;
    let got = |n: usize| wait_until(Duration::from_secs(10), || mails.lock().unwrap().len() >= n);
    assert!(got(1), "no FAULT mail\n{}", log(&hk));

    // SIGHUP with another router_id, then the link comes: BACKUP, then MASTER, in R2's name.
    std::fs::write(&path, conf("R2")).unwrap();
    hk.signal(libc::SIGHUP);
    let reloaded = wait_until(Duration::from_secs(10), || {
        log(&hk).contains("smtp alert settings reloaded")
    });
    assert!(reloaded, "{}", log(&hk));
    ns.ip(&["link", "set", "eth1p", "up"]).unwrap();
    assert!(got(3), "no BACKUP and MASTER mails\n{}", log(&hk));

    hk.signal(libc::SIGTERM);
    assert!(hk.wait_exit(Duration::from_secs(15)).is_some(), "no exit");
    assert!(got(4), "no Stopping mail\n{}", log(&hk));
    let mails = mails.lock().unwrap().clone();
    assert_eq!(
        mails,
        [
            "[R1] VRRP Instance VI_1 - Entering FAULT state / => VRRP Instance is no longer owning VRRP VIPs <=",
            "[R2] VRRP Instance VI_1 - Entering BACKUP state / => VRRP Instance is no longer owning VRRP VIPs <=",
            "[R2] VRRP Instance VI_1 - Entering MASTER state / => VRRP Instance is now owning VRRP VIPs <=",
            "[R2] VRRP Instance VI_1 - Stopping / => VRRP Instance stopping <=",
        ]
    );
}
