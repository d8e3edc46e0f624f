//! Interop with a real keepalived (2.2.x, the Debian package) in a neighbouring namespace:
//! its adverts pass our validation, our adverts pass its validation, and our GARP / NA
//! frames are byte-for-byte the ones it sends.
mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use common::{wait_for_secs, Capture, Keepalived, Lan};
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertTransport, Announce, Announcer,
};
use vrrp_proto::{AddressList, Advert, Auth, DecodeOptions, Version};

fn instance(version: u8, vip: &str, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id hakit_test\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         priority 150\n  advert_int 1\n  version {version}\n{extra}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
}

/// Receive the first advert on node 1 within 10 s (keepalived needs ~3.6 s to become Master).
fn receive_on_node1(lan: &Lan, cfg: AdvertSocketConfig) -> vip_netlink::InboundAdvert {
    lan.nodes[1].run(move || async move {
        let sock = AdvertSocket::open(cfg).unwrap();
        tokio::time::timeout(Duration::from_secs(10), sock.recv())
            .await
            .expect("keepalived advert within 10 s")
            .expect("valid advert")
    })
}

#[test]
fn keepalived_v3_ipv4_adverts_are_accepted_and_ours_make_it_yield() {
    let lan = Lan::new(2);
    let ka = Keepalived::start(&lan.nodes[0], &instance(3, "10.0.0.100/24", ""));
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3).with_vrid(51);
    let got = receive_on_node1(&lan, cfg);
    assert_eq!(got.advert.version, Version::V3, "{}", ka.log());
    assert_eq!(got.advert.priority, 150);
    assert_eq!(got.advert.max_adver_int, 100);
    assert_eq!(
        got.advert.addresses.iter().collect::<Vec<_>>(),
        [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))]
    );
    assert_eq!(got.source, "10.0.0.1".parse::<IpAddr>().unwrap());
    // keepalived is Master with the VIP; our higher-priority adverts make it go Backup and
    // drop the VIP, which it only does if it accepted them (checksum, TTL, VRID, ...).
    wait_for_secs(10, || {
        lan.nodes[0]
            .exec("ip -4 addr show dev eth0")
            .contains("10.0.0.100")
    });
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let sender = lan.nodes[1].spawn(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        let vips = AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100)]).unwrap();
        let advert = Advert::v3(51, 200, 100, vips);
        while stop_rx.try_recv().is_err() {
            sock.send(&advert).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    wait_for_secs(10, || {
        !lan.nodes[0]
            .exec("ip -4 addr show dev eth0")
            .contains("10.0.0.100")
    });
    stop_tx.send(()).unwrap();
    sender.join().unwrap();
    assert!(ka.log().contains("BACKUP"), "{}", ka.log());
}

#[test]
fn keepalived_v2_password_adverts_are_accepted() {
    let lan = Lan::new(2);
    let auth = "  authentication {\n    auth_type PASS\n    auth_pass secret\n  }";
    let _ka = Keepalived::start(&lan.nodes[0], &instance(2, "10.0.0.100/24", auth));
    let opts = DecodeOptions {
        v2_auth: Some(Auth::SimplePassword(*b"secret\0\0")),
        ..Default::default()
    };
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2)
        .with_vrid(51)
        .with_decode_options(opts);
    let got = receive_on_node1(&lan, cfg);
    assert_eq!(got.advert.version, Version::V2);
    assert_eq!(got.advert.auth, Auth::SimplePassword(*b"secret\0\0"));
    assert_eq!(got.advert.max_adver_int, 1);
}

#[test]
fn keepalived_v3_ipv6_adverts_are_accepted() {
    let lan = Lan::new(2);
    let _ka = Keepalived::start(&lan.nodes[0], &instance(3, "fd00::100/64", ""));
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3).with_vrid(51);
    let got = receive_on_node1(&lan, cfg);
    assert_eq!(
        got.advert.addresses.iter().collect::<Vec<_>>(),
        ["fd00::100".parse::<IpAddr>().unwrap()]
    );
    assert!(matches!(got.source, IpAddr::V6(s) if s.segments()[0] == 0xfe80));
    assert_eq!(got.hop_limit, 255);
}

/// Capture on node 1 the first frame matching `pred` within 10 s.
fn capture_node1(
    lan: &Lan,
    pred: impl Fn(&[u8]) -> bool + Send + 'static,
) -> std::thread::JoinHandle<Option<Vec<u8>>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let h = lan.nodes[1].spawn(move || async move {
        let cap = Capture::open("eth0");
        ready_tx.send(()).unwrap();
        cap.find_within(Duration::from_secs(10), pred)
    });
    ready_rx.recv().unwrap();
    h
}

#[test]
fn our_gratuitous_arp_is_byte_for_byte_keepalived_s() {
    let lan = Lan::new(2);
    let vip = Ipv4Addr::new(10, 0, 0, 100);
    let is_garp = move |f: &[u8]| f.len() >= 42 && f[12..14] == [8, 6] && f[28..32] == vip.octets();
    let cap = capture_node1(&lan, is_garp);
    let ka = Keepalived::start(&lan.nodes[0], &instance(3, "10.0.0.100/24", ""));
    let theirs = cap
        .join()
        .unwrap()
        .unwrap_or_else(|| panic!("no GARP: {}", ka.log()));
    drop(ka);
    let cap = capture_node1(&lan, is_garp);
    lan.nodes[0].run(move || async move {
        Announcer::new("eth0")
            .unwrap()
            .announce(IpAddr::V4(vip))
            .await
            .unwrap();
    });
    let ours = cap.join().unwrap().expect("our GARP");
    assert_eq!(ours, theirs, "ours {ours:02x?}\ntheirs {theirs:02x?}");
}

#[test]
fn our_unsolicited_na_is_byte_for_byte_keepalived_s() {
    let lan = Lan::new(2);
    let vip: Ipv6Addr = "fd00::100".parse().unwrap();
    let is_na = move |f: &[u8]| {
        f.len() >= 86
            && f[12..14] == [0x86, 0xdd]
            && f[20] == 58
            && f[54] == 136
            && f[62..78] == vip.octets()
    };
    let cap = capture_node1(&lan, is_na);
    let ka = Keepalived::start(&lan.nodes[0], &instance(3, "fd00::100/64", ""));
    let theirs = cap
        .join()
        .unwrap()
        .unwrap_or_else(|| panic!("no NA: {}", ka.log()));
    drop(ka);
    let cap = capture_node1(&lan, is_na);
    lan.nodes[0].run(move || async move {
        Announcer::new("eth0")
            .unwrap()
            .announce(IpAddr::V6(vip))
            .await
            .unwrap();
    });
    let ours = cap.join().unwrap().expect("our NA");
    assert_eq!(ours, theirs, "ours {ours:02x?}\ntheirs {theirs:02x?}");
}
