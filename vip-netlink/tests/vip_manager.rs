//! VIP add/remove/list over rtnetlink in a fresh namespace, checked with `ip addr`.
mod common;

use common::Lan;
use vip_netlink::{AddressScope, Change, Error, PreferredLifetime, Vip, VipManager, VipOps};

#[test]
fn ipv4_vip_with_label_is_added_idempotently_and_removed() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.run(|| async {
        let m = VipManager::new().unwrap();
        let vip = Vip::new("eth0", "10.0.0.100".parse().unwrap(), 24)
            .unwrap()
            .with_label("eth0:1");
        assert_eq!(m.add(&vip).await.unwrap(), Change::Applied);
        assert_eq!(m.add(&vip).await.unwrap(), Change::Unchanged);
        let listed = m.list("eth0").await.unwrap();
        let got = listed
            .iter()
            .find(|a| a.address == vip.address())
            .expect("VIP listed");
        assert_eq!(got.prefix_len, 24);
        assert_eq!(got.label.as_deref(), Some("eth0:1"));
        assert_eq!(got.scope, AddressScope::Global);
    });
    let shown = node.exec("ip -4 addr show dev eth0");
    assert!(shown.contains("inet 10.0.0.100/24"), "{shown}");
    assert!(shown.contains("eth0:1"), "{shown}");

    node.run(|| async {
        let m = VipManager::new().unwrap();
        let vip = Vip::new("eth0", "10.0.0.100".parse().unwrap(), 24).unwrap();
        assert_eq!(m.remove(&vip).await.unwrap(), Change::Applied);
        assert_eq!(m.remove(&vip).await.unwrap(), Change::Unchanged);
    });
    let shown = node.exec("ip -4 addr show dev eth0");
    assert!(!shown.contains("10.0.0.100"), "{shown}");
    assert!(
        shown.contains("10.0.0.1/24"),
        "primary address untouched: {shown}"
    );
}

#[test]
fn ipv6_vip_is_nodad_and_deprecated_with_preferred_lft_zero() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    // DAD on, so `nodad` makes the difference between "tentative" and usable.
    node.exec("sysctl -qw net.ipv6.conf.eth0.accept_dad=1");
    node.run(|| async {
        let m = VipManager::new().unwrap();
        let vip = Vip::new("eth0", "fd00::100".parse().unwrap(), 64)
            .unwrap()
            .with_preferred_lifetime(PreferredLifetime::Seconds(0));
        assert_eq!(m.add(&vip).await.unwrap(), Change::Applied);
        assert_eq!(m.add(&vip).await.unwrap(), Change::Unchanged);
        let listed = m.list("eth0").await.unwrap();
        let got = listed.iter().find(|a| a.address == vip.address()).unwrap();
        assert_eq!(got.preferred_lifetime, Some(0));
        assert_ne!(got.flags & libc::IFA_F_NODAD, 0);
    });
    let shown = node.exec("ip -6 addr show dev eth0");
    let line = shown
        .lines()
        .skip_while(|l| !l.contains("fd00::100/64"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(line.contains("nodad"), "{shown}");
    assert!(!line.contains("tentative"), "{shown}");
    assert!(
        line.contains("deprecated") || line.contains("preferred_lft 0sec"),
        "{shown}"
    );

    node.run(|| async {
        let m = VipManager::new().unwrap();
        let vip = Vip::new("eth0", "fd00::100".parse().unwrap(), 64).unwrap();
        assert_eq!(m.remove(&vip).await.unwrap(), Change::Applied);
        assert_eq!(m.remove(&vip).await.unwrap(), Change::Unchanged);
    });
    assert!(!node.exec("ip -6 addr show dev eth0").contains("fd00::100"));
}

#[test]
fn unknown_interface_is_a_typed_error() {
    let lan = Lan::new(1);
    lan.nodes[0].run(|| async {
        let m = VipManager::new().unwrap();
        let vip = Vip::new("nope0", "10.0.0.100".parse().unwrap(), 24).unwrap();
        assert!(matches!(m.add(&vip).await, Err(Error::NoSuchInterface(n)) if n == "nope0"));
        assert!(matches!(
            m.list("nope0").await,
            Err(Error::NoSuchInterface(_))
        ));
        // A label must start with the interface name (iproute2's rule) and nothing is added.
        let bad = Vip::new("eth0", "10.0.0.101".parse().unwrap(), 24)
            .unwrap()
            .with_label("other:1");
        assert!(matches!(m.add(&bad).await, Err(Error::InvalidConfig(_))));
        let listed = m.list("eth0").await.unwrap();
        assert!(listed.iter().all(|a| a.address != bad.address()));
    });
}
