//! keepalived's `virtual_routes` over rtnetlink in a fresh namespace, checked with `ip route`:
//! installed with protocol keepalived, idempotent, removed only as such.
mod common;

use common::Lan;
use vip_netlink::{Change, Error, Vip, VipManager, VirtualRoute};

fn route(s: &str) -> VirtualRoute {
    s.parse().unwrap()
}

#[test]
fn routes_of_each_kind_are_added_idempotently_and_removed() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let routes = [
        "10.99.0.0/16 via 10.0.0.254",
        "src 10.0.0.100 10.97.0.0/16 dev eth0 metric 20",
        "blackhole 10.98.0.0/16",
        "fd00:99::/48 via fd00::fe dev eth0",
        "10.96.0.0/16 via 10.0.0.254 table 1000",
    ];
    node.run(move || async move {
        let m = VipManager::new().unwrap();
        // The src route needs its source on the host: the VIP it goes with.
        let vip = Vip::new("eth0", "10.0.0.100".parse().unwrap(), 24).unwrap();
        m.add_now(&vip).unwrap();
        for r in routes {
            assert_eq!(m.add_route_now(&route(r)).unwrap(), Change::Applied, "{r}");
            assert_eq!(
                m.add_route_now(&route(r)).unwrap(),
                Change::Unchanged,
                "{r}"
            );
        }
    });
    let v4 = node.exec("ip -4 route show proto keepalived");
    assert!(v4.contains("10.99.0.0/16 via 10.0.0.254 dev eth0"), "{v4}");
    assert!(
        v4.contains("10.97.0.0/16 dev eth0 src 10.0.0.100 metric 20"),
        "{v4}"
    );
    assert!(v4.contains("blackhole 10.98.0.0/16"), "{v4}");
    let v6 = node.exec("ip -6 route show proto keepalived");
    assert!(v6.contains("fd00:99::/48 via fd00::fe dev eth0"), "{v6}");
    let t = node.exec("ip -4 route show table 1000 proto keepalived");
    assert!(t.contains("10.96.0.0/16 via 10.0.0.254 dev eth0"), "{t}");

    // A route of another protocol with the same destination is not ours to remove.
    node.exec("ip route add 10.95.0.0/16 via 10.0.0.254 proto static");
    node.run(move || async move {
        let m = VipManager::new().unwrap();
        assert_eq!(
            m.remove_route_now(&route("10.95.0.0/16 via 10.0.0.254"))
                .unwrap(),
            Change::Unchanged
        );
        for r in routes {
            assert_eq!(
                m.remove_route_now(&route(r)).unwrap(),
                Change::Applied,
                "{r}"
            );
            assert_eq!(
                m.remove_route_now(&route(r)).unwrap(),
                Change::Unchanged,
                "{r}"
            );
        }
    });
    let all = node.exec("ip route show table all proto keepalived");
    assert!(all.trim().is_empty(), "{all}");
    assert!(node
        .exec("ip route show")
        .contains("10.95.0.0/16 via 10.0.0.254 dev eth0 proto static"));
}

#[test]
fn an_unreachable_gateway_or_a_missing_interface_is_a_typed_error() {
    let lan = Lan::new(1);
    lan.nodes[0].run(|| async move {
        let m = VipManager::new().unwrap();
        match m.add_route_now(&route("10.99.0.0/16 via 192.0.2.1")) {
            Err(Error::Netlink { errno, .. }) => assert_eq!(errno, libc::ENETUNREACH),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m.add_route_now(&route("10.99.0.0/16 dev nosuch0")),
            Err(Error::NoSuchInterface(_))
        ));
        // Removing a route of a gone interface: nothing to do.
        assert_eq!(
            m.remove_route_now(&route("10.99.0.0/16 dev nosuch0"))
                .unwrap(),
            Change::Unchanged
        );
    });
}
