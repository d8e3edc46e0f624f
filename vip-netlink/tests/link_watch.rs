//! Link up/down and address events seen through rtnetlink multicast groups.
mod common;

use std::time::Duration;

use common::Lan;
use vip_netlink::{LinkEvent, LinkEvents, LinkWatch};

async fn next(w: &mut LinkWatch) -> LinkEvent {
    tokio::time::timeout(Duration::from_secs(5), w.next_event())
        .await
        .expect("event within 5 s")
        .expect("event")
}

#[test]
fn link_down_up_and_address_changes_are_events() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let ns = node.name.clone();
    node.run(move || async move {
        let mut w = LinkWatch::new("eth0").unwrap();
        assert!(w.is_up());
        let sh = |c: &str| common::sh(&format!("ip netns exec {ns} {c}"));

        sh("ip link set eth0 down");
        // Taking the link down also flushes IPv6 addresses: skip address events.
        loop {
            match next(&mut w).await {
                LinkEvent::Down => break,
                LinkEvent::AddressRemoved { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(!w.is_up());
        sh("ip link set eth0 up");
        loop {
            match next(&mut w).await {
                LinkEvent::Up => break,
                LinkEvent::AddressAdded { .. } | LinkEvent::AddressRemoved { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
        sh("ip addr add 10.0.0.200/24 dev eth0");
        loop {
            match next(&mut w).await {
                LinkEvent::AddressAdded {
                    address,
                    prefix_len,
                } if address.to_string() == "10.0.0.200" => {
                    assert_eq!(prefix_len, 24);
                    break;
                }
                LinkEvent::AddressAdded { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
        sh("ip addr del 10.0.0.200/24 dev eth0");
        loop {
            match next(&mut w).await {
                LinkEvent::AddressRemoved { address, .. }
                    if address.to_string() == "10.0.0.200" =>
                {
                    break
                }
                LinkEvent::AddressAdded { .. } | LinkEvent::AddressRemoved { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    });
}

#[test]
fn carrier_loss_on_the_peer_side_is_a_down_event() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let hub = lan.hub.name.clone();
    node.run(move || async move {
        let mut w = LinkWatch::new("eth0").unwrap();
        // The bridge-side end going down drops the carrier of eth0 (IFF_RUNNING cleared).
        common::sh(&format!("ip netns exec {hub} ip link set p0 down"));
        loop {
            match next(&mut w).await {
                LinkEvent::Down => break,
                LinkEvent::AddressRemoved { .. } | LinkEvent::AddressAdded { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    });
}

#[test]
fn deleting_the_interface_ends_the_stream() {
    use futures::StreamExt;
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    node.exec("ip link add br9 type bridge && ip link set br9 up");
    let ns = node.name.clone();
    node.run(move || async move {
        let mut w = LinkWatch::new("br9").unwrap();
        common::sh(&format!("ip netns exec {ns} ip link del br9"));
        let mut saw_removed = false;
        while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("stream progresses")
        {
            if ev.unwrap() == LinkEvent::Removed {
                saw_removed = true;
            }
        }
        assert!(saw_removed);
        assert!(matches!(
            w.next_event().await,
            Err(vip_netlink::Error::NoSuchInterface(_))
        ));
    });
}

#[test]
fn links_only_reports_link_changes_and_no_address_events() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let ns = node.name.clone();
    node.run(move || async move {
        let mut w = LinkWatch::links_only("eth0").unwrap();
        assert!(w.is_up());
        let sh = |c: &str| common::sh(&format!("ip netns exec {ns} {c}"));
        // Address changes (a VIP coming and going) are not even received...
        sh("ip addr add 10.0.0.200/24 dev eth0");
        sh("ip addr add fd00::200/64 dev eth0 nodad");
        sh("ip addr del 10.0.0.200/24 dev eth0");
        sh("ip link set eth0 down");
        // ...so the first event is the link going down, then up again.
        assert_eq!(next(&mut w).await, LinkEvent::Down);
        sh("ip link set eth0 up");
        assert_eq!(next(&mut w).await, LinkEvent::Up);
    });
}
