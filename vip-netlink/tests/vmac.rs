//! keepalived's use_vmac: a private macvlan with the VRRP virtual MAC, seen by `ip`, and
//! announcements leaving from it.
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;

use common::{Capture, Lan};
use vip_netlink::{
    virtual_mac, AddressFamily, Announce, Announcer, Change, Vip, VipManager, VipOps, VmacConfig,
    VmacManager, VmacOps,
};

#[test]
fn ipv4_vmac_is_a_private_macvlan_with_the_virtual_mac() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let before = parent_arp(node);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap();
        let v = m.create(&cfg).await.unwrap();
        assert_eq!(v.name, "vrrp.51");
        assert_eq!(v.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(v.change, Change::Applied);
        let again = m.create(&cfg).await.unwrap();
        assert_eq!(again.change, Change::Unchanged);
        assert_eq!(again.index, v.index);
    });
    let shown = node.exec("ip -d link show vrrp.51");
    assert!(shown.contains("vrrp.51@eth0"), "{shown}");
    assert!(shown.contains("link/ether 00:00:5e:00:01:33"), "{shown}");
    assert!(shown.contains("macvlan mode private"), "{shown}");
    assert!(shown.contains(",UP"), "{shown}");
    let sysctls = node.exec(
        "cat /proc/sys/net/ipv4/conf/vrrp.51/arp_ignore /proc/sys/net/ipv4/conf/vrrp.51/accept_local \
         /proc/sys/net/ipv4/conf/vrrp.51/rp_filter /proc/sys/net/ipv4/conf/eth0/arp_ignore \
         /proc/sys/net/ipv4/conf/eth0/arp_filter",
    );
    assert_eq!(
        sysctls.split_whitespace().collect::<Vec<_>>(),
        ["1", "1", "0", "1", "1"]
    );

    node.run(|| async {
        let m = VmacManager::new().unwrap();
        assert_eq!(m.remove("vrrp.51").await.unwrap(), Change::Applied);
        assert_eq!(m.remove("vrrp.51").await.unwrap(), Change::Unchanged);
    });
    assert!(!node.exec("ip link show").contains("vrrp.51"));
    // The parent's own values are back.
    assert_eq!(parent_arp(node), before);
}

/// The parent's `arp_ignore` and `arp_filter`.
fn parent_arp(node: &common::Netns) -> Vec<String> {
    node.exec("cat /proc/sys/net/ipv4/conf/eth0/arp_ignore /proc/sys/net/ipv4/conf/eth0/arp_filter")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// keepalived's reset_interface_parameters: the parent's ARP settings stay at 1 while any
/// VMAC of ours is on it and get their own values back when the last one goes, whichever
/// manager removes it.
#[test]
fn parent_arp_settings_come_back_when_the_last_vmac_goes() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec("sysctl -qw net.ipv4.conf.eth0.arp_ignore=2 net.ipv4.conf.eth0.arp_filter=0");
    assert_eq!(parent_arp(node), ["2", "0"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        let v4 = VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap();
        m.create(&v4).await.unwrap();
        let v6 = VmacConfig::new("eth0", AddressFamily::Ipv6, 52).unwrap();
        m.create(&v6).await.unwrap();
    });
    assert_eq!(parent_arp(node), ["1", "1"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        assert_eq!(m.remove("vrrp.51").await.unwrap(), Change::Applied);
    });
    // vrrp.52 is still on the parent.
    assert_eq!(parent_arp(node), ["1", "1"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        assert_eq!(m.remove("vrrp.52").await.unwrap(), Change::Applied);
    });
    assert_eq!(parent_arp(node), ["2", "0"]);

    // Without keepalived's sysctls the parent is not touched at all.
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv4, 53)
            .unwrap()
            .with_sysctls(false);
        m.create(&cfg).await.unwrap();
    });
    assert_eq!(parent_arp(node), ["2", "0"]);
}

/// `remove_many` deletes the VMACs named in one kernel batch (a link group of their own),
/// leaves every other interface alone, skips absent names, and gives the parent its ARP
/// settings back.
#[test]
fn remove_many_deletes_the_named_vmacs_together_and_nothing_else() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec("sysctl -qw net.ipv4.conf.eth0.arp_ignore=2 net.ipv4.conf.eth0.arp_filter=0");
    // Another macvlan in a group of its own, which must survive.
    node.exec("ip link add other link eth0 type macvlan mode private && ip link set other group 7");
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        for vrid in [51, 52, 53] {
            let cfg = VmacConfig::new("eth0", AddressFamily::Ipv4, vrid).unwrap();
            m.create(&cfg).await.unwrap();
        }
        let names: Vec<String> = ["vrrp.51", "vrrp.52", "vrrp.53", "vrrp.99"]
            .map(String::from)
            .into();
        assert_eq!(m.remove_many(&names).await.unwrap(), 3);
        assert_eq!(m.remove_many(&names).await.unwrap(), 0);
    });
    let links = node.exec("ip -o link show");
    assert!(!links.contains("vrrp."), "{links}");
    assert!(links.contains("other@eth0"), "{links}");
    assert!(links.contains("eth0"), "{links}");
    assert_eq!(parent_arp(node), ["2", "0"]);
}

/// A VMAC deleted behind our back (`ip link del` by hand) leaves its parent at 1/1 with no
/// VMAC of ours on it: the next VMAC puts the parent's own values back before recording
/// them, so its removal restores 2/0 and not the 1/1 we had written.
#[test]
fn parent_arp_comes_back_after_a_vmac_was_deleted_by_hand() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec("sysctl -qw net.ipv4.conf.eth0.arp_ignore=2 net.ipv4.conf.eth0.arp_filter=0");
    create_ipv4_vmac(node, 51);
    node.exec("ip link del vrrp.51");
    assert_eq!(parent_arp(node), ["1", "1"]);
    create_ipv4_vmac(node, 52);
    assert_eq!(parent_arp(node), ["1", "1"]);
    remove_vmac(node, "vrrp.52");
    assert_eq!(parent_arp(node), ["2", "0"]);
}

/// The bookkeeping of a namespace deleted with a VMAC of ours in it must not carry over to
/// a namespace created later (the inode of `ns/net` is handed out again; the namespace
/// cookie is not): the new parent's own 0/0 comes back, not the deleted one's 2/0.
#[test]
fn a_deleted_namespaces_vmac_records_do_not_reach_a_new_namespace() {
    for round in 0..3 {
        let lan = Lan::new(1);
        let node = &lan.nodes[0];
        assert_eq!(parent_arp(node), ["0", "0"], "round {round}");
        node.exec("sysctl -qw net.ipv4.conf.eth0.arp_ignore=2 net.ipv4.conf.eth0.arp_filter=0");
        create_ipv4_vmac(node, 51);
        drop(lan);
        let lan = Lan::new(1);
        let node = &lan.nodes[0];
        create_ipv4_vmac(node, 51);
        assert_eq!(parent_arp(node), ["1", "1"], "round {round}");
        remove_vmac(node, "vrrp.51");
        assert_eq!(parent_arp(node), ["0", "0"], "round {round}");
    }
}

/// Creates the IPv4 VMAC `vrrp.<vrid>` on eth0 through a fresh manager.
fn create_ipv4_vmac(node: &common::Netns, vrid: u8) {
    node.run(move || async move {
        let m = VmacManager::new().unwrap();
        m.create(&VmacConfig::new("eth0", AddressFamily::Ipv4, vrid).unwrap())
            .await
            .unwrap();
    });
}

/// Removes the VMAC `name` through a fresh manager, which must find it.
fn remove_vmac(node: &common::Netns, name: &'static str) {
    node.run(move || async move {
        let m = VmacManager::new().unwrap();
        assert_eq!(m.remove(name).await.unwrap(), Change::Applied);
    });
}

/// A VMAC whose set-up fails half way (here: IPv6 disabled on new interfaces, so its
/// link-local cannot be added) is deleted again, and its parent's ARP settings come back:
/// a retry starts from a clean slate instead of finding a half-configured VMAC in place.
#[test]
fn a_vmac_that_fails_half_way_is_removed_and_its_parent_restored() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec("sysctl -qw net.ipv4.conf.eth0.arp_ignore=2 net.ipv4.conf.eth0.arp_filter=0 net.ipv6.conf.default.disable_ipv6=1");
    let err = node.run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv6, 9).unwrap();
        m.create(&cfg).await.unwrap_err()
    });
    assert!(err.to_string().contains("link-local"), "{err}");
    assert!(!node.exec("ip link show").contains("vrrp.9"));
    assert_eq!(parent_arp(node), ["2", "0"]);

    // With IPv6 back the same VMAC is created in full.
    node.exec("sysctl -qw net.ipv6.conf.default.disable_ipv6=0");
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv6, 9).unwrap();
        assert_eq!(m.create(&cfg).await.unwrap().change, Change::Applied);
    });
    assert_eq!(parent_arp(node), ["1", "1"]);
}

#[test]
fn ipv6_vmac_gets_the_parents_eui64_link_local() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let parent_mac = node.run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv6, 7).unwrap();
        let v = m.create(&cfg).await.unwrap();
        assert_eq!(v.mac, virtual_mac(AddressFamily::Ipv6, 7));
        vip_netlink::Interface::by_name("eth0")
            .unwrap()
            .mac()
            .unwrap()
    });
    let shown = node.exec("ip -6 addr show dev vrrp.7");
    let expect = format!(
        "fe80::{:x}:{:x}ff:fe{:02x}:{:x}/64",
        u16::from_be_bytes([parent_mac[0] ^ 2, parent_mac[1]]),
        parent_mac[2],
        parent_mac[3],
        u16::from_be_bytes([parent_mac[4], parent_mac[5]])
    );
    assert!(shown.contains(&expect), "want {expect} in {shown}");
    assert_eq!(
        shown.matches("scope link").count(),
        1,
        "only that link-local: {shown}"
    );
    assert!(node
        .exec("ip link show vrrp.7")
        .contains("00:00:5e:00:02:07"));
}

#[test]
fn existing_interface_with_the_name_is_not_taken_over() {
    let lan = Lan::new(1);
    lan.nodes[0].exec("ip link add vrrp.9 type bridge");
    lan.nodes[0].run(|| async {
        let m = VmacManager::new().unwrap();
        let cfg = VmacConfig::new("eth0", AddressFamily::Ipv4, 9).unwrap();
        assert!(matches!(
            m.create(&cfg).await,
            Err(vip_netlink::Error::InvalidConfig(_))
        ));
        let bad = VmacConfig::new("nope0", AddressFamily::Ipv4, 10).unwrap();
        assert!(matches!(
            m.create(&bad).await,
            Err(vip_netlink::Error::NoSuchInterface(_))
        ));
    });
}

#[test]
fn vip_on_the_vmac_is_announced_from_the_virtual_mac() {
    let lan = Lan::new(2);
    let vip = Ipv4Addr::new(10, 0, 0, 150);
    let (ready_tx, ready_rx) = mpsc::channel();
    let cap = lan.nodes[1].spawn(move || async move {
        let cap = Capture::open("eth0");
        ready_tx.send(()).unwrap();
        cap.find(|f| f.len() >= 42 && f[12..14] == [8, 6] && f[28..32] == vip.octets())
    });
    ready_rx.recv().unwrap();
    lan.nodes[0].run(move || async move {
        let vmac = VmacManager::new()
            .unwrap()
            .create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap())
            .await
            .unwrap();
        let vips = VipManager::new().unwrap();
        vips.add(&Vip::new(&vmac.name, IpAddr::V4(vip), 24).unwrap())
            .await
            .unwrap();
        let a = Announcer::new(&vmac.name).unwrap();
        assert_eq!(
            a.source_mac(),
            vmac.mac,
            "a VMAC's own MAC is the virtual MAC"
        );
        a.announce(IpAddr::V4(vip)).await.unwrap();
    });
    let f = cap.join().unwrap().expect("GARP from the VMAC captured");
    assert_eq!(&f[6..12], &[0, 0, 0x5e, 0, 1, 51]);
    assert_eq!(&f[22..28], &[0, 0, 0x5e, 0, 1, 51]);
}

/// `rp_filter` of each name under `ipv4/conf`, in order.
fn rp_filters(node: &common::Netns, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            node.exec(&format!("cat /proc/sys/net/ipv4/conf/{n}/rp_filter"))
                .trim()
                .to_string()
        })
        .collect()
}

/// keepalived's all.rp_filter rewrite: with `all.rp_filter=1` the VMAC's own 0 means nothing
/// (the kernel takes the maximum), so `all` goes to 0 and every interface below it (and
/// `default`) is raised to it; one already above stays. The last VMAC's removal puts it all
/// back.
#[test]
fn all_rp_filter_is_moved_onto_the_interfaces_while_vmacs_exist() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec(
        "ip link add d0 type veth peer name d1 && sysctl -qw net.ipv4.conf.all.rp_filter=1 \
         net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
         net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.d0.rp_filter=2 net.ipv4.conf.d1.rp_filter=2",
    );
    let names = ["all", "default", "eth0", "lo", "d0"];
    assert_eq!(rp_filters(node, &names), ["1", "0", "0", "0", "2"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        m.create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap())
            .await
            .unwrap();
        m.create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 52).unwrap())
            .await
            .unwrap();
    });
    assert_eq!(rp_filters(node, &names), ["0", "1", "1", "1", "2"]);
    assert_eq!(rp_filters(node, &["vrrp.51", "vrrp.52"]), ["0", "0"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        m.remove("vrrp.51").await.unwrap();
    });
    assert_eq!(rp_filters(node, &names), ["0", "1", "1", "1", "2"]);
    node.run(|| async {
        let m = VmacManager::new().unwrap();
        m.remove("vrrp.52").await.unwrap();
    });
    assert_eq!(rp_filters(node, &names), ["1", "0", "0", "0", "2"]);
}

/// What the rewrite is for: with a strict `all.rp_filter` a client's connection to a VIP on
/// the VMAC is refused by the reverse-path check (the route back to the client leaves
/// through the parent) unless `all` is moved onto the interfaces. With the rewrite undone by
/// hand the same connection is dropped, which shows the check really is in the way.
#[test]
fn a_vip_on_a_vmac_accepts_connections_under_a_strict_all_rp_filter() {
    let lan = Lan::new(2);
    let vip = Ipv4Addr::new(10, 0, 0, 150);
    lan.nodes[0].exec("sysctl -qw net.ipv4.conf.all.rp_filter=1");
    let listener = lan.nodes[0].run(move || async move {
        let vmac = VmacManager::new()
            .unwrap()
            .create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap())
            .await
            .unwrap();
        VipManager::new()
            .unwrap()
            .add(&Vip::new(&vmac.name, IpAddr::V4(vip), 24).unwrap())
            .await
            .unwrap();
        std::net::TcpListener::bind((vip, 0)).unwrap()
    });
    let addr = listener.local_addr().unwrap();
    let connect = move || {
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
    };
    assert_eq!(
        lan.nodes[0]
            .exec("cat /proc/sys/net/ipv4/conf/all/rp_filter")
            .trim(),
        "0"
    );
    // First with the rewrite undone by hand: the SYN reaches the VMAC (its ARP reply won)
    // and the strict check drops it. (Tried first: once a connection went through, the
    // client may have learnt the VIP from the parent's own ARP and bypass the VMAC.)
    lan.nodes[0].exec("sysctl -qw net.ipv4.conf.all.rp_filter=1");
    assert!(
        !lan.nodes[1].run_plain(connect),
        "dropped under a strict all.rp_filter"
    );
    lan.nodes[0].exec("sysctl -qw net.ipv4.conf.all.rp_filter=0");
    assert!(
        lan.nodes[1].run_plain(connect),
        "connection to the VIP on the VMAC"
    );
}
