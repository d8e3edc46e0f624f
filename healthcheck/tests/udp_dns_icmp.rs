//! UDP, DNS and ICMP checkers against real responders (loopback, and a private network
//! namespace for the unprivileged ICMP socket).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use healthcheck::*;

const T: Duration = Duration::from_secs(2);

fn closed_udp_port() -> SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

#[tokio::test]
async fn udp_reply_pattern_unreachable_and_silence() {
    let echo = udp_echo().await;
    let pattern = ReplyPattern::from_hex("68xx6c").unwrap(); // "h?l"
    UdpCheck::new(echo, b"hello".to_vec())
        .require_reply(Some(pattern.clone()))
        .check(T)
        .await
        .unwrap();
    let err = UdpCheck::new(echo, b"xyz".to_vec())
        .require_reply(Some(pattern))
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::BadReply(_)), "{err}");

    // Nothing listening: the kernel answers with ICMP port unreachable.
    let err = UdpCheck::new(closed_udp_port(), b"x".to_vec())
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Unreachable), "{err}");

    // A socket that never answers: up without require_reply (keepalived), down with it.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let short = Duration::from_millis(200);
    UdpCheck::new(addr, b"x".to_vec())
        .check(short)
        .await
        .unwrap();
    let err = UdpCheck::new(addr, b"x".to_vec())
        .require_reply(None)
        .check(short)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::NoReply), "{err}");
}

#[tokio::test]
async fn dns_rcode_qr_and_answer_type() {
    let srv = dns_server(DnsMode::Answer).await;
    DnsCheck::new(srv, "rs1.example.org", dns_rtype::A)
        .unwrap()
        .require_answer(true)
        .check(T)
        .await
        .unwrap();
    // keepalived semantics: RCODE 0 + QR is enough, even with an empty answer section.
    DnsCheck::new(srv, ".", dns_rtype::SOA)
        .unwrap()
        .check(T)
        .await
        .unwrap();
    let err = DnsCheck::new(srv, "rs1.example.org", dns_rtype::AAAA)
        .unwrap()
        .require_answer(true)
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::DnsNoAnswer(28)), "{err}");

    let nx = dns_server(DnsMode::NxDomain).await;
    let err = DnsCheck::new(nx, "nope.example.org", dns_rtype::A)
        .unwrap()
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::DnsRcode(3)), "{err}");

    let noqr = dns_server(DnsMode::NoQr).await;
    let err = DnsCheck::new(noqr, ".", dns_rtype::SOA)
        .unwrap()
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::BadReply(_)), "{err}");

    // Garbage and a reply with the wrong id are ignored; then nothing comes: timeout.
    let wrong = dns_server(DnsMode::WrongId).await;
    let err = DnsCheck::new(wrong, ".", dns_rtype::SOA)
        .unwrap()
        .check(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");

    let err = DnsCheck::new(closed_udp_port(), ".", dns_rtype::SOA)
        .unwrap()
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Unreachable), "{err}");
}

#[tokio::test]
async fn icmp_raw_on_loopback_v4_and_v6() {
    IcmpCheck::new("127.0.0.1".parse().unwrap())
        .socket_kind(IcmpSocketKind::Raw)
        .check(T)
        .await
        .unwrap();
    IcmpCheck::new("::1".parse().unwrap())
        .socket_kind(IcmpSocketKind::Raw)
        .check(T)
        .await
        .unwrap();
    // Auto falls back to raw when datagram ICMP is not allowed for our group.
    IcmpCheck::new("127.0.0.1".parse().unwrap())
        .check(T)
        .await
        .unwrap();
}

#[test]
fn icmp_datagram_socket_where_allowed_and_unreachable() {
    in_private_netns(|| async {
        // Disallowed by default ("1 0"): datagram refused, Auto falls back to raw.
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "1 0").unwrap();
        let err = IcmpCheck::new("127.0.0.1".parse().unwrap())
            .socket_kind(IcmpSocketKind::Datagram)
            .check(T)
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err}");
        // Allowed for our group (this sysctl is per network namespace).
        std::fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").unwrap();
        IcmpCheck::new("127.0.0.1".parse().unwrap())
            .socket_kind(IcmpSocketKind::Datagram)
            .check(T)
            .await
            .unwrap();
        IcmpCheck::new("::1".parse().unwrap())
            .socket_kind(IcmpSocketKind::Datagram)
            .check(T)
            .await
            .unwrap();
        // A routed address nobody answers for (ARP on a veth whose peer has no address): timeout.
        for args in [
            &["link", "add", "v0", "type", "veth", "peer", "name", "v1"][..],
            &["addr", "add", "192.0.2.1/24", "dev", "v0"],
            &["link", "set", "v0", "up"],
            &["link", "set", "v1", "up"],
        ] {
            assert!(std::process::Command::new("ip")
                .args(args)
                .status()
                .unwrap()
                .success());
        }
        let err = IcmpCheck::new("192.0.2.2".parse().unwrap())
            .check(Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Timeout(_)), "{err}");
        // No route in this namespace: unreachable (down), never a hang.
        let err = IcmpCheck::new("203.0.113.1".parse().unwrap())
            .check(T)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CheckError::Unreachable | CheckError::Connect { .. }),
            "{err}"
        );
    });
}
