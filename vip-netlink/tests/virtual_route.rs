//! keepalived's `virtual_routes` over rtnetlink in a fresh namespace, checked with `ip route`:
//! installed with protocol keepalived, idempotent, removed only as such.
mod common;

use common::Lan;
use vip_netlink::{Change, Error, Vip, VipManager, VirtualRoute, VirtualRule};

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
        "10.94.0.0/16 nexthop via 10.0.0.253 dev eth0 weight 3 nexthop via 10.0.0.254",
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
    // A multipath route: both paths, with their weights.
    let mp = node.exec("ip -4 route show 10.94.0.0/16 proto keepalived");
    let hops: Vec<&str> = mp.lines().map(str::trim).collect();
    assert!(
        hops.contains(&"nexthop via 10.0.0.253 dev eth0 weight 3")
            && hops.contains(&"nexthop via 10.0.0.254 dev eth0 weight 1"),
        "{mp}"
    );
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

fn rule(s: &str) -> VirtualRule {
    s.parse().unwrap()
}

#[test]
fn rules_are_added_idempotently_and_only_ours_are_removed() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let rules = [
        "from 10.0.0.100 priority 1000 table 100",
        "to 10.90.0.0/16 iif eth0 priority 1001 table 1000",
        "fwmark 0x10/0xff priority 1002 blackhole",
        "from fd00::100 priority 1003 table 100",
    ];
    node.run(move || async move {
        let m = VipManager::new().unwrap();
        for r in rules {
            assert_eq!(m.add_rule_now(&rule(r)).unwrap(), Change::Applied, "{r}");
            assert_eq!(m.add_rule_now(&rule(r)).unwrap(), Change::Unchanged, "{r}");
        }
    });
    let v4 = node.exec("ip -4 rule show proto keepalived");
    assert!(
        v4.contains("1000:\tfrom 10.0.0.100 lookup 100 proto keepalived"),
        "{v4}"
    );
    assert!(
        v4.contains("1001:\tfrom all to 10.90.0.0/16 iif eth0 lookup 1000 proto keepalived"),
        "{v4}"
    );
    assert!(
        v4.contains("1002:\tfrom all fwmark 0x10/0xff blackhole proto keepalived"),
        "{v4}"
    );
    let v6 = node.exec("ip -6 rule show proto keepalived");
    assert!(
        v6.contains("1003:\tfrom fd00::100 lookup 100 proto keepalived"),
        "{v6}"
    );

    // The same rule by another owner stays.
    node.exec("ip rule add from 10.0.0.101 priority 1004 table 100");
    node.run(move || async move {
        let m = VipManager::new().unwrap();
        let theirs = rule("from 10.0.0.101 priority 1004 table 100");
        assert_eq!(m.remove_rule_now(&theirs).unwrap(), Change::Unchanged);
        for r in rules {
            assert_eq!(m.remove_rule_now(&rule(r)).unwrap(), Change::Applied, "{r}");
            assert_eq!(
                m.remove_rule_now(&rule(r)).unwrap(),
                Change::Unchanged,
                "{r}"
            );
        }
    });
    // (`ip rule show proto X` does not filter here: the lines are filtered instead.)
    let all = node.exec("ip rule show") + &node.exec("ip -6 rule show");
    let left: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("proto keepalived"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(node
        .exec("ip rule show")
        .contains("from 10.0.0.101 lookup 100"));
}
