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
//!   local-preference or prepends, in FRR's words (next section).
//!
//! # Per state: the metric, and FRR's route-map on it
//!
//! What crosses the kernel is the route's metric, so that is the one per-state value hakit
//! sets: `metric` while the condition holds (Master, or healthy), `backup_metric` while its
//! VRRP instance is Backup (validation refuses a `backup_metric` equal to `metric`: nothing
//! could tell them apart). Left alone it is the MED, which eBGP peers compare. Anything else
//! a Backup's path should carry is the route-map's, keyed on that metric:
//!
//! ```text
//! route-map HAKIT permit 10
//!  match metric 100                  ! backup_metric
//!  set local-preference 50           ! iBGP peers prefer the Master's path (100)
//!  set as-path prepend 65001 65001   ! or: eBGP peers that ignore the MED
//!  set community 65001:100           ! or: tag it for the network's own policy
//! route-map HAKIT permit 20          ! the Master's route (and any other) as it is
//! ```
//!
//! LOCAL_PREF goes to iBGP peers only, where it decides before the AS path and the MED
//! (tested with FRR 8.4: the upstream's paths show LOCAL_PREF 100 for the Master's node and 50
//! for the Backup's, and the best path moves with a failover). hakit has no key of its own for
//! local-preference or prepends: it could only express them through the metric anyway, and
//! FRR's route-map already says them in the words the network's operators read.
//!
//! The routes carry their own rtnetlink protocol (default 85), so `ip route show table N
//! proto 85` shows what hakit announces and hakit never removes a route it does not own.
//! They go through `lo`: zebra installs what it imports in the main table as well, where a
//! route through `lo` is harmless (the held address's `local` route is looked up first).
//!
//! # Reload
//!
//! A reload (SIGHUP, [`Daemon::reload`](crate::Daemon::reload)) maps the file's
//! announcements onto the running ones (by equality, then prefix and table, then prefix:
//! `announce_reload`) and leaves an unchanged one alone. A new one starts as at start-up; one
//! the file no longer has is withdrawn (its route at once, its address after its `drain`);
//! a changed one (metric, backup_metric, checks, vrrp_instance, table, protocol, address,
//! interface) moves to its new form without a window where a prefix that stays wanted is
//! unannounced: a route in another table is added before the old one goes; in the same table
//! the old one goes first in the same netlink burst (zebra's import, above), which bgpd sends
//! as one update; a new address is held before an old one is released (after its drain).
//! Its checks that stay keep running with their verdicts; a new check keeps the
//! announcement as it is (announced or not) until its first verdict, so adding a check to a
//! healthy announced prefix does not flap it. A `vrrp_instance` is followed by its name in
//! the new file, its state taken from the running instance. A bad value refuses the reload
//! as a whole, with the field named, and everything keeps running as it was.
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
//! route whose traffic has another path (anycast, or a Backup announcing `backup_metric`)
//! before the VRRP instances stop; a route only a Master announces stays until `drain` after
//! they stopped (priority 0 sent: the Backup becomes Master within its skew time and
//! announces meanwhile, as keepalived's notify scripts leave it to the end), so neither kind
//! leaves a gap. Each address is released `drain` (0.5 s) after its route, so what the
//! network still sends meanwhile is served; a daemon that stops on its own (a fatal error)
//! withdraws too. A hakit killed outright (SIGKILL) cannot: its routes stay, and FRR
//! announces them, until it starts again and removes them (run it with systemd's
//! `Restart=`), as keepalived leaves its VIPs behind. Every second the announcer installs again what should be there (a
//! route or address removed by hand comes back), and at start it removes what an earlier run
//! left in its tables.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use healthcheck::{CheckId, CheckSpec, Health, Monitor, MonitorConfig};
use tokio::sync::{broadcast, Notify};
use tracing::{info, warn};
use vip_netlink::{Change, Vip, VipManager, VirtualRoute};
use vrrp_fsm::State;

use crate::runtime::announce_config::AnnounceSpec;
use crate::runtime::announce_reload::match_announcements;
use crate::runtime::daemon::{ctx, lock, DaemonError};
use crate::runtime::events::Event;
use crate::runtime::state_board::{hear, Heard, StateBoard};
use crate::runtime::watchers::{http_check, tcp_check};

/// How often what should be announced is installed again.
const REINSTALL: Duration = Duration::from_secs(1);

/// One announcement and what is known of its condition.
struct Slot {
    spec: AnnounceSpec,
    /// Each check's id in the monitor, in the spec's order (TCP, then HTTP).
    check_ids: Vec<CheckId>,
    /// Each check's last verdict: `Some(false)` until its first `rise` successes; `None`
    /// for a check a reload added, until its first verdict (it then keeps the
    /// announcement as it was, so adding a check to an announced prefix does not flap it).
    checks_up: Vec<Option<bool>>,
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
        let now = self.announced.is_some();
        if !self.checks_up.iter().all(|up| up.unwrap_or(now)) {
            return None;
        }
        match (&self.spec.vrrp_instance, self.vrrp) {
            (None, _) | (Some(_), Some(State::Master)) => Some(self.spec.metric),
            (Some(_), Some(State::Backup)) => self.spec.backup_metric,
            _ => None,
        }
    }

    fn address(&self) -> Option<vip_netlink::Result<Vip>> {
        address_of(&self.spec)
    }
}

/// The address `spec` holds while announced, if it holds one.
fn address_of(spec: &AnnounceSpec) -> Option<vip_netlink::Result<Vip>> {
    spec.address
        .map(|(addr, len)| Vip::new(spec.iface.clone(), addr, len).map(|v| v.with_nodad(true)))
}

/// The checks of `spec` as the monitor runs them (ids set by the caller);
/// `init_fail`: down until `rise` successes, else without a verdict until the first.
fn check_specs(spec: &AnnounceSpec, init_fail: bool) -> Result<Vec<CheckSpec>, String> {
    let tcp = spec
        .track_tcp
        .iter()
        .map(|t| Ok(tcp_check(CheckId(0), t, init_fail)));
    let http = spec
        .track_http
        .iter()
        .map(|t| http_check(CheckId(0), t, init_fail));
    tcp.chain(http)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("announce {}: HTTP check: {e}", spec.prefix))
}

/// What the task and the daemon's handle share.
struct Shared {
    vip_mgr: VipManager,
    monitor: Monitor,
    /// The id the next check gets (never reused, so a late verdict of a removed check
    /// finds no slot).
    next_check: u64,
    slots: Vec<Slot>,
    /// The last state heard of each VRRP instance, by name.
    states: HashMap<String, State>,
    /// Withdrawn for good (shutdown): nothing is announced again.
    stopped: bool,
}

impl Shared {
    /// VRRP instance `instance` is now in `to` (an event, or a state re-read after
    /// skipped events): its announcements follow when that changes their state.
    fn follow_state(&mut self, instance: &str, to: State) {
        self.states.insert(instance.to_string(), to);
        for k in 0..self.slots.len() {
            if self.slots[k].spec.vrrp_instance.as_deref() == Some(instance)
                && self.slots[k].vrrp != Some(to)
            {
                self.slots[k].vrrp = Some(to);
                self.apply(k, false);
            }
        }
    }

    /// Starts `check` under a new id.
    fn start_check(&mut self, mut check: CheckSpec) -> Result<CheckId, String> {
        check.id = CheckId(self.next_check);
        self.next_check += 1;
        let id = check.id;
        self.monitor.add(check).map_err(|e| format!("check: {e}"))?;
        Ok(id)
    }

    /// A slot for `spec` with its checks started (down until they rise).
    fn new_slot(&mut self, spec: &AnnounceSpec) -> Result<Slot, String> {
        let mut check_ids = Vec::new();
        for check in check_specs(spec, true)? {
            check_ids.push(self.start_check(check)?);
        }
        Ok(Slot {
            spec: spec.clone(),
            checks_up: vec![Some(false); check_ids.len()],
            check_ids,
            vrrp: spec
                .vrrp_instance
                .as_ref()
                .and_then(|i| self.states.get(i).copied()),
            announced: None,
            holding: false,
        })
    }

    /// Brings slot `k` to what it should be; `again`: the periodic pass (logs only repairs).
    fn apply(&mut self, k: usize, again: bool) {
        let slot = &self.slots[k];
        let before = slot.announced.map(|m| slot.spec.route(m));
        self.apply_from(k, before, again);
    }

    /// [`apply`](Self::apply) when what is announced now is `before` (after a reload, a
    /// route of the slot's former form).
    fn apply_from(&mut self, k: usize, before: Option<VirtualRoute>, again: bool) {
        if self.stopped {
            return;
        }
        let want = self.slots[k].wanted();
        let slot = &mut self.slots[k];
        let prefix = format!("{}/{}", slot.spec.prefix, slot.spec.prefix_len);
        match (want, before) {
            (None, None) => {
                slot.announced = None;
            }
            (None, Some(old)) => {
                if let Err(e) = self.vip_mgr.remove_route_now(&old) {
                    warn!(%prefix, "withdrawing: {e}");
                }
                slot.announced = None;
                if std::mem::take(&mut slot.holding) {
                    release(&self.vip_mgr, &slot.spec);
                }
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
                let route = slot.spec.route(metric);
                let old = before.filter(|old| *old != route);
                // In the same table the old route goes first: zebra 8.4 takes the removal
                // of one imported route as that of its prefix, whatever the metric, so
                // adding first would leave the new route unannounced. Both changes reach
                // zebra together and bgpd sends one update. From another table (imported
                // or redistributed apart) the new one comes first: no gap.
                let old_first = old.as_ref().is_some_and(|o| o.table() == route.table());
                if old_first {
                    remove_old(&self.vip_mgr, &prefix, old.as_ref());
                }
                match self.vip_mgr.add_route_now(&route) {
                    Ok(Change::Applied) if again && old.is_none() && slot.announced.is_some() => {
                        warn!(%prefix, metric, "the announced route was gone: installed again");
                    }
                    Ok(_) => {}
                    Err(e) => warn!(%prefix, metric, "announcing: {e}"),
                }
                if !old_first {
                    remove_old(&self.vip_mgr, &prefix, old.as_ref());
                }
                if slot.announced != Some(metric) || old.is_some() {
                    info!(%prefix, metric, table = route.table(), "announced");
                }
                slot.announced = Some(metric);
            }
        }
    }

    /// Withdraws every route, for good (the addresses stay until
    /// [`release_addresses`](Self::release_addresses)); the longest `drain` of those that
    /// were announced, if any was.
    fn withdraw_routes(&mut self) -> Option<Duration> {
        self.withdraw_routes_where(|_| true)
    }

    /// [`withdraw_routes`](Self::withdraw_routes) for the slots `which` picks.
    fn withdraw_routes_where(&mut self, which: impl Fn(&AnnounceSpec) -> bool) -> Option<Duration> {
        self.stopped = true;
        let mut drain = None;
        for slot in self.slots.iter_mut().filter(|s| which(&s.spec)) {
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
                release(&self.vip_mgr, &slot.spec);
            }
        }
    }

    /// Whether an announcement holds `vip` now.
    fn holds(&self, vip: &Vip) -> bool {
        self.slots
            .iter()
            .any(|s| s.holding && s.address().and_then(Result::ok).as_ref() == Some(vip))
    }

    /// Applies a reloaded file's announcements (see [`RouteAnnouncer::reload`]); returns
    /// the addresses to release once their drain is over.
    fn reload(&mut self, new: &[AnnounceSpec]) -> Vec<(Duration, Vip)> {
        let running: Vec<AnnounceSpec> = self.slots.iter().map(|s| s.spec.clone()).collect();
        let matched = match_announcements(&running, new);
        let mut old: Vec<Option<Slot>> = std::mem::take(&mut self.slots)
            .into_iter()
            .map(Some)
            .collect();
        let mut later = Vec::new();
        // The ones that go: routes first, addresses after their drain.
        for (j, slot) in old.iter_mut().enumerate() {
            if matched.contains(&Some(j)) {
                continue;
            }
            let Some(slot) = slot.take() else { continue };
            for id in &slot.check_ids {
                self.monitor.remove(*id);
            }
            if let Some(metric) = slot.announced {
                if let Err(e) = self.vip_mgr.remove_route_now(&slot.spec.route(metric)) {
                    warn!(prefix = %slot.spec.prefix, "withdrawing: {e}");
                }
                info!(prefix = %slot.spec.prefix, "withdrawn (no longer configured)");
            }
            if let Some(Ok(v)) = slot.holding.then(|| slot.address()).flatten() {
                later.push((slot.spec.drain, v));
            }
        }
        // Kept ones in place, changed ones moved, new ones started.
        let mut moves = Vec::new();
        for (i, spec) in new.iter().enumerate() {
            let k = self.slots.len();
            match matched[i].and_then(|j| old[j].take()) {
                Some(slot) if slot.spec == *spec => self.slots.push(slot),
                Some(slot) => {
                    info!(prefix = %spec.prefix, "announcement changed");
                    let before = slot.announced.map(|m| slot.spec.route(m));
                    let held = slot.holding.then(|| slot.address()).flatten();
                    let drain = slot.spec.drain;
                    let moved = self.changed_slot(slot, spec);
                    self.slots.push(moved);
                    moves.push((k, before, held.and_then(Result::ok).map(|v| (drain, v))));
                }
                None => match self.new_slot(spec) {
                    Ok(slot) => {
                        info!(prefix = %spec.prefix, "announcement added");
                        self.slots.push(slot);
                        moves.push((k, None, None));
                    }
                    Err(e) => warn!(prefix = %spec.prefix, "not announced: {e}"),
                },
            }
        }
        for (k, before, held) in moves {
            self.apply_from(k, before, false);
            // The old address goes after its drain, unless still held.
            later.extend(held);
        }
        later.retain(|(_, v)| !self.holds(v));
        later
    }

    /// `slot` in the form of `spec`: the checks `spec` still has keep running with their
    /// verdicts, new ones start without a verdict, dropped ones stop; the VRRP state is that
    /// of its (maybe other) instance. What it announces is not changed here.
    fn changed_slot(&mut self, mut slot: Slot, spec: &AnnounceSpec) -> Slot {
        let mut old_checks: Vec<(CheckSpecKey, CheckId, Option<bool>)> = check_keys(&slot.spec)
            .into_iter()
            .zip(slot.check_ids.iter().copied())
            .zip(slot.checks_up.iter().copied())
            .map(|((key, id), up)| (key, id, up))
            .collect();
        // Checked before the reload changed anything (`RouteAnnouncer::check`); should it
        // fail still, every check counts as failing rather than none being there.
        let fresh: Vec<Option<CheckSpec>> = match check_specs(spec, false) {
            Ok(checks) => checks.into_iter().map(Some).collect(),
            Err(e) => {
                warn!("{e}");
                (0..spec.checks()).map(|_| None).collect()
            }
        };
        let mut check_ids = Vec::new();
        let mut checks_up = Vec::new();
        for (key, check) in check_keys(spec).into_iter().zip(fresh) {
            if let Some(at) = old_checks.iter().position(|(k, _, _)| *k == key) {
                let (_, id, up) = old_checks.remove(at);
                check_ids.push(id);
                checks_up.push(up);
                continue;
            }
            match check
                .ok_or_else(|| "no check".to_string())
                .and_then(|c| self.start_check(c))
            {
                Ok(id) => {
                    check_ids.push(id);
                    checks_up.push(None);
                }
                Err(e) => {
                    warn!(prefix = %spec.prefix, "{e}: counted as failing");
                    check_ids.push(CheckId(u64::MAX));
                    checks_up.push(Some(false));
                }
            }
        }
        for (_, id, _) in old_checks {
            self.monitor.remove(id);
        }
        if slot.spec.vrrp_instance != spec.vrrp_instance {
            slot.vrrp = spec
                .vrrp_instance
                .as_ref()
                .and_then(|i| self.states.get(i).copied());
        }
        slot.spec = spec.clone();
        slot.check_ids = check_ids;
        slot.checks_up = checks_up;
        // Its old address is released by the caller once drained, if no longer held.
        slot.holding = false;
        slot
    }
}

/// Whether `spec` is announced by a VRRP Master only (its Backup withdraws): at a graceful
/// stop the network has no other path until the Backup, Master then, announces it.
fn handed_over_by_vrrp(spec: &AnnounceSpec) -> bool {
    spec.vrrp_instance.is_some() && spec.backup_metric.is_none()
}

/// What tells two checks apart across a reload: their kind and settings.
#[derive(PartialEq)]
enum CheckSpecKey {
    Tcp(crate::runtime::spec::TrackTcp),
    Http(crate::runtime::spec::TrackHttp),
}

/// The keys of `spec`'s checks, in the order of [`check_specs`].
fn check_keys(spec: &AnnounceSpec) -> Vec<CheckSpecKey> {
    let tcp = spec.track_tcp.iter().cloned().map(CheckSpecKey::Tcp);
    tcp.chain(spec.track_http.iter().cloned().map(CheckSpecKey::Http))
        .collect()
}

/// Removes the route an announcement had before it changed, if any.
fn remove_old(vip_mgr: &VipManager, prefix: &str, old: Option<&VirtualRoute>) {
    if let Some(old) = old {
        if let Err(e) = vip_mgr.remove_route_now(old) {
            warn!(%prefix, route = %old, "removing the former route: {e}");
        }
    }
}

/// Removes the address.
fn release(vip_mgr: &VipManager, spec: &AnnounceSpec) {
    if let Some(Err(e)) = address_of(spec).map(|v| v.and_then(|v| vip_mgr.remove_now(&v))) {
        warn!(prefix = %spec.prefix, "releasing the address: {e}");
    }
}

/// Removes the routes (any metric) and addresses an earlier run left.
fn remove_stale(vip_mgr: &VipManager, spec: &AnnounceSpec) {
    let route = spec.route_any_metric();
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
    if let Some(Ok(v)) = address_of(spec) {
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

fn warn_carrier(spec: &AnnounceSpec) {
    if has_carrier(&spec.iface) {
        warn!(iface = %spec.iface, "the announcement's interface has a carrier: zebra \
            prefers its connected route to the imported one (use a veth end whose peer is down)");
    }
}

/// The running announcer: a tokio task and the state it shares with the daemon's handle.
pub(crate) struct RouteAnnouncer {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<Notify>,
}

impl RouteAnnouncer {
    /// Removes what an earlier run left, starts the checks and the task that follows them
    /// and the daemon's `events` (subscribed before the VRRP loop starts, so no transition is
    /// missed). It runs without announcements too: a reload may add some.
    pub(crate) fn start(
        specs: &[AnnounceSpec],
        events: broadcast::Receiver<Event>,
        board: StateBoard,
    ) -> Result<RouteAnnouncer, DaemonError> {
        let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
        let (monitor, changes) = Monitor::new(MonitorConfig::default());
        let mut shared = Shared {
            vip_mgr,
            monitor,
            next_check: 0,
            slots: Vec::new(),
            states: HashMap::new(),
            stopped: false,
        };
        for (k, spec) in specs.iter().enumerate() {
            warn_carrier(spec);
            remove_stale(&shared.vip_mgr, spec);
            let slot = shared
                .new_slot(spec)
                .map_err(|e| DaemonError::Other(format!("announce[{k}]: {e}")))?;
            shared.slots.push(slot);
        }
        for k in 0..shared.slots.len() {
            shared.apply(k, false);
        }
        let shared = Arc::new(Mutex::new(shared));
        let stop = Arc::new(Notify::new());
        tokio::spawn(follow(shared.clone(), stop.clone(), events, board, changes));
        Ok(RouteAnnouncer { shared, stop })
    }

    /// Why `specs` could not be run, checked before a reload changes anything.
    pub(crate) fn check(specs: &[AnnounceSpec]) -> Result<(), String> {
        specs
            .iter()
            .try_for_each(|s| check_specs(s, false).map(drop))
    }

    /// Applies a reloaded file's announcements, `states` being each VRRP instance's state
    /// now (by its name in the new file). An unchanged announcement is left alone; a new
    /// one starts as at start-up; one the file no longer has is withdrawn (its route at
    /// once, its address after its `drain`); a changed one moves to its new form: its new
    /// route is installed before the old one goes (in the same table the old one goes
    /// first, in the same netlink burst: zebra would take the removal for both), its
    /// checks that stay keep their verdicts and new checks keep the announcement as it is
    /// until their first verdict.
    pub(crate) async fn reload(&self, specs: &[AnnounceSpec], states: Vec<(String, State)>) {
        let later = {
            let mut s = lock(&self.shared);
            if s.stopped {
                return;
            }
            s.states = states.into_iter().collect();
            for spec in specs {
                if !s.slots.iter().any(|o| o.spec.iface == spec.iface) {
                    warn_carrier(spec);
                }
            }
            s.reload(specs)
        };
        if later.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut later = later;
            later.sort_by_key(|(d, _)| *d);
            let start = tokio::time::Instant::now();
            for (drain, vip) in later {
                tokio::time::sleep_until(start + drain).await;
                let s = lock(&shared);
                if s.holds(&vip) {
                    continue;
                }
                match s.vip_mgr.remove_now(&vip) {
                    Ok(_) => info!(address = %vip.address(), "released (no longer announced)"),
                    Err(e) => warn!(address = %vip.address(), "releasing the address: {e}"),
                }
            }
        });
    }

    /// Withdraws every announcement (routes, then addresses) at once and stops following;
    /// nothing is announced again.
    pub(crate) fn withdraw_all(&self) {
        let mut s = lock(&self.shared);
        s.withdraw_routes();
        s.release_addresses();
        self.stop.notify_one();
    }

    /// The first half of a graceful shutdown, before the VRRP instances stop: stops
    /// following and withdraws every route whose traffic has another path to go (anycast,
    /// or a Backup announcing `backup_metric`); the routes a Backup only takes over once it
    /// is Master stay for [`withdraw_rest`](Self::withdraw_rest). Returns when it began and
    /// the longest `drain` of what it withdrew.
    pub(crate) fn withdraw_first(&self) -> (tokio::time::Instant, Option<Duration>) {
        let now = tokio::time::Instant::now();
        let drain = lock(&self.shared).withdraw_routes_where(|s| !handed_over_by_vrrp(s));
        self.stop.notify_one();
        (now, drain)
    }

    /// The second half, once the VRRP instances have stopped (priority 0 sent: a Backup
    /// takes over within its skew time): the routes left are withdrawn after their `drain`
    /// (the new Master has announced meanwhile), then every address is released once its
    /// route's `drain` is over (traffic still on its way is served).
    pub(crate) async fn withdraw_rest(&self, first: (tokio::time::Instant, Option<Duration>)) {
        let (began, first_drain) = first;
        let held = {
            let s = lock(&self.shared);
            s.slots
                .iter()
                .filter(|s| s.announced.is_some())
                .map(|s| s.spec.drain)
                .max()
        };
        let mut release_at = first_drain.map(|d| began + d);
        if let Some(d) = held {
            tokio::time::sleep(d).await;
            let drain = lock(&self.shared).withdraw_routes();
            let at = tokio::time::Instant::now() + drain.unwrap_or(d);
            release_at = release_at.max(Some(at));
        }
        if let Some(at) = release_at {
            tokio::time::sleep_until(at).await;
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
    board: StateBoard,
    mut changes: tokio::sync::mpsc::Receiver<healthcheck::StateChange>,
) {
    let mut tick = tokio::time::interval(REINSTALL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            ch = changes.recv() => {
                let Some(ch) = ch else { return };
                let mut s = lock(&shared);
                let up = ch.state.health == Health::Up;
                let at = s.slots.iter().enumerate().find_map(|(k, slot)| {
                    slot.check_ids.iter().position(|&id| id == ch.id).map(|c| (k, c))
                });
                if let Some((k, c)) = at {
                    let slot = &mut s.slots[k];
                    slot.checks_up[c] = match ch.state.health {
                        Health::Unknown => None,
                        _ => Some(up),
                    };
                    info!(prefix = %slot.spec.prefix, check = c, up, "announcement check");
                    s.apply(k, false);
                }
            }
            heard = hear(&mut events, &board, "the route announcer") => match heard {
                Heard::Event(Event::StateChanged { instance, to, .. }) => {
                    lock(&shared).follow_state(&instance, to);
                }
                Heard::Resync(states) => {
                    let mut s = lock(&shared);
                    for (instance, to) in states {
                        s.follow_state(&instance, to);
                    }
                }
                Heard::Event(Event::Stopped { .. }) | Heard::Closed => {
                    let mut s = lock(&shared);
                    if s.stopped {
                        // A graceful shutdown: it withdraws in its own order.
                        return;
                    }
                    s.withdraw_routes();
                    s.release_addresses();
                    return;
                }
                Heard::Event(_) => {}
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
            checks_up: vec![Some(false); spec.checks()],
            check_ids: vec![CheckId(0); spec.checks()],
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
        s.checks_up = vec![Some(true), Some(false)];
        assert_eq!(s.wanted(), None);
        s.checks_up = vec![Some(true), Some(true)];
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
        both.checks_up = vec![Some(true)];
        assert_eq!(both.wanted(), Some(10));
    }

    #[test]
    fn a_check_a_reload_added_keeps_the_announcement_as_it_is_until_its_verdict() {
        let check = "{ connect = '127.0.0.1:80' }";
        let mut s = slot(&format!("track_tcp = [{check}, {check}]"));
        s.checks_up = vec![Some(true), None];
        assert_eq!(s.wanted(), None, "withdrawn: stays withdrawn");
        s.announced = Some(10);
        assert_eq!(s.wanted(), Some(10), "announced: stays announced");
        s.checks_up = vec![Some(true), Some(false)];
        assert_eq!(s.wanted(), None, "its first verdict counts");
    }
}
