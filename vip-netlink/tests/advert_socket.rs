//! Adverts sent from one namespace are received, validated and decoded in another.
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::time::Duration;

use common::Lan;
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertStats, AdvertTransport, InboundAdvert,
};
use vrrp_proto::{AddressList, Advert, Auth, ChecksumMode, Ipv4Params, Version};

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Open `cfg` in node `rx`, then run `send` in node `tx`; return the first advert received
/// (within 5 s) and the receiver's stats at that point.
fn exchange<F, Fut>(
    lan: &Lan,
    rx: usize,
    cfg: AdvertSocketConfig,
    tx: usize,
    send: F,
) -> (InboundAdvert, AdvertStats)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = lan.nodes[rx].spawn(move || async move {
        let sock = AdvertSocket::open(cfg).unwrap();
        ready_tx.send(()).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), sock.recv())
            .await
            .expect("advert within 5 s")
            .expect("recv");
        (got, sock.stats())
    });
    ready_rx.recv().unwrap();
    lan.nodes[tx].run(send);
    receiver.join().unwrap()
}

fn vips_v4() -> AddressList {
    AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100), Ipv4Addr::new(10, 0, 0, 101)]).unwrap()
}

#[test]
fn v3_ipv4_multicast_advert_is_received_and_decoded() {
    let lan = Lan::new(2);
    let sent = Advert::v3(51, 150, 100, vips_v4());
    let s2 = sent.clone();
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
    let (got, stats) = exchange(&lan, 1, cfg, 0, move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        assert_eq!(
            sock.source(),
            Some(v4("10.0.0.1")),
            "primary address as source"
        );
        assert_eq!(sock.send(&s2).await.unwrap(), 1);
    });
    assert_eq!(got.advert, sent);
    assert_eq!(got.source, v4("10.0.0.1"));
    assert_eq!(got.destination, v4("224.0.0.18"));
    assert_eq!(got.hop_limit, 255);
    assert_eq!(stats.counters.rcvd_advertisements, 1);
}

#[test]
fn v2_advert_with_password_is_received_and_decoded() {
    let lan = Lan::new(2);
    let sent = Advert::v2(7, 100, 1, Auth::SimplePassword(*b"secret\0\0"), vips_v4());
    let s2 = sent.clone();
    let opts = vrrp_proto::DecodeOptions {
        v2_auth: Some(Auth::SimplePassword(*b"secret\0\0")),
        ..Default::default()
    };
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2)
        .with_decode_options(opts)
        .with_vrid(7);
    let (got, stats) = exchange(&lan, 1, cfg, 0, move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2);
        AdvertSocket::open(cfg).unwrap().send(&s2).await.unwrap();
    });
    assert_eq!(got.advert, sent);
    assert_eq!(got.advert.version, Version::V2);
    assert_eq!(stats.counters.rcvd_advertisements, 1);
}

#[test]
fn v3_ipv6_advert_from_link_local_is_received_and_decoded() {
    let lan = Lan::new(2);
    let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
    let sent = Advert::v3(51, 200, 100, vips);
    let s2 = sent.clone();
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3);
    let sender_ll = lan.nodes[0].run(|| async {
        vip_netlink::Interface::by_name("eth0")
            .unwrap()
            .link_local_ipv6()
            .unwrap()
    });
    let (got, stats) = exchange(&lan, 1, cfg, 0, move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3);
        AdvertSocket::open(cfg).unwrap().send(&s2).await.unwrap();
    });
    assert_eq!(got.advert, sent);
    assert_eq!(
        got.source,
        IpAddr::V6(sender_ll),
        "from the link-local address"
    );
    assert_eq!(got.destination, "ff02::12".parse::<IpAddr>().unwrap());
    assert_eq!(got.hop_limit, 255);
    assert_eq!(stats.counters.rcvd_advertisements, 1);
    assert_eq!(stats.counters.checksum_errors, 0);
}

#[test]
fn unicast_adverts_go_to_each_peer_and_only_peers_are_accepted() {
    let lan = Lan::new(3);
    let sent = Advert::v3(51, 120, 100, vips_v4());
    let (s_stranger, s_peer) = (sent.clone(), sent.clone());
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3)
        .with_unicast_peers([v4("10.0.0.1")]);
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = lan.nodes[1].spawn(move || async move {
        let sock = AdvertSocket::open(cfg).unwrap();
        ready_tx.send(()).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), sock.recv())
            .await
            .unwrap()
            .unwrap();
        (got, sock.stats())
    });
    ready_rx.recv().unwrap();
    // A stranger (node 2) unicasts first: dropped, counted.
    lan.nodes[2].run(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3)
            .with_unicast_peers([v4("10.0.0.2")]);
        AdvertSocket::open(cfg)
            .unwrap()
            .send(&s_stranger)
            .await
            .unwrap();
    });
    // The configured peer unicasts to two peers (node 1 and node 2) with TTL 64.
    lan.nodes[0].run(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3)
            .with_unicast_peers([v4("10.0.0.2"), v4("10.0.0.3")])
            .with_ttl(64);
        let n = AdvertSocket::open(cfg)
            .unwrap()
            .send(&s_peer)
            .await
            .unwrap();
        assert_eq!(n, 2, "one copy per peer");
    });
    let (got, stats) = receiver.join().unwrap();
    assert_eq!(got.advert, sent);
    assert_eq!(got.source, v4("10.0.0.1"));
    assert_eq!(got.destination, v4("10.0.0.2"));
    assert_eq!(got.hop_limit, 64, "TTL not checked in unicast mode");
    assert_eq!(stats.unknown_peer, 1);
    assert_eq!(stats.counters.rcvd_advertisements, 1);
}

/// Send a hand-made IPv4 packet through an `IP_HDRINCL` raw socket on eth0.
fn send_raw_v4(packet: &[u8], dst: Ipv4Addr) {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
    s.set_header_included_v4(true).unwrap();
    s.bind_device(Some(b"eth0")).unwrap();
    s.send_to(packet, &SockAddr::from(std::net::SocketAddrV4::new(dst, 0)))
        .unwrap();
}

#[test]
fn malformed_adverts_are_dropped_and_counted_per_rfc6527() {
    let lan = Lan::new(2);
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3).with_vrid(51);
    let (got, stats) = exchange(&lan, 1, cfg, 0, || async {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let good = Advert::v3(51, 150, 100, vips_v4());
        let mut buf = [0u8; 128];
        let ip = Ipv4Params::multicast(src);
        let n = good
            .encode_ipv4(&mut buf, &ip, ChecksumMode::Rfc5798PseudoHeader, None)
            .unwrap();
        let group = Ipv4Addr::new(224, 0, 0, 18);

        let mut bad_sum = buf;
        bad_sum[20 + 6] ^= 0xff;
        send_raw_v4(&bad_sum[..n], group);

        let mut low_ttl = buf;
        low_ttl[8] = 64;
        send_raw_v4(&low_ttl[..n], group);

        let v2 = Advert::v2(51, 150, 1, Auth::None, vips_v4());
        let mut b2 = [0u8; 128];
        let n2 = v2
            .encode_ipv4(&mut b2, &ip, ChecksumMode::NoPseudoHeader, None)
            .unwrap();
        send_raw_v4(&b2[..n2], group);

        let other = Advert::v3(52, 150, 100, vips_v4());
        let mut b3 = [0u8; 128];
        let n3 = other
            .encode_ipv4(&mut b3, &ip, ChecksumMode::Rfc5798PseudoHeader, None)
            .unwrap();
        send_raw_v4(&b3[..n3], group);

        let mut bad_type = buf;
        bad_type[20] = 0x32; // version 3, type 2
        send_raw_v4(&bad_type[..n], group);

        // A v3 advert unicast to the receiver's address on a multicast socket.
        let mut b4 = [0u8; 128];
        let n4 = good
            .encode_ipv4(
                &mut b4,
                &Ipv4Params::new(src, Ipv4Addr::new(10, 0, 0, 2)),
                ChecksumMode::Rfc5798PseudoHeader,
                None,
            )
            .unwrap();
        send_raw_v4(&b4[..n4], Ipv4Addr::new(10, 0, 0, 2));

        send_raw_v4(&buf[..n], group);
    });
    assert_eq!(got.advert.vrid, 51);
    let c = stats.counters;
    assert_eq!(c.checksum_errors, 1, "{stats:?}");
    assert_eq!(c.ip_ttl_errors, 1, "{stats:?}");
    assert_eq!(c.version_errors, 1, "{stats:?}");
    assert_eq!(c.vrid_errors, 1, "{stats:?}");
    assert_eq!(c.rcvd_invalid_type_packets, 1, "{stats:?}");
    assert_eq!(c.address_list_errors, 1, "wrong cast type: {stats:?}");
    assert_eq!(c.rcvd_advertisements, 1, "{stats:?}");
}

#[test]
fn ipv6_bad_checksum_is_counted_not_dropped_by_the_kernel() {
    let lan = Lan::new(2);
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3);
    let (got, stats) = exchange(&lan, 1, cfg, 0, || async {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let ifc = vip_netlink::Interface::by_name("eth0").unwrap();
        let src = ifc.link_local_ipv6().unwrap();
        let dst: std::net::Ipv6Addr = "ff02::12".parse().unwrap();
        let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
        let mut buf = [0u8; 64];
        let n = Advert::v3(51, 200, 100, vips)
            .encode_payload(
                &mut buf,
                &vrrp_proto::PseudoHeader::v6(src, dst),
                ChecksumMode::Rfc5798PseudoHeader,
                None,
            )
            .unwrap();
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        s.set_multicast_if_v6(ifc.index()).unwrap();
        s.set_multicast_hops_v6(255).unwrap();
        s.bind(&SockAddr::from(std::net::SocketAddrV6::new(
            src,
            0,
            0,
            ifc.index(),
        )))
        .unwrap();
        let to = SockAddr::from(std::net::SocketAddrV6::new(dst, 0, 0, ifc.index()));
        let mut bad = buf;
        bad[6] ^= 0xff;
        s.send_to(&bad[..n], &to).unwrap();
        s.send_to(&buf[..n], &to).unwrap();
    });
    assert_eq!(got.advert.vrid, 51);
    assert_eq!(stats.counters.checksum_errors, 1, "{stats:?}");
    assert_eq!(stats.counters.rcvd_advertisements, 1);
}

#[test]
fn v2_over_ipv6_is_a_config_error() {
    let lan = Lan::new(1);
    lan.nodes[0].run(|| async {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V2);
        assert!(matches!(
            AdvertSocket::open(cfg),
            Err(vip_netlink::Error::InvalidConfig(_))
        ));
        let cfg = AdvertSocketConfig::multicast("nope0", AddressFamily::Ipv4, Version::V3);
        assert!(matches!(
            AdvertSocket::open(cfg),
            Err(vip_netlink::Error::NoSuchInterface(_))
        ));
    });
}

#[test]
fn missing_source_address_is_a_typed_error_until_one_appears() {
    let lan = Lan::new(2);
    let ns = lan.nodes[0].name.clone();
    lan.nodes[0].exec("ip -4 addr flush dev eth0");
    lan.nodes[0].run(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        assert_eq!(sock.source(), None);
        let advert = Advert::v3(51, 100, 100, vips_v4());
        assert!(matches!(
            sock.send(&advert).await,
            Err(vip_netlink::Error::NoSourceAddress { .. })
        ));
        common::sh(&format!(
            "ip netns exec {ns} ip addr add 10.0.0.9/24 dev eth0"
        ));
        assert_eq!(sock.send(&advert).await.unwrap(), 1);
        assert_eq!(sock.source(), Some(v4("10.0.0.9")));
    });
}

#[test]
fn ipv6_unicast_adverts_use_the_configured_source() {
    let lan = Lan::new(2);
    let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
    let sent = Advert::v3(51, 150, 100, vips);
    let s2 = sent.clone();
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3)
        .with_unicast_peers(["fd00::1".parse().unwrap()]);
    let (got, stats) = exchange(&lan, 1, cfg, 0, move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3)
            .with_source("fd00::1".parse().unwrap())
            .with_unicast_peers(["fd00::2".parse().unwrap()]);
        AdvertSocket::open(cfg).unwrap().send(&s2).await.unwrap();
    });
    assert_eq!(got.advert, sent);
    assert_eq!(got.source, "fd00::1".parse::<IpAddr>().unwrap());
    assert_eq!(got.destination, "fd00::2".parse::<IpAddr>().unwrap());
    assert_eq!(stats.counters.rcvd_advertisements, 1);
}

#[test]
fn adverts_sent_on_a_vmac_leave_with_the_virtual_mac() {
    use vip_netlink::{VmacConfig, VmacManager, VmacOps};
    let lan = Lan::new(2);
    let (ready_tx, ready_rx) = mpsc::channel();
    let cap = lan.nodes[1].spawn(move || async move {
        let cap = common::Capture::open("eth0");
        ready_tx.send(()).unwrap();
        // IPv4, protocol 112.
        cap.find(|f| f.len() > 34 && f[12..14] == [8, 0] && f[23] == 112)
    });
    ready_rx.recv().unwrap();
    let sent = Advert::v3(51, 150, 100, vips_v4());
    let s2 = sent.clone();
    let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
    let (got, _) = exchange(&lan, 1, cfg, 0, move || async move {
        let vmac = VmacManager::new()
            .unwrap()
            .create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 51).unwrap())
            .await
            .unwrap();
        // A VMAC carries no address of its own: adverts use the parent's primary address,
        // as keepalived does.
        let cfg = AdvertSocketConfig::multicast(&vmac.name, AddressFamily::Ipv4, Version::V3)
            .with_source(v4("10.0.0.1"));
        AdvertSocket::open(cfg).unwrap().send(&s2).await.unwrap();
    });
    assert_eq!(got.advert, sent);
    assert_eq!(got.source, v4("10.0.0.1"));
    let frame = cap.join().unwrap().expect("advert frame captured");
    assert_eq!(
        &frame[6..12],
        &[0, 0, 0x5e, 0, 1, 51],
        "source MAC is the VMAC"
    );
    assert_eq!(
        &frame[0..6],
        &[0x01, 0, 0x5e, 0, 0, 18],
        "to 224.0.0.18's MAC"
    );
}

/// Both sockets of an instance get the burst-sized receive buffer, and a flood that overflows
/// it while nobody reads is counted (`SO_RXQ_OVFL`): the kernel hands the count with the next
/// datagram it queues after the drops.
#[test]
fn receive_buffers_are_sized_for_bursts_and_overflows_counted() {
    const FLOOD: u64 = 20_000;
    let lan = Lan::new(2);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let receiver = lan.nodes[1].spawn(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        let buffers = sock.receive_buffers().unwrap();
        ready_tx.send(()).unwrap();
        // Not read while the flood runs: the wake socket's buffer overflows. Then read what
        // it holds, and (told again) the one advert sent after.
        let mut read = 0u64;
        for _ in 0..2 {
            go_rx.recv().unwrap();
            while let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_millis(200), sock.recv()).await
            {
                read += 1;
            }
            ready_tx.send(()).unwrap();
        }
        (buffers, read, sock.stats())
    });
    ready_rx.recv().unwrap();
    let send = |n: u64| {
        lan.nodes[0].run(move || async move {
            let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
            let sock = AdvertSocket::open(cfg).unwrap();
            let advert = Advert::v3(51, 150, 100, vips_v4());
            for _ in 0..n {
                sock.send(&advert).await.unwrap();
            }
        });
        // Let the last frames land before the reader reads.
        std::thread::sleep(Duration::from_millis(200));
        go_tx.send(()).unwrap();
        ready_rx.recv().unwrap();
    };
    send(FLOOD);
    send(1);
    let (buffers, read, stats) = receiver.join().unwrap();
    let want = 2 * vip_netlink::receive_buffer::ADVERT_RECEIVE_BUFFER;
    assert_eq!(buffers, [want, want]);
    assert!(read > 1 && read < FLOOD, "read {read} of {FLOOD}");
    // Everything that arrived was read or counted as dropped (veth loses nothing by itself).
    assert_eq!(
        read + stats.receive_queue_drops,
        FLOOD + 1,
        "read {read}: {stats:?}"
    );
}
