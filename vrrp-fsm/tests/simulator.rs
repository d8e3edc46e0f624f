//! Scenarios on the deterministic simulated LAN (virtual clock, 1 ms one-way delay unless a test
//! says otherwise). Every timing is asserted exactly, to the microsecond of the virtual clock.
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp_fsm::fuzzing::lan::Lan;
use vrrp_fsm::{
    Action, GarpReason, InstanceConfig, State, StateChangeReason, TrackerConfig, TrackerId,
    TrackerKind, TrackerState, VirtualAddress,
};
use vrrp_proto::{AddressList, Advert};

const DELAY: Duration = Duration::from_millis(1);

fn addr(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

fn cfg(vrid: u8, node: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(vrid, addr(node));
    c.priority = priority;
    c.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
        192, 0, 2, vrid,
    ))));
    c
}

/// A LAN with one single-instance node per `(address byte, config)`, all started at t = 0.
fn lan_of(nodes: Vec<InstanceConfig>) -> Lan {
    let mut lan = Lan::new(DELAY);
    for c in nodes {
        let a = c.primary_address;
        lan.add_node(a, vec![c], vec![]).unwrap();
    }
    // Power everything first so that packets sent during startup reach every node.
    for node in &mut lan.nodes {
        node.powered = true;
    }
    for n in 0..lan.nodes.len() {
        lan.start_node(n);
    }
    lan
}

/// `(time, node, from, to, reason)` of every state change of instance 0.
fn changes(lan: &Lan) -> Vec<(Duration, usize, State, State, StateChangeReason)> {
    lan.log
        .iter()
        .filter_map(|e| match e.action {
            Action::StateChanged { from, to, reason } => Some((e.at, e.node, from, to, reason)),
            _ => None,
        })
        .filter(|c| c.2 != State::Init)
        .collect()
}

fn actions_of(lan: &Lan, node: usize, at: Duration) -> Vec<Action> {
    lan.log
        .iter()
        .filter(|e| e.node == node && e.at == at)
        .map(|e| e.action)
        .collect()
}

fn adverts_sent_by(lan: &Lan, node: usize) -> Vec<(Duration, u8)> {
    lan.log
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match e.action {
            Action::SendAdvert { priority } => Some((e.at, priority)),
            _ => None,
        })
        .collect()
}

fn run_checked(lan: &mut Lan, d: Duration) {
    // Step in small slices so the invariants are checked all along.
    let end = lan.now + d;
    while lan.now < end {
        let step = (end - lan.now).min(Duration::from_millis(50));
        lan.run_for(step);
        lan.check_invariants().unwrap();
    }
}

#[test]
fn converges_to_exactly_one_master() {
    let mut lan = lan_of(vec![cfg(1, 1, 100), cfg(1, 2, 150), cfg(1, 3, 200)]);
    run_checked(&mut lan, Duration::from_secs(30));
    // Priority 200: Master_Down_Interval = 3 s + (256-200)/256 s = 3.21875 s.
    assert_eq!(
        changes(&lan),
        vec![(
            us(3_218_750),
            2,
            State::Backup,
            State::Master,
            StateChangeReason::MasterNoResponse
        )]
    );
    assert_eq!(lan.masters(1), vec![(2, 0)]);
    assert_eq!(lan.state(0, 0), State::Backup);
    assert_eq!(lan.state(1, 0), State::Backup);
    // The Master advertises every second from the takeover on.
    let sent = adverts_sent_by(&lan, 2);
    assert_eq!(sent.len(), 27);
    for (k, (at, prio)) in sent.iter().enumerate() {
        assert_eq!(*at, us(3_218_750) + Duration::from_secs(k as u64));
        assert_eq!(*prio, 200);
    }
}

#[test]
fn hard_failover_at_master_down_interval() {
    let mut lan = lan_of(vec![cfg(1, 1, 100), cfg(1, 2, 150), cfg(1, 3, 200)]);
    lan.run_for(Duration::from_secs(10));
    lan.crash(2);
    run_checked(&mut lan, Duration::from_secs(10));
    // Last advert of the Master: sent 9.21875 s, heard 9.21975 s. Priority 150 waits
    // 3 s + 106/256 s = 3.4140625 s from then.
    let after: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.0 > Duration::from_secs(10))
        .collect();
    assert_eq!(
        after,
        vec![(
            us(12_633_812),
            1,
            State::Backup,
            State::Master,
            StateChangeReason::MasterNoResponse
        )]
    );
    assert_eq!(lan.masters(1), vec![(1, 0)]);
    assert_eq!(lan.instance(1, 0).master_down_interval(), us(3_414_062));
}

#[test]
fn graceful_failover_at_skew_time() {
    let mut lan = lan_of(vec![cfg(1, 1, 100), cfg(1, 2, 150), cfg(1, 3, 200)]);
    lan.run_for(Duration::from_secs(10));
    lan.shutdown(2);
    // Shutdown as Master: priority-0 advert first, then the VIPs go.
    let at = us(10_000_000);
    assert_eq!(
        actions_of(&lan, 2, at),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Init,
                reason: StateChangeReason::Shutdown
            },
        ]
    );
    run_checked(&mut lan, Duration::from_secs(10));
    // Priority 0 heard at 10.001 s; priority 150 takes over after Skew_Time = 106/256 s.
    let after: Vec<_> = changes(&lan).into_iter().filter(|c| c.0 > at).collect();
    assert_eq!(
        after,
        vec![(
            us(10_415_062),
            1,
            State::Backup,
            State::Master,
            StateChangeReason::MasterLeft
        )]
    );
    assert_eq!(lan.instance(0, 0).counters().priority_zero_received, 1);
}

#[test]
fn preemption_by_a_higher_priority_newcomer() {
    let mut lan = Lan::new(DELAY);
    lan.add_node(addr(1), vec![cfg(1, 1, 100)], vec![]).unwrap();
    let mut b = cfg(1, 2, 200);
    b.higher_prio_send_advert = false;
    lan.add_node(addr(2), vec![b], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(5));
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(10));
    // B ignores A's lower adverts and times out 5 s + 3.21875 s; A yields when B's first advert
    // arrives 1 ms later.
    assert_eq!(
        changes(&lan),
        vec![
            (
                us(3_609_375),
                0,
                State::Backup,
                State::Master,
                StateChangeReason::MasterNoResponse
            ),
            (
                us(8_218_750),
                1,
                State::Backup,
                State::Master,
                StateChangeReason::Preempted
            ),
            (
                us(8_219_750),
                0,
                State::Master,
                State::Backup,
                StateChangeReason::HigherPriority { priority: 200 }
            ),
        ]
    );
}

#[test]
fn nopreempt_backup_stays_backup_but_master_always_yields() {
    // B (200, nopreempt) joins while A (100) is Master: B accepts A's adverts and stays Backup.
    let mut lan = Lan::new(DELAY);
    lan.add_node(addr(1), vec![cfg(1, 1, 100)], vec![]).unwrap();
    let mut b = cfg(1, 2, 200);
    b.preempt = false;
    lan.add_node(addr(2), vec![b], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(5));
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(60));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    assert_eq!(lan.instance(1, 0).master_priority(), 100);

    // A Master with nopreempt still yields to a higher priority (keepalived: nopreempt is a
    // Backup-side setting only; its issue 2032).
    let mut lan = Lan::new(DELAY);
    let mut a = cfg(1, 1, 100);
    a.preempt = false;
    lan.add_node(addr(1), vec![a], vec![]).unwrap();
    lan.add_node(addr(2), vec![cfg(1, 2, 200)], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(5));
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(10));
    assert_eq!(lan.masters(1), vec![(1, 0)]);
}

#[test]
fn preempt_delay_defers_the_takeover() {
    let mut lan = Lan::new(DELAY);
    lan.add_node(addr(1), vec![cfg(1, 1, 100)], vec![]).unwrap();
    let mut b = cfg(1, 2, 200);
    b.preempt_delay = Duration::from_secs(2);
    lan.add_node(addr(2), vec![b], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(5));
    lan.start_node(1);
    // A advertises at 3.609375 + k s, heard by B at 3.610375 + k s.
    lan.run_for(us(610_375));
    assert_eq!(
        lan.instance(1, 0).preempt_deadline(),
        Some(lan.start + us(7_610_375))
    );
    run_checked(&mut lan, Duration::from_secs(10));
    // Heard at 5.610375 (preempt delay starts, until 7.610375) and 6.610375: accepted, each
    // restarting the down timer. The 7.610375 advert finds the delay over and is discarded; so
    // B takes over 3.21875 s after 6.610375 s.
    let b_master: Vec<_> = changes(&lan).into_iter().filter(|c| c.1 == 1).collect();
    assert_eq!(
        b_master,
        vec![(
            us(9_829_125),
            1,
            State::Backup,
            State::Master,
            StateChangeReason::Preempted
        )]
    );
}

#[test]
fn tracker_weight_moves_mastership_and_the_running_down_timer() {
    let mut a = cfg(1, 1, 200);
    a.trackers
        .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, -60));
    let mut lan = lan_of(vec![a, cfg(1, 2, 150)]);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    lan.set_tracker(0, 0, TrackerId(1), TrackerState::Down);
    assert_eq!(lan.instance(0, 0).effective_priority(), 140);
    assert_eq!(lan.instance(0, 0).total_priority(), 140);
    run_checked(&mut lan, Duration::from_secs(10));
    // A's adverts now carry 140 < 150: B discards them; its last accepted one was heard at
    // 9.21975 s, so B takes over at 9.21975 + 3.4140625 s; A yields 1 ms later.
    let after: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.0 > Duration::from_secs(10))
        .collect();
    assert_eq!(
        after,
        vec![
            (
                us(12_633_812),
                1,
                State::Backup,
                State::Master,
                StateChangeReason::Preempted
            ),
            (
                us(12_634_812),
                0,
                State::Master,
                State::Backup,
                StateChangeReason::HigherPriority { priority: 150 }
            ),
        ]
    );
    // At 20 s A recovers to 200 while Backup: its running down timer (started by B's advert
    // heard at 19.634812 s with priority 140: + 3.453125 s) moves by the skew difference,
    // 116/256 − 56/256 s, to 19.634812 + 3.21875 s.
    lan.run_until(lan.start + Duration::from_secs(20));
    let before = lan.instance(0, 0).master_down_deadline().unwrap() - lan.start;
    assert_eq!(before, us(19_634_812) + us(3_453_125));
    lan.set_tracker(0, 0, TrackerId(1), TrackerState::Up);
    let moved = lan.instance(0, 0).master_down_deadline().unwrap() - lan.start;
    assert_eq!(moved, us(19_634_812) + us(3_218_750));
    run_checked(&mut lan, Duration::from_secs(10));
    let back: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.0 > Duration::from_secs(20))
        .collect();
    assert_eq!(
        back[0],
        (
            moved,
            0,
            State::Backup,
            State::Master,
            StateChangeReason::Preempted
        )
    );
    assert_eq!(lan.masters(1), vec![(0, 0)]);
}

#[test]
fn fault_on_link_down_releases_and_recovers() {
    let mut lan = lan_of(vec![cfg(1, 1, 200), cfg(1, 2, 150)]);
    lan.run_for(Duration::from_secs(10));
    lan.set_link(0, 0, false);
    let at = us(10_000_000);
    assert_eq!(
        actions_of(&lan, 0, at),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: StateChangeReason::Fault(vrrp_fsm::FaultFlags::LINK_DOWN)
            },
        ]
    );
    run_checked(&mut lan, Duration::from_secs(10));
    // No advert at all while in FAULT.
    assert!(adverts_sent_by(&lan, 0).iter().all(|(t, _)| *t <= at));
    assert_eq!(lan.state(0, 0), State::Fault);
    assert_eq!(lan.masters(1), vec![(1, 0)]);
    // B took over at 10.001 s + Skew_Time(150).
    assert_eq!(lan.instance(1, 0).counters().become_master, 1);
    let b: Vec<_> = changes(&lan).into_iter().filter(|c| c.1 == 1).collect();
    assert_eq!(b[0].0, us(10_415_062));
    // Link back at 20 s: Backup with the full down timer, then preemption.
    lan.set_link(0, 0, true);
    assert_eq!(lan.state(0, 0), State::Backup);
    run_checked(&mut lan, Duration::from_secs(10));
    let a: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.1 == 0 && c.0 >= Duration::from_secs(20))
        .collect();
    assert_eq!(
        a[0],
        (
            us(20_000_000),
            0,
            State::Fault,
            State::Backup,
            StateChangeReason::FaultCleared
        )
    );
    assert_eq!(
        a[1],
        (
            us(23_218_750),
            0,
            State::Backup,
            State::Master,
            StateChangeReason::Preempted
        )
    );
}

#[test]
fn weight_zero_tracker_down_is_fault() {
    let mut a = cfg(1, 1, 200);
    a.trackers
        .push(TrackerConfig::new(TrackerId(9), TrackerKind::Process, 0));
    let mut lan = lan_of(vec![a, cfg(1, 2, 150)]);
    lan.run_for(Duration::from_secs(10));
    lan.set_tracker(0, 0, TrackerId(9), TrackerState::Down);
    assert_eq!(lan.state(0, 0), State::Fault);
    assert!(lan
        .instance(0, 0)
        .fault_flags()
        .contains(vrrp_fsm::FaultFlags::TRACKER));
    run_checked(&mut lan, Duration::from_secs(5));
    assert_eq!(lan.masters(1), vec![(1, 0)]);
    lan.set_tracker(0, 0, TrackerId(9), TrackerState::Up);
    assert_eq!(lan.state(0, 0), State::Backup);
}

#[test]
fn sync_group_fault_takes_every_member_down_and_back() {
    let mut lan = Lan::new(DELAY);
    lan.add_node(
        addr(1),
        vec![cfg(1, 1, 200), cfg(2, 1, 200)],
        vec![vec![0, 1]],
    )
    .unwrap();
    lan.add_node(
        addr(2),
        vec![cfg(1, 2, 100), cfg(2, 2, 100)],
        vec![vec![0, 1]],
    )
    .unwrap();
    lan.start_node(0);
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(10));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    assert_eq!(lan.masters(2), vec![(0, 1)]);
    // One member's link goes down: both members of A go to FAULT, both send priority 0.
    lan.set_link(0, 0, false);
    assert_eq!(lan.state(0, 0), State::Fault);
    assert_eq!(lan.state(0, 1), State::Fault);
    let zero: Vec<_> = lan
        .log
        .iter()
        .filter(|e| e.node == 0 && e.action == Action::SendAdvert { priority: 0 })
        .map(|e| e.instance.index())
        .collect();
    assert_eq!(zero, vec![0, 1]);
    run_checked(&mut lan, Duration::from_secs(10));
    // B's members take over together after Skew_Time(100) = 0.609375 s from 10.001 s.
    let b: Vec<_> = lan
        .transitions()
        .into_iter()
        .filter(|t| t.1 == 1 && t.4 == State::Master)
        .collect();
    assert_eq!(b.len(), 2);
    assert!(b.iter().all(|t| t.0 == us(10_610_375)));
    // Link back: the group leaves FAULT together, then preempts together.
    lan.set_link(0, 0, true);
    assert_eq!(lan.state(0, 0), State::Backup);
    assert_eq!(lan.state(0, 1), State::Backup);
    run_checked(&mut lan, Duration::from_secs(10));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    assert_eq!(lan.masters(2), vec![(0, 1)]);
    let a: Vec<_> = lan
        .transitions()
        .into_iter()
        .filter(|t| t.1 == 0 && t.4 == State::Master && t.0 > Duration::from_secs(20))
        .collect();
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|t| t.0 == us(23_218_750)));
}

#[test]
fn sync_group_member_waits_for_the_whole_group_then_all_go_master() {
    // One node, two members; a stray Master keeps advertising for VRID 2 until 20 s.
    let mut lan = Lan::new(DELAY);
    lan.add_node(
        addr(1),
        vec![cfg(1, 1, 100), cfg(2, 1, 100)],
        vec![vec![0, 1]],
    )
    .unwrap();
    lan.start_node(0);
    let stray = addr(99);
    let mut vips = AddressList::new_v4();
    vips.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))).unwrap();
    for s in 0..20u64 {
        lan.run_until(lan.start + Duration::from_secs(s));
        lan.inject(0, stray, Advert::v3(2, 200, 100, vips.clone()));
    }
    lan.check_invariants().unwrap();
    // VRID 1 timed out long ago (3.609375 s) but is held in Backup by its group.
    assert_eq!(lan.state(0, 0), State::Backup);
    assert_eq!(lan.state(0, 1), State::Backup);
    run_checked(&mut lan, Duration::from_secs(10));
    // The last stray advert was heard at 19.001 s; VRID 2 times out at 19.001 + 3.609375 s and
    // the group goes Master together.
    let m: Vec<_> = lan
        .transitions()
        .into_iter()
        .filter(|t| t.4 == State::Master)
        .collect();
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|t| t.0 == us(22_610_375)), "{m:?}");
}

#[test]
fn sync_group_member_pushed_to_backup_takes_the_group_along() {
    let mut lan = Lan::new(DELAY);
    lan.add_node(
        addr(1),
        vec![cfg(1, 1, 200), cfg(2, 1, 200)],
        vec![vec![0, 1]],
    )
    .unwrap();
    lan.add_node(addr(2), vec![cfg(1, 2, 250)], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(lan.masters(2), vec![(0, 1)]);
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(5));
    // B (250) preempts VRID 1 at 10 + 3.0234375 s; A's VRID 1 yields when it hears it, and
    // VRID 2 follows into Backup at the same instant (vrrp_sync_backup).
    let a: Vec<_> = lan
        .log
        .iter()
        .filter_map(|e| match e.action {
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason,
            } if e.node == 0 => Some((e.at, e.instance.index(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        a,
        vec![
            (
                us(13_024_437),
                0,
                StateChangeReason::HigherPriority { priority: 250 }
            ),
            (us(13_024_437), 1, StateChangeReason::SyncGroup),
        ]
    );
}

#[test]
fn equal_priorities_are_broken_by_the_highest_primary_address() {
    let mut lan = lan_of(vec![
        cfg(1, 1, 100),
        cfg(1, 2, 100),
        cfg(1, 3, 100),
        cfg(1, 4, 100),
    ]);
    run_checked(&mut lan, Duration::from_secs(20));
    let c = changes(&lan);
    // Everybody times out at the same instant; each hears the others 1 ms later and all but the
    // highest address step down.
    for n in 0..4 {
        assert!(c.contains(&(
            us(3_609_375),
            n,
            State::Backup,
            State::Master,
            StateChangeReason::MasterNoResponse
        )));
    }
    for n in 0..3 {
        assert!(c.contains(&(
            us(3_610_375),
            n,
            State::Master,
            State::Backup,
            StateChangeReason::HigherPriority { priority: 100 }
        )));
    }
    assert_eq!(c.len(), 7);
    assert_eq!(lan.masters(1), vec![(3, 0)]);
}

#[test]
fn v3_backup_learns_the_masters_advert_interval() {
    let mut a = cfg(1, 1, 200);
    a.advert_interval = Duration::from_millis(500);
    let mut lan = lan_of(vec![a, cfg(1, 2, 100)]);
    lan.run_for(Duration::from_secs(10));
    let b = lan.instance(1, 0);
    assert_eq!(b.master_adver_interval(), Duration::from_millis(500));
    // 3 × 0.5 s + (156 × 50 × 625 / 16) µs (keepalived's integer arithmetic).
    assert_eq!(b.master_down_interval(), us(1_500_000 + 304_687));
    // A became Master at 3 s + 56/256 × 1 s? No: A's own skew uses its own 0.5 s interval.
    let a_master = us(1_500_000 + 56 * 50 * 625 / 16);
    assert_eq!(changes(&lan)[0].0, a_master);
    lan.crash(0);
    run_checked(&mut lan, Duration::from_secs(5));
    // Last advert sent at a_master + 16 × 0.5 s, heard 1 ms later.
    let last_heard = a_master + Duration::from_millis(8_000) + DELAY;
    let c: Vec<_> = changes(&lan).into_iter().filter(|c| c.1 == 1).collect();
    assert_eq!(c[0].0, last_heard + us(1_804_687));
}

#[test]
fn startup_as_state_master_and_as_address_owner() {
    let mut m = cfg(1, 1, 100);
    m.initial_state_master = true;
    let mut lan = lan_of(vec![m]);
    lan.run_for(Duration::from_secs(5));
    // One advert interval plus keepalived's minimum skew (1 × 100 cs × 625 / 16 µs).
    assert_eq!(changes(&lan)[0].0, us(1_003_906));

    let lan = lan_of(vec![cfg(1, 1, 255)]);
    assert_eq!(
        changes(&lan),
        vec![(
            Duration::ZERO,
            0,
            State::Init,
            State::Master,
            StateChangeReason::AddressOwner
        )]
        .into_iter()
        .filter(|c| c.2 != State::Init)
        .collect::<Vec<_>>()
    );
    assert_eq!(lan.state(0, 0), State::Master);
}

#[test]
fn two_address_owners_converge_on_one_master() {
    let mut lan = lan_of(vec![cfg(1, 1, 255), cfg(1, 2, 255)]);
    run_checked(&mut lan, Duration::from_secs(20));
    assert_eq!(lan.masters(1), vec![(1, 0)]);
    for n in 0..2 {
        let i = lan.instance(n, 0);
        assert_eq!(i.counters().address_owner_conflicts, 1);
        assert_eq!(i.base_priority(), 254);
    }
    // Both stepped down at 1 ms, both timed out at 1 ms + 3 s + 2/256 s, and the lower
    // address yielded on the tie 1 ms later.
    let c = changes(&lan);
    assert!(c.contains(&(
        us(1_000),
        0,
        State::Master,
        State::Backup,
        StateChangeReason::HigherPriority { priority: 255 }
    )));
    assert!(c.contains(&(
        us(3_008_812),
        1,
        State::Backup,
        State::Master,
        StateChangeReason::MasterNoResponse
    )));
    assert!(c.contains(&(
        us(3_009_812),
        0,
        State::Master,
        State::Backup,
        StateChangeReason::HigherPriority { priority: 254 }
    )));
}

#[test]
fn down_timer_adverts_scales_the_master_down_interval() {
    let mut c = cfg(1, 1, 100);
    c.down_timer_adverts = 5;
    let mut lan = lan_of(vec![c]);
    lan.run_for(Duration::from_secs(10));
    assert_eq!(changes(&lan)[0].0, us(5_609_375));
}

#[test]
fn becoming_master_sends_advert_then_vips_then_garp_bursts_and_refresh() {
    let mut c = cfg(1, 1, 100);
    c.garp_master_refresh = Duration::from_secs(10);
    let mut lan = lan_of(vec![c]);
    lan.run_for(Duration::from_secs(30));
    let t = us(3_609_375);
    assert_eq!(
        actions_of(&lan, 0, t),
        vec![
            Action::SendAdvert { priority: 100 },
            Action::AddVips,
            Action::SendGarp {
                count: 5,
                reason: GarpReason::BecameMaster
            },
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: StateChangeReason::MasterNoResponse
            },
        ]
    );
    let garps: Vec<_> = lan
        .log
        .iter()
        .filter_map(|e| match e.action {
            Action::SendGarp { count, reason } => Some((e.at, count, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        garps,
        vec![
            (t, 5, GarpReason::BecameMaster),
            (t + Duration::from_secs(5), 5, GarpReason::MasterDelay),
            (t + Duration::from_secs(10), 1, GarpReason::Refresh),
            (t + Duration::from_secs(20), 1, GarpReason::Refresh),
        ]
    );
}

/// Split brain: A (200) and B (100) partitioned, both Master; heal; B's advert reaches A first.
fn split_brain(lower_prio_no_advert: bool) -> Lan {
    let mut a = cfg(1, 1, 200);
    a.lower_prio_no_advert = lower_prio_no_advert;
    let mut lan = lan_of(vec![a, cfg(1, 2, 100)]);
    lan.run_for(Duration::from_secs(10));
    lan.set_partition(1, 1);
    lan.run_until(lan.start + us(20_500_000));
    assert_eq!(lan.masters(1).len(), 2);
    lan.heal();
    run_checked(&mut lan, Duration::from_secs(6));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    lan
}

#[test]
fn master_hearing_lower_priority_readvertises_and_regarps() {
    let lan = split_brain(false);
    // B became Master at 9.21975 + 3.609375 s, so it advertises at 12.829125 + k s. Its
    // 20.829125 advert reaches A at 20.830125: A answers at once (advert + GARP burst), and B
    // yields when that answer arrives, 1 ms later, instead of at A's next periodic advert.
    let t = us(20_830_125);
    assert_eq!(
        actions_of(&lan, 0, t),
        vec![
            Action::SendAdvert { priority: 200 },
            Action::SendGarp {
                count: 5,
                reason: GarpReason::LowerPriority
            },
            Action::MasterRxLowerPriority {
                from: addr(2),
                priority: 100
            },
        ]
    );
    let b: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.1 == 1 && c.3 == State::Backup)
        .collect();
    assert_eq!(b[0].0, us(20_831_125));
    let second: Vec<_> = lan
        .log
        .iter()
        .filter(|e| {
            e.action
                == Action::SendGarp {
                    count: 5,
                    reason: GarpReason::LowerPriorityDelay,
                }
        })
        .map(|e| e.at)
        .collect();
    assert_eq!(second, vec![t + Duration::from_secs(5)]);
}

#[test]
fn lower_prio_no_advert_waits_for_the_periodic_advert() {
    let lan = split_brain(true);
    let t = us(20_830_125);
    assert!(!actions_of(&lan, 0, t).contains(&Action::SendAdvert { priority: 200 }));
    // B yields on A's periodic advert: sent 21.21875 s, heard 21.21975 s.
    let b: Vec<_> = changes(&lan)
        .into_iter()
        .filter(|c| c.1 == 1 && c.3 == State::Backup)
        .collect();
    assert_eq!(b[0].0, us(21_219_750));
}

#[test]
fn higher_prio_send_advert_announces_before_yielding() {
    let mut lan = Lan::new(DELAY);
    let mut a = cfg(1, 1, 100);
    a.higher_prio_send_advert = true;
    lan.add_node(addr(1), vec![a], vec![]).unwrap();
    lan.add_node(addr(2), vec![cfg(1, 2, 200)], vec![]).unwrap();
    lan.start_node(0);
    lan.run_for(Duration::from_secs(5));
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(10));
    let t = us(8_219_750);
    assert_eq!(
        actions_of(&lan, 0, t),
        vec![
            Action::SendAdvert { priority: 100 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: StateChangeReason::HigherPriority { priority: 200 }
            },
        ]
    );
    // B, just Master, hears the lower advert and re-asserts with an advert and a GARP burst.
    let b = actions_of(&lan, 1, t + DELAY);
    assert_eq!(b[0], Action::SendAdvert { priority: 200 });
    assert_eq!(
        b[1],
        Action::SendGarp {
            count: 5,
            reason: GarpReason::LowerPriority
        }
    );
}

#[test]
fn lossy_partitioned_lan_settles_on_one_master() {
    let mut lan = lan_of(vec![
        cfg(1, 1, 100),
        cfg(1, 2, 150),
        cfg(1, 3, 200),
        cfg(1, 4, 150),
    ]);
    lan.seed(42);
    lan.loss_per_mille = 400;
    run_checked(&mut lan, Duration::from_secs(60));
    lan.set_partition(2, 1);
    lan.set_partition(3, 2);
    run_checked(&mut lan, Duration::from_secs(30));
    // Three partitions: one Master in each.
    assert_eq!(lan.masters(1).len(), 3);
    lan.heal();
    let quiet = lan.quiet_period();
    run_checked(&mut lan, quiet);
    assert_eq!(lan.masters(1), vec![(2, 0)]);
}

#[test]
fn delayed_lan_still_elects_one_master() {
    // A delay longer than the skew difference: both time out before hearing each other.
    let mut lan = Lan::new(Duration::from_millis(300));
    lan.add_node(addr(1), vec![cfg(1, 1, 200)], vec![]).unwrap();
    lan.add_node(addr(2), vec![cfg(1, 2, 199)], vec![]).unwrap();
    lan.start_node(0);
    lan.start_node(1);
    run_checked(&mut lan, Duration::from_secs(20));
    assert_eq!(lan.masters(1), vec![(0, 0)]);
    // 199 timed out at 3.22265625 s (before 200's advert at 3.21875 + 0.3 s arrived) and
    // yielded when it did.
    let c: Vec<_> = changes(&lan).into_iter().filter(|c| c.1 == 1).collect();
    assert_eq!(c[0].0, us(3_222_656));
    assert_eq!(c[1].0, us(3_518_750));
}

#[test]
fn ipv6_instances_elect_by_priority_then_address() {
    let v6 = |n: u16| IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n));
    let node = |n: u16, prio: u8| {
        let mut c = InstanceConfig::new(1, v6(n));
        c.priority = prio;
        c.vips.push(VirtualAddress::new(
            IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            64,
        ));
        c
    };
    let mut lan = lan_of(vec![node(1, 100), node(0x200, 100), node(3, 50)]);
    run_checked(&mut lan, Duration::from_secs(10));
    // Equal priorities: fe80::200 beats fe80::1 on the address comparison.
    assert_eq!(lan.masters(1), vec![(1, 0)]);
    assert_eq!(lan.instance(0, 0).master_address(), Some(v6(0x200)));
    let a = lan.instance(1, 0).advert(100);
    assert_eq!(a.addresses.len(), 1);
}
