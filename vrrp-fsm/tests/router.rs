//! The router's own rules: sync group tracker weights, the group's lower-priority GARPs,
//! configuration errors, a Backup's shutdown, and the advert phases of many Masters.
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{
    Action, ConfigError, GarpReason, InstanceConfig, Router, RouterError, State, StateChangeReason,
    SyncGroupConfig, TrackerConfig, TrackerId, TrackerKind, TrackerState, VirtualAddress,
};
use vrrp_proto::{AddressList, Advert};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

fn cfg(vrid: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(vrid, ME);
    c.priority = priority;
    c.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
        192, 0, 2, vrid,
    ))));
    c.trackers
        .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, -50));
    c
}

fn advert(vrid: u8, priority: u8) -> Advert {
    let vips = AddressList::from_slice(&[IpAddr::V4(Ipv4Addr::new(192, 0, 2, vrid))]).unwrap();
    Advert::v3(vrid, priority, 100, vips)
}

fn drain(r: &mut Router) -> Vec<(usize, Action)> {
    std::iter::from_fn(|| r.poll_action())
        .map(|(id, a)| (id.index(), a))
        .collect()
}

#[test]
fn sync_group_ignores_tracker_weights_unless_tracking_weight() {
    let t0 = Instant::now();
    // Default: the weight is ignored, so a failed tracker is a FAULT for the whole group.
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 100)).unwrap();
    r.add_sync_group(SyncGroupConfig::new(vec![a, b])).unwrap();
    r.startup(t0);
    r.set_tracker(t0, a, TrackerId(1), TrackerState::Down)
        .unwrap();
    assert_eq!(r.instance(a).unwrap().effective_priority(), 100);
    assert_eq!(r.instance(a).unwrap().state(), State::Fault);
    assert_eq!(r.instance(b).unwrap().state(), State::Fault);
    r.set_tracker(t0, a, TrackerId(1), TrackerState::Up)
        .unwrap();
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);

    // sync_group_tracking_weight: the weight moves the priority and nobody faults.
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 100)).unwrap();
    let mut g = SyncGroupConfig::new(vec![a, b]);
    g.tracking_weight = true;
    r.add_sync_group(g).unwrap();
    r.startup(t0);
    r.set_tracker(t0, a, TrackerId(1), TrackerState::Down)
        .unwrap();
    assert_eq!(r.instance(a).unwrap().effective_priority(), 50);
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);

    // ...except with an address owner in the group: weights forced off.
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 255)).unwrap();
    let mut g = SyncGroupConfig::new(vec![a, b]);
    g.tracking_weight = true;
    r.add_sync_group(g).unwrap();
    r.startup(t0);
    r.set_tracker(t0, a, TrackerId(1), TrackerState::Down)
        .unwrap();
    assert_eq!(r.instance(a).unwrap().state(), State::Fault);
}

#[test]
fn sync_group_members_all_regarp_when_one_hears_a_lower_priority() {
    let t0 = Instant::now();
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 255)).unwrap();
    let b = r.add_instance(cfg(2, 255)).unwrap();
    r.add_sync_group(SyncGroupConfig::new(vec![a, b])).unwrap();
    r.startup(t0);
    assert_eq!(r.instance(b).unwrap().state(), State::Master);
    drain(&mut r);
    r.handle_advert(t0, a, PEER, &advert(1, 100)).unwrap();
    assert_eq!(
        drain(&mut r),
        vec![
            (0, Action::SendAdvert { priority: 255 }),
            (
                0,
                Action::SendGarp {
                    count: 5,
                    reason: GarpReason::LowerPriority
                }
            ),
            (
                0,
                Action::MasterRxLowerPriority {
                    from: PEER,
                    priority: 100
                }
            ),
            (
                1,
                Action::SendGarp {
                    count: 5,
                    reason: GarpReason::LowerPriority
                }
            ),
        ]
    );
    // Both second bursts come 5 s later (in the order of the instances' other timers).
    let t5 = t0 + Duration::from_secs(5);
    r.handle_timeout(t5);
    let mut second: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|(_, a)| {
            *a == Action::SendGarp {
                count: 5,
                reason: GarpReason::LowerPriorityDelay,
            }
        })
        .map(|(i, _)| i)
        .collect();
    second.sort_unstable();
    assert_eq!(second, vec![0, 1]);
}

#[test]
fn router_refuses_bad_groups_and_unknown_ids() {
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 100)).unwrap();
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![])).unwrap_err(),
        ConfigError::EmptySyncGroup
    );
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![a, a]))
            .unwrap_err(),
        ConfigError::AlreadyInSyncGroup(a)
    );
    r.add_sync_group(SyncGroupConfig::new(vec![a, b])).unwrap();
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![b])).unwrap_err(),
        ConfigError::AlreadyInSyncGroup(b)
    );
    let mut other = Router::new();
    let ghost = (0..5)
        .map(|k| other.add_instance(cfg(k + 1, 100)).unwrap())
        .last()
        .unwrap();
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![ghost]))
            .unwrap_err(),
        ConfigError::UnknownInstance(ghost)
    );
    let t0 = Instant::now();
    assert_eq!(
        r.set_link(t0, ghost, false),
        Err(RouterError::UnknownInstance(ghost))
    );
    r.startup(t0);
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![a])).unwrap_err(),
        ConfigError::RouterRunning
    );
    assert_eq!(r.find(vrrp_fsm::AddressFamily::Ipv4, 2), Some(b));
}

#[test]
fn backup_shutdown_cancels_the_down_timer() {
    let t0 = Instant::now();
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    r.startup(t0);
    drain(&mut r);
    r.shutdown(t0 + Duration::from_secs(1));
    assert_eq!(
        drain(&mut r),
        vec![(
            0,
            Action::StateChanged {
                from: State::Backup,
                to: State::Init,
                reason: StateChangeReason::Shutdown
            }
        )]
    );
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.instance(a).unwrap().state(), State::Init);
}

#[test]
fn a_removed_master_says_goodbye_and_its_id_is_gone_while_the_others_run_on() {
    let t0 = Instant::now();
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 255)).unwrap();
    let b = r.add_instance(cfg(2, 255)).unwrap();
    r.startup(t0);
    drain(&mut r);
    let t1 = t0 + Duration::from_millis(300);
    r.remove_instance(t1, a).unwrap();
    let actions = drain(&mut r);
    // The shutdown of a Master, all tagged with the removed id: priority 0, then the VIPs go.
    assert!(actions.iter().all(|(i, _)| *i == a.index()));
    let zero = actions
        .iter()
        .position(|(_, x)| matches!(x, Action::SendAdvert { priority: 0 }));
    let release = actions
        .iter()
        .position(|(_, x)| matches!(x, Action::RemoveVips));
    assert!(
        zero.is_some() && release.is_some() && zero < release,
        "{actions:?}"
    );
    assert!(actions.iter().any(|(_, x)| matches!(
        x,
        Action::StateChanged {
            from: State::Master,
            to: State::Init,
            reason: StateChangeReason::Shutdown
        }
    )));

    assert!(r.instance(a).is_none());
    assert_eq!(r.instances().map(|(id, _)| id).collect::<Vec<_>>(), vec![b]);
    assert_eq!(
        (r.len(), r.find(vrrp_fsm::AddressFamily::Ipv4, 1)),
        (1, None)
    );
    assert_eq!(
        r.handle_advert(t1, a, PEER, &advert(1, 100)),
        Err(RouterError::UnknownInstance(a))
    );
    assert_eq!(
        r.set_link(t1, a, false),
        Err(RouterError::UnknownInstance(a))
    );
    assert_eq!(
        r.remove_instance(t1, a),
        Err(ConfigError::UnknownInstance(a))
    );
    // Its timer is gone: only b's adverts are due, and startup does not bring a back.
    r.startup(t1);
    r.handle_timeout(t0 + Duration::from_secs(5));
    let later = drain(&mut r);
    assert!(!later.is_empty() && later.iter().all(|(i, _)| *i == b.index()));
    assert_eq!(r.instance(b).unwrap().state(), State::Master);

    // A new instance gets a fresh id and starts with the next startup.
    let c = r.add_instance(cfg(1, 100)).unwrap();
    assert_ne!(c, a);
    assert_eq!(r.find(vrrp_fsm::AddressFamily::Ipv4, 1), Some(c));
    r.startup(t1);
    assert_eq!(r.instance(c).unwrap().state(), State::Backup);
}

#[test]
fn a_running_router_takes_new_groups_of_new_members_only() {
    let t0 = Instant::now();
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 100)).unwrap();
    r.add_sync_group(SyncGroupConfig::new(vec![a])).unwrap();
    r.startup(t0);
    drain(&mut r);
    assert_eq!(
        r.remove_instance(t0, a),
        Err(ConfigError::AlreadyInSyncGroup(a))
    );
    let c = r.add_instance(cfg(3, 100)).unwrap();
    let d = r.add_instance(cfg(4, 100)).unwrap();
    assert_eq!(
        r.add_sync_group(SyncGroupConfig::new(vec![b, c])),
        Err(ConfigError::RouterRunning)
    );
    r.add_sync_group(SyncGroupConfig::new(vec![c, d])).unwrap();
    r.startup(t0);
    // The new group's rules hold: c's link down puts d in FAULT too.
    r.set_link(t0, c, false).unwrap();
    assert_eq!(r.instance(d).unwrap().state(), State::Fault);
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);
}

#[test]
fn a_dissolved_group_leaves_its_members_on_their_own() {
    let t0 = Instant::now();
    let mut r = Router::new();
    let a = r.add_instance(cfg(1, 100)).unwrap();
    let b = r.add_instance(cfg(2, 100)).unwrap();
    let g = r.add_sync_group(SyncGroupConfig::new(vec![a, b])).unwrap();
    r.startup(t0);
    // In the group a failed tracker is a FAULT for both (its weight ignored).
    r.set_tracker(t0, a, TrackerId(1), TrackerState::Down)
        .unwrap();
    assert_eq!(r.instance(b).unwrap().state(), State::Fault);
    drain(&mut r);
    r.remove_sync_group(t0, g).unwrap();
    // On its own, b has no fault; a's tracker weight counts again instead of a FAULT.
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);
    assert_eq!(r.instance(a).unwrap().state(), State::Backup);
    assert_eq!(r.instance(a).unwrap().effective_priority(), 50);
    assert!(r.poll_timeout().is_some());
    assert_eq!(
        r.remove_sync_group(t0, g),
        Err(ConfigError::UnknownSyncGroup)
    );
    // Now a member may leave, and b alone goes on to Master.
    r.remove_instance(t0, a).unwrap();
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(r.instance(b).unwrap().state(), State::Master);
}

/// 512 instances that become Master in the same instant (their Master_Down_Timers expired
/// together) do not advertise in lockstep afterwards: the second advert of each comes early by
/// its own phase (never by more than three quarters of the interval), then every interval.
/// Their peers' timers, restarted by those adverts, are spread over the interval too, so a
/// later mass takeover is not one burst of work.
#[test]
fn masters_that_started_together_spread_their_adverts_over_the_interval() {
    let t0 = Instant::now();
    let interval = Duration::from_secs(1);
    let mut r = Router::new();
    for i in 0..512u32 {
        let mut c = InstanceConfig::new(1 + (i % 255) as u8, ME);
        c.priority = 100;
        c.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::from(
            0xc000_0200 + i,
        ))));
        r.add_instance(c).unwrap();
    }
    r.startup(t0);
    drain(&mut r);
    // Nobody answers: every Backup's timer expires at the same deadline.
    let down = r.poll_timeout().unwrap();
    r.handle_timeout(down);
    let first: Vec<_> = drain(&mut r)
        .into_iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert { .. }))
        .collect();
    assert_eq!(first.len(), 512, "all became Master and advertised at once");
    // The next three intervals, advert by advert through the timer heap.
    let mut sent: Vec<Vec<Instant>> = vec![Vec::new(); 512];
    while let Some(t) = r.poll_timeout().filter(|t| *t <= down + 3 * interval) {
        r.handle_timeout(t);
        for (id, a) in drain(&mut r) {
            if matches!(a, Action::SendAdvert { .. }) {
                sent[id].push(t);
            }
        }
    }
    let mut per_tenth = [0u32; 10];
    for (id, times) in sent.iter().enumerate() {
        let second = times[0] - down;
        assert!(
            second >= interval / 4 && second <= interval,
            "instance {id}: second advert {second:?} after the first"
        );
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], interval, "instance {id}: then periodic");
        }
        per_tenth[(second.as_millis() / 100).min(9) as usize] += 1;
    }
    // The second adverts fill 250..1000 ms evenly: 68 per tenth, none far from it.
    for (tenth, n) in per_tenth.iter().enumerate().skip(3) {
        assert!(
            (50..=90).contains(n),
            "{n} second adverts in tenth {tenth}: {per_tenth:?}"
        );
    }
    assert_eq!(per_tenth[0] + per_tenth[1], 0, "{per_tenth:?}");
}
