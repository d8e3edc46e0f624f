//! The links of several interfaces through one `LinkMonitor`: only the interface that
//! changed is reported, a watched name that does not exist yet is reported when it appears,
//! and a removal is reported once.
mod common;

use std::time::Duration;

use common::Lan;
use vip_netlink::{LinkChange, LinkMonitor};

async fn next(m: &mut LinkMonitor) -> (String, LinkChange) {
    tokio::time::timeout(Duration::from_secs(5), m.next_change())
        .await
        .expect("change within 5 s")
        .expect("change")
}

#[test]
fn one_monitor_follows_several_interfaces_by_name() {
    let lan = Lan::new(1);
    let node = &lan.nodes[0];
    let ns = node.name.clone();
    node.run(move || async move {
        let sh = |c: &str| common::sh(&format!("ip netns exec {ns} {c}"));
        let mut m = LinkMonitor::new().unwrap();
        // Sized for bursts of link changes (root: forced past rmem_max; doubled by the kernel).
        assert_eq!(
            m.receive_buffer(),
            2 * vip_netlink::receive_buffer::NETLINK_RECEIVE_BUFFER
        );
        let eth0 = m.watch("eth0").expect("eth0 exists");
        assert!(eth0.up);
        // Not there yet: watched until it appears (through the cloneable watcher).
        assert_eq!(m.watcher().watch("late0"), None);

        sh("ip link add late0 type veth peer name late1");
        let (name, c) = next(&mut m).await;
        assert_eq!(name, "late0");
        let LinkChange::Appeared(st) = c else {
            panic!("unexpected {c:?}")
        };
        assert!(!st.up, "created down");

        sh("ip link set eth0 down");
        assert_eq!(next(&mut m).await, ("eth0".into(), LinkChange::Down));
        sh("ip link set eth0 up");
        assert_eq!(next(&mut m).await, ("eth0".into(), LinkChange::Up));

        sh("ip link del late0");
        assert_eq!(next(&mut m).await, ("late0".into(), LinkChange::Removed));
        assert_eq!(m.overruns(), 0);
    });
}
