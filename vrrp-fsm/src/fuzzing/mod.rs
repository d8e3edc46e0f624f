//! Body of the `fsm_events` fuzz target, and the simulated LAN the tests share (hidden: not part
//! of the supported API).
//!
//! The input bytes choose a LAN of 2..=4 routers (priorities, preempt options, trackers, an
//! optional sync group) and then a sequence of events: time passing, crashes, restarts, graceful
//! shutdowns, link flaps, tracker changes, partitions, packet loss and forged adverts. After every
//! event the invariants are checked; at the end the LAN is healed and must settle on exactly one
//! Master per VRID.
//!
//! Input format (bytes, zeros once exhausted): flags (bit 0 VRRPv2, bits 1-2 interval, bit 3 sync
//! group), delay (×97 µs), node count (2 + n % 3), two seed bytes; per node a group priority,
//! then per instance: priority, option bits, refresh, script weight, file weight; then events of
//! `op node [args]`.
use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use vrrp_proto::{AddressList, Advert, Version};

use crate::{
    InstanceConfig, State, TrackerConfig, TrackerId, TrackerKind, TrackerState, VirtualAddress,
};

pub mod lan;

use lan::Lan;

/// Reads the fuzz input; yields zeros once exhausted.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

const VRIDS: [u8; 2] = [7, 8];
const SCRIPT: TrackerId = TrackerId(1);
const FILE: TrackerId = TrackerId(2);

fn node_addr(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + n as u8))
}

/// Run one fuzz input. Panics when an invariant is violated (that is the finding); never panics
/// otherwise, whatever the bytes.
pub fn fsm_events(data: &[u8]) {
    if let Err(e) = run(data) {
        panic!("invariant violated: {e}");
    }
}

/// The same as [`fsm_events`], returning the violation instead of panicking.
pub fn run(data: &[u8]) -> Result<(), String> {
    let mut input = Input { data };
    let flags = input.byte();
    let version = if flags & 1 == 0 {
        Version::V3
    } else {
        Version::V2
    };
    let interval = match (version, flags >> 1 & 3) {
        (Version::V2, _) => Duration::from_secs(1),
        (_, 0) => Duration::from_secs(1),
        (_, 1) => Duration::from_millis(100),
        (_, 2) => Duration::from_millis(330),
        _ => Duration::from_millis(2500),
    };
    let with_sync = flags & 8 != 0;
    let delay = Duration::from_micros(u64::from(input.byte()) * 97);
    let node_count = 2 + usize::from(input.byte() % 3);

    let mut lan = Lan::new(delay);
    lan.record_log = std::env::var_os("FSM_FUZZ_DEBUG").is_some();
    lan.seed(u64::from(input.byte()) << 8 | u64::from(input.byte()));
    for n in 0..node_count {
        let mut configs = Vec::new();
        let instances = if with_sync { 2 } else { 1 };
        // A sync group only makes sense when its members rank the nodes alike (keepalived's
        // documentation): members of one node share a priority, below 255 so that no owner
        // conflict lowers one member and not the other. Inconsistent groups thrash, in
        // keepalived as here.
        let node_priority = input.byte().clamp(1, 254);
        for (i, &vrid) in VRIDS.iter().enumerate().take(instances) {
            let mut cfg = InstanceConfig::new(vrid, node_addr(n));
            cfg.version = version;
            cfg.advert_interval = interval;
            cfg.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
                192,
                0,
                2,
                10 + i as u8,
            ))));
            let own = input.byte().max(1);
            cfg.priority = if with_sync { node_priority } else { own };
            let opts = input.byte();
            cfg.preempt = opts & 1 == 0;
            cfg.preempt_delay = Duration::from_millis(u64::from(opts >> 1 & 3) * 700);
            cfg.initial_state_master = opts & 8 != 0;
            cfg.lower_prio_no_advert = opts & 16 != 0;
            cfg.higher_prio_send_advert = opts & 32 != 0;
            cfg.strict = opts & 64 != 0;
            cfg.down_timer_adverts = 1 + (opts >> 7) * 2;
            cfg.garp_master_refresh = Duration::from_millis(u64::from(input.byte() % 4) * 1500);
            let w = i32::from(input.byte() as i8).clamp(-253, 253);
            let mut script = TrackerConfig::new(SCRIPT, TrackerKind::Script, w);
            script.reverse = w & 1 == 1;
            cfg.trackers.push(script);
            cfg.trackers.push(TrackerConfig::new(
                FILE,
                TrackerKind::File,
                i32::from(input.byte() % 11) - 5,
            ));
            configs.push(cfg);
        }
        let groups = if with_sync {
            vec![vec![0, 1]]
        } else {
            Vec::new()
        };
        lan.add_node(node_addr(n), configs, groups)
            .map_err(|e| format!("generated config refused: {e}"))?;
        lan.start_node(n);
    }
    lan.check_invariants()?;

    // Bounded work per input: at most 1,000 events and 15 minutes of virtual time.
    let mut steps = 0;
    let budget = lan.start + Duration::from_secs(900);
    while !input.is_empty() && steps < 1_000 && lan.now < budget {
        steps += 1;
        let op = input.byte();
        let n = usize::from(input.byte()) % node_count;
        let i = usize::from(op >> 7) % lan.nodes[n].vips.len();
        match op % 15 {
            0 | 1 => lan.run_for(Duration::from_millis(u64::from(input.byte()) * 23)),
            2 => lan.crash(n),
            3 => {
                if !lan.nodes[n].powered {
                    lan.start_node(n);
                }
            }
            4 => {
                if lan.nodes[n].powered {
                    lan.shutdown(n);
                }
            }
            5 => {
                let up = input.byte() & 1 == 0;
                if lan.nodes[n].powered {
                    lan.set_link(n, i, up);
                }
            }
            6 => {
                let s = if input.byte() & 1 == 0 {
                    TrackerState::Up
                } else {
                    TrackerState::Down
                };
                if lan.nodes[n].powered {
                    lan.set_tracker(n, i, SCRIPT, s);
                }
            }
            7 => {
                let v = i64::from(input.byte() as i8) * 3;
                if lan.nodes[n].powered {
                    lan.set_tracker(n, i, FILE, TrackerState::Value(v));
                }
            }
            8 => {
                let p = input.byte() % 3;
                lan.set_partition(n, p);
            }
            9 => lan.loss_per_mille = u32::from(input.byte()) * 4,
            10 => lan.heal(),
            11 => {
                // A reload of one node: new priority, preempt settings, tracker weight and
                // maybe tracker order. A
                // sync group's members keep sharing one priority below 255.
                let prio = if with_sync {
                    input.byte().clamp(1, 254)
                } else {
                    input.byte().max(1)
                };
                let opts = input.byte();
                let weight = i32::from(input.byte() as i8).clamp(-253, 253);
                let members: Vec<usize> = if with_sync {
                    (0..lan.nodes[n].vips.len()).collect()
                } else {
                    vec![i]
                };
                for m in members {
                    let mut cfg = lan.instance(n, m).config().clone();
                    cfg.priority = prio;
                    cfg.preempt = opts & 1 == 0;
                    cfg.preempt_delay = Duration::from_millis(u64::from(opts >> 1 & 3) * 700);
                    let script = cfg.trackers.iter().position(|t| t.id == SCRIPT);
                    if let Some(k) = script {
                        cfg.trackers[k].weight = weight;
                    }
                    // The same trackers in another order: each keeps its state by id.
                    if opts & 8 != 0 {
                        cfg.trackers.reverse();
                    }
                    lan.reconfigure(n, m, cfg);
                }
            }
            12 if version == Version::V3 => {
                // A reload of every node with a new advert interval. Mixed intervals are
                // RFC-conform but can keep two Masters alternating for good (a yielding
                // Master's last advert, sent at its short interval, times another Backup out
                // before the real Master's long interval ends), so a cluster changes together.
                let interval = Duration::from_millis(match input.byte() & 3 {
                    0 => 1000,
                    1 => 100,
                    2 => 330,
                    _ => 2500,
                });
                for node in 0..node_count {
                    for m in 0..lan.nodes[node].vips.len() {
                        let mut cfg = lan.instance(node, m).config().clone();
                        cfg.advert_interval = interval;
                        lan.reconfigure(node, m, cfg);
                    }
                }
            }
            14 => {
                // The node's receive queue overflowed: a Backup may restart its timer once.
                if lan.nodes[n].powered {
                    lan.receive_loss(n, i);
                }
            }
            _ => {
                // A forged or stray advert from an address that is not on the LAN.
                let prio = input.byte();
                let vrid = VRIDS[usize::from(input.byte() & 1)];
                let cs = u16::from(input.byte()) * 4;
                let mut addrs = AddressList::new_v4();
                let _ = addrs.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)));
                let adv = match version {
                    Version::V3 => Advert::v3(vrid, prio, cs, addrs),
                    Version::V2 => {
                        Advert::v2(vrid, prio, (cs / 100) as u8, vrrp_proto::Auth::None, addrs)
                    }
                };
                let src = IpAddr::V4(Ipv4Addr::new(10, 0, 1, input.byte()));
                lan.inject(n, src, adv);
            }
        }
        lan.check_invariants()?;
    }

    // Settle: heal the LAN, clear every fault, power every node, then wait until quiet.
    lan.heal();
    for n in 0..node_count {
        if !lan.nodes[n].powered {
            lan.start_node(n);
        }
        for i in 0..lan.nodes[n].vips.len() {
            lan.set_link(n, i, true);
            // The state that faults no tracker: a reversed one (weight 0, or weights ignored in
            // a sync group) faults while up.
            let trackers = &lan.instance(n, i).config().trackers;
            let reversed = trackers.iter().any(|t| t.id == SCRIPT && t.reverse);
            let calm = if reversed {
                TrackerState::Down
            } else {
                TrackerState::Up
            };
            lan.set_tracker(n, i, SCRIPT, calm);
            lan.set_tracker(n, i, FILE, TrackerState::Value(0));
        }
    }
    lan.check_invariants()?;
    // Let the packets still in flight (forged ones included: they may teach a long interval)
    // land before measuring how long "quiet" must be.
    let flush = lan.delay * 2 + Duration::from_micros(1);
    lan.run_for(flush);
    let quiet = lan.quiet_period();
    let settle_from = lan.elapsed();
    lan.run_for(quiet * 2);
    if std::env::var_os("FSM_FUZZ_DEBUG").is_some() {
        for e in lan
            .log
            .iter()
            .filter(|e| e.at + Duration::from_secs(2) >= settle_from)
        {
            if !matches!(e.action, crate::Action::SendAdvert { .. }) || e.at > settle_from + quiet {
                eprintln!("{e:?}");
            }
        }
        for n in 0..node_count {
            eprintln!(
                "node {n} router timeout {:?} now {:?}",
                lan.nodes[n].router.poll_timeout().map(|t| t - lan.start),
                lan.elapsed()
            );
            for i in 0..lan.nodes[n].vips.len() {
                let x = lan.instance(n, i);
                eprintln!(
                    "node {n} inst {i}: {} deadline {:?} running {}",
                    x.state(),
                    x.master_down_deadline().map(|t| t - lan.start),
                    x.is_running()
                );
            }
        }
    }
    lan.check_invariants()?;
    for vrid in VRIDS.iter().take(if with_sync { 2 } else { 1 }) {
        let masters = lan.masters(*vrid);
        if masters.len() != 1 {
            let states: Vec<(State, crate::FaultFlags)> = (0..node_count)
                .map(|n| {
                    let i = lan.instance(n, usize::from(*vrid - VRIDS[0]));
                    (i.state(), i.fault_flags())
                })
                .collect();
            return Err(format!(
                "vrid {vrid}: {} masters after the LAN was quiet for {:?} (states {states:?})",
                masters.len(),
                quiet * 2
            ));
        }
    }
    Ok(())
}
