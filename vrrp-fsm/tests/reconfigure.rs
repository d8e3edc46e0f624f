//! Reload: `Instance::reconfigure` / `Router::reconfigure` change a running instance's
//! configuration without a state transition, and refuse what identifies the virtual router.
mod one_instance;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use one_instance::{advert, cfg, drain, master, started, ME, VIP};
use vrrp_fsm::{
    Action, ConfigError, FaultFlags, GarpReason, InstanceConfig, InstanceId, Router, State,
    StateChangeReason, TrackerConfig, TrackerId, TrackerKind, TrackerState, Version,
    VirtualAddress,
};
use vrrp_proto::Auth;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
const VIP2: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101));

fn transitions(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::StateChanged { .. }))
        .count()
}

#[test]
fn a_master_keeps_mastership_and_applies_priority_vips_and_interval() {
    let t0 = Instant::now();
    let (mut vr, t) = master(cfg(150), t0);
    let mut new = cfg(120);
    new.vips.push(VirtualAddress::new(VIP2, 24));
    new.advert_interval = Duration::from_millis(500);
    let now = t + Duration::from_millis(300);
    vr.reconfigure(now, new).unwrap();
    assert_eq!(vr.state(), State::Master);
    assert_eq!(vr.effective_priority(), 120);
    assert_eq!(vr.config().vips.len(), 2);
    assert_eq!(
        drain(&mut vr),
        vec![
            Action::PriorityChanged { from: 150, to: 120 },
            Action::SendAdvert { priority: 120 },
            Action::UpdateVips,
            Action::SendGarp {
                count: 5,
                reason: GarpReason::VipsChanged
            },
        ]
    );
    // The advert carries the new interval and VIPs; the Adver_Timer restarted from `now`.
    let adv = vr.advert(120);
    assert_eq!(adv.max_adver_int, 50);
    assert_eq!(adv.addresses.len(), 2);
    assert_eq!(vr.poll_timeout(), Some(now + Duration::from_millis(500)));
}

#[test]
fn an_unchanged_config_changes_nothing() {
    let t0 = Instant::now();
    let (mut vr, t) = master(cfg(150), t0);
    let deadline = vr.poll_timeout();
    vr.reconfigure(t, cfg(150)).unwrap();
    assert_eq!(drain(&mut vr), vec![]);
    assert_eq!(vr.poll_timeout(), deadline);

    let mut backup = started(cfg(100), t0);
    let down = backup.master_down_deadline();
    backup.reconfigure(t0, cfg(100)).unwrap();
    assert_eq!(drain(&mut backup), vec![]);
    assert_eq!(backup.master_down_deadline(), down);
}

#[test]
fn a_backup_raised_above_its_master_takes_over_when_the_down_timer_runs_out() {
    let t0 = Instant::now();
    let mut vr = started(cfg(100), t0);
    let t1 = t0 + Duration::from_secs(1);
    vr.handle_advert(t1, PEER, &advert(150)).unwrap();
    let down_before = vr.master_down_deadline().unwrap();

    vr.reconfigure(t1 + Duration::from_millis(200), cfg(200))
        .unwrap();
    let actions = drain(&mut vr);
    assert_eq!(transitions(&actions), 0);
    assert!(actions.contains(&Action::PriorityChanged { from: 100, to: 200 }));
    assert_eq!(vr.state(), State::Backup);
    // Skew_Time shrank with the higher priority (v3, 1 s: (256 - p) / 256 s): the running
    // timer moved by the difference.
    let expected = down_before - Duration::from_micros(390_625);
    assert_eq!(vr.master_down_deadline(), Some(expected));

    // The Master's next advert now has a lower priority: discarded, the timer runs on.
    vr.handle_advert(t1 + Duration::from_secs(1), PEER, &advert(150))
        .unwrap();
    assert_eq!(vr.master_down_deadline(), Some(expected));
    vr.handle_timeout(expected);
    assert_eq!(vr.state(), State::Master);
    assert!(drain(&mut vr).contains(&Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: StateChangeReason::Preempted,
    }));
}

#[test]
fn a_v2_backup_follows_a_new_interval_a_v3_backup_keeps_the_learned_one() {
    let t0 = Instant::now();
    let mut v2 = cfg(100);
    v2.version = Version::V2;
    let mut vr = started(v2.clone(), t0);
    let before = vr.master_down_deadline().unwrap();
    v2.advert_interval = Duration::from_secs(2);
    vr.reconfigure(t0, v2).unwrap();
    // Master_Down_Interval = 3 × interval + skew: three seconds more.
    assert_eq!(
        vr.master_down_deadline(),
        Some(before + Duration::from_secs(3))
    );
    assert_eq!(vr.master_down_interval(), Duration::from_micros(6_609_375));

    let mut vr = started(cfg(100), t0);
    let before = vr.master_down_deadline().unwrap();
    let mut v3 = cfg(100);
    v3.advert_interval = Duration::from_secs(2);
    vr.reconfigure(t0, v3).unwrap();
    assert_eq!(vr.master_adver_interval(), Duration::from_secs(1));
    assert_eq!(vr.master_down_deadline(), Some(before));
}

#[test]
fn a_backup_raised_to_255_becomes_master_at_once() {
    let t0 = Instant::now();
    let mut vr = started(cfg(100), t0);
    vr.reconfigure(t0, cfg(255)).unwrap();
    assert_eq!(vr.state(), State::Master);
    let actions = drain(&mut vr);
    assert!(actions.contains(&Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: StateChangeReason::AddressOwner,
    }));
    assert!(actions.contains(&Action::AddVips));
}

#[test]
fn identity_fields_need_a_restart_and_change_nothing() {
    let t0 = Instant::now();
    let (mut vr, t) = master(cfg(150), t0);
    let cases: Vec<(&str, InstanceConfig)> = vec![
        ("vrid", {
            let mut c = cfg(150);
            c.vrid = 52;
            c
        }),
        ("version", {
            let mut c = cfg(150);
            c.version = Version::V2;
            c
        }),
        ("primary_address", {
            let mut c = InstanceConfig::new(51, PEER);
            c.priority = 150;
            c.vips.push(VirtualAddress::host(VIP));
            c
        }),
    ];
    for (field, c) in cases {
        let err = vr.reconfigure(t, c).unwrap_err();
        assert_eq!(err, ConfigError::NeedsRestart(field), "{field}");
        assert_eq!(vr.config().vrid, 51);
        assert_eq!(vr.config().primary_address, ME);
        assert_eq!(drain(&mut vr), vec![], "{field}");
        assert_eq!(vr.state(), State::Master);
    }
    // A VRRPv2 password rotation is not identity: applied, announced at once.
    let mut v2 = cfg(150);
    v2.version = Version::V2;
    let (mut vr2, t2) = master(v2.clone(), t0);
    v2.auth = Auth::SimplePassword(*b"secret\0\0");
    vr2.reconfigure(t2, v2).unwrap();
    assert_eq!(vr2.advert(150).auth, Auth::SimplePassword(*b"secret\0\0"));
    assert_eq!(drain(&mut vr2), vec![Action::SendAdvert { priority: 150 }]);
    assert_eq!(vr2.state(), State::Master);

    // Unicast peers are not identity: a Master switched to unicast stays Master, and adverts
    // from a source outside the new list are refused (check_unicast_src).
    let mut uni = cfg(150);
    uni.unicast_peers.push(PEER);
    uni.check_unicast_src = true;
    let (mut vr3, t3) = master(cfg(150), t0);
    assert_eq!(
        vr3.reconfigure(t3, uni.clone()),
        Err(ConfigError::NeedsRestart("check_unicast_src"))
    );
    uni.check_unicast_src = false;
    vr3.reconfigure(t3, uni).unwrap();
    assert_eq!(vr3.config().unicast_peers, vec![PEER]);
    assert_eq!(drain(&mut vr3), vec![]);
    assert_eq!(vr3.state(), State::Master);

    // A value Instance::new refuses is refused the same way.
    assert_eq!(
        vr.reconfigure(t, cfg(0)),
        Err(ConfigError::PriorityOutOfRange(0))
    );
    assert_eq!(vr.effective_priority(), 150);
}

#[test]
fn a_new_tracker_weight_applies_to_the_trackers_current_state() {
    let t0 = Instant::now();
    let mut c = cfg(100);
    c.trackers
        .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, -10));
    let mut vr = started(c.clone(), t0);
    vr.set_tracker(t0, TrackerId(1), TrackerState::Down)
        .unwrap();
    assert_eq!(vr.effective_priority(), 90);
    drain(&mut vr);

    c.trackers[0].weight = -30;
    vr.reconfigure(t0, c.clone()).unwrap();
    assert_eq!(vr.effective_priority(), 70);
    assert_eq!(
        drain(&mut vr),
        vec![Action::PriorityChanged { from: 90, to: 70 }]
    );

    // Weight 0: a down tracker now means FAULT.
    c.trackers[0].weight = 0;
    vr.reconfigure(t0, c).unwrap();
    assert_eq!(vr.state(), State::Fault);
    assert!(vr.fault_flags().contains(FaultFlags::TRACKER));
}

#[test]
fn the_router_reconfigures_by_id_and_refuses_an_unknown_one() {
    let t0 = Instant::now();
    let mut router = Router::new();
    let id = router.add_instance(cfg(100)).unwrap();
    router.startup(t0);
    while router.poll_action().is_some() {}
    let before = router.poll_timeout().unwrap();
    router.reconfigure(t0, id, cfg(200)).unwrap();
    assert_eq!(router.instance(id).unwrap().effective_priority(), 200);
    // The router's timer queue follows the moved Master_Down_Timer.
    assert_eq!(
        router.poll_timeout(),
        Some(before - Duration::from_micros(390_625))
    );
    assert_eq!(
        router.poll_action(),
        Some((id, Action::PriorityChanged { from: 100, to: 200 }))
    );
    // An id of another router with more instances is unknown here.
    let mut other = Router::new();
    other.add_instance(cfg(100)).unwrap();
    let unknown: InstanceId = other.add_instance(cfg(100)).unwrap();
    assert_eq!(
        router.reconfigure(t0, unknown, cfg(100)),
        Err(ConfigError::UnknownInstance(unknown))
    );
}

#[test]
fn trackers_come_and_go_and_a_kept_one_keeps_its_state() {
    let t0 = Instant::now();
    let mut c = cfg(150);
    c.trackers
        .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, -10));
    let (mut vr, t) = master(c.clone(), t0);
    vr.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(vr.effective_priority(), 140);
    drain(&mut vr);

    // A new tracker starts up (no weight yet); the kept one is still down.
    c.trackers
        .push(TrackerConfig::new(TrackerId(2), TrackerKind::Script, -20));
    vr.reconfigure(t, c.clone()).unwrap();
    assert_eq!(vr.effective_priority(), 140);
    assert_eq!(vr.tracker_state(TrackerId(1)), Some(TrackerState::Down));
    assert_eq!(vr.tracker_state(TrackerId(2)), Some(TrackerState::Up));
    assert_eq!(drain(&mut vr), vec![]);

    // The down one dropped: its weight no longer counts, announced and advertised at once.
    c.trackers.remove(0);
    vr.reconfigure(t, c.clone()).unwrap();
    assert_eq!(vr.effective_priority(), 150);
    let actions = drain(&mut vr);
    assert!(
        actions.contains(&Action::PriorityChanged { from: 140, to: 150 }),
        "{actions:?}"
    );
    assert!(
        actions.contains(&Action::SendAdvert { priority: 150 }),
        "{actions:?}"
    );
    assert!(vr.set_tracker(t, TrackerId(1), TrackerState::Up).is_err());

    // The same id under another kind is another tracker: it starts as at start-up.
    c.trackers[0] = TrackerConfig::new(TrackerId(2), TrackerKind::File, -1);
    vr.reconfigure(t, c).unwrap();
    assert_eq!(vr.tracker_state(TrackerId(2)), Some(TrackerState::Value(0)));
    assert_eq!(vr.state(), State::Master);
}
