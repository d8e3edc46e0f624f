//! The `[[virtual_server]]`s at run time: each real server's checks
//! ([`healthcheck::Monitor`]) feed a [`healthcheck::Pool`] (keepalived's quorum, hysteresis,
//! sorry server and `inhibit_on_failure` rules), and the pools' result goes to the kernel
//! through `ipvs-netlink`'s desired-state diff ([`ipvs_netlink::IpvsHandle::apply`]): only
//! what differs changes, nothing is flushed, services this daemon does not configure are
//! left alone. Feature `ipvs`.
//!
//! [`VirtualServerRun`] is the Sans-IO part (checks to start, what IPVS should hold, which
//! scripts a change runs); [`LvsDirector`] runs it on tokio beside the VRRP daemon
//! ([`Daemon::start`](crate::Daemon::start) starts one when the configuration has virtual
//! servers), suspending the checks of an `ha_suspend` virtual server while this node does
//! not hold its address as a VIP.
//!
//! ```
//! use hakit::runtime::lvs::VirtualServerRun;
//! use hakit::Config;
//! let config = Config::from_toml(
//!     "[[virtual_server]]\naddress = '192.0.2.1:80'\nquorum = 2\nsorry_server = '198.51.100.9:80'\n\
//!      [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\ntcp_check = [{}]\n\
//!      [[virtual_server.real_server]]\naddress = '198.51.100.3:80'\ntcp_check = [{}]\n",
//! )
//! .unwrap();
//! let spec = config.validate().unwrap();
//! let run = VirtualServerRun::new(spec.virtual_servers[0].clone(), 0);
//! assert_eq!(run.check_ids().len(), 2);
//! // Both real servers start alive (no `alpha`): quorum 2 holds, no sorry server.
//! assert_eq!(run.desired()[0].destinations.len(), 2);
//! ```

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use healthcheck::{
    CheckId, CheckSpec, CheckStatus, DnsCheck, ExecCheck, FileCheck, Health, HttpCheck, HttpUrl,
    IcmpCheck, Monitor, MonitorConfig, Policy, Pool, PoolPolicy, QuorumChange, RealServer,
    ReplyPattern, SmtpCheck, SocketOptions, StateChange, StatusCodes, TcpCheck, UdpCheck,
};
use ipvs_netlink::{DesiredService, DesiredTable, Destination, IpvsHandle, ServiceKey};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{info, warn};
use vrrp_fsm::State;

use crate::runtime::daemon::DaemonError;
use crate::runtime::events::Event;
use crate::runtime::state_board::{hear, Heard, StateBoard};
use crate::runtime::virtual_server_config::{CheckKind, VirtualServerSpec, MAX_WEIGHT};

/// How often the table is re-applied even without a change (undoes edits behind our back).
const RESYNC: Duration = Duration::from_secs(10);

/// A script a change asks for (run by `/bin/sh -c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// Why (`quorum_up`, `quorum_down`, `notify_up`, `notify_down`).
    pub why: &'static str,
    /// The command line.
    pub command: String,
}

/// One virtual server's state: its pool and the checks feeding it (no I/O).
#[derive(Debug, Clone)]
pub struct VirtualServerRun {
    spec: VirtualServerSpec,
    pool: Pool<SocketAddr>,
    /// Every check: its id, its real server's index, what it does.
    checks: Vec<(CheckId, usize)>,
    alive: Vec<bool>,
}

impl VirtualServerRun {
    /// The run of `spec`, its checks numbered from `first_id` on (one per check, see
    /// [`VirtualServerRun::check_ids`]).
    pub fn new(spec: VirtualServerSpec, first_id: u64) -> Self {
        let mut checks = Vec::new();
        let mut servers = Vec::new();
        let mut next = first_id;
        for (j, rs) in spec.real_servers.iter().enumerate() {
            let mut ids = Vec::new();
            for _ in &rs.checks {
                ids.push(CheckId(next));
                checks.push((CheckId(next), j));
                next += 1;
            }
            servers.push(RealServer {
                key: rs.addr,
                weight: rs.weight,
                inhibit_on_failure: rs.inhibit_on_failure,
                checks: ids,
            });
        }
        let pool = Pool::new(
            PoolPolicy {
                quorum: spec.quorum,
                hysteresis: spec.hysteresis,
                inhibit_on_failure: spec.inhibit_on_failure,
                sorry_server: spec.sorry_server.map(|s| (s, 1)),
                sorry_server_inhibit: spec.sorry_server_inhibit,
                alpha: spec.alpha,
            },
            servers,
        );
        let alive = spec
            .real_servers
            .iter()
            .map(|r| pool.is_alive(&r.addr).unwrap_or(false))
            .collect();
        VirtualServerRun {
            spec,
            pool,
            checks,
            alive,
        }
    }

    /// The validated configuration.
    pub fn spec(&self) -> &VirtualServerSpec {
        &self.spec
    }

    /// The ids of its checks.
    pub fn check_ids(&self) -> Vec<CheckId> {
        self.checks.iter().map(|(id, _)| *id).collect()
    }

    /// Whether the quorum holds.
    pub fn quorum_up(&self) -> bool {
        self.pool.quorum_up()
    }

    /// The checks to hand to a [`Monitor`] (keepalived's checker policy: `retry`,
    /// `delay_before_retry`, `alpha`).
    pub fn check_specs(&self) -> Result<Vec<CheckSpec>, healthcheck::ConfigError> {
        let mut out = Vec::new();
        let defs = self.spec.real_servers.iter().flat_map(|r| r.checks.iter());
        for ((id, _), def) in self.checks.iter().zip(defs) {
            let spec = match &def.kind {
                CheckKind::Tcp(addr) => CheckSpec::new(*id, TcpCheck::new(*addr)),
                CheckKind::Http {
                    addr,
                    tls,
                    urls,
                    virtualhost,
                } => {
                    let mut list = Vec::new();
                    for url in urls {
                        let mut u = HttpUrl::new(url.path.clone());
                        if !url.status.is_empty() {
                            u = u.status(StatusCodes::new(url.status.iter().cloned())?);
                        }
                        if let Some(d) = &url.digest {
                            u = u.digest_hex(d)?;
                        }
                        list.push(u);
                    }
                    let mut check = HttpCheck::new(*addr, list);
                    if let Some(h) = virtualhost {
                        check = check.virtual_host(h.clone());
                    }
                    // Validation refuses SSL_GET without the feature.
                    #[cfg(feature = "tls")]
                    if *tls {
                        check = check.tls(healthcheck::TlsOptions::default())?;
                    }
                    #[cfg(not(feature = "tls"))]
                    let _ = tls;
                    CheckSpec::new(*id, check)
                }
                CheckKind::Misc(cmd) => {
                    CheckSpec::new(*id, ExecCheck::new(["/bin/sh", "-c", cmd.as_str()])?)
                }
                CheckKind::Smtp {
                    addr,
                    bind,
                    helo_name,
                } => {
                    let mut check = SmtpCheck::new(*addr);
                    if let Some(h) = helo_name {
                        check = check.helo_name(h.clone());
                    }
                    if let Some(ip) = bind {
                        check = check.socket_options(SocketOptions {
                            bind: Some(SocketAddr::new(*ip, 0)),
                            ..SocketOptions::default()
                        });
                    }
                    CheckSpec::new(*id, check)
                }
                CheckKind::Dns { addr, name, qtype } => {
                    CheckSpec::new(*id, DnsCheck::new(*addr, name, *qtype)?)
                }
                CheckKind::Udp {
                    addr,
                    payload,
                    require_reply,
                    reply,
                } => {
                    let mut check = UdpCheck::new(*addr, payload.clone());
                    if *require_reply {
                        let pattern = match reply {
                            Some(hex) => Some(ReplyPattern::from_hex(hex)?),
                            None => None,
                        };
                        check = check.require_reply(pattern);
                    }
                    CheckSpec::new(*id, check)
                }
                CheckKind::Ping(ip) => CheckSpec::new(*id, IcmpCheck::new(*ip)),
                CheckKind::File { path, .. } => CheckSpec::new(*id, FileCheck::new(path)),
            };
            out.push(
                spec.interval(def.interval)
                    .timeout(def.timeout)
                    .policy(Policy::Checker {
                        retry: def.retry,
                        delay_before_retry: def.delay_before_retry,
                        alpha: self.spec.alpha,
                    }),
            );
        }
        Ok(out)
    }

    /// Feeds one check's change; returns the scripts it asks for (quorum and real server
    /// notifications). A change of another virtual server's check is ignored.
    pub fn apply(&mut self, id: CheckId, health: Health) -> Vec<ScriptRun> {
        self.apply_weighted(id, health, None)
    }

    /// Feeds one check's state as the monitor reports it: a `FILE_CHECK` turns the number
    /// it read into the real server's health and weight (see
    /// [`FileCheckConfig`](crate::runtime::virtual_server_config::FileCheckConfig)); any other
    /// check is [`apply`](Self::apply).
    pub fn apply_status(&mut self, id: CheckId, status: &CheckStatus) -> Vec<ScriptRun> {
        let Some((j, def)) = self.def_of(id) else {
            return Vec::new();
        };
        let CheckKind::File {
            weight, reverse, ..
        } = def.kind
        else {
            return self.apply(id, status.health);
        };
        // keepalived reads a missing or unreadable file as 0.
        let n = match status.health {
            Health::Up => status.value.unwrap_or(0),
            _ => 0,
        };
        let base = self.spec.real_servers[j].weight;
        let (health, dynamic) = file_check_outcome(n, weight, reverse, base);
        self.apply_weighted(id, health, dynamic)
    }

    /// The real server index and definition of check `id`.
    fn def_of(
        &self,
        id: CheckId,
    ) -> Option<(usize, &crate::runtime::virtual_server_config::CheckDef)> {
        let at = self.checks.iter().position(|(c, _)| *c == id)?;
        let j = self.checks[at].1;
        let before: usize = self.checks[..at].iter().filter(|(_, r)| *r == j).count();
        Some((j, self.spec.real_servers[j].checks.get(before)?))
    }

    fn apply_weighted(
        &mut self,
        id: CheckId,
        health: Health,
        weight: Option<u32>,
    ) -> Vec<ScriptRun> {
        if !self.checks.iter().any(|(c, _)| *c == id) {
            return Vec::new();
        }
        let mut runs = Vec::new();
        let quorum = self.pool.set_check(id, health, weight);
        for (j, rs) in self.spec.real_servers.iter().enumerate() {
            let now = self.pool.is_alive(&rs.addr).unwrap_or(false);
            if now != self.alive[j] {
                self.alive[j] = now;
                info!(vs = %self.spec.name, rs = %rs.addr, alive = now, "real server");
                let (why, cmd) = if now {
                    ("notify_up", &rs.notify_up)
                } else {
                    ("notify_down", &rs.notify_down)
                };
                if let Some(command) = cmd {
                    runs.push(ScriptRun {
                        why,
                        command: command.clone(),
                    });
                }
            }
        }
        let (why, cmd) = match quorum {
            Some(QuorumChange::Gained) => ("quorum_up", &self.spec.quorum_up),
            Some(QuorumChange::Lost) => ("quorum_down", &self.spec.quorum_down),
            None => return runs,
        };
        info!(vs = %self.spec.name, quorum = why, live_weight = self.pool.live_weight(), "quorum");
        if let Some(command) = cmd {
            runs.push(ScriptRun {
                why,
                command: command.clone(),
            });
        }
        runs
    }

    /// Puts every check back to its initial health (down with `alpha`, else up), as when
    /// its checks start again after an `ha_suspend`; returns the scripts that asks for.
    pub fn restart_checks(&mut self) -> Vec<ScriptRun> {
        let health = if self.spec.alpha {
            Health::Down
        } else {
            Health::Up
        };
        let ids = self.check_ids();
        ids.into_iter()
            .flat_map(|id| self.apply(id, health))
            .collect()
    }

    /// What IPVS should hold for this virtual server now: one service, or one per member
    /// of its group, each with the same real servers.
    pub fn desired(&self) -> Vec<DesiredService> {
        let dests = self.pool.desired();
        self.spec
            .keys
            .iter()
            .map(|key| {
                let mut service = self.spec.service.clone();
                service.key = *key;
                let mut svc = DesiredService::new(service);
                for d in &dests {
                    // The pool already decided presence and weight (0 = quiesced): list
                    // exactly that.
                    svc = svc.destination(
                        Destination::new(d.key)
                            .forward(self.spec.forward)
                            .weight(d.weight),
                        true,
                    );
                }
                svc
            })
            .collect()
    }

    /// Whether its checks should run while this node holds `held` (VIPs of its Master
    /// instances) out of `vips` (every VIP configured): an `ha_suspend` virtual server on
    /// a configured VIP is checked only while that VIP is held here.
    /// A group's checks run while any of its addresses is held (or is no VIP at all).
    pub fn checks_wanted(&self, vips: &HashSet<IpAddr>, held: &HashSet<IpAddr>) -> bool {
        !self.spec.ha_suspend
            || self.spec.keys.iter().any(|key| match key {
                ServiceKey::Inet { addr, .. } => {
                    !vips.contains(&addr.ip()) || held.contains(&addr.ip())
                }
                ServiceKey::Fwmark { .. } => true,
            })
    }
}

/// A `FILE_CHECK`'s number `n` with its `weight` (and `reverse`) on a real server of weight
/// `base`: its health, and the IPVS weight it sets (none with weight 0), keepalived's rules.
fn file_check_outcome(n: i64, weight: i32, reverse: bool, base: u32) -> (Health, Option<u32>) {
    if weight == 0 {
        let down = (n != 0) != reverse;
        return (if down { Health::Down } else { Health::Up }, None);
    }
    let sign = if reverse { -1 } else { 1 };
    let delta = n.saturating_mul(i64::from(weight)).saturating_mul(sign);
    if delta <= i64::from(i32::MIN) {
        return (Health::Down, None);
    }
    let w = (i64::from(base) + delta).clamp(0, i64::from(MAX_WEIGHT));
    (Health::Up, Some(w as u32))
}

/// The desired table of every virtual server (never removing services it does not list).
pub fn desired_table(runs: &[VirtualServerRun]) -> DesiredTable {
    DesiredTable {
        services: runs.iter().flat_map(VirtualServerRun::desired).collect(),
        remove_unlisted: false,
    }
}

/// The checks of every virtual server, started or suspended (`ha_suspend`).
struct Checks {
    monitor: Monitor,
    specs: Vec<Vec<CheckSpec>>,
    vips: HashSet<IpAddr>,
    running: Vec<bool>,
}

impl Checks {
    /// Starts or suspends each virtual server's checks for the addresses `held` here.
    /// A check (re)started begins from its initial health, as the monitor's does.
    fn set(
        &mut self,
        runs: &mut [VirtualServerRun],
        held: &HashSet<IpAddr>,
    ) -> Result<(), healthcheck::ConfigError> {
        for (i, r) in runs.iter_mut().enumerate() {
            let want = r.checks_wanted(&self.vips, held);
            if want && !self.running[i] {
                if i < self.specs.len() && !self.specs[i].is_empty() {
                    info!(vs = %r.spec.name, "checks running");
                }
                for s in r.restart_checks() {
                    run_script(&r.spec.name, &s);
                }
                for c in self.specs.get(i).into_iter().flatten() {
                    self.monitor.add(c.clone())?;
                }
            } else if !want && self.running[i] {
                info!(vs = %r.spec.name, "ha_suspend: checks suspended");
                for id in r.check_ids() {
                    self.monitor.remove(id);
                }
            }
            self.running[i] = want;
        }
        Ok(())
    }
}

/// Runs the virtual servers on tokio; [`LvsDirector::stop`] removes their services.
#[derive(Debug)]
pub struct LvsDirector {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    control: mpsc::UnboundedSender<Control>,
    /// Every service it programs now (a reload changes them), removed at stop.
    keys: Arc<Mutex<Vec<ServiceKey>>>,
}

fn run_script(vs: &str, run: &ScriptRun) {
    info!(vs, why = run.why, command = %run.command, "running script");
    if let Err(e) = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&run.command)
        // A group of its own, as every script: what it forks away is then recognised as an
        // orphan by the daemon's subreaper (see `reaper`).
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
    {
        warn!(vs, why = run.why, "cannot run {:?}: {e}", run.command);
    }
}

fn sync(ipvs: &mut IpvsHandle, runs: &[VirtualServerRun]) {
    match ipvs.apply(&desired_table(runs)) {
        Ok(report) => {
            for op in &report.applied {
                info!("ipvs: {op}");
            }
            for (op, e) in &report.failed {
                warn!("ipvs: failed {op}: {e}");
            }
        }
        Err(e) => warn!("ipvs: cannot read the table: {e}"),
    }
}

/// What the director's task is asked to do besides its own work.
enum Control {
    /// A reload: these virtual servers now, with this map of instances to the addresses
    /// they hold as Master; the answer says whether it was applied.
    Reload {
        specs: Vec<VirtualServerSpec>,
        instances: HashMap<String, Vec<IpAddr>>,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The addresses held here: those of the instances that are Master.
fn held_by(masters: &HashSet<String>, instances: &HashMap<String, Vec<IpAddr>>) -> HashSet<IpAddr> {
    masters
        .iter()
        .filter_map(|m| instances.get(m))
        .flatten()
        .copied()
        .collect()
}

/// Whether `a` and `b` are the same virtual server but for their place in the file.
fn same_virtual_server(a: &VirtualServerSpec, b: &VirtualServerSpec) -> bool {
    let mut b = b.clone();
    b.name.clone_from(&a.name);
    *a == b
}

/// The task's state: the runs, their checks, the next free check id.
struct Director {
    runs: Vec<VirtualServerRun>,
    checks: Checks,
    next_id: u64,
    keys: Arc<Mutex<Vec<ServiceKey>>>,
}

impl Director {
    /// keepalived's reload of its virtual servers: an unchanged virtual server keeps its
    /// real servers' states and its checks running; a new or changed one starts afresh (its
    /// checks from their initial health); services no longer configured are removed, and
    /// the rest goes through the desired-state diff (a changed scheduler or weight is
    /// edited in place, nothing is flushed). Checked whole before anything changes.
    fn reload(
        &mut self,
        specs: Vec<VirtualServerSpec>,
        instances: HashMap<String, Vec<IpAddr>>,
        held: &HashSet<IpAddr>,
        ipvs: &mut IpvsHandle,
    ) -> Result<(), String> {
        let mut old: Vec<Option<(VirtualServerRun, Vec<CheckSpec>, bool)>> = self
            .runs
            .drain(..)
            .zip(std::mem::take(&mut self.checks.specs))
            .zip(std::mem::take(&mut self.checks.running))
            .map(|((r, c), running)| Some((r, c, running)))
            .collect();
        let mut plan = Vec::new();
        let mut next_id = self.next_id;
        let mut error = None;
        for spec in specs {
            let kept = old.iter().position(|o| {
                o.as_ref()
                    .is_some_and(|(r, _, _)| same_virtual_server(&r.spec, &spec))
            });
            match kept {
                Some(i) => {
                    let (mut run, checks, running) = old[i].take().expect("found above");
                    run.spec.name = spec.name;
                    plan.push((run, checks, running, false));
                }
                None => {
                    let run = VirtualServerRun::new(spec, next_id);
                    next_id += run.check_ids().len() as u64;
                    match run.check_specs() {
                        Ok(checks) => plan.push((run, checks, false, true)),
                        Err(e) => {
                            error = Some(format!("{}: {e}", run.spec.name));
                            break;
                        }
                    }
                }
            }
        }
        if let Some(e) = error {
            // Refused: put back what ran, as it was.
            let kept = plan
                .into_iter()
                .filter(|(_, _, _, new)| !new)
                .map(|(r, c, running, _)| (r, c, running));
            for (r, c, running) in kept.chain(old.into_iter().flatten()) {
                self.runs.push(r);
                self.checks.specs.push(c);
                self.checks.running.push(running);
            }
            return Err(e);
        }
        // What goes: its checks stop, its services leave the kernel.
        let wanted: HashSet<ServiceKey> = plan
            .iter()
            .flat_map(|(r, _, _, _)| r.spec.keys.clone())
            .collect();
        for (r, _, running) in old.into_iter().flatten() {
            info!(vs = %r.spec.name, "virtual server removed by a reload");
            if running {
                for id in r.check_ids() {
                    self.checks.monitor.remove(id);
                }
            }
            for k in r.spec.keys.iter().filter(|k| !wanted.contains(k)) {
                if let Err(e) = ipvs.delete_service(k) {
                    warn!("ipvs: cannot remove {k}: {e}");
                }
            }
        }
        for (r, c, running, _) in plan {
            self.runs.push(r);
            self.checks.specs.push(c);
            self.checks.running.push(running);
        }
        self.next_id = next_id;
        self.checks.vips = instances.values().flatten().copied().collect();
        if let Err(e) = self.checks.set(&mut self.runs, held) {
            warn!("virtual_server: {e}");
        }
        *self.keys.lock().unwrap_or_else(|e| e.into_inner()) =
            self.runs.iter().flat_map(|r| r.spec.keys.clone()).collect();
        sync(ipvs, &self.runs);
        Ok(())
    }
}

impl LvsDirector {
    /// Programs IPVS for `specs` and starts their checks; `instances` maps each VRRP
    /// instance to the addresses it holds as Master (for `ha_suspend`), `masters` names
    /// those that are Master now, `events` tells the changes. `None` without virtual
    /// servers.
    pub fn start(
        specs: &[VirtualServerSpec],
        instances: HashMap<String, Vec<IpAddr>>,
        masters: HashSet<String>,
        events: broadcast::Receiver<Event>,
    ) -> Result<Option<LvsDirector>, DaemonError> {
        Self::start_following(specs, instances, masters, events, StateBoard::default())
    }

    /// [`start`](Self::start) for the daemon: after skipped events, the Masters are re-read
    /// from `board`.
    pub(crate) fn start_following(
        specs: &[VirtualServerSpec],
        instances: HashMap<String, Vec<IpAddr>>,
        masters: HashSet<String>,
        mut events: broadcast::Receiver<Event>,
        board: StateBoard,
    ) -> Result<Option<LvsDirector>, DaemonError> {
        if specs.is_empty() {
            return Ok(None);
        }
        let mut ipvs = IpvsHandle::new()
            .map_err(|e| DaemonError::Other(format!("virtual_server: IPVS: {e}")))?;
        let mut runs = Vec::new();
        let mut next = 0u64;
        for s in specs {
            let run = VirtualServerRun::new(s.clone(), next);
            next += run.check_ids().len() as u64;
            runs.push(run);
        }
        let mut check_specs = Vec::new();
        for r in &runs {
            let s = r
                .check_specs()
                .map_err(|e| DaemonError::Other(format!("{}: {e}", r.spec.name)))?;
            check_specs.push(s);
        }
        let vips: HashSet<IpAddr> = instances.values().flatten().copied().collect();
        let mut instances = instances;
        let mut masters = masters;
        let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
        let checks = Checks {
            monitor,
            specs: check_specs,
            vips,
            running: vec![false; runs.len()],
        };
        let keys = Arc::new(Mutex::new(
            runs.iter().flat_map(|r| r.spec.keys.clone()).collect(),
        ));
        let mut d = Director {
            runs,
            checks,
            next_id: next,
            keys: keys.clone(),
        };
        d.checks
            .set(&mut d.runs, &held_by(&masters, &instances))
            .map_err(|e| DaemonError::Other(format!("virtual_server: {e}")))?;
        sync(&mut ipvs, &d.runs);
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let (control_tx, mut control_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut resync = tokio::time::interval(RESYNC);
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    Some(Control::Reload { specs, instances: map, reply }) = control_rx.recv() => {
                        instances = map;
                        let held = held_by(&masters, &instances);
                        let _ = reply.send(d.reload(specs, instances.clone(), &held, &mut ipvs));
                        continue;
                    }
                    change = changes.recv() => {
                        let Some(change) = change else { break };
                        let mut batch: Vec<StateChange> = vec![change];
                        while let Ok(more) = changes.try_recv() {
                            batch.push(more);
                        }
                        for c in &batch {
                            for r in d.runs.iter_mut() {
                                for s in r.apply_status(c.id, &c.state) {
                                    run_script(&r.spec.name, &s);
                                }
                            }
                        }
                    }
                    heard = hear(&mut events, &board, "the virtual servers") => {
                        let changed: Vec<(String, State)> = match heard {
                            Heard::Event(Event::StateChanged { instance, to, .. }) => {
                                vec![(instance, to)]
                            }
                            Heard::Resync(states) => states,
                            Heard::Event(_) => continue,
                            // The daemon is gone: keep checking until stopped.
                            Heard::Closed => {
                                events = broadcast::channel(1).1;
                                continue;
                            }
                        };
                        for (instance, to) in changed {
                            if to == State::Master {
                                masters.insert(instance);
                            } else {
                                masters.remove(&instance);
                            }
                        }
                        let held = held_by(&masters, &instances);
                        if let Err(e) = d.checks.set(&mut d.runs, &held) {
                            warn!("virtual_server: {e}");
                        }
                        continue;
                    }
                    _ = resync.tick() => {}
                }
                sync(&mut ipvs, &d.runs);
            }
            for id in d.runs.iter().flat_map(VirtualServerRun::check_ids) {
                d.checks.monitor.remove(id);
            }
            for r in &d.runs {
                if r.spec.omega && r.quorum_up() {
                    if let Some(cmd) = &r.spec.quorum_down {
                        run_script(
                            &r.spec.name,
                            &ScriptRun {
                                why: "quorum_down",
                                command: cmd.clone(),
                            },
                        );
                    }
                }
            }
        });
        Ok(Some(LvsDirector {
            stop: Some(stop_tx),
            task: Some(task),
            control: control_tx,
            keys,
        }))
    }

    /// Applies a reload (see `Director::reload`'s rules): `instances` is the reloaded
    /// configuration's map of instances to the addresses they hold as Master.
    pub async fn reload(
        &self,
        specs: &[VirtualServerSpec],
        instances: HashMap<String, Vec<IpAddr>>,
    ) -> Result<(), DaemonError> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Reload {
                specs: specs.to_vec(),
                instances,
                reply,
            })
            .map_err(|_| DaemonError::Reload("virtual_server: the director has stopped".into()))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DaemonError::Reload(e)),
            Err(_) => Err(DaemonError::Reload(
                "virtual_server: the director has stopped".into(),
            )),
        }
    }

    /// Stops the checks (running `quorum_down` of `omega` virtual servers) and removes
    /// the services this director programmed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.remove_services();
    }

    fn remove_services(&mut self) {
        let keys = std::mem::take(&mut *self.keys.lock().unwrap_or_else(|e| e.into_inner()));
        if keys.is_empty() {
            return;
        }
        match IpvsHandle::new() {
            Ok(mut ipvs) => {
                for k in &keys {
                    if let Err(e) = ipvs.delete_service(k) {
                        warn!("ipvs: cannot remove {k:?}: {e}");
                    }
                }
            }
            Err(e) => warn!("ipvs: services left behind: {e}"),
        }
    }
}

impl Drop for LvsDirector {
    /// Without [`LvsDirector::stop`]: the checks stop and the services are removed.
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        self.remove_services();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run of the first virtual server of `toml`, its checks numbered from `first_id`.
    fn run_of(toml: &str, first_id: u64) -> VirtualServerRun {
        let c = crate::Config::from_toml(toml).unwrap();
        let specs = crate::runtime::virtual_server_config::validate_all(
            &c.virtual_server,
            &c.virtual_server_group,
        );
        VirtualServerRun::new(specs.unwrap().remove(0), first_id)
    }

    fn run(extra: &str) -> VirtualServerRun {
        run_of(
            &format!(
                "[[virtual_server]]\naddress = '192.0.2.1:80'\nlb_kind = 'DR'\n{extra}\n\
                 [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\n\
                 notify_down = 'echo down'\nnotify_up = 'echo up'\ntcp_check = [{{}}]\n\
                 [[virtual_server.real_server]]\naddress = '198.51.100.3:80'\ntcp_check = [{{}}]\n"
            ),
            10,
        )
    }

    fn table(r: &VirtualServerRun) -> Vec<(SocketAddr, u32)> {
        let mut v: Vec<_> = r.desired()[0]
            .destinations
            .iter()
            .map(|d| {
                assert_eq!(
                    d.destination.forward,
                    ipvs_netlink::ForwardMethod::DirectRoute
                );
                (
                    SocketAddr::new(d.destination.addr, d.destination.port),
                    d.destination.weight,
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn quorum_lost_switches_to_the_sorry_server_and_back() {
        let mut r = run("quorum = 2\nsorry_server = '198.51.100.9:80'\n\
                         quorum_up = 'echo up'\nquorum_down = 'echo down'");
        let (a, b, sorry) = (
            "198.51.100.2:80".parse().unwrap(),
            "198.51.100.3:80".parse().unwrap(),
            "198.51.100.9:80".parse().unwrap(),
        );
        assert_eq!(table(&r), vec![(a, 1), (b, 1)]);
        let runs = r.apply(CheckId(10), Health::Down);
        let whys: Vec<_> = runs.iter().map(|s| s.why).collect();
        assert_eq!(whys, ["notify_down", "quorum_down"]);
        assert_eq!(table(&r), vec![(sorry, 1)]);
        let runs = r.apply(CheckId(10), Health::Up);
        let whys: Vec<_> = runs.iter().map(|s| s.why).collect();
        assert_eq!(whys, ["notify_up", "quorum_up"]);
        assert_eq!(table(&r), vec![(a, 1), (b, 1)]);
        // Another virtual server's check changes nothing.
        assert!(r.apply(CheckId(3), Health::Down).is_empty());
    }

    #[test]
    fn inhibit_on_failure_keeps_a_failed_server_at_weight_zero() {
        let mut r = run("inhibit_on_failure = true");
        r.apply(CheckId(11), Health::Down);
        assert_eq!(
            table(&r),
            vec![
                ("198.51.100.2:80".parse().unwrap(), 1),
                ("198.51.100.3:80".parse().unwrap(), 0)
            ]
        );
    }

    #[test]
    fn ha_suspend_runs_checks_only_where_the_vip_is_held() {
        let vip: IpAddr = "192.0.2.1".parse().unwrap();
        let vips: HashSet<IpAddr> = [vip].into();
        let none = HashSet::new();
        assert!(run("").checks_wanted(&vips, &none));
        let r = run("ha_suspend = true");
        assert!(!r.checks_wanted(&vips, &none));
        assert!(r.checks_wanted(&vips, &vips));
        // Not a VIP of any instance: always checked.
        assert!(r.checks_wanted(&none, &none));
    }

    #[test]
    fn restarted_checks_begin_from_their_initial_health() {
        // Suspended while down: the pool would keep it down forever, as no check of the
        // restarted monitor reports a change from its initial (up) health.
        let mut r = run("");
        r.apply(CheckId(11), Health::Down);
        assert_eq!(table(&r).len(), 1);
        r.restart_checks();
        assert_eq!(table(&r).len(), 2);
        // With alpha, every real server waits for its first passing check again.
        let mut r = run("alpha = true");
        r.apply(CheckId(10), Health::Up);
        r.apply(CheckId(11), Health::Up);
        assert_eq!(table(&r).len(), 2);
        let whys: Vec<_> = r.restart_checks().iter().map(|s| s.why).collect();
        assert_eq!(whys, ["notify_down"]);
        assert!(table(&r).is_empty());
    }

    #[test]
    fn a_group_s_services_share_one_pool_and_one_set_of_checks() {
        let mut r = run_of(
            "[[virtual_server_group]]\nname = 'g'\nmembers = ['192.0.2.1 80', '192.0.2.2-3 80']\n\
             [[virtual_server]]\ngroup = 'g'\nha_suspend = true\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\ntcp_check = [{}]\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.3:80'\ninhibit_on_failure = true\n\
             smtp_check = [{}]\ndns_check = [{}]\nudp_check = [{ reply = '00' }]\nping_check = [{}]\n\
             http_get = [{ url = [{ path = '/', status_code = '200-299 301', digest = '9b3a0c85a887a256d6939da88aabd8cd' }] }]\n",
            0,
        );
        // Checked once for the group: 1 + 5 checks, each kind built.
        assert_eq!(r.check_specs().unwrap().len(), 6);
        let services = desired_table(std::slice::from_ref(&r)).services;
        assert_eq!(services.len(), 3);
        for s in &services {
            assert_eq!(s.destinations.len(), 2);
        }
        // The second real server fails: its own inhibit_on_failure keeps it at weight 0 in
        // every service of the group (the virtual server's default would remove it).
        r.apply(CheckId(1), Health::Down);
        for s in &r.desired() {
            let weights: Vec<u32> = s
                .destinations
                .iter()
                .map(|d| d.destination.weight)
                .collect();
            assert_eq!(weights, vec![1, 0]);
        }
        r.apply(CheckId(0), Health::Down);
        assert!(r.desired().iter().all(|s| s.destinations.len() == 1));
        // ha_suspend: checked while any address of the group is held here.
        let vips: HashSet<IpAddr> = ["192.0.2.1", "192.0.2.3"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let held = |a: &[&str]| {
            a.iter()
                .map(|a| a.parse().unwrap())
                .collect::<HashSet<IpAddr>>()
        };
        assert!(r.checks_wanted(&vips, &held(&["192.0.2.3"])));
        // 192.0.2.2 is no VIP at all: always checked, as keepalived does.
        assert!(r.checks_wanted(&vips, &held(&[])));
        let all: HashSet<IpAddr> = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert!(!r.checks_wanted(&all, &held(&[])));
    }

    #[test]
    fn file_checks_follow_keepalived_s_rules() {
        // Weight 0: down while the number is not 0 (reversed: while it is 0).
        assert_eq!(file_check_outcome(0, 0, false, 5), (Health::Up, None));
        assert_eq!(file_check_outcome(3, 0, false, 5), (Health::Down, None));
        assert_eq!(file_check_outcome(0, 0, true, 5), (Health::Down, None));
        assert_eq!(file_check_outcome(-1, 0, true, 5), (Health::Up, None));
        // A weight: the real server's weight moves by N x W, floored at 0; FAULT is down.
        assert_eq!(file_check_outcome(2, 3, false, 5), (Health::Up, Some(11)));
        assert_eq!(file_check_outcome(2, 3, true, 5), (Health::Up, Some(0)));
        assert_eq!(file_check_outcome(0, 3, false, 5), (Health::Up, Some(5)));
        assert_eq!(
            file_check_outcome(i64::from(i32::MAX), 2, true, 5),
            (Health::Down, None)
        );
        assert_eq!(
            file_check_outcome(1 << 40, 1 << 20, false, 5),
            (Health::Up, Some(MAX_WEIGHT))
        );

        let mut r = run_of(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\nweight = 4\n\
             file_check = [{ path = '/run/w', weight = 2 }]\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.3:80'\n\
             file_check = [{ path = '/run/m' }]\n",
            0,
        );
        let status = |health, value| CheckStatus {
            health,
            weight: healthcheck::TrackWeight::default(),
            value,
        };
        let weights = |r: &VirtualServerRun| -> Vec<(u16, u32)> {
            r.desired()[0]
                .destinations
                .iter()
                .map(|d| (d.destination.port, d.destination.weight))
                .collect()
        };
        r.apply_status(CheckId(0), &status(Health::Up, Some(3)));
        assert_eq!(weights(&r), vec![(80, 10), (80, 1)]);
        // The maintenance file says 1: that real server leaves; a missing file reads as 0.
        r.apply_status(CheckId(1), &status(Health::Up, Some(1)));
        assert_eq!(weights(&r), vec![(80, 10)]);
        r.apply_status(CheckId(1), &status(Health::Down, Some(1)));
        assert_eq!(weights(&r).len(), 2);
    }

    #[test]
    fn check_specs_follow_the_configuration() {
        let r = run("delay_loop = 3\nretry = 2");
        let specs = r.check_specs().unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].id, CheckId(10));
        assert_eq!(specs[0].interval, Duration::from_secs(3));
        assert!(matches!(specs[0].policy, Policy::Checker { retry: 2, .. }));
    }
}
