//! proptest: random event sequences on a simulated LAN of three routers. After every event:
//! never Master while in FAULT, VIPs held exactly while Master, tracked priority within 1..=254.
//! After the LAN has been healed and quiet for the longest Master_Down_Interval: exactly one
//! Master, and it stays the only one.
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proptest::prelude::*;
use vrrp_fsm::fuzzing::lan::Lan;
use vrrp_fsm::{
    InstanceConfig, TrackerConfig, TrackerId, TrackerKind, TrackerState, VirtualAddress,
};

const NODES: usize = 3;
const SCRIPT: TrackerId = TrackerId(1);
const FILE: TrackerId = TrackerId(2);

#[derive(Debug, Clone)]
struct NodeSpec {
    priority: u8,
    preempt: bool,
    preempt_delay_ms: u64,
    initial_master: bool,
    lower_prio_no_advert: bool,
    higher_prio_send_advert: bool,
    script_weight: i32,
    script_reverse: bool,
    file_weight: i32,
}

#[derive(Debug, Clone)]
enum Event {
    Advance(u64),
    Crash(usize),
    Start(usize),
    Shutdown(usize),
    Link(usize, bool),
    Script(usize, bool),
    File(usize, i64),
    Partition(usize, u8),
    Loss(u32),
    Heal,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        1u8..=255,
        any::<bool>(),
        prop_oneof![Just(0u64), 1u64..3000],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        -253i32..=253,
        any::<bool>(),
        -254i32..=254,
    )
        .prop_map(
            |(priority, preempt, d, im, lpna, hpsa, sw, sr, fw)| NodeSpec {
                priority,
                preempt,
                preempt_delay_ms: d,
                initial_master: im,
                lower_prio_no_advert: lpna,
                higher_prio_send_advert: hpsa,
                script_weight: sw,
                script_reverse: sr,
                file_weight: fw,
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    let n = 0..NODES;
    prop_oneof![
        4 => (0u64..4000).prop_map(Event::Advance),
        1 => n.clone().prop_map(Event::Crash),
        1 => n.clone().prop_map(Event::Start),
        1 => n.clone().prop_map(Event::Shutdown),
        2 => (n.clone(), any::<bool>()).prop_map(|(n, up)| Event::Link(n, up)),
        2 => (n.clone(), any::<bool>()).prop_map(|(n, up)| Event::Script(n, up)),
        1 => (n.clone(), -300i64..300).prop_map(|(n, v)| Event::File(n, v)),
        1 => (n, 0u8..3).prop_map(|(n, p)| Event::Partition(n, p)),
        1 => (0u32..800).prop_map(Event::Loss),
        1 => Just(Event::Heal),
    ]
}

fn build(specs: &[NodeSpec], delay_us: u64, interval_cs: u64, seed: u64) -> Lan {
    let mut lan = Lan::new(Duration::from_micros(delay_us));
    lan.seed(seed);
    for (n, s) in specs.iter().enumerate() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + n as u8));
        let mut c = InstanceConfig::new(9, a);
        c.priority = s.priority;
        c.advert_interval = Duration::from_millis(interval_cs * 10);
        c.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
            192, 0, 2, 9,
        ))));
        c.preempt = s.preempt;
        c.preempt_delay = Duration::from_millis(s.preempt_delay_ms);
        c.initial_state_master = s.initial_master;
        c.lower_prio_no_advert = s.lower_prio_no_advert;
        c.higher_prio_send_advert = s.higher_prio_send_advert;
        let mut script = TrackerConfig::new(SCRIPT, TrackerKind::Script, s.script_weight);
        script.reverse = s.script_reverse;
        c.trackers.push(script);
        c.trackers
            .push(TrackerConfig::new(FILE, TrackerKind::File, s.file_weight));
        lan.add_node(a, vec![c], vec![]).unwrap();
        lan.start_node(n);
    }
    lan
}

fn apply(lan: &mut Lan, e: &Event) {
    match *e {
        Event::Advance(ms) => lan.run_for(Duration::from_millis(ms)),
        Event::Crash(n) => lan.crash(n),
        Event::Start(n) if !lan.nodes[n].powered => lan.start_node(n),
        Event::Shutdown(n) if lan.nodes[n].powered => lan.shutdown(n),
        Event::Link(n, up) if lan.nodes[n].powered => lan.set_link(n, 0, up),
        Event::Script(n, up) if lan.nodes[n].powered => {
            let s = if up {
                TrackerState::Up
            } else {
                TrackerState::Down
            };
            lan.set_tracker(n, 0, SCRIPT, s)
        }
        Event::File(n, v) if lan.nodes[n].powered => {
            lan.set_tracker(n, 0, FILE, TrackerState::Value(v))
        }
        Event::Partition(n, p) => lan.set_partition(n, p),
        Event::Loss(l) => lan.loss_per_mille = l,
        Event::Heal => lan.heal(),
        _ => {}
    }
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #[test]
    fn invariants_hold_under_random_events(
        specs in proptest::collection::vec(node_spec(), NODES),
        delay_us in 0u64..20_000,
        interval_cs in prop_oneof![Just(100u64), 5u64..300],
        seed in any::<u64>(),
        events in proptest::collection::vec(event(), 0..120),
    ) {
        let mut lan = build(&specs, delay_us, interval_cs, seed);
        lan.check_invariants().map_err(TestCaseError::fail)?;
        for e in &events {
            apply(&mut lan, e);
            lan.check_invariants().map_err(|m| TestCaseError::fail(format!("after {e:?}: {m}")))?;
        }
        // Quiet the LAN: heal, power every node, clear every fault.
        lan.heal();
        for (n, spec) in specs.iter().enumerate() {
            if !lan.nodes[n].powered {
                lan.start_node(n);
            }
            lan.set_link(n, 0, true);
            lan.set_tracker(n, 0, SCRIPT, if spec.script_reverse && spec.script_weight == 0 {
                TrackerState::Down
            } else {
                TrackerState::Up
            });
            lan.set_tracker(n, 0, FILE, TrackerState::Value(0));
        }
        let quiet = lan.quiet_period();
        lan.run_for(quiet);
        let masters = lan.masters(9);
        prop_assert_eq!(masters.len(), 1, "masters {:?} after a quiet {:?}", masters, quiet);
        // And it stays that way.
        let end = lan.now + quiet * 3;
        while lan.now < end {
            lan.run_for(Duration::from_millis(37));
            lan.check_invariants().map_err(TestCaseError::fail)?;
            prop_assert_eq!(lan.masters(9), masters.clone());
        }
    }
}
