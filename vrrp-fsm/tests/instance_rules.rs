//! One instance driven by hand: each RFC 5798 §6.4 rule and keepalived extension in isolation.
mod one_instance;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use one_instance::{advert, cfg, drain, master, started, vips, ME, VIP};
use vrrp_fsm::{
    Action, AdvertError, ConfigAdjustment, ConfigError, FaultFlags, GarpReason, Instance,
    InstanceConfig, State, StateChangeReason, TrackerConfig, TrackerError, TrackerId, TrackerKind,
    TrackerState, Version, VirtualAddress,
};
use vrrp_proto::{AddressList, Advert, Auth};

const LOWER_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const HIGHER_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

// ----- configuration -------------------------------------------------------------------------

#[test]
fn config_errors_are_typed() {
    let check = |f: &dyn Fn(&mut InstanceConfig), e: ConfigError| {
        let mut c = cfg(100);
        f(&mut c);
        assert_eq!(Instance::new(c).unwrap_err(), e);
    };
    check(&|c| c.vrid = 0, ConfigError::VridOutOfRange(0));
    check(&|c| c.priority = 0, ConfigError::PriorityOutOfRange(0));
    check(&|c| c.vips.clear(), ConfigError::NoVirtualAddress);
    check(
        &|c| c.advert_interval = Duration::from_millis(5),
        ConfigError::AdvertIntervalNotWholeUnit(Duration::from_millis(5)),
    );
    check(
        &|c| c.advert_interval = Duration::from_millis(40_960),
        ConfigError::AdvertIntervalOutOfRange(Duration::from_millis(40_960)),
    );
    check(
        &|c| c.advert_interval = Duration::ZERO,
        ConfigError::AdvertIntervalOutOfRange(Duration::ZERO),
    );
    check(
        &|c| {
            c.version = Version::V2;
            c.advert_interval = Duration::from_millis(1500);
        },
        ConfigError::AdvertIntervalNotWholeUnit(Duration::from_millis(1500)),
    );
    check(
        &|c| {
            c.version = Version::V2;
            c.advert_interval = Duration::from_secs(256);
        },
        ConfigError::AdvertIntervalOutOfRange(Duration::from_secs(256)),
    );
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    check(
        &|c| c.vips.push(VirtualAddress::host(v6)),
        ConfigError::VirtualAddressFamily(v6),
    );
    check(
        &|c| c.vips[0].prefix_len = 33,
        ConfigError::PrefixLength(VIP, 33),
    );
    check(
        &|c| c.unicast_peers.push(v6),
        ConfigError::UnicastPeerFamily(v6),
    );
    check(
        &|c| c.primary_address = v6,
        ConfigError::PrimaryAddressFamily(v6),
    );
    check(
        &|c| c.down_timer_adverts = 0,
        ConfigError::DownTimerAdvertsOutOfRange(0),
    );
    check(
        &|c| c.down_timer_adverts = 101,
        ConfigError::DownTimerAdvertsOutOfRange(101),
    );
    check(
        &|c| c.preempt_delay = Duration::from_secs(1001),
        ConfigError::PreemptDelayOutOfRange(Duration::from_secs(1001)),
    );
    check(
        &|c| {
            c.trackers
                .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, 254))
        },
        ConfigError::TrackerWeightOutOfRange {
            id: TrackerId(1),
            kind: TrackerKind::Script,
            weight: 254,
            min: -253,
            max: 253,
        },
    );
    check(
        &|c| {
            c.trackers
                .push(TrackerConfig::new(TrackerId(1), TrackerKind::File, -255))
        },
        ConfigError::TrackerWeightOutOfRange {
            id: TrackerId(1),
            kind: TrackerKind::File,
            weight: -255,
            min: -254,
            max: 254,
        },
    );
    check(
        &|c| {
            c.trackers
                .push(TrackerConfig::new(TrackerId(1), TrackerKind::Process, 254));
            c.trackers
                .push(TrackerConfig::new(TrackerId(1), TrackerKind::Interface, 1));
        },
        ConfigError::DuplicateTracker(TrackerId(1)),
    );
    let mut v6cfg = InstanceConfig::new(1, v6);
    v6cfg.version = Version::V2;
    v6cfg.vips.push(VirtualAddress::host(v6));
    assert_eq!(
        Instance::new(v6cfg).unwrap_err(),
        ConfigError::V2RequiresIpv4
    );
    // v3 accepts the full 10 ms .. 40.95 s range; v2 1 .. 255 s.
    let mut c = cfg(100);
    c.advert_interval = Duration::from_millis(10);
    Instance::new(c.clone()).unwrap();
    c.advert_interval = Duration::from_millis(40_950);
    Instance::new(c).unwrap();
}

#[test]
fn keepalived_conflict_rules_adjust_the_config() {
    let mut c = cfg(100);
    c.initial_state_master = true;
    c.preempt = false;
    c.preempt_delay = Duration::from_secs(3);
    let i = Instance::new(c).unwrap();
    assert!(i.config().preempt);
    assert_eq!(i.config().preempt_delay, Duration::ZERO);
    assert_eq!(
        i.adjustments(),
        &[
            ConfigAdjustment::InitialMasterClearsNopreempt,
            ConfigAdjustment::InitialMasterClearsPreemptDelay
        ]
    );

    let mut c = cfg(255);
    c.preempt = false;
    assert_eq!(
        Instance::new(c).unwrap().adjustments(),
        &[ConfigAdjustment::OwnerClearsNopreempt]
    );

    let mut c = cfg(100);
    c.preempt = false;
    c.preempt_delay = Duration::from_secs(3);
    let i = Instance::new(c).unwrap();
    assert_eq!(
        i.adjustments(),
        &[ConfigAdjustment::NopreemptClearsPreemptDelay]
    );
    assert_eq!(i.config().preempt_delay, Duration::ZERO);
}

#[test]
fn vrrp_strict_is_one_switch() {
    let mut c = cfg(100);
    c.strict = true;
    c.preempt_delay = Duration::from_secs(3);
    c.accept_mode = true;
    c.higher_prio_send_advert = true;
    let i = Instance::new(c.clone()).unwrap();
    assert_eq!(
        i.adjustments(),
        &[
            ConfigAdjustment::StrictClearsPreemptDelay,
            ConfigAdjustment::StrictForcesLowerPrioNoAdvert,
            ConfigAdjustment::StrictSetsAcceptMode(false),
            ConfigAdjustment::StrictDisablesLowerPrioGarp,
            ConfigAdjustment::StrictClearsHigherPrioSendAdvert,
        ]
    );
    let k = i.config();
    assert!(k.lower_prio_no_advert && !k.higher_prio_send_advert && !i.accept_mode());
    assert_eq!(
        (k.garp_lower_prio_repeat, k.garp_lower_prio_delay),
        (0, Duration::ZERO)
    );

    let mut owner = cfg(255);
    owner.strict = true;
    assert!(Instance::new(owner).unwrap().accept_mode());

    let mut u = c.clone();
    u.unicast_peers.push(HIGHER_ADDR);
    assert_eq!(Instance::new(u).unwrap_err(), ConfigError::StrictUnicast);
    let mut a = c;
    a.version = Version::V2;
    a.auth = Auth::SimplePassword(*b"secret\0\0");
    assert_eq!(
        Instance::new(a).unwrap_err(),
        ConfigError::StrictAuthentication
    );

    // In operation: a strict Master does not answer a lower priority (no advert, no GARP).
    let mut s = cfg(200);
    s.strict = true;
    let t0 = Instant::now();
    let (mut m, t) = master(s, t0);
    m.handle_advert(t, LOWER_ADDR, &advert(100)).unwrap();
    assert_eq!(
        drain(&mut m),
        vec![Action::MasterRxLowerPriority {
            from: LOWER_ADDR,
            priority: 100
        }]
    );
}

// ----- RFC 5798 §6.4.1 Initialize --------------------------------------------------------------

#[test]
fn initialize_owner_is_master_at_once_others_backup() {
    let t0 = Instant::now();
    let mut o = Instance::new(cfg(255)).unwrap();
    o.startup(t0);
    assert_eq!(o.state(), State::Master);
    assert_eq!(
        drain(&mut o),
        vec![
            Action::SendAdvert { priority: 255 },
            Action::AddVips,
            Action::SendGarp {
                count: 5,
                reason: GarpReason::BecameMaster
            },
            Action::StateChanged {
                from: State::Init,
                to: State::Master,
                reason: StateChangeReason::AddressOwner
            },
        ]
    );
    assert_eq!(o.poll_timeout(), Some(t0 + Duration::from_secs(1)));

    let mut b = Instance::new(cfg(100)).unwrap();
    b.startup(t0);
    assert_eq!(b.state(), State::Backup);
    assert_eq!(b.poll_timeout(), Some(t0 + us(3_609_375)));
    assert_eq!(b.skew_time(), us(609_375));
}

#[test]
fn startup_with_link_down_is_fault() {
    let t0 = Instant::now();
    let mut i = Instance::new(cfg(100)).unwrap();
    i.set_link(t0, false);
    assert_eq!(i.state(), State::Init);
    i.startup(t0);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.poll_timeout(), None);
    i.set_link(t0 + Duration::from_secs(1), true);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(
        i.poll_timeout(),
        Some(t0 + Duration::from_secs(1) + us(3_609_375))
    );
}

// ----- RFC 5798 §6.4.2 Backup ------------------------------------------------------------------

#[test]
fn backup_resets_down_timer_on_higher_or_equal_priority() {
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    let t = t0 + Duration::from_secs(2);
    b.handle_advert(t, HIGHER_ADDR, &advert(100)).unwrap();
    assert_eq!(b.master_down_deadline(), Some(t + us(3_609_375)));
    b.handle_advert(t + Duration::from_secs(1), LOWER_ADDR, &advert(200))
        .unwrap();
    assert_eq!(
        b.master_down_deadline(),
        Some(t + Duration::from_secs(1) + us(3_609_375))
    );
    assert_eq!(b.master_address(), Some(LOWER_ADDR));
    assert_eq!(b.master_priority(), 200);
}

#[test]
fn backup_preempt_discards_lower_priority_and_keeps_the_timer() {
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    let deadline = b.master_down_deadline();
    b.handle_advert(t0 + Duration::from_secs(2), HIGHER_ADDR, &advert(99))
        .unwrap();
    assert_eq!(b.master_down_deadline(), deadline);
    b.handle_timeout(deadline.unwrap());
    let a = drain(&mut b);
    assert_eq!(
        a.last(),
        Some(&Action::StateChanged {
            from: State::Backup,
            to: State::Master,
            reason: StateChangeReason::Preempted
        })
    );
}

#[test]
fn a_backup_that_lost_adverts_unread_restarts_its_timer_once_per_advert_heard() {
    let mdi = us(3_609_375);
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    let t = t0 + Duration::from_secs(1);
    b.handle_advert(t, HIGHER_ADDR, &advert(200)).unwrap();
    // Its queue overflowed just before the timer was due: the Master may have spoken.
    let late = t + mdi - us(10);
    assert!(b.handle_receive_loss(late));
    assert_eq!(b.master_down_deadline(), Some(late + mdi));
    // Not twice without hearing the Master: a dead Master is taken over one interval late.
    assert!(!b.handle_receive_loss(late + mdi - us(10)));
    b.handle_timeout(late + mdi);
    assert_eq!(b.state(), State::Master);
    assert_eq!(b.counters().receive_loss_restarts, 1);

    // Each advert heard gives the restart back.
    let mut b = started(cfg(100), t0);
    for n in 1..=3u32 {
        let heard = t0 + Duration::from_secs(n.into());
        b.handle_advert(heard, HIGHER_ADDR, &advert(200)).unwrap();
        assert!(b.handle_receive_loss(heard + mdi - us(10)));
    }
    assert_eq!(b.state(), State::Backup);
    // A lower priority the Backup discards (it preempts) does not.
    let t = t0 + Duration::from_secs(10);
    b.handle_advert(t, HIGHER_ADDR, &advert(200)).unwrap();
    assert!(b.handle_receive_loss(t + us(1)));
    b.handle_advert(t + us(2), LOWER_ADDR, &advert(50)).unwrap();
    assert!(!b.handle_receive_loss(t + us(3)));
    // A Master ignores the report.
    let (mut m, at) = master(cfg(100), t0);
    assert!(!m.handle_receive_loss(at + us(1)));
    assert_eq!(m.state(), State::Master);
}

#[test]
fn backup_priority_zero_sets_timer_to_skew_time() {
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    let t = t0 + Duration::from_secs(1);
    b.handle_advert(t, HIGHER_ADDR, &advert(0)).unwrap();
    assert_eq!(b.master_down_deadline(), Some(t + us(609_375)));
    assert_eq!(b.counters().priority_zero_received, 1);
    b.handle_timeout(t + us(609_375));
    assert_eq!(b.state(), State::Master);
}

#[test]
fn backup_v3_learns_master_adver_interval_v2_does_not() {
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    b.handle_advert(t0, HIGHER_ADDR, &Advert::v3(51, 200, 25, vips()))
        .unwrap();
    assert_eq!(b.master_adver_interval(), Duration::from_millis(250));
    // 3 × 250 ms + 156 × 25 × 625 / 16 µs
    assert_eq!(b.master_down_deadline(), Some(t0 + us(750_000 + 152_343)));

    // v2: the skew is (256 − p)/256 s whatever the interval; a different interval is dropped.
    let mut c = cfg(100);
    c.version = Version::V2;
    c.advert_interval = Duration::from_secs(3);
    let mut b = started(c, t0);
    assert_eq!(b.skew_time(), us(609_375));
    assert_eq!(b.master_down_interval(), us(9_609_375));
    let wrong = Advert::v2(51, 200, 1, Auth::None, vips());
    assert_eq!(
        b.handle_advert(t0, HIGHER_ADDR, &wrong),
        Err(AdvertError::IntervalMismatch(1))
    );
    assert_eq!(b.counters().interval_errors, 1);
    let right = Advert::v2(51, 200, 3, Auth::None, vips());
    b.handle_advert(t0, HIGHER_ADDR, &right).unwrap();
    assert_eq!(b.master_adver_interval(), Duration::from_secs(3));
}

// ----- RFC 5798 §6.4.3 Master -----------------------------------------------------------------

#[test]
fn master_sends_adverts_every_interval() {
    let t0 = Instant::now();
    let (mut m, t) = master(cfg(100), t0);
    for k in 1..=3u32 {
        let at = t + Duration::from_secs(1) * k;
        assert_eq!(m.poll_timeout(), Some(at));
        m.handle_timeout(at);
        assert_eq!(drain(&mut m), vec![Action::SendAdvert { priority: 100 }]);
    }
    assert_eq!(m.counters().adverts_sent, 4);
}

#[test]
fn master_answers_priority_zero_at_once_and_restarts_adver_timer() {
    let t0 = Instant::now();
    let (mut m, t) = master(cfg(100), t0);
    let at = t + Duration::from_millis(300);
    m.handle_advert(at, HIGHER_ADDR, &advert(0)).unwrap();
    assert_eq!(drain(&mut m), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(m.poll_timeout(), Some(at + Duration::from_secs(1)));
    assert_eq!(m.state(), State::Master);
}

#[test]
fn master_yields_to_higher_priority_and_to_equal_priority_from_higher_address() {
    let t0 = Instant::now();
    let (mut m, t) = master(cfg(100), t0);
    m.handle_advert(t, LOWER_ADDR, &advert(100)).unwrap();
    assert_eq!(
        m.state(),
        State::Master,
        "equal priority from a lower address: stay"
    );
    drain(&mut m);
    m.handle_advert(t, HIGHER_ADDR, &Advert::v3(51, 100, 50, vips()))
        .unwrap();
    assert_eq!(m.state(), State::Backup);
    assert_eq!(
        drain(&mut m),
        vec![
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: StateChangeReason::HigherPriority { priority: 100 }
            }
        ]
    );
    // v3: the new Master's interval is learned on stepping down.
    assert_eq!(m.master_adver_interval(), Duration::from_millis(500));
    assert_eq!(
        m.master_down_deadline(),
        Some(t + us(1_500_000 + 156 * 50 * 625 / 16))
    );
    assert_eq!(m.counters().release_master, 1);
}

#[test]
fn shutdown_as_master_sends_priority_zero_then_removes_vips() {
    let t0 = Instant::now();
    let (mut m, t) = master(cfg(100), t0);
    m.shutdown(t);
    assert_eq!(
        drain(&mut m),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::StateChanged {
                from: State::Master,
                to: State::Init,
                reason: StateChangeReason::Shutdown
            }
        ]
    );
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.counters().priority_zero_sent, 1);
    assert_eq!(
        m.handle_advert(t, HIGHER_ADDR, &advert(100)),
        Err(AdvertError::NotRunning)
    );
}

#[test]
fn accept_mode_is_exposed() {
    let mut c = cfg(100);
    c.accept_mode = true;
    assert!(Instance::new(c).unwrap().accept_mode());
    assert!(!Instance::new(cfg(100)).unwrap().accept_mode());
}

// ----- received advert validation ---------------------------------------------------------------

#[test]
fn bad_adverts_are_refused_and_counted() {
    let t0 = Instant::now();
    let mut b = started(cfg(100), t0);
    let d = b.master_down_deadline();
    assert_eq!(
        b.handle_advert(t0, HIGHER_ADDR, &Advert::v3(52, 200, 100, vips())),
        Err(AdvertError::VridMismatch(52))
    );
    let v2 = Advert::v2(51, 200, 1, Auth::None, vips());
    assert_eq!(
        b.handle_advert(t0, HIGHER_ADDR, &v2),
        Err(AdvertError::VersionMismatch)
    );
    assert_eq!(
        b.handle_advert(t0, ME, &advert(200)),
        Err(AdvertError::OwnAddress(ME))
    );
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert_eq!(
        b.handle_advert(t0, v6, &advert(200)),
        Err(AdvertError::FamilyMismatch(v6))
    );
    assert_eq!(
        b.handle_advert(t0, HIGHER_ADDR, &Advert::v3(51, 200, 0, vips())),
        Err(AdvertError::InvalidInterval(0))
    );
    assert_eq!(
        b.master_down_deadline(),
        d,
        "refused adverts never touch the timer"
    );
    let c = b.counters();
    assert_eq!(
        (
            c.adverts_rejected,
            c.vrid_errors,
            c.version_errors,
            c.source_errors,
            c.interval_errors
        ),
        (5, 1, 1, 2, 1)
    );
    assert_eq!(c.adverts_received, 0);

    // A different address list is accepted but counted (keepalived addr_list_err).
    let other = AddressList::from_slice(&[IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))]).unwrap();
    b.handle_advert(t0, HIGHER_ADDR, &Advert::v3(51, 200, 100, other))
        .unwrap();
    assert_eq!(b.counters().address_list_errors, 1);
    assert_eq!(b.counters().adverts_received, 1);

    // v2 authentication must match.
    let mut c = cfg(100);
    c.version = Version::V2;
    c.auth = Auth::SimplePassword(*b"secret\0\0");
    let mut b = started(c, t0);
    let bad = Advert::v2(51, 200, 1, Auth::SimplePassword(*b"guess\0\0\0"), vips());
    assert_eq!(
        b.handle_advert(t0, HIGHER_ADDR, &bad),
        Err(AdvertError::AuthMismatch)
    );
    assert_eq!(b.counters().auth_errors, 1);

    // check_unicast_src: only configured peers.
    let mut c = cfg(100);
    c.unicast_peers.push(HIGHER_ADDR);
    c.check_unicast_src = true;
    let mut b = started(c, t0);
    assert_eq!(
        b.handle_advert(t0, LOWER_ADDR, &advert(200)),
        Err(AdvertError::UnknownPeer(LOWER_ADDR))
    );
    b.handle_advert(t0, HIGHER_ADDR, &advert(200)).unwrap();
}

// ----- keepalived: tracked priority -------------------------------------------------------------

fn tracked(base: u8, trackers: &[(u32, TrackerKind, i32, bool)]) -> Instance {
    let mut c = cfg(base);
    for &(id, kind, weight, reverse) in trackers {
        let mut t = TrackerConfig::new(TrackerId(id), kind, weight);
        t.reverse = reverse;
        c.trackers.push(t);
    }
    Instance::new(c).unwrap()
}

#[test]
fn tracker_weights_base_total_effective() {
    let t = Instant::now();
    let mut i = tracked(
        100,
        &[
            (1, TrackerKind::Script, 50, false),
            (2, TrackerKind::Interface, -30, false),
            (3, TrackerKind::Bfd, 20, true),
            (4, TrackerKind::Process, -10, true),
        ],
    );
    // All up: +50 (positive, up), 0 (negative, up), −20 (positive reversed: subtract while up),
    // 0 (negative reversed: adds while down).
    assert_eq!(
        (
            i.base_priority(),
            i.total_priority(),
            i.effective_priority()
        ),
        (100, 130, 130)
    );
    i.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(i.total_priority(), 80);
    i.set_tracker(t, TrackerId(2), TrackerState::Down).unwrap();
    assert_eq!(i.total_priority(), 50);
    i.set_tracker(t, TrackerId(3), TrackerState::Down).unwrap();
    assert_eq!(i.total_priority(), 70);
    i.set_tracker(t, TrackerId(4), TrackerState::Down).unwrap();
    assert_eq!(i.total_priority(), 80);
    assert_eq!(i.tracker_state(TrackerId(4)), Some(TrackerState::Down));
    assert_eq!(
        i.set_tracker(t, TrackerId(9), TrackerState::Up),
        Err(TrackerError::UnknownTracker(TrackerId(9)))
    );
    assert_eq!(
        i.set_tracker(t, TrackerId(1), TrackerState::Value(3)),
        Err(TrackerError::StateKindMismatch(TrackerId(1)))
    );
    assert_eq!(i.counters().tracker_errors, 2);
}

#[test]
fn effective_priority_is_clamped_and_the_owner_is_never_changed() {
    let t = Instant::now();
    let mut i = tracked(
        200,
        &[
            (1, TrackerKind::Script, 253, false),
            (2, TrackerKind::Script, -253, false),
        ],
    );
    assert_eq!((i.total_priority(), i.effective_priority()), (453, 254));
    i.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    i.set_tracker(t, TrackerId(2), TrackerState::Down).unwrap();
    assert_eq!((i.total_priority(), i.effective_priority()), (-53, 1));

    let mut o = tracked(255, &[(1, TrackerKind::Script, -100, false)]);
    o.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(o.effective_priority(), 255);
}

#[test]
fn weight_zero_tracker_faults_and_reverse_faults_while_up() {
    let t = Instant::now();
    let mut i = tracked(100, &[(1, TrackerKind::Script, 0, false)]);
    i.startup(t);
    i.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.fault_flags(), FaultFlags::TRACKER);
    i.set_tracker(t, TrackerId(1), TrackerState::Up).unwrap();
    assert_eq!(i.state(), State::Backup);

    let mut r = tracked(100, &[(1, TrackerKind::Script, 0, true)]);
    r.startup(t);
    assert_eq!(r.state(), State::Fault, "weight 0 reverse: FAULT while up");
    r.set_tracker(t, TrackerId(1), TrackerState::Down).unwrap();
    assert_eq!(r.state(), State::Backup);

    // FAULT leaves only when every flag is clear.
    let mut two = tracked(100, &[(1, TrackerKind::Script, 0, false)]);
    two.startup(t);
    two.set_link(t, false);
    two.set_tracker(t, TrackerId(1), TrackerState::Down)
        .unwrap();
    two.set_link(t, true);
    assert_eq!(two.state(), State::Fault);
    two.set_tracker(t, TrackerId(1), TrackerState::Up).unwrap();
    assert_eq!(two.state(), State::Backup);
}

#[test]
fn track_file_value_times_weight() {
    let t = Instant::now();
    let mut i = tracked(100, &[(1, TrackerKind::File, 10, false)]);
    i.startup(t);
    i.set_tracker(t, TrackerId(1), TrackerState::Value(5))
        .unwrap();
    assert_eq!(i.total_priority(), 150);
    i.set_tracker(t, TrackerId(1), TrackerState::Value(100))
        .unwrap();
    assert_eq!(i.total_priority(), 100 + 253, "capped at 253");
    i.set_tracker(t, TrackerId(1), TrackerState::Value(-25))
        .unwrap();
    assert_eq!((i.total_priority(), i.state()), (-150, State::Backup));
    i.set_tracker(t, TrackerId(1), TrackerState::Value(-26))
        .unwrap();
    assert_eq!(i.state(), State::Fault, "value × weight ≤ −254 is FAULT");
    i.set_tracker(t, TrackerId(1), TrackerState::Value(0))
        .unwrap();
    assert_eq!(i.state(), State::Backup);
    assert_eq!(
        i.set_tracker(t, TrackerId(1), TrackerState::Up),
        Err(TrackerError::StateKindMismatch(TrackerId(1)))
    );

    let mut z = tracked(100, &[(1, TrackerKind::File, 0, false)]);
    z.startup(t);
    z.set_tracker(t, TrackerId(1), TrackerState::Value(3))
        .unwrap();
    assert_eq!(
        z.state(),
        State::Fault,
        "weight 0: a non-zero value is a failure"
    );
}

#[test]
fn priority_change_while_backup_moves_the_running_down_timer_by_the_skew_difference() {
    let t0 = Instant::now();
    let mut i = tracked(100, &[(1, TrackerKind::Script, -50, false)]);
    i.startup(t0);
    assert_eq!(i.master_down_deadline(), Some(t0 + us(3_609_375)));
    i.set_tracker(
        t0 + Duration::from_secs(1),
        TrackerId(1),
        TrackerState::Down,
    )
    .unwrap();
    // skew(50) − skew(100) = (206 − 156)/256 s = 195.3125 ms (195 312 µs after truncation)
    assert_eq!(
        i.master_down_deadline(),
        Some(t0 + us(3_609_375) + (us(804_687) - us(609_375)))
    );
    assert_eq!(
        drain(&mut i).last(),
        Some(&Action::PriorityChanged { from: 100, to: 50 })
    );
}

// ----- keepalived: preempt_delay start / cancel ---------------------------------------------------

#[test]
fn preempt_delay_starts_on_first_lower_advert_and_cancels_on_higher() {
    let t0 = Instant::now();
    let mut c = cfg(200);
    c.preempt_delay = Duration::from_secs(5);
    let mut b = started(c, t0);
    let t1 = t0 + Duration::from_secs(1);
    b.handle_advert(t1, LOWER_ADDR, &advert(100)).unwrap();
    assert_eq!(b.preempt_deadline(), Some(t1 + Duration::from_secs(5)));
    // Accepted while the delay runs: the down timer restarts.
    assert_eq!(b.master_down_deadline(), Some(t1 + us(3_218_750)));
    // A second lower advert does not restart the delay.
    b.handle_advert(t1 + Duration::from_secs(1), LOWER_ADDR, &advert(100))
        .unwrap();
    assert_eq!(b.preempt_deadline(), Some(t1 + Duration::from_secs(5)));
    // An equal-or-higher advert cancels it.
    b.handle_advert(t1 + Duration::from_secs(2), LOWER_ADDR, &advert(200))
        .unwrap();
    assert_eq!(b.preempt_deadline(), None);
    // ...and the next lower one starts it afresh.
    let t4 = t1 + Duration::from_secs(3);
    b.handle_advert(t4, LOWER_ADDR, &advert(100)).unwrap();
    assert_eq!(b.preempt_deadline(), Some(t4 + Duration::from_secs(5)));
    // While the delay runs, lower adverts are accepted; once it is over they are discarded
    // and the running timer is kept.
    for k in 1..5u64 {
        b.handle_advert(t4 + Duration::from_secs(k), LOWER_ADDR, &advert(100))
            .unwrap();
    }
    let d = t4 + Duration::from_secs(4) + us(3_218_750);
    assert_eq!(b.master_down_deadline(), Some(d));
    b.handle_advert(t4 + Duration::from_secs(5), LOWER_ADDR, &advert(100))
        .unwrap();
    assert_eq!(b.master_down_deadline(), Some(d));
    b.handle_timeout(d);
    assert_eq!(b.state(), State::Master);
}

#[test]
fn preempt_delay_is_cancelled_by_fault_and_by_leaving_master() {
    let t0 = Instant::now();
    let mut c = cfg(200);
    c.preempt_delay = Duration::from_secs(5);
    let mut b = started(c.clone(), t0);
    b.handle_advert(t0, LOWER_ADDR, &advert(100)).unwrap();
    assert!(b.preempt_deadline().is_some());
    b.set_link(t0, false);
    b.set_link(t0, true);
    assert_eq!(
        b.preempt_deadline(),
        None,
        "entering BACKUP from FAULT cancels"
    );

    // The delay never postpones a takeover when nobody advertises.
    let mut lone = started(c, t0);
    lone.handle_timeout(t0 + us(3_218_750));
    assert_eq!(lone.state(), State::Master);
}

// ----- keepalived: GARP and lower priority --------------------------------------------------------

#[test]
fn garp_master_delay_zero_means_no_second_burst_and_repeat_zero_no_burst() {
    let t0 = Instant::now();
    let mut c = cfg(100);
    c.garp_master_delay = Duration::ZERO;
    let (m, t) = master(c, t0);
    assert_eq!(m.poll_timeout(), Some(t + Duration::from_secs(1)));

    let mut c = cfg(100);
    c.garp_master_repeat = 0;
    let mut i = started(c, t0);
    let t = i.poll_timeout().unwrap();
    i.handle_timeout(t);
    assert!(!drain(&mut i)
        .iter()
        .any(|a| matches!(a, Action::SendGarp { .. })));
}

/// A flood of lower-priority adverts (keepalived answers each with an advert, a GARP burst
/// and notify_master_rx_lower_pri): one answer per sender per interval, one burst per
/// garp_lower_prio_delay, the rest counted.
#[test]
fn a_master_answers_a_lower_priority_flood_once_per_interval() {
    let t0 = Instant::now();
    let (mut m, t) = master(cfg(100), t0);
    drain(&mut m);
    let flooder: IpAddr = "192.0.2.250".parse().unwrap();
    let mut answers = Vec::new();
    // 5,000 adverts a second for 2 s.
    for k in 0..10_000u64 {
        let now = t + Duration::from_micros(200 * k);
        while m.poll_timeout().is_some_and(|d| d <= now) {
            let d = m.poll_timeout().unwrap();
            m.handle_timeout(d);
        }
        let _ = m.handle_advert(now, flooder, &advert(50));
        answers.extend(drain(&mut m));
    }
    let rx_lower = answers
        .iter()
        .filter(|a| matches!(a, Action::MasterRxLowerPriority { .. }))
        .count();
    let bursts = answers
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::SendGarp {
                    reason: GarpReason::LowerPriority,
                    ..
                }
            )
        })
        .count();
    // One answer per 1 s interval, one burst (the 5 s delay has not passed).
    assert_eq!((rx_lower, bursts), (2, 1), "{answers:?}");
    assert_eq!(m.counters().lower_priority_unanswered, 10_000 - 2);
    assert_eq!(m.state(), State::Master);
}

#[test]
fn leaving_fault_in_unicast_mode_refreshes_our_own_address() {
    let t0 = Instant::now();
    let mut c = cfg(100);
    c.unicast_peers.push(HIGHER_ADDR);
    let mut i = started(c, t0);
    i.set_link(t0, false);
    drain(&mut i);
    i.set_link(t0, true);
    assert_eq!(drain(&mut i)[0], Action::SendSourceGarp);
}

#[test]
fn no_advert_is_processed_in_fault() {
    let t0 = Instant::now();
    let mut i = started(cfg(100), t0);
    i.set_link(t0, false);
    assert_eq!(
        i.handle_advert(t0, HIGHER_ADDR, &advert(200)),
        Err(AdvertError::InFault)
    );
    assert_eq!(i.counters().state_errors, 1);
}

#[test]
fn advert_builder_matches_the_config() {
    let i = Instance::new(cfg(100)).unwrap();
    let a = i.advert(100);
    assert_eq!(
        (a.version, a.vrid, a.priority, a.max_adver_int),
        (Version::V3, 51, 100, 100)
    );
    assert_eq!(a.addresses.iter().collect::<Vec<_>>(), vec![VIP]);
    let mut c = cfg(100);
    c.version = Version::V2;
    c.advert_interval = Duration::from_secs(2);
    c.auth = Auth::SimplePassword(*b"pw\0\0\0\0\0\0");
    let a = Instance::new(c).unwrap().advert(0);
    assert_eq!(
        (a.version, a.priority, a.max_adver_int, a.auth),
        (Version::V2, 0, 2, Auth::SimplePassword(*b"pw\0\0\0\0\0\0"))
    );
}

#[test]
fn master_adverts_keep_their_cadence_when_the_driver_wakes_late() {
    let t0 = Instant::now();
    let mut c = cfg(100);
    c.garp_master_delay = Duration::ZERO; // only the advert timer runs
    let (mut i, t) = master(c, t0);
    let iv = Duration::from_secs(1);
    // Becoming Master sent the first advert; the next is due one interval later.
    let d1 = i.poll_timeout().unwrap();
    assert_eq!(d1, t + iv);
    // The driver gets to it 300 µs late: the advert goes, the one after keeps the cadence.
    i.handle_timeout(d1 + us(300));
    assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(i.poll_timeout(), Some(d1 + iv));
    // More than a whole interval late: no burst to catch up, restart from now.
    let late = d1 + iv + iv + us(500);
    i.handle_timeout(late);
    assert_eq!(drain(&mut i), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(i.poll_timeout(), Some(late + iv));
}
