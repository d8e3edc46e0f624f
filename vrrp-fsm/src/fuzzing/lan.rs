//! A deterministic simulated LAN of VRRP routers on a virtual clock, with delay, seeded packet
//! loss, partitions, crashes and restarts. Used by the crate's simulator tests, the proptest
//! invariants and the `fsm_events` fuzz target.
use core::net::IpAddr;
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use vrrp_proto::Advert;

use crate::{
    Action, AddressFamily, InstanceConfig, InstanceId, Router, State, SyncGroupConfig, TrackerId,
    TrackerState,
};

/// One action as the driver saw it, with the virtual time since the start of the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Virtual time since [`Lan::start`].
    pub at: Duration,
    /// Node that emitted it.
    pub node: usize,
    /// Instance within the node.
    pub instance: InstanceId,
    /// The action.
    pub action: Action,
}

/// One simulated machine: a [`Router`] of instances plus the driver's view of its VIPs.
#[derive(Debug)]
pub struct Node {
    /// The machine's address (primary address of all its instances).
    pub addr: IpAddr,
    /// Its state machines.
    pub router: Router,
    /// Powered on (a crashed node neither sends nor receives).
    pub powered: bool,
    /// Partition number: packets flow only between nodes of the same partition.
    pub partition: u8,
    /// Driver view: VIPs installed, per instance (from AddVips / RemoveVips).
    pub vips: Vec<bool>,
    configs: Vec<InstanceConfig>,
    sync_groups: Vec<Vec<usize>>,
}

#[derive(Debug)]
struct Packet {
    at: Instant,
    seq: u64,
    to: usize,
    src: IpAddr,
    advert: Box<Advert>,
}

impl PartialEq for Packet {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Packet {}
impl PartialOrd for Packet {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Packet {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Lan {
    /// Time zero of the simulation.
    pub start: Instant,
    /// The virtual clock.
    pub now: Instant,
    /// The machines.
    pub nodes: Vec<Node>,
    /// One-way delivery delay of every packet.
    pub delay: Duration,
    /// Packet loss in parts per thousand (seeded, deterministic).
    pub loss_per_mille: u32,
    /// Every action of every node, in order (when `record_log` is set, the default).
    pub log: Vec<LogEntry>,
    /// Record actions in `log` (the fuzz target turns it off to stay fast).
    pub record_log: bool,
    /// Adverts the receivers refused (wrong VRID, etc.).
    pub refused: u64,
    /// Adverts delivered.
    pub delivered: u64,
    rng: u64,
    seq: u64,
    in_flight: BinaryHeap<Reverse<Packet>>,
}

impl Lan {
    /// An empty LAN with the given one-way delay, no loss, seed 1.
    pub fn new(delay: Duration) -> Self {
        let start = Instant::now();
        Lan {
            start,
            now: start,
            nodes: Vec::new(),
            delay,
            loss_per_mille: 0,
            log: Vec::new(),
            record_log: true,
            refused: 0,
            delivered: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            seq: 0,
            in_flight: BinaryHeap::new(),
        }
    }

    /// Reseed the loss generator.
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// Add a powered-off node with these instances; `sync_groups` lists instance indices.
    /// Returns the node index. Configuration errors are returned.
    pub fn add_node(
        &mut self,
        addr: IpAddr,
        configs: Vec<InstanceConfig>,
        sync_groups: Vec<Vec<usize>>,
    ) -> Result<usize, crate::ConfigError> {
        let router = build_router(&configs, &sync_groups)?;
        self.nodes.push(Node {
            addr,
            vips: vec![false; configs.len()],
            router,
            powered: false,
            partition: 0,
            configs,
            sync_groups,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Power node `n` on and start its instances now.
    pub fn start_node(&mut self, n: usize) {
        self.nodes[n].powered = true;
        let now = self.now;
        self.nodes[n].router.startup(now);
        self.drain(n);
    }

    /// Crash node `n`: it stops at once, sends nothing (no priority 0), loses its state.
    pub fn crash(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.powered = false;
        node.vips.iter_mut().for_each(|v| *v = false);
        // A crashed machine loses its state: a restart starts from scratch.
        if let Ok(r) = build_router(&node.configs, &node.sync_groups) {
            node.router = r;
        }
    }

    /// Graceful stop of node `n` (Masters send priority 0, release VIPs), then power off.
    pub fn shutdown(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].router.shutdown(now);
        self.drain(n);
        self.crash(n);
    }

    /// Link state of instance `i` of node `n`.
    pub fn set_link(&mut self, n: usize, i: usize, up: bool) {
        let now = self.now;
        let id = self.id(n, i);
        let _ = self.nodes[n].router.set_link(now, id, up);
        self.drain(n);
    }

    /// Node `n`'s driver lost datagrams for instance `i` unread (its queue overflowed).
    pub fn receive_loss(&mut self, n: usize, i: usize) {
        let now = self.now;
        let id = self.id(n, i);
        let _ = self.nodes[n].router.handle_receive_loss(now, id);
        self.drain(n);
    }

    /// Tracker update for instance `i` of node `n`.
    pub fn set_tracker(&mut self, n: usize, i: usize, tracker: TrackerId, state: TrackerState) {
        let now = self.now;
        let id = self.id(n, i);
        let _ = self.nodes[n].router.set_tracker(now, id, tracker, state);
        self.drain(n);
    }

    /// Reload instance `i` of node `n` with `config` (refusals are part of the test); a
    /// later crash restarts from the reloaded configuration, as a daemon rereads its file.
    pub fn reconfigure(&mut self, n: usize, i: usize, config: crate::InstanceConfig) {
        let now = self.now;
        let id = self.id(n, i);
        if self.nodes[n]
            .router
            .reconfigure(now, id, config.clone())
            .is_ok()
        {
            self.nodes[n].configs[i] = config;
        }
        self.drain(n);
    }

    /// Deliver `advert` from `src` (an address not on the LAN) to node `n` after the delay.
    pub fn inject(&mut self, n: usize, src: IpAddr, advert: Advert) {
        self.seq += 1;
        self.in_flight.push(Reverse(Packet {
            at: self.now + self.delay,
            seq: self.seq,
            to: n,
            src,
            advert: Box::new(advert),
        }));
    }

    /// Move node `n` to partition `p`.
    pub fn set_partition(&mut self, n: usize, p: u8) {
        self.nodes[n].partition = p;
    }

    /// Heal the LAN: one partition, no loss.
    pub fn heal(&mut self) {
        self.nodes.iter_mut().for_each(|n| n.partition = 0);
        self.loss_per_mille = 0;
    }

    /// The id of instance `i` of node `n`.
    pub fn id(&self, n: usize, i: usize) -> InstanceId {
        self.nodes[n]
            .router
            .instances()
            .nth(i)
            .map(|(id, _)| id)
            .expect("instance index")
    }

    /// The state machine of instance `i` of node `n`.
    pub fn instance(&self, n: usize, i: usize) -> &crate::Instance {
        let id = self.id(n, i);
        self.nodes[n].router.instance(id).expect("instance")
    }

    /// State of instance `i` of node `n`.
    pub fn state(&self, n: usize, i: usize) -> State {
        self.instance(n, i).state()
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Run the simulation for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// Run the simulation until `end` (absolute virtual time).
    pub fn run_until(&mut self, end: Instant) {
        loop {
            let next_pkt = self.in_flight.peek().map(|Reverse(p)| p.at);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.powered)
                .filter_map(|n| n.router.poll_timeout())
                .min();
            let next = match (next_pkt, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            // Packets first, then timers, at the same instant.
            while self
                .in_flight
                .peek()
                .is_some_and(|Reverse(p)| p.at <= self.now)
            {
                let Some(Reverse(p)) = self.in_flight.pop() else {
                    break;
                };
                self.deliver(p);
            }
            for n in 0..self.nodes.len() {
                let node = &mut self.nodes[n];
                if node.powered && node.router.poll_timeout().is_some_and(|t| t <= self.now) {
                    node.router.handle_timeout(self.now);
                    self.drain(n);
                }
            }
        }
        self.now = self.now.max(end);
    }

    fn deliver(&mut self, p: Packet) {
        let now = self.now;
        let node = &mut self.nodes[p.to];
        if !node.powered {
            return;
        }
        let family = AddressFamily::of(&p.src);
        let Some(id) = node.router.find(family, p.advert.vrid) else {
            self.refused += 1;
            return;
        };
        match node.router.handle_advert(now, id, p.src, &*p.advert) {
            Ok(()) => self.delivered += 1,
            Err(_) => self.refused += 1,
        }
        self.drain(p.to);
    }

    fn lost(&mut self) -> bool {
        if self.loss_per_mille == 0 {
            return false;
        }
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % 1000 < u64::from(self.loss_per_mille)
    }

    fn drain(&mut self, n: usize) {
        while let Some((id, action)) = self.nodes[n].router.poll_action() {
            if self.record_log {
                self.log.push(LogEntry {
                    at: self.now - self.start,
                    node: n,
                    instance: id,
                    action,
                });
            }
            match action {
                Action::AddVips => self.nodes[n].vips[id.index()] = true,
                Action::RemoveVips => self.nodes[n].vips[id.index()] = false,
                Action::SendAdvert { priority } => {
                    let inst = self.nodes[n].router.instance(id).expect("instance");
                    let advert = inst.advert(priority);
                    let src = self.nodes[n].addr;
                    let part = self.nodes[n].partition;
                    for to in 0..self.nodes.len() {
                        if to == n || !self.nodes[to].powered || self.nodes[to].partition != part {
                            continue;
                        }
                        if self.lost() {
                            continue;
                        }
                        self.seq += 1;
                        self.in_flight.push(Reverse(Packet {
                            at: self.now + self.delay,
                            seq: self.seq,
                            to,
                            src,
                            advert: Box::new(advert.clone()),
                        }));
                    }
                }
                _ => {}
            }
        }
    }

    /// `(node, instance)` pairs in Master for `vrid`, among powered nodes.
    pub fn masters(&self, vrid: u8) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.powered {
                continue;
            }
            for (i, (_, inst)) in node.router.instances().enumerate() {
                if inst.config().vrid == vrid && inst.state() == State::Master {
                    out.push((n, i));
                }
            }
        }
        out
    }

    /// State changes in the log: `(time, node, instance index, from, to)`.
    pub fn transitions(&self) -> Vec<(Duration, usize, usize, State, State)> {
        self.log
            .iter()
            .filter_map(|e| match e.action {
                Action::StateChanged { from, to, .. } => {
                    Some((e.at, e.node, e.instance.index(), from, to))
                }
                _ => None,
            })
            .collect()
    }

    /// The per-state invariants: never Master in FAULT, VIPs held exactly while Master (both in
    /// the FSM and in the driver's view), effective priority within 1..=254 (255 for owners).
    pub fn check_invariants(&self) -> Result<(), String> {
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.powered {
                continue;
            }
            for (i, (_, inst)) in node.router.instances().enumerate() {
                let master = inst.state() == State::Master;
                if master && !inst.fault_flags().is_empty() {
                    return Err(format!(
                        "node {n} inst {i}: Master with faults {:?}",
                        inst.fault_flags()
                    ));
                }
                if inst.state() == State::Fault && inst.fault_flags().is_empty() {
                    return Err(format!("node {n} inst {i}: FAULT without a fault flag"));
                }
                if inst.vips_held() != master || node.vips[i] != master {
                    return Err(format!(
                        "node {n} inst {i}: state {} but vips held fsm={} driver={}",
                        inst.state(),
                        inst.vips_held(),
                        node.vips[i]
                    ));
                }
                let p = inst.effective_priority();
                let ok = if inst.base_priority() == 255 {
                    p == 255
                } else {
                    (1..=254).contains(&p)
                };
                if !ok {
                    return Err(format!(
                        "node {n} inst {i}: effective priority {p} (base {})",
                        inst.base_priority()
                    ));
                }
            }
        }
        Ok(())
    }

    /// How long a healed LAN needs before every election is over: the longest
    /// Master_Down_Interval (until a first Master is elected), then the longest preempt delay,
    /// one advert interval and another Master_Down_Interval (until a delayed preemption
    /// completes), plus the delays. After that, one Master per VRID remains, unchanged.
    pub fn quiet_period(&self) -> Duration {
        let (mut mdi, mut adv, mut preempt) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for node in self.nodes.iter().filter(|n| n.powered) {
            for (_, inst) in node.router.instances() {
                let a = inst
                    .config()
                    .advert_interval
                    .max(inst.master_adver_interval());
                let m = a * u32::from(inst.config().down_timer_adverts)
                    + crate::skew_time(inst.config().version, 1, a);
                mdi = mdi.max(m);
                adv = adv.max(a);
                preempt = preempt.max(inst.config().preempt_delay);
            }
        }
        mdi * 2 + adv + preempt + self.delay * 2
    }
}

fn build_router(
    configs: &[InstanceConfig],
    sync_groups: &[Vec<usize>],
) -> Result<Router, crate::ConfigError> {
    let mut router = Router::new();
    let mut ids = Vec::new();
    for c in configs {
        ids.push(router.add_instance(c.clone())?);
    }
    for g in sync_groups {
        let members = g.iter().filter_map(|&i| ids.get(i).copied()).collect();
        router.add_sync_group(SyncGroupConfig::new(members))?;
    }
    Ok(router)
}
