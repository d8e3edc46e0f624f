//! `auth_hmac` between two advert sockets in two namespaces, over IPv6 unicast (the
//! keepalived 2.4.3 interop in the root package covers the other families and modes): a
//! signed advert verifies, a wrong key and a missing trailer are refused and counted by
//! reason, the migration modes take trailerless adverts, and a live `set_auth_hmac` rotates
//! the signing key.
mod common;

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::Duration;

use common::Lan;
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertStats, AdvertTransport, AuthHmac,
    AuthHmacKey, AuthHmacMode,
};
use vrrp_proto::{AddressList, Advert, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn auth(keys: &[(u8, u8)], active: u8, mode: AuthHmacMode) -> AuthHmac {
    let keys = keys
        .iter()
        .map(|&(id, fill)| (id, AuthHmacKey::new(&[fill; 32]).unwrap()));
    AuthHmac::new(keys, active, 5).unwrap().with_mode(mode)
}

/// IPv6 unicast between fd00::1 (node 0) and fd00::2 (node 1).
fn cfg(me: usize, auth: Option<AuthHmac>) -> AdvertSocketConfig {
    let (src, peer) = if me == 0 {
        ("fd00::1", "fd00::2")
    } else {
        ("fd00::2", "fd00::1")
    };
    let c = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3)
        .with_source(ip(src))
        .with_unicast_peers([ip(peer)]);
    match auth {
        Some(a) => c.with_auth_hmac(a),
        None => c,
    }
}

/// Node 1 listens with `rx_auth` while node 0 sends `n` adverts with `tx_auth` (after
/// `rotate`, if any, is applied to the sender live); returns how many node 1 accepted and
/// its stats.
fn exchange(
    rx_auth: Option<AuthHmac>,
    tx_auth: Option<AuthHmac>,
    rotate: Option<AuthHmac>,
    n: usize,
) -> (usize, AdvertStats) {
    let lan = Lan::new(2);
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = lan.nodes[1].spawn(move || async move {
        let sock = AdvertSocket::open(cfg(1, rx_auth)).unwrap();
        ready_tx.send(()).unwrap();
        let mut got = 0;
        while let Ok(r) = tokio::time::timeout(Duration::from_millis(1500), sock.recv()).await {
            r.expect("recv");
            got += 1;
        }
        (got, sock.stats())
    });
    ready_rx.recv().unwrap();
    lan.nodes[0].run(move || async move {
        let sock = AdvertSocket::open(cfg(0, tx_auth)).unwrap();
        if let Some(a) = rotate {
            sock.set_auth_hmac(Some(a));
        }
        let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
        let advert = Advert::v3(9, 100, 100, vips);
        for _ in 0..n {
            assert_eq!(sock.send(&advert).await.unwrap(), 1);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    receiver.join().unwrap()
}

#[test]
fn signed_adverts_verify_and_refusals_are_counted_by_reason() {
    use AuthHmacMode::*;
    let a = || Some(auth(&[(1, 0xa)], 1, Enforce));
    // Same key: every advert accepted, nothing refused.
    let (got, st) = exchange(a(), a(), None, 3);
    assert_eq!((got, st.auth_hmac.total()), (3, 0), "{st:?}");
    // Another key under the same id: bad HMAC; an id the receiver lacks: unknown key.
    let (got, st) = exchange(a(), Some(auth(&[(1, 0xb)], 1, Enforce)), None, 3);
    assert_eq!((got, st.auth_hmac.bad_hmac), (0, 3), "{st:?}");
    assert_eq!(st.counters.auth_trailer_errors, 3);
    let (got, st) = exchange(a(), Some(auth(&[(2, 0xa)], 2, Enforce)), None, 3);
    assert_eq!((got, st.auth_hmac.unknown_key), (0, 3), "{st:?}");
    // A receive-only sender signs nothing: enforce refuses (missing), the migration modes
    // accept; a sender without auth_hmac is the same on the wire.
    let ro = || Some(auth(&[(1, 0xa)], 1, ReceiveOnly));
    let (got, st) = exchange(a(), ro(), None, 3);
    assert_eq!((got, st.auth_hmac.missing), (0, 3), "{st:?}");
    for mode in [Permissive, ReceiveOnly] {
        let (got, st) = exchange(Some(auth(&[(1, 0xa)], 1, mode)), None, None, 3);
        assert_eq!((got, st.auth_hmac.total()), (3, 0), "{mode:?}: {st:?}");
        // A trailer that is there is still verified.
        let wrong = Some(auth(&[(1, 0xb)], 1, Enforce));
        let (got, st) = exchange(Some(auth(&[(1, 0xa)], 1, mode)), wrong, None, 3);
        assert_eq!((got, st.auth_hmac.bad_hmac), (0, 3), "{mode:?}: {st:?}");
    }
}

#[test]
fn a_live_rotation_signs_with_the_new_active_key() {
    use AuthHmacMode::*;
    let both = || Some(auth(&[(1, 0xa), (2, 0xb)], 1, Enforce));
    // The sender starts with key 1 only and is switched to key 2 live; the receiver has both.
    let only_2 = Some(auth(&[(2, 0xb)], 2, Enforce));
    let (got, st) = exchange(both(), Some(auth(&[(1, 0xa)], 1, Enforce)), only_2, 3);
    assert_eq!((got, st.auth_hmac.total()), (3, 0), "{st:?}");
    // A receiver that lost key 2 refuses the rotated sender.
    let (got, st) = exchange(
        Some(auth(&[(1, 0xa)], 1, Enforce)),
        both(),
        Some(auth(&[(1, 0xa), (2, 0xb)], 2, Enforce)),
        3,
    );
    assert_eq!((got, st.auth_hmac.unknown_key), (0, 3), "{st:?}");
}
