//! Gratuitous ARP and unsolicited NA frames seen on the wire by a capture in a third
//! namespace on the same bridge.
mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;

use common::{Capture, Lan};
use vip_netlink::{virtual_mac, AddressFamily, Announce, AnnounceSocket, Announcer, GarpForm};

/// Start a capture on node 1's eth0; returns a receiver of the first frame that matches.
fn capture_on(
    lan: &Lan,
    pred: impl Fn(&[u8]) -> bool + Send + 'static,
) -> (std::thread::JoinHandle<Option<Vec<u8>>>, mpsc::Receiver<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let h = lan.nodes[1].spawn(move || async move {
        let cap = Capture::open("eth0");
        ready_tx.send(()).unwrap();
        cap.find(pred)
    });
    (h, ready_rx)
}

#[test]
fn gratuitous_arp_request_and_reply_are_on_the_wire() {
    let lan = Lan::new(2);
    let vip = Ipv4Addr::new(10, 0, 0, 100);
    for form in [GarpForm::Request, GarpForm::Reply] {
        let (cap, ready) = capture_on(&lan, move |f| {
            f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == vip.octets()
        });
        ready.recv().unwrap();
        let mac = lan.nodes[0].run(move || async move {
            let a = Announcer::new("eth0").unwrap().with_garp_form(form);
            a.announce(IpAddr::V4(vip)).await.unwrap();
            a.source_mac()
        });
        let f = cap
            .join()
            .unwrap()
            .expect("GARP captured in the third namespace");
        assert_eq!(&f[0..6], &[0xff; 6], "Ethernet broadcast");
        assert_eq!(&f[6..12], &mac, "from the interface MAC");
        let op = match form {
            GarpForm::Request => [0, 1],
            GarpForm::Reply => [0, 2],
        };
        assert_eq!(&f[20..22], &op);
        assert_eq!(&f[22..28], &mac, "sender MAC");
        assert_eq!(&f[28..32], &vip.octets(), "sender IP = VIP");
        assert_eq!(&f[32..38], &[0xff; 6], "target MAC broadcast");
        assert_eq!(&f[38..42], &vip.octets(), "target IP = VIP");
    }
}

/// Announcers on two interfaces share one socket (a daemon opens one, not one per instance):
/// each frame still leaves by its own interface, from that interface's MAC.
#[test]
fn announcers_sharing_one_socket_send_on_their_own_interfaces() {
    let lan = Lan::new(2);
    let node = &lan.nodes[0];
    node.exec("ip link add sa type veth peer name sb && ip link set sa up && ip link set sb up");
    let (on_lan, on_veth) = (Ipv4Addr::new(10, 0, 0, 102), Ipv4Addr::new(10, 0, 0, 103));
    let garp_of = |vip: Ipv4Addr| {
        move |f: &[u8]| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == vip.octets()
    };
    let (cap_lan, ready) = capture_on(&lan, garp_of(on_lan));
    ready.recv().unwrap();
    let (ready_tx, ready_veth) = mpsc::channel();
    let pred = garp_of(on_veth);
    let cap_veth = node.spawn(move || async move {
        let cap = Capture::open("sb");
        ready_tx.send(()).unwrap();
        cap.find(pred)
    });
    ready_veth.recv().unwrap();
    let (lan_mac, veth_mac) = node.run(move || async move {
        let socket = AnnounceSocket::new().unwrap();
        let a = Announcer::with_socket("eth0", &socket).unwrap();
        let b = Announcer::with_socket("sa", &socket).unwrap();
        a.announce(IpAddr::V4(on_lan)).await.unwrap();
        b.announce(IpAddr::V4(on_veth)).await.unwrap();
        (a.source_mac(), b.source_mac())
    });
    assert_ne!(lan_mac, veth_mac);
    let f = cap_lan.join().unwrap().expect("eth0's GARP on the LAN");
    assert_eq!(&f[6..12], &lan_mac, "from eth0's MAC");
    let f = cap_veth.join().unwrap().expect("sa's GARP at its peer");
    assert_eq!(&f[6..12], &veth_mac, "from sa's MAC");
    // Neither frame took the other's way.
    let (cap_lan, ready) = capture_on(&lan, garp_of(on_veth));
    ready.recv().unwrap();
    node.run(move || async move {
        let socket = AnnounceSocket::new().unwrap();
        let b = Announcer::with_socket("sa", &socket).unwrap();
        b.announce(IpAddr::V4(on_veth)).await.unwrap();
    });
    assert!(
        cap_lan.join().unwrap().is_none(),
        "sa's GARP reached the LAN"
    );
}

#[test]
fn garp_from_the_vmac() {
    let lan = Lan::new(2);
    let vip = Ipv4Addr::new(10, 0, 0, 101);
    let vmac = virtual_mac(AddressFamily::Ipv4, 51);
    let (cap, ready) = capture_on(&lan, move |f| {
        f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == vip.octets()
    });
    ready.recv().unwrap();
    lan.nodes[0].run(move || async move {
        let a = Announcer::new("eth0").unwrap().with_source_mac(vmac);
        a.announce(IpAddr::V4(vip)).await.unwrap();
    });
    let f = cap.join().unwrap().expect("GARP captured");
    assert_eq!(&f[6..12], &vmac);
    assert_eq!(&f[22..28], &vmac);
}

#[test]
fn unsolicited_na_is_on_the_wire() {
    let lan = Lan::new(2);
    let vip: Ipv6Addr = "fd00::100".parse().unwrap();
    let (cap, ready) = capture_on(&lan, move |f| {
        f.len() >= 86
            && f[12..14] == [0x86, 0xdd]
            && f[20] == 58
            && f[54] == 136
            && f[62..78] == vip.octets()
    });
    ready.recv().unwrap();
    let mac = lan.nodes[0].run(move || async move {
        let a = Announcer::new("eth0").unwrap();
        a.announce(IpAddr::V6(vip)).await.unwrap();
        a.source_mac()
    });
    let f = cap
        .join()
        .unwrap()
        .expect("NA captured in the third namespace");
    assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1], "to the all-nodes MAC");
    assert_eq!(&f[6..12], &mac);
    assert_eq!(f[21], 255, "hop limit 255");
    assert_eq!(&f[22..38], &vip.octets(), "from the VIP, as keepalived");
    assert_eq!(
        &f[38..54],
        &"ff02::1".parse::<Ipv6Addr>().unwrap().octets(),
        "to ff02::1"
    );
    assert_eq!(f[58] & 0x20, 0x20, "Override set");
    assert_eq!(f[58] & 0x40, 0, "Solicited clear");
    assert_eq!(f[58] & 0x80, 0, "Router clear: forwarding is off");
    assert_eq!(&f[78..80], &[2, 1], "target link-layer address option");
    assert_eq!(&f[80..86], &mac);
}

#[test]
fn na_router_flag_follows_forwarding() {
    let lan = Lan::new(2);
    lan.nodes[0].exec("sysctl -qw net.ipv6.conf.eth0.forwarding=1");
    let vip: Ipv6Addr = "fd00::101".parse().unwrap();
    let (cap, ready) = capture_on(&lan, move |f| {
        f.len() >= 86 && f[12..14] == [0x86, 0xdd] && f[54] == 136 && f[62..78] == vip.octets()
    });
    ready.recv().unwrap();
    lan.nodes[0].run(move || async move {
        Announcer::new("eth0")
            .unwrap()
            .announce(IpAddr::V6(vip))
            .await
            .unwrap();
    });
    let f = cap.join().unwrap().expect("NA captured");
    assert_eq!(f[58] & 0xa0, 0xa0, "Router and Override set");
}
