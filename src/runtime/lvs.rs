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
//! assert_eq!(run.desired().destinations.len(), 2);
//! ```

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use healthcheck::{
    CheckId, CheckSpec, ExecCheck, Health, HttpCheck, HttpUrl, Monitor, MonitorConfig, Policy,
    Pool, PoolPolicy, QuorumChange, RealServer, StateChange, StatusCodes, TcpCheck,
};
use ipvs_netlink::{DesiredService, DesiredTable, Destination, IpvsHandle, ServiceKey};
use tokio::sync::{broadcast, oneshot};
use tracing::{info, warn};
use vrrp_fsm::State;

use crate::runtime::daemon::DaemonError;
use crate::runtime::events::Event;
use crate::runtime::virtual_server_config::{CheckKind, VirtualServerSpec};

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
                    for (path, status) in urls {
                        let mut u = HttpUrl::new(path.clone());
                        if let Some(s) = status {
                            u = u.status(StatusCodes::new([*s..=*s])?);
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
        if !self.checks.iter().any(|(c, _)| *c == id) {
            return Vec::new();
        }
        let mut runs = Vec::new();
        let quorum = self.pool.set_check(id, health, None);
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

    /// What IPVS should hold for this virtual server now.
    pub fn desired(&self) -> DesiredService {
        let mut svc = DesiredService::new(self.spec.service.clone());
        for d in self.pool.desired() {
            // The pool already decided presence and weight (0 = quiesced): list exactly that.
            svc = svc.destination(
                Destination::new(d.key)
                    .forward(self.spec.forward)
                    .weight(d.weight),
                true,
            );
        }
        svc
    }

    /// Whether its checks should run while this node holds `held` (VIPs of its Master
    /// instances) out of `vips` (every VIP configured): an `ha_suspend` virtual server on
    /// a configured VIP is checked only while that VIP is held here.
    pub fn checks_wanted(&self, vips: &HashSet<IpAddr>, held: &HashSet<IpAddr>) -> bool {
        let ServiceKey::Inet { addr, .. } = self.spec.service.key else {
            return true;
        };
        !self.spec.ha_suspend || !vips.contains(&addr.ip()) || held.contains(&addr.ip())
    }
}

/// The desired table of every virtual server (never removing services it does not list).
pub fn desired_table(runs: &[VirtualServerRun]) -> DesiredTable {
    DesiredTable {
        services: runs.iter().map(VirtualServerRun::desired).collect(),
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
    keys: Vec<ServiceKey>,
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

impl LvsDirector {
    /// Programs IPVS for `specs` and starts their checks; `instances` maps each VRRP
    /// instance to the addresses it holds as Master (for `ha_suspend`), `events` tells
    /// which are Master. `None` without virtual servers.
    pub fn start(
        specs: &[VirtualServerSpec],
        instances: HashMap<String, Vec<IpAddr>>,
        mut events: broadcast::Receiver<Event>,
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
        let held: HashSet<IpAddr> = HashSet::new();
        let mut masters: HashSet<String> = HashSet::new();
        let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
        let mut checks = Checks {
            monitor,
            specs: check_specs,
            vips,
            running: vec![false; runs.len()],
        };
        checks
            .set(&mut runs, &held)
            .map_err(|e| DaemonError::Other(format!("virtual_server: {e}")))?;
        sync(&mut ipvs, &runs);
        let keys = runs.iter().map(|r| r.spec.service.key).collect();
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut resync = tokio::time::interval(RESYNC);
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    change = changes.recv() => {
                        let Some(change) = change else { break };
                        let mut batch: Vec<StateChange> = vec![change];
                        while let Ok(more) = changes.try_recv() {
                            batch.push(more);
                        }
                        for c in &batch {
                            for r in runs.iter_mut() {
                                for s in r.apply(c.id, c.state.health) {
                                    run_script(&r.spec.name, &s);
                                }
                            }
                        }
                    }
                    ev = events.recv() => match ev {
                        Ok(Event::StateChanged { instance, to, .. }) => {
                            if to == State::Master {
                                masters.insert(instance);
                            } else {
                                masters.remove(&instance);
                            }
                            let held: HashSet<IpAddr> = masters
                                .iter()
                                .filter_map(|m| instances.get(m))
                                .flatten()
                                .copied()
                                .collect();
                            if let Err(e) = checks.set(&mut runs, &held) {
                                warn!("virtual_server: {e}");
                            }
                            continue;
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        // The daemon is gone: keep checking until stopped.
                        Err(broadcast::error::RecvError::Closed) => {
                            events = broadcast::channel(1).1;
                            continue;
                        }
                    },
                    _ = resync.tick() => {}
                }
                sync(&mut ipvs, &runs);
            }
            for id in runs.iter().flat_map(VirtualServerRun::check_ids) {
                checks.monitor.remove(id);
            }
            for r in &runs {
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
            keys,
        }))
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
        let keys = std::mem::take(&mut self.keys);
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

    fn run(extra: &str) -> VirtualServerRun {
        let c = crate::Config::from_toml(&format!(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\nlb_kind = 'DR'\n{extra}\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\n\
             notify_down = 'echo down'\nnotify_up = 'echo up'\ntcp_check = [{{}}]\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.3:80'\ntcp_check = [{{}}]\n"
        ))
        .unwrap();
        let specs = crate::runtime::virtual_server_config::validate_all(&c.virtual_server);
        VirtualServerRun::new(specs.unwrap().remove(0), 10)
    }

    fn table(r: &VirtualServerRun) -> Vec<(SocketAddr, u32)> {
        let mut v: Vec<_> = r
            .desired()
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
    fn check_specs_follow_the_configuration() {
        let r = run("delay_loop = 3\nretry = 2");
        let specs = r.check_specs().unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].id, CheckId(10));
        assert_eq!(specs[0].interval, Duration::from_secs(3));
        assert!(matches!(specs[0].policy, Policy::Checker { retry: 2, .. }));
    }
}
