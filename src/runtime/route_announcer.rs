//! The route announcer: each `[[announce]]` prefix is handed to FRR while its condition
//! holds (all its checks pass, with rise/fall; and, with `vrrp_instance`, that instance is
//! Master, or Backup with `backup_metric`), and taken back when it stops.
//!
//! # The hand-off: a kernel table that zebra imports
//!
//! hakit is no BGP speaker. While announced, it holds the service address on its interface
//! and installs a kernel route `PREFIX dev lo table N proto P metric M`; FRR's zebra imports
//! that table and bgpd redistributes it:
//!
//! ```text
//! ip import-table 100
//! route-map HAKIT permit 10
//! ipv6 prefix-list HAKIT6 seq 5 permit 2001:db8:80::/48 le 128
//! route-map HAKIT6 permit 10
//!  match ipv6 address prefix-list HAKIT6
//! router bgp 65001
//!  address-family ipv4 unicast
//!   redistribute table 100 route-map HAKIT
//!  address-family ipv6 unicast
//!   redistribute kernel route-map HAKIT6
//! ```
//!
//! FRR 8.4 (Debian 12) imports IPv4 tables only (it has no `ipv6 import-table`), so IPv6
//! routes go to the main table by default (`table = 254`), where zebra sees them as kernel
//! routes; bgpd's `redistribute kernel` takes them, with a route-map that lets through the
//! service prefixes only. Either way the metric travels and an FRR restart costs nothing.
//!
//! Why this and not `vtysh` writing `network` statements, or the northbound API:
//! - **FRR restarts cost nothing.** The routes live in the kernel, not in FRR: a zebra that
//!   starts again reads table N and bgpd announces them again, without hakit doing anything
//!   (tested with FRR 8.4). Configuration pushed through `vtysh` would be lost with a
//!   restarted FRR that did not save it, or left behind announcing a dead service when hakit
//!   dies; here hakit's own state lives where hakit's own crash cleanup (and its next start)
//!   removes it.
//! - **One netlink message per change**, no process started on the failover path (a
//!   `vtysh` call forks and takes tens of milliseconds).
//! - **The metric travels**: the kernel route's priority (`RTA_PRIORITY`) becomes zebra's
//!   metric and bgpd's MED (FRR 8.4: `T[100]>* 10.77.0.1/32 [15/50]`, or `K>* fd77::9/128 [0/44]`, and MED 50 or 44
//!   at the peer), so
//!   a Backup can announce a worse path just by a different metric. A metric change removes
//!   the old route, then adds the new one: zebra 8.4 takes the removal of an imported route
//!   as that of its prefix whatever the metric, so the other order would end unannounced.
//! - **The operator keeps the policy in FRR**: the route-map decides communities,
//!   local-preference or prepends, in FRR's words.
//!
//! The routes carry their own rtnetlink protocol (default 85), so `ip route show table N
//! proto 85` shows what hakit announces and hakit never removes a route it does not own.
//! They go through `lo`: zebra installs what it imports in the main table as well, where a
//! route through `lo` is harmless (the held address's `local` route is looked up first).
//!
//! # Where the address is held
//!
//! zebra prefers a connected route to every other kind, whatever the distance, and makes
//! one of each address on an interface that is up with a carrier: an address held there
//! would hide the imported route of the same prefix and nothing would be announced. So the
//! address is held on an interface without a carrier: a veth end whose peer stays down
//! (these kernels have no `dummy`). The kernel still delivers to it (its `local` route does
//! not depend on the carrier), zebra makes no connected route of it. The announcer warns at
//! start when the interface has a carrier.
//!
//! # Order
//!
//! Announcing adds the address, then the route; withdrawing removes the route, then the
//! address, so no peer is ever sent to a node without it. A graceful shutdown withdraws every
//! route before the VRRP instances stop and releases the addresses `drain` (0.5 s) later, so
//! what the network still sends meanwhile is served; a daemon that stops on its own (a fatal
//! error) withdraws too. A hakit killed outright (SIGKILL) cannot: its routes stay, and FRR
//! announces them, until it starts again and removes them (run it with systemd's
//! `Restart=`), as keepalived leaves its VIPs behind. Every second the announcer installs again what should be there (a
//! route or address removed by hand comes back), and at start it removes what an earlier run
//! left in its tables.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use healthcheck::{CheckId, Health, Monitor, MonitorConfig};
use tokio::sync::{broadcast, Notify};
use tracing::{info, warn};
use vip_netlink::{Change, Vip, VipManager};
use vrrp_fsm::State;

use crate::runtime::announce_config::AnnounceSpec;
use crate::runtime::daemon::{ctx, lock, DaemonError};
use crate::runtime::events::Event;
use crate::runtime::watchers::{http_check, tcp_check};

/// How often what should be announced is installed again.
const REINSTALL: Duration = Duration::from_secs(1);

/// One announcement and what is known of its condition.
struct Slot {
    spec: AnnounceSpec,
    /// Each check's last verdict (`false` until its first `rise` successes).
    checks_up: Vec<bool>,
    /// The state of its VRRP instance, once heard.
    vrrp: Option<State>,
    /// The metric it is announced with now; `None`: withdrawn.
    announced: Option<u32>,
    /// Its address is held.
    holding: bool,
}

impl Slot {
    /// The metric it should be announced with, or `None` for withdrawn.
    fn wanted(&self) -> Option<u32> {
        if !self.checks_up.iter().all(|&up| up) {
            return None;
        }
        match (&self.spec.vrrp_instance, self.vrrp) {
            (None, _) | (Some(_), Some(State::Master)) => Some(self.spec.metric),
            (Some(_), Some(State::Backup)) => self.spec.backup_metric,
            _ => None,
        }
    }

    fn address(&self) -> Option<vip_netlink::Result<Vip>> {
        self.spec.address.map(|(addr, len)| {
            Vip::new(self.spec.iface.clone(), addr, len).map(|v| v.with_nodad(true))
        })
    }
}

/// What the task and the daemon's handle share.
struct Shared {
    vip_mgr: VipManager,
    slots: Vec<Slot>,
    /// Withdrawn for good (shutdown): nothing is announced again.
    stopped: bool,
}

impl Shared {
    /// Brings slot `k` to what it should be; `again`: the periodic pass (logs only repairs).
    fn apply(&mut self, k: usize, again: bool) {
        if self.stopped {
            return;
        }
        let want = self.slots[k].wanted();
        let slot = &mut self.slots[k];
        let prefix = format!("{}/{}", slot.spec.prefix, slot.spec.prefix_len);
        match (want, slot.announced) {
            (None, None) => {}
            (None, Some(_)) => {
                withdraw(&self.vip_mgr, slot);
                info!(%prefix, "withdrawn");
            }
            (Some(metric), before) => {
                if let Some(Err(e)) = slot
                    .address()
                    .map(|v| v.and_then(|v| self.vip_mgr.add_now(&v)))
                {
                    warn!(%prefix, iface = %slot.spec.iface, "holding the address: {e}");
                }
                slot.holding = true;
                // The old metric's route goes first: zebra 8.4 takes the removal of one
                // imported route as that of its prefix, whatever the metric, so adding
                // first would leave the new route unannounced. Both changes reach zebra
                // together and bgpd sends one update with the new MED.
                if let Some(old) = before.filter(|&m| m != metric) {
                    if let Err(e) = self.vip_mgr.remove_route_now(&slot.spec.route(old)) {
                        warn!(%prefix, metric = old, "removing the route of the old metric: {e}");
                    }
                }
                match self.vip_mgr.add_route_now(&slot.spec.route(metric)) {
                    Ok(Change::Applied) if again && before == Some(metric) => {
                        warn!(%prefix, metric, "the announced route was gone: installed again");
                    }
                    Ok(_) => {}
                    Err(e) => warn!(%prefix, metric, "announcing: {e}"),
                }
                if before != Some(metric) {
                    info!(%prefix, metric, "announced");
                }
                slot.announced = Some(metric);
            }
        }
    }

    /// Withdraws every route, for good (the addresses stay until
    /// [`release_addresses`](Self::release_addresses)); the longest `drain` of those that
    /// were announced, if any was.
    fn withdraw_routes(&mut self) -> Option<Duration> {
        self.stopped = true;
        let mut drain = None;
        for slot in &mut self.slots {
            if let Some(metric) = slot.announced.take() {
                if let Err(e) = self.vip_mgr.remove_route_now(&slot.spec.route(metric)) {
                    warn!(prefix = %slot.spec.prefix, "withdrawing: {e}");
                }
                info!(prefix = %slot.spec.prefix, "withdrawn (stopping)");
                drain = drain.max(Some(slot.spec.drain));
            }
        }
        drain
    }

    /// Releases every address (after [`withdraw_routes`](Self::withdraw_routes)).
    fn release_addresses(&mut self) {
        for slot in &mut self.slots {
            if std::mem::take(&mut slot.holding) {
                release(&self.vip_mgr, slot);
            }
        }
    }
}

/// Removes the route, then the address.
fn withdraw(vip_mgr: &VipManager, slot: &mut Slot) {
    if let Some(metric) = slot.announced.take() {
        if let Err(e) = vip_mgr.remove_route_now(&slot.spec.route(metric)) {
            warn!(prefix = %slot.spec.prefix, "withdrawing: {e}");
        }
    }
    slot.holding = false;
    release(vip_mgr, slot);
}

/// Removes the address.
fn release(vip_mgr: &VipManager, slot: &Slot) {
    if let Some(Err(e)) = slot
        .address()
        .map(|v| v.and_then(|v| vip_mgr.remove_now(&v)))
    {
        warn!(prefix = %slot.spec.prefix, "releasing the address: {e}");
    }
}

/// Removes the routes (any metric) and addresses an earlier run left.
fn remove_stale(vip_mgr: &VipManager, slot: &Slot) {
    let route = slot.spec.route_any_metric();
    for _ in 0..16 {
        match vip_mgr.remove_route_now(&route) {
            Ok(Change::Applied) => warn!(%route, "removed a stale announced route"),
            Ok(_) => break,
            Err(e) => {
                warn!(%route, "removing a stale announced route: {e}");
                break;
            }
        }
    }
    if let Some(Ok(v)) = slot.address() {
        if let Ok(Change::Applied) = vip_mgr.remove_now(&v) {
            warn!(address = %v.address(), "removed a stale announced address");
        }
    }
}

/// True when `iface` has a carrier (zebra would then prefer its connected route).
fn has_carrier(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/carrier"))
        .is_ok_and(|c| c.trim() == "1")
}

/// The running announcer: a tokio task and the state it shares with the daemon's handle.
pub(crate) struct RouteAnnouncer {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<Notify>,
    _monitor: Monitor,
}

/// A check's id: the announcement's index and the check's.
fn check_id(slot: usize, check: usize) -> CheckId {
    CheckId(((slot as u64) << 32) | check as u64)
}

impl RouteAnnouncer {
    /// Removes what an earlier run left, starts the checks and the task that follows them
    /// and the daemon's `events` (subscribed before the VRRP loop starts, so no transition is
    /// missed). `None` without announcements.
    pub(crate) fn start(
        specs: &[AnnounceSpec],
        events: broadcast::Receiver<Event>,
    ) -> Result<Option<RouteAnnouncer>, DaemonError> {
        if specs.is_empty() {
            return Ok(None);
        }
        let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
        let (monitor, changes) = Monitor::new(MonitorConfig::default());
        let mut slots = Vec::new();
        for (k, spec) in specs.iter().enumerate() {
            if has_carrier(&spec.iface) {
                warn!(iface = %spec.iface, "the announcement's interface has a carrier: zebra \
                    prefers its connected route to the imported one (use a veth end whose peer is down)");
            }
            let slot = Slot {
                spec: spec.clone(),
                checks_up: vec![false; spec.checks()],
                vrrp: None,
                announced: None,
                holding: false,
            };
            remove_stale(&vip_mgr, &slot);
            let tcp = spec
                .track_tcp
                .iter()
                .map(|t| Ok(tcp_check(CheckId(0), t, true)));
            let http = spec
                .track_http
                .iter()
                .map(|t| http_check(CheckId(0), t, true));
            for (c, check) in tcp.chain(http).enumerate() {
                let mut check = check
                    .map_err(|e| DaemonError::Other(format!("announce[{k}]: HTTP check: {e}")))?;
                check.id = check_id(k, c);
                monitor
                    .add(check)
                    .map_err(|e| DaemonError::Other(format!("announce[{k}]: check: {e}")))?;
            }
            slots.push(slot);
        }
        let shared = Arc::new(Mutex::new(Shared {
            vip_mgr,
            slots,
            stopped: false,
        }));
        {
            let mut s = lock(&shared);
            for k in 0..s.slots.len() {
                s.apply(k, false);
            }
        }
        let stop = Arc::new(Notify::new());
        tokio::spawn(follow(shared.clone(), stop.clone(), events, changes));
        Ok(Some(RouteAnnouncer {
            shared,
            stop,
            _monitor: monitor,
        }))
    }

    /// Withdraws every announcement (routes, then addresses) at once and stops following;
    /// nothing is announced again.
    pub(crate) fn withdraw_all(&self) {
        let mut s = lock(&self.shared);
        s.withdraw_routes();
        s.release_addresses();
        self.stop.notify_one();
    }

    /// [`withdraw_all`](Self::withdraw_all) for a graceful shutdown: the routes, then, after
    /// the announcements' `drain` (traffic still on its way is served), the addresses.
    pub(crate) async fn withdraw_gracefully(&self) {
        let drain = lock(&self.shared).withdraw_routes();
        self.stop.notify_one();
        if let Some(d) = drain {
            tokio::time::sleep(d).await;
        }
        lock(&self.shared).release_addresses();
    }
}

impl Drop for RouteAnnouncer {
    fn drop(&mut self) {
        self.withdraw_all();
    }
}

/// Follows the checks, the VRRP transitions and the clock until stopped.
async fn follow(
    shared: Arc<Mutex<Shared>>,
    stop: Arc<Notify>,
    mut events: broadcast::Receiver<Event>,
    mut changes: tokio::sync::mpsc::Receiver<healthcheck::StateChange>,
) {
    let mut tick = tokio::time::interval(REINSTALL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            ch = changes.recv() => {
                let Some(ch) = ch else { return };
                let (k, c) = ((ch.id.0 >> 32) as usize, ch.id.0 as u32 as usize);
                let mut s = lock(&shared);
                let up = ch.state.health == Health::Up;
                if let Some(slot) = s.slots.get_mut(k) {
                    if let Some(v) = slot.checks_up.get_mut(c) {
                        *v = up;
                    }
                    info!(prefix = %slot.spec.prefix, check = c, up, "announcement check");
                    s.apply(k, false);
                }
            }
            ev = events.recv() => match ev {
                Ok(Event::StateChanged { instance, to, .. }) => {
                    let mut s = lock(&shared);
                    for k in 0..s.slots.len() {
                        if s.slots[k].spec.vrrp_instance.as_deref() == Some(instance.as_str()) {
                            s.slots[k].vrrp = Some(to);
                            s.apply(k, false);
                        }
                    }
                }
                Ok(Event::Stopped { .. }) | Err(broadcast::error::RecvError::Closed) => {
                    let mut s = lock(&shared);
                    s.withdraw_routes();
                    s.release_addresses();
                    return;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(skipped = n, "the route announcer fell behind the events");
                }
            },
            _ = tick.tick() => {
                let mut s = lock(&shared);
                for k in 0..s.slots.len() {
                    s.apply(k, true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(body: &str) -> Slot {
        let text = format!(
            "[[instance]]\nname = 'web'\niface = 'lo'\nvrid = 1\npriority = 100\n\
             vips = ['192.0.2.1/24']\n\
             [[announce]]\nprefix = '192.0.2.80/32'\niface = 'svc0'\n{body}\n"
        );
        let source = |_: &str, _: std::net::IpAddr| Ok("192.0.2.2".parse().unwrap());
        let spec = crate::runtime::spec::from_toml(&text, &source).unwrap();
        let spec = spec.announcements[0].clone();
        Slot {
            checks_up: vec![false; spec.checks()],
            spec,
            vrrp: None,
            announced: None,
            holding: false,
        }
    }

    #[test]
    fn health_gated_announces_once_every_check_passes() {
        let check = "{ connect = '127.0.0.1:80' }";
        let mut s = slot(&format!("metric = 7\ntrack_tcp = [{check}, {check}]"));
        assert_eq!(s.wanted(), None);
        s.checks_up = vec![true, false];
        assert_eq!(s.wanted(), None);
        s.checks_up = vec![true, true];
        assert_eq!(s.wanted(), Some(7));
        assert_eq!(
            slot("").wanted(),
            Some(10),
            "no condition: always announced"
        );
    }

    #[test]
    fn vrrp_gated_follows_the_state_and_a_backup_may_announce_worse() {
        let mut s = slot("vrrp_instance = 'web'\nbackup_metric = 100");
        assert_eq!(s.wanted(), None, "nothing heard yet");
        for (state, want) in [
            (State::Master, Some(10)),
            (State::Backup, Some(100)),
            (State::Fault, None),
            (State::Init, None),
        ] {
            s.vrrp = Some(state);
            assert_eq!(s.wanted(), want, "{state}");
        }
        let mut s = slot("vrrp_instance = 'web'");
        s.vrrp = Some(State::Backup);
        assert_eq!(s.wanted(), None, "a Backup without backup_metric withdraws");
        let mut both = slot(
            "vrrp_instance = 'web'\nbackup_metric = 100\ntrack_tcp = [{ connect = '127.0.0.1:80' }]",
        );
        both.vrrp = Some(State::Master);
        assert_eq!(both.wanted(), None, "Master but unhealthy");
        both.checks_up = vec![true];
        assert_eq!(both.wanted(), Some(10));
    }
}
