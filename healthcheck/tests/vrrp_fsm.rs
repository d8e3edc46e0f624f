//! Check results feeding real vrrp-fsm instances: the two crates agree on keepalived's
//! weight semantics, and a monitored script moves an instance's priority.

use std::time::{Duration, Instant};

use healthcheck::*;
use vrrp_fsm::{FaultFlags, Instance, InstanceConfig, TrackerId, TrackerKind, VirtualAddress};

fn instance(tracker: vrrp_fsm::TrackerConfig) -> Instance {
    let mut cfg = InstanceConfig::new(51, "192.0.2.1".parse().unwrap());
    cfg.priority = 100;
    cfg.vips
        .push(VirtualAddress::new("192.0.2.100".parse().unwrap(), 24));
    cfg.trackers.push(tracker);
    let mut inst = Instance::new(cfg).unwrap();
    inst.startup(Instant::now());
    inst
}

#[test]
fn weight_semantics_agree_with_vrrp_fsm() {
    let mut cases = 0;
    for weight in [-30, -1, 0, 1, 30] {
        for reverse in [false, true] {
            let w = TrackWeight {
                weight,
                reverse,
                scale_by_value: false,
            };
            for health in [Health::Up, Health::Down] {
                let st = CheckStatus {
                    health,
                    weight: w,
                    value: None,
                };
                let mut inst =
                    instance(w.to_vrrp_tracker_config(TrackerId(1), TrackerKind::Script));
                inst.set_tracker(Instant::now(), TrackerId(1), st.to_vrrp_fsm().unwrap())
                    .unwrap();
                assert_eq!(inst.total_priority() - 100, st.priority_delta(), "{st:?}");
                assert_eq!(
                    inst.fault_flags().contains(FaultFlags::TRACKER),
                    st.is_fault(),
                    "{st:?}"
                );
                cases += 1;
            }
            let file = TrackWeight {
                scale_by_value: true,
                ..w
            };
            for value in [-3, 0, 2, 9, 1000] {
                for health in [Health::Up, Health::Down] {
                    let st = CheckStatus {
                        health,
                        weight: file,
                        value: Some(value),
                    };
                    let mut inst =
                        instance(file.to_vrrp_tracker_config(TrackerId(1), TrackerKind::File));
                    inst.set_tracker(Instant::now(), TrackerId(1), st.to_vrrp_fsm().unwrap())
                        .unwrap();
                    assert_eq!(inst.total_priority() - 100, st.priority_delta(), "{st:?}");
                    assert_eq!(
                        inst.fault_flags().contains(FaultFlags::TRACKER),
                        st.is_fault(),
                        "{st:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 5 * 2 * (2 + 10));
    let unknown = CheckStatus {
        health: Health::Unknown,
        weight: TrackWeight::new(5),
        value: None,
    };
    assert_eq!(unknown.to_vrrp_fsm(), None);
}

#[tokio::test]
async fn monitored_script_moves_vrrp_priority() {
    let flag = std::env::temp_dir().join(format!(
        "hc-vrrp-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let check = ExecCheck::new(["test", "-e", flag.to_str().unwrap()]).unwrap();
    let weight = TrackWeight::new(-40);
    let mut inst = instance(weight.to_vrrp_tracker_config(TrackerId(7), TrackerKind::Script));
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    monitor
        .add(
            CheckSpec::new(CheckId(7), check)
                .interval(Duration::from_millis(20))
                .policy(Policy::Script {
                    rise: 2,
                    fall: 2,
                    init_fail: false,
                })
                .weight(weight),
        )
        .unwrap();
    let mut priorities = Vec::new();
    for step in 0..3 {
        let change = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let state = change.to_vrrp_fsm().expect("a verdict");
        inst.set_tracker(Instant::now(), TrackerId(change.id.0 as u32), state)
            .unwrap();
        priorities.push((change.state.health, inst.effective_priority()));
        // Flip the script's outcome after each change.
        if step % 2 == 0 {
            std::fs::write(&flag, b"").unwrap();
        } else {
            std::fs::remove_file(&flag).unwrap();
        }
    }
    assert_eq!(
        priorities,
        vec![(Health::Down, 60), (Health::Up, 100), (Health::Down, 60)]
    );
    let _ = std::fs::remove_file(&flag);
}
