//! [`Daemon`]: the running engine and the program's handle on it.
//!
//! [`Daemon::start`] opens every driver, starts the watchers (link watches, tracker checks)
//! as tokio tasks on the caller's runtime, and hands the routing itself to the VRRP loop on
//! a thread of its own, which the watchers and the handle reach through an event queue.
//!
//! The split keeps the per-advert path out of any reactor: the VRRP loop waits in one plain
//! `epoll` set, while the rarely busy watchers keep tokio (netlink link events, child
//! processes). The program's tasks sleep in tokio until one of them has news.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vip_netlink::{AdvertSocket, AdvertSocketConfig, Vip, VipManager};
use vrrp_fsm::{Router, SyncGroupConfig, TrackerState};

use crate::runtime::config::{Config, ConfigError};
use crate::runtime::dump::{self, DumpInstance};
use crate::runtime::event_queue::{event_queue, Event as LoopEvent, EventSender};
use crate::runtime::events::{event_backlog, Event, Events};
use crate::runtime::instance_io::{InstanceIo, InstanceSlots};
use crate::runtime::instance_lock::{InstanceLock, LockError};
#[cfg(feature = "metrics")]
use crate::runtime::metrics::MetricsServer;
use crate::runtime::notify::{spawn_notifier, NOTIFY_TIMEOUT};
use crate::runtime::notify_fifo::NotifyFifo;
use crate::runtime::reaper::Reaper;
use crate::runtime::reload::{plan_reload, ReloadRequest};
use crate::runtime::route_announcer::RouteAnnouncer;
use crate::runtime::smtp_alert::{self, SmtpSpec, SmtpStats};
use crate::runtime::spec::{DaemonSpec, InstanceSpec, SyncGroupSpec};
use crate::runtime::state_board::StateBoard;
use crate::runtime::static_config::{self, StaticSpec};
use crate::runtime::status::InstanceStatus;
use crate::runtime::transitions::{spawn_counter, SharedTransitions};
use crate::runtime::vmac::{create_vmacs, remove_vmacs, CreatedVmacs};
use crate::runtime::vrrp_loop::VrrpLoop;
use crate::runtime::watchers::Watchers;

/// Why the daemon could not start, stopped with an error, or refused a request.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration is invalid (nothing was touched on the network).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Missing CAP_NET_RAW / CAP_NET_ADMIN.
    #[error("{0}: the daemon needs CAP_NET_RAW and CAP_NET_ADMIN (run it as root)")]
    Privileges(String),
    /// A reload was refused: the running configuration stays.
    #[error("{0}")]
    Reload(String),
    /// No such instance or tracker (for [`Daemon::set_tracker`]).
    #[error("{0}")]
    NotFound(String),
    /// The daemon has stopped.
    #[error("the daemon has stopped")]
    Stopped,
    /// Another daemon runs one of the instances (nothing was touched).
    #[error(transparent)]
    AlreadyRunning(#[from] LockError),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

/// A driver error with what was being done.
pub(crate) fn ctx(what: &str, e: vip_netlink::Error) -> DaemonError {
    match e {
        vip_netlink::Error::PermissionDenied { .. } => {
            DaemonError::Privileges(format!("{what}: {e}"))
        }
        e => DaemonError::Other(format!("{what}: {e}")),
    }
}

/// The advert socket of an instance, opened polled (the VRRP loop's `epoll` set watches it):
/// multicast, or unicast to its peers. Version and family come from the state machine's
/// configuration, so the two never disagree.
pub(crate) fn open_advert_socket(inst: &InstanceSpec) -> vip_netlink::Result<AdvertSocket> {
    let family = inst.fsm.family;
    let mut cfg = AdvertSocketConfig::multicast(inst.advert_iface(), family, inst.fsm.version)
        .with_vrid(inst.fsm.vrid)
        .with_unicast_peers(inst.fsm.unicast_peers.iter().copied())
        .with_ttl(inst.unicast_ttl);
    if let Some(key) = inst.ip_ah {
        cfg = cfg.with_ip_ah(key);
    }
    if let Some(auth) = &inst.auth_hmac {
        cfg = cfg.with_auth_hmac(auth.clone());
    }
    if let Some(src) = inst.unicast_src {
        cfg = cfg.with_source(src);
    } else if inst.advert_iface() != inst.iface {
        // A VMAC has no address of its own: adverts carry the parent's, as keepalived's do.
        cfg = cfg.with_source(inst.fsm.primary_address);
    }
    AdvertSocket::open_polled(cfg)
}

/// The addresses an instance holds as Master, as `VipManager` entries on its VIP interface
/// (or the one their `dev` names) with their label and scope: the VIPs, then
/// `virtual_ipaddress_excluded`.
pub(crate) fn vip_list(inst: &InstanceSpec) -> vip_netlink::Result<Vec<Vip>> {
    inst.held_addresses()
        .map(|v| {
            let options = inst.vip_options.iter().find(|(a, _)| *a == v.addr);
            let iface = match options.and_then(|(_, o)| o.dev.as_deref()) {
                Some(dev) if dev != inst.iface => dev,
                _ => inst.vip_iface(),
            };
            let mut vip = Vip::new(iface, v.addr, v.prefix_len)?;
            if let Some((_, o)) = options {
                if let Some(label) = &o.label {
                    vip = vip.with_label(label.clone());
                }
                if let Some(scope) = o.scope {
                    vip = vip.with_scope(scope);
                }
            }
            Ok(vip)
        })
        .collect()
}

/// What a panic said, for the log.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs `task` on tokio; if it panics, the daemon stops as after a fatal error (priority 0,
/// VIPs, routes and rules removed) instead of running on without it.
pub(crate) fn spawn_supervised<F>(tx: &EventSender, what: String, task: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let handle = tokio::spawn(task);
    let tx = tx.clone();
    tokio::spawn(async move {
        if let Err(e) = handle.await {
            if e.is_panic() {
                let why = panic_message(&e.into_panic());
                tx.send(LoopEvent::Fatal(format!("{what} panicked: {why}")));
            }
        }
    });
}

/// A mutex's guard; a panic elsewhere while holding it leaves nothing half-done here.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What runs, as the tokio side knows it: the instances by slot (as the VRRP loop has them)
/// and the sync groups with their members as slots.
struct Running {
    instances: Vec<Option<InstanceSpec>>,
    groups: Vec<SyncGroupSpec>,
    fifo: Option<std::path::PathBuf>,
}

/// How long a shutdown waits for the SMTP alerts still queued.
const SMTP_DRAIN: Duration = Duration::from_secs(5);

/// Removes the static addresses, routes and rules (logged, never fatal).
fn uninstall_statics(statics: &StaticSpec) {
    if statics.is_empty() {
        return;
    }
    match VipManager::new() {
        Ok(vip_mgr) => static_config::uninstall(statics, &vip_mgr),
        Err(e) => warn!("static addresses, routes and rules left behind: rtnetlink: {e}"),
    }
}

/// A running VRRP daemon: keepalived's `vrrp_instance`s and `vrrp_sync_group`s, with their
/// trackers, notify scripts, VMACs, routes and rules.
///
/// Start it inside a tokio runtime (the watchers are tokio tasks; the VRRP loop gets a thread
/// of its own). It needs CAP_NET_RAW and CAP_NET_ADMIN. End it with [`Daemon::shutdown`]:
/// a Master sends priority 0, and VIPs, routes, rules and VMACs are removed. Dropping it
/// without that still stops the instances the same way, but cannot wait for the VMACs'
/// removal or the notify scripts.
///
/// ```no_run
/// # async fn run() -> Result<(), hakit::DaemonError> {
/// use hakit::{Config, Daemon, Event, VrrpInstance};
/// let config = Config::new()
///     .instance(VrrpInstance::new("web", "eth0", 51, 150).vip("10.0.0.100/24"));
/// let mut daemon = Daemon::start(config).await?;
/// let mut events = daemon.events();
/// while let Some(event) = events.recv().await {
///     if let Event::StateChanged { instance, to, .. } = &event {
///         println!("{instance} is now {to}");
///     }
/// }
/// daemon.shutdown().await
/// # }
/// ```
pub struct Daemon {
    tx: EventSender,
    events: broadcast::Sender<Event>,
    first_events: Option<broadcast::Receiver<Event>>,
    done: Option<oneshot::Receiver<Result<(), DaemonError>>>,
    outcome: Option<Result<(), DaemonError>>,
    thread: Option<std::thread::JoinHandle<()>>,
    notifier: Option<JoinHandle<()>>,
    /// The child subreaper: reaps what scripts orphan, ends it at shutdown.
    reaper: Reaper,
    running: Arc<Mutex<Running>>,
    reloading: tokio::sync::Mutex<()>,
    watchers: Arc<Mutex<Watchers>>,
    vmacs: CreatedVmacs,
    /// Each running instance's lock, by slot (released after the instances stopped).
    locks: Mutex<BTreeMap<usize, InstanceLock>>,
    lock_dir: std::path::PathBuf,
    transitions: SharedTransitions,
    #[cfg(feature = "metrics")]
    metrics: Option<MetricsServer>,
    /// `static_ipaddress`, `static_routes` and `static_rules` as installed.
    statics: Mutex<StaticSpec>,
    /// The SMTP alerts' counters and sending task.
    smtp: Option<(Arc<SmtpStats>, JoinHandle<()>)>,
    /// Their settings, changed by a reload.
    smtp_settings: Option<watch::Sender<Option<Arc<SmtpSpec>>>>,
    /// The `[[announce]]` routes (withdrawn first at shutdown; a reload changes them).
    announcer: RouteAnnouncer,
    /// Every instance's state, for subscribers that fell behind the events.
    #[cfg_attr(not(feature = "ipvs"), allow(dead_code))]
    states: StateBoard,
    /// The `[[virtual_server]]`s, if any (their services removed at shutdown; a reload
    /// changes them, or starts the director when the first virtual server comes).
    #[cfg(feature = "ipvs")]
    lvs: tokio::sync::Mutex<Option<crate::runtime::lvs::LvsDirector>>,
    /// The virtual servers it runs now.
    #[cfg(feature = "ipvs")]
    virtual_servers: Mutex<Vec<crate::runtime::virtual_server_config::VirtualServerSpec>>,
    /// `lvs_sync_daemon`, if configured (stopped at shutdown).
    #[cfg(feature = "ipvs")]
    lvs_sync: Option<crate::runtime::lvs_sync::LvsSync>,
    /// The `lvs_sync_daemon` it was started with (a reload does not change it).
    #[cfg(feature = "ipvs")]
    lvs_sync_spec: Option<crate::runtime::lvs_sync::LvsSyncSpec>,
}

impl Daemon {
    /// Validates `config` and starts it (see [`Daemon::start_spec`]).
    pub async fn start(config: Config) -> Result<Daemon, DaemonError> {
        let spec = config.validate()?;
        Daemon::start_spec(spec).await
    }

    /// Starts an already validated configuration: creates the VMACs, opens every instance's
    /// sockets, removes stale VIPs, routes and rules an earlier run left (unless the
    /// instance is the address owner), installs the static addresses, routes and rules
    /// ([`static_config`]), starts the SMTP alerts ([`smtp_alert`]), the link watches, the
    /// tracker checks and the VRRP loop. Every instance starts in Backup (or Master for an
    /// address owner). On an error, whatever was created is removed again.
    pub async fn start_spec(spec: DaemonSpec) -> Result<Daemon, DaemonError> {
        // Before anything changes: a second copy must not clean up the first one's VIPs.
        let mut locks = BTreeMap::new();
        for (slot, inst) in spec.instances.iter().enumerate() {
            locks.insert(slot, InstanceLock::take(&spec.lock_dir, inst)?);
        }
        let vmacs = CreatedVmacs::new(Mutex::new(create_vmacs(&spec.instances).await?));
        let statics = spec.statics.clone();
        if !statics.is_empty() {
            let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
            static_config::clear_leftovers(&statics, &vip_mgr);
        }
        match Daemon::start_instances(spec, vmacs.clone(), locks).await {
            Ok(d) => Ok(d),
            Err(e) => {
                let left = std::mem::take(&mut *lock(&vmacs));
                remove_vmacs(&left).await;
                uninstall_statics(&statics);
                Err(e)
            }
        }
    }

    async fn start_instances(
        spec: DaemonSpec,
        vmacs: CreatedVmacs,
        locks: BTreeMap<usize, InstanceLock>,
    ) -> Result<Daemon, DaemonError> {
        for w in &spec.warnings {
            warn!("{w}");
        }
        #[cfg(feature = "metrics")]
        let metrics_listener = match spec.metrics_listen {
            Some(addr) => Some((addr, MetricsServer::bind(addr)?)),
            None => None,
        };
        let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
        let mut router = Router::new();
        router.reserve(spec.instances.len());
        let mut ios = InstanceSlots::with_capacity(spec.instances.len());
        let garp_socket = vip_netlink::AnnounceSocket::new_polled()
            .map_err(|e| ctx("opening the GARP/NA socket", e))?;
        for inst in &spec.instances {
            let id = router
                .add_instance(inst.fsm.clone())
                .map_err(|e| DaemonError::Other(format!("{}: {e}", inst.name)))?;
            ios.insert(InstanceIo::open(inst, id, &router, &garp_socket)?);
        }
        // At start, an instance's slot is its index in the configuration.
        let mut group_ids = Vec::with_capacity(spec.sync_groups.len());
        for group in &spec.sync_groups {
            let ids = group
                .members
                .iter()
                .filter_map(|&m| ios.get(m).map(|io| io.id))
                .collect();
            let gid = router
                .add_sync_group(SyncGroupConfig::new(ids))
                .map_err(|e| DaemonError::Other(format!("sync group {}: {e}", group.name)))?;
            group_ids.push(gid);
        }

        // A crashed earlier run may have left our VIPs behind; we are not Master yet, so they go.
        for io in ios.iter() {
            io.remove_stale_vips(&vip_mgr)?;
        }
        // keepalived installs its static addresses, routes and rules before any instance
        // runs, once it knows the interfaces' own addresses: a static address is never an
        // advert's source (the sockets above have theirs).
        static_config::install(&spec.statics, &vip_mgr);

        let (tx, queue) = event_queue().map_err(|e| DaemonError::Other(format!("eventfd: {e}")))?;

        // Link state of every interface we care about (one link monitor for all of them), and
        // the tracker checks.
        let mut watchers = Watchers::new(tx.clone(), spec.script_user)?;
        let mut links = BTreeMap::new();
        for (slot, inst) in spec.instances.iter().enumerate() {
            links.extend(watchers.watch_links(inst)?);
            watchers.sync_checks(slot, inst)?;
        }
        let watchers = Arc::new(Mutex::new(watchers));

        for io in ios.iter() {
            info!(
                instance = %io.spec.name, iface = %io.spec.iface, vrid = io.spec.fsm.vrid,
                priority = io.spec.fsm.priority, version = ?io.spec.fsm.version,
                advert_int = ?io.spec.fsm.advert_interval, source = ?io.sock.source(),
                unicast_peers = ?io.spec.fsm.unicast_peers, "starting"
            );
        }
        let fifo =
            match &spec.notify_fifo {
                Some(path) => Some(NotifyFifo::open(path).map_err(|e| {
                    DaemonError::Other(format!("notify_fifo {}: {e}", path.display()))
                })?),
                None => None,
            };
        // Before the first script runs: its orphans are ours from the start.
        let reaper = Reaper::start();
        let (notify, notifier) = spawn_notifier(fifo, spec.script_user);
        let (events, first_events) = broadcast::channel(event_backlog(spec.instances.len()));
        let (smtp, smtp_settings) = match spec.smtp.clone() {
            Some(smtp) => {
                let (settings, watched) = watch::channel(Some(Arc::new(smtp)));
                let alerts = smtp_alert::spawn_reloadable(watched, events.subscribe());
                (Some(alerts), Some(settings))
            }
            None => (None, None),
        };
        // Counted from the first transition on; ends with the event stream.
        let (transitions, _counter) = spawn_counter(events.subscribe());
        #[cfg(feature = "metrics")]
        let metrics = match metrics_listener {
            Some((addr, server)) => Some(MetricsServer::serve(
                addr,
                server,
                tx.clone(),
                transitions.clone(),
            )?),
            None => None,
        };
        // Subscribed before the VRRP loop runs: no first transition is missed.
        // Every instance's state, for the subscribers below when they fall behind the events.
        let states = StateBoard::default();
        let announcer =
            RouteAnnouncer::start(&spec.announcements, events.subscribe(), states.clone())?;
        #[cfg(feature = "ipvs")]
        let lvs = crate::runtime::lvs::LvsDirector::start_following(
            &spec.virtual_servers,
            held_addresses_by_instance(&spec),
            std::collections::HashSet::new(),
            events.subscribe(),
            states.clone(),
        )?;
        #[cfg(feature = "ipvs")]
        let lvs_sync = crate::runtime::lvs_sync::LvsSync::start_following(
            spec.lvs_sync_daemon.as_ref(),
            events.subscribe(),
            states.clone(),
        )?;
        let (done_tx, done_rx) = oneshot::channel();
        let vrrp = VrrpLoop {
            router,
            ios,
            vip_mgr,
            events: queue,
            links,
            sync_groups: spec.sync_groups.clone(),
            group_ids,
            group_states: vec![None; spec.sync_groups.len()],
            notify,
            notify_fifo: spec.notify_fifo.clone(),
            removing: Vec::new(),
            published: events.clone(),
            rx_lower_logs: BTreeMap::new(),
            garp_socket,
            states: states.clone(),
        };
        let published = events.clone();
        // Start-up's transient allocations (rtnetlink dumps, per-instance set-up) are free
        // by now; give their pages back instead of keeping them for the daemon's lifetime.
        crate::runtime::heap_trim::release_free_heap();
        let thread = std::thread::Builder::new()
            .name("vrrp".into())
            .spawn(move || {
                let mut vrrp = vrrp;
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vrrp.run()));
                let result = run.unwrap_or_else(|panic| {
                    // A bug, not a state: leave nothing behind, then stop as on SIGTERM.
                    let why = panic_message(&panic);
                    tracing::error!("the VRRP loop panicked: {why}; releasing every VIP");
                    vrrp.release_all();
                    Err(DaemonError::Other(format!("the VRRP loop panicked: {why}")))
                });
                let error = result.as_ref().err().map(ToString::to_string);
                let _ = published.send(Event::Stopped { error });
                let _ = done_tx.send(result);
            })
            .map_err(|e| DaemonError::Other(format!("starting the VRRP thread: {e}")))?;
        Ok(Daemon {
            tx,
            events,
            first_events: Some(first_events),
            done: Some(done_rx),
            outcome: None,
            thread: Some(thread),
            notifier: Some(notifier),
            reaper,
            running: Arc::new(Mutex::new(Running {
                instances: spec.instances.iter().cloned().map(Some).collect(),
                groups: spec.sync_groups.clone(),
                fifo: spec.notify_fifo.clone(),
            })),
            reloading: tokio::sync::Mutex::new(()),
            watchers,
            vmacs,
            locks: Mutex::new(locks),
            lock_dir: spec.lock_dir.clone(),
            transitions,
            #[cfg(feature = "metrics")]
            metrics,
            statics: Mutex::new(spec.statics.clone()),
            smtp,
            smtp_settings,
            announcer,
            states,
            #[cfg(feature = "ipvs")]
            lvs: tokio::sync::Mutex::new(lvs),
            #[cfg(feature = "ipvs")]
            virtual_servers: Mutex::new(spec.virtual_servers.clone()),
            #[cfg(feature = "ipvs")]
            lvs_sync,
            #[cfg(feature = "ipvs")]
            lvs_sync_spec: spec.lvs_sync_daemon.clone(),
        })
    }

    /// The SMTP alerts' counters (sent, failed, dropped); `None` when no mail is configured.
    ///
    /// ```no_run
    /// # async fn run(daemon: &hakit::Daemon) {
    /// if let Some(stats) = daemon.smtp_stats() {
    ///     println!("alerts: {} sent, {} failed", stats.sent(), stats.failed());
    /// }
    /// # }
    /// ```
    pub fn smtp_stats(&self) -> Option<Arc<SmtpStats>> {
        self.smtp.as_ref().map(|(stats, _)| stats.clone())
    }

    /// The daemon's events. The first call gets every event since the start (the instances'
    /// first transitions included); later calls get those from then on.
    pub fn events(&mut self) -> Events {
        let rx = self
            .first_events
            .take()
            .unwrap_or_else(|| self.events.subscribe());
        Events::new(rx)
    }

    /// Every running instance, read from the VRRP thread.
    pub async fn status(&self) -> Result<Vec<InstanceStatus>, DaemonError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(LoopEvent::Status(reply));
        answer.await.map_err(|_| DaemonError::Stopped)
    }

    /// Writes keepalived's data dump (its `SIGUSR1`; keepalived's default file is
    /// [`dump::DEFAULT_DATA_FILE`]): each instance's state, priorities, timers and VIPs.
    pub async fn dump_data(&self, path: &std::path::Path) -> Result<(), DaemonError> {
        self.dump_to(path, dump::data).await
    }

    /// Writes keepalived's stats dump (its `SIGUSR2`; default [`dump::DEFAULT_STATS_FILE`]):
    /// each instance's `vrrp_stats` counters.
    pub async fn dump_stats(&self, path: &std::path::Path) -> Result<(), DaemonError> {
        self.dump_to(path, dump::stats).await
    }

    /// Writes keepalived's JSON dump (its JSON signal; default [`dump::DEFAULT_JSON_FILE`]):
    /// an array of `{"data": {...}, "stats": {...}}`, one per instance.
    pub async fn dump_json(&self, path: &std::path::Path) -> Result<(), DaemonError> {
        self.dump_to(path, dump::json).await
    }

    async fn dump_to(
        &self,
        path: &std::path::Path,
        format: fn(&[DumpInstance<'_>]) -> String,
    ) -> Result<(), DaemonError> {
        let status = self.status().await?;
        let text = {
            let running = lock(&self.running);
            let last = lock(&self.transitions).last.clone();
            let instances: Vec<DumpInstance<'_>> = status
                .iter()
                .filter_map(|st| {
                    let spec = running
                        .instances
                        .iter()
                        .flatten()
                        .find(|i| i.name == st.name)?;
                    Some(DumpInstance {
                        status: st,
                        spec,
                        last_transition: last.get(&st.name).copied(),
                    })
                })
                .collect();
            format(&instances)
        };
        dump::write(path, &text)
            .map_err(|e| DaemonError::Other(format!("writing {}: {e}", path.display())))
    }

    /// The running instance named `name`, if any.
    pub async fn instance(&self, name: &str) -> Result<Option<InstanceStatus>, DaemonError> {
        Ok(self.status().await?.into_iter().find(|s| s.name == name))
    }

    /// Sets an external tracker (`VrrpInstance::track_external`) of instance `instance`:
    /// `Up`, or `Down` (its weight applies; weight 0 is FAULT). The program's own health,
    /// fed in as keepalived's trackers are.
    pub fn set_tracker(
        &self,
        instance: &str,
        tracker: &str,
        state: TrackerState,
    ) -> Result<(), DaemonError> {
        let running = lock(&self.running);
        let (slot, spec) = running
            .instances
            .iter()
            .enumerate()
            .find_map(|(s, i)| i.as_ref().filter(|i| i.name == instance).map(|i| (s, i)))
            .ok_or_else(|| DaemonError::NotFound(format!("no instance named {instance:?}")))?;
        let t = spec
            .track_external
            .iter()
            .find(|t| t.name == tracker)
            .ok_or_else(|| {
                DaemonError::NotFound(format!(
                    "instance {instance:?} has no external tracker {tracker:?}"
                ))
            })?;
        if self.outcome.is_some() {
            return Err(DaemonError::Stopped);
        }
        self.tx.send(LoopEvent::Tracker(slot, t.id, state));
        Ok(())
    }

    /// Applies a new configuration to the running daemon, all or nothing, keeping every
    /// instance's state as keepalived's reload (SIGHUP) does; see [`reload`](crate::runtime::reload)
    /// for what may change. A refused reload changes nothing and says why.
    pub async fn reload(&self, config: Config) -> Result<(), DaemonError> {
        let new = config.validate()?;
        self.reload_spec(new).await
    }

    /// The virtual servers of a reload (after the instances: `ha_suspend` follows their new
    /// addresses): the running director applies the change, or one starts for the first
    /// virtual servers of a daemon that had none.
    #[cfg(feature = "ipvs")]
    async fn reload_virtual_servers(&self, new: &DaemonSpec) -> Result<(), DaemonError> {
        if *lock(&self.virtual_servers) == new.virtual_servers {
            return Ok(());
        }
        let mut lvs = self.lvs.lock().await;
        match lvs.as_ref() {
            Some(director) => {
                director
                    .reload(&new.virtual_servers, held_addresses_by_instance(new))
                    .await?
            }
            None => {
                let masters = match self.status().await {
                    Ok(all) => all
                        .into_iter()
                        .filter(|i| i.state == vrrp_fsm::State::Master)
                        .map(|i| i.name)
                        .collect(),
                    Err(_) => std::collections::HashSet::new(),
                };
                *lvs = crate::runtime::lvs::LvsDirector::start_following(
                    &new.virtual_servers,
                    held_addresses_by_instance(new),
                    masters,
                    self.events.subscribe(),
                    self.states.clone(),
                )
                .map_err(|e| DaemonError::Reload(e.to_string()))?;
            }
        }
        info!(
            count = new.virtual_servers.len(),
            "virtual servers reloaded"
        );
        *lock(&self.virtual_servers) = new.virtual_servers.clone();
        Ok(())
    }

    /// [`Daemon::reload`] with an already validated configuration.
    pub async fn reload_spec(&self, new: DaemonSpec) -> Result<(), DaemonError> {
        let _one_at_a_time = self.reloading.lock().await;
        RouteAnnouncer::check(&new.announcements).map_err(DaemonError::Reload)?;
        // Each new virtual server's checks can be built: checked before anything changes.
        #[cfg(feature = "ipvs")]
        for vs in &new.virtual_servers {
            crate::runtime::lvs::VirtualServerRun::new(vs.clone(), 0)
                .check_specs()
                .map_err(|e| DaemonError::Reload(format!("{}: {e}", vs.name)))?;
        }
        #[cfg(feature = "ipvs")]
        if new.lvs_sync_daemon != self.lvs_sync_spec {
            warn!("lvs_sync_daemon changes only at a restart: it stays as it is");
        }
        #[cfg(feature = "metrics")]
        if new.metrics_listen != self.metrics.as_ref().map(MetricsServer::addr) {
            warn!("metrics_listen changes only at a restart: the endpoint stays as it is");
        }
        let plan = {
            let running = lock(&self.running);
            plan_reload(
                &running.instances,
                &running.groups,
                running.fifo.as_deref(),
                &new,
            )
            .map_err(DaemonError::Reload)?
        };
        let added: Vec<usize> = plan.added().collect();
        let mut new_locks = Vec::with_capacity(added.len());
        for &i in &added {
            new_locks.push(InstanceLock::take(&self.lock_dir, &new.instances[i])?);
        }
        let made = create_vmacs(added.iter().map(|&i| &new.instances[i])).await?;
        let (reply, answer) = oneshot::channel();
        self.tx.send(LoopEvent::Reload(Box::new(ReloadRequest {
            spec: new.clone(),
            plan: plan.clone(),
            reply,
        })));
        let slots = match answer.await {
            Ok(Ok(slots)) => slots,
            Ok(Err(e)) => {
                remove_vmacs(&made).await;
                return Err(DaemonError::Reload(e));
            }
            Err(_) => {
                remove_vmacs(&made).await;
                return Err(DaemonError::Stopped);
            }
        };
        lock(&self.vmacs).extend(made);
        {
            let mut locks = lock(&self.locks);
            for (&i, l) in added.iter().zip(new_locks) {
                locks.insert(slots[i], l);
            }
        }
        for &slot in &plan.removed {
            lock(&self.locks).remove(&slot);
            lock(&self.watchers).remove_checks(slot);
            let gone = lock(&self.running)
                .instances
                .get_mut(slot)
                .and_then(Option::take);
            let Some(gone) = gone else { continue };
            if let Some(v) = &gone.vmac {
                let ours = {
                    let mut vmacs = lock(&self.vmacs);
                    let at = vmacs.iter().position(|n| *n == v.name);
                    at.map(|k| vmacs.remove(k))
                };
                if let Some(name) = ours {
                    remove_vmacs(&[name]).await;
                }
            }
        }
        // New instances get their watchers; kept ones those of new trackers (and lose the
        // checks of dropped ones).
        for (k, spec) in new.instances.iter().enumerate() {
            let slot = slots[k];
            {
                let mut watchers = lock(&self.watchers);
                match watchers.watch_links(spec) {
                    Ok(states) => {
                        for (iface, up) in states {
                            self.tx.send(LoopEvent::Link(iface, up));
                        }
                    }
                    Err(e) => warn!(instance = %spec.name, "{e}"),
                }
                if let Err(e) = watchers.sync_checks(slot, spec) {
                    warn!(instance = %spec.name, "{e}");
                }
            }
            let mut running = lock(&self.running);
            if running.instances.len() <= slot {
                running.instances.resize(slot + 1, None);
            }
            running.instances[slot] = Some(spec.clone());
        }
        {
            let mut statics = lock(&self.statics);
            if *statics != new.statics {
                match VipManager::new() {
                    Ok(vip_mgr) => static_config::reload(&statics, &new.statics, &vip_mgr),
                    Err(e) => warn!("static addresses, routes and rules unchanged: rtnetlink: {e}"),
                }
                *statics = new.statics.clone();
            }
        }
        match (&self.smtp_settings, &new.smtp) {
            (Some(settings), smtp) => {
                settings.send_if_modified(|now| {
                    let changed = now.as_deref() != smtp.as_ref();
                    if changed {
                        info!(on = smtp.is_some(), "smtp alert settings reloaded");
                        *now = smtp.clone().map(Arc::new);
                    }
                    changed
                });
            }
            (None, Some(_)) => {
                warn!("smtp alerts: the daemon started without them; they start at a restart")
            }
            (None, None) => {}
        }
        // After the instances: an announcement follows its instance by its new name.
        let states = match self.status().await {
            Ok(all) => all.into_iter().map(|i| (i.name, i.state)).collect(),
            Err(e) => {
                warn!("announcements reloaded without the instances' states: {e}");
                Vec::new()
            }
        };
        self.announcer.reload(&new.announcements, states).await;
        #[cfg(feature = "ipvs")]
        self.reload_virtual_servers(&new).await?;
        lock(&self.running).groups = new
            .sync_groups
            .iter()
            .map(|g| SyncGroupSpec {
                members: g.members.iter().map(|&m| slots[m]).collect(),
                ..g.clone()
            })
            .collect();
        crate::runtime::heap_trim::release_free_heap();
        Ok(())
    }

    /// Fault injection for tests: a panic on the VRRP thread (`vrrp_thread`) or in a tokio
    /// task of the daemon, to prove either ends in a clean stop (priority 0, VIPs, routes and
    /// rules removed, [`Event::Stopped`] with the reason) rather than a half-alive daemon.
    #[doc(hidden)]
    pub fn inject_panic(&self, vrrp_thread: bool) {
        if vrrp_thread {
            self.tx.send(LoopEvent::InjectPanic);
        } else {
            spawn_supervised(&self.tx, "an injected task".into(), async {
                panic!("injected by a test")
            });
        }
    }

    /// Waits until the daemon stops on its own (a fatal error; it has already sent priority 0
    /// and removed its VIPs, routes and rules) and returns why. Cancel-safe: use it in a
    /// `select!` beside the program's signals.
    pub async fn stopped(&mut self) -> Result<(), DaemonError> {
        if let Some(done) = &mut self.done {
            let result = done
                .await
                .unwrap_or_else(|_| Err(DaemonError::Other("the VRRP loop panicked".into())));
            self.done = None;
            self.outcome = Some(result);
        }
        self.outcome.clone().unwrap_or(Ok(()))
    }

    /// Stops gracefully: the `[[announce]]` routes are withdrawn (those only a Master
    /// announces once the instances have stopped; then their addresses released, see
    /// [`route_announcer`](crate::runtime::route_announcer#order)), every Master sends
    /// priority 0, VIPs, routes and rules are removed, then the IPVS virtual servers and the
    /// `lvs_sync_daemon`; `notify_stop` scripts run (waited for, at most their timeout and a
    /// second), the checks stop and the VMACs this run created are removed. Returns the
    /// loop's error if it had stopped on its own.
    pub async fn shutdown(mut self) -> Result<(), DaemonError> {
        // Withdrawn from the routing daemon before anything else goes, but for the routes a
        // Backup takes over only as Master: those go once the instances have stopped.
        let withdrawn = self.announcer.withdraw_first();
        if self.outcome.is_none() {
            self.tx.send(LoopEvent::Shutdown("shutdown"));
        }
        let result = self.stopped().await;
        self.announcer.withdraw_rest(withdrawn).await;
        // The virtual servers and the sync daemon go only once the VIPs have (keepalived
        // removes its IPVS services at exit too): the kernel drops its IPVS hooks with the
        // last service, so a Master removing them first would answer its clients'
        // established connections with resets from its own stack until the Backup took over.
        #[cfg(feature = "ipvs")]
        if let Some(lvs) = self.lvs.get_mut().take() {
            lvs.stop().await;
        }
        #[cfg(feature = "ipvs")]
        if let Some(sync) = self.lvs_sync.take() {
            sync.stop().await;
        }
        #[cfg(feature = "metrics")]
        if let Some(mut m) = self.metrics.take() {
            tokio::task::spawn_blocking(move || m.stop()).await.ok();
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        lock(&self.watchers).stop_checks();
        uninstall_statics(&lock(&self.statics));
        // The loop has published its last events: the alerts still queued go, bounded.
        if let Some((_, sender)) = self.smtp.take() {
            if tokio::time::timeout(SMTP_DRAIN, sender).await.is_err() {
                warn!("smtp alerts still unsent at exit: dropped");
            }
        }
        // The loop (and its job sender) is gone: let the queued notify scripts, STOP
        // included, finish, but never hang the exit on them.
        if let Some(notifier) = self.notifier.take() {
            if tokio::time::timeout(NOTIFY_TIMEOUT + Duration::from_secs(1), notifier)
                .await
                .is_err()
            {
                warn!("notify scripts still running at exit");
            }
        }
        // What the scripts left running (forked, `setsid`ed away) goes with the daemon.
        self.reaper.end_orphans().await;
        let left = std::mem::take(&mut *lock(&self.vmacs));
        remove_vmacs(&left).await;
        lock(&self.locks).clear();
        result
    }
}

impl Drop for Daemon {
    /// Without [`Daemon::shutdown`]: the instances still stop (priority 0, VIPs, routes and
    /// rules removed) before this returns; VMACs are removed in a task if the runtime lives.
    fn drop(&mut self) {
        self.announcer.withdraw_all();
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.tx.send(LoopEvent::Shutdown("drop"));
        let _ = thread.join();
        lock(&self.watchers).stop_checks();
        self.reaper.kill_orphans_now();
        uninstall_statics(&lock(&self.statics));
        let left = std::mem::take(&mut *lock(&self.vmacs));
        if !left.is_empty() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move { remove_vmacs(&left).await });
                }
                Err(_) => warn!(vmacs = ?left, "VMACs left behind: no runtime to remove them"),
            }
        }
    }
}

/// Each instance's name and the addresses it holds while Master (for `ha_suspend`).
#[cfg(feature = "ipvs")]
fn held_addresses_by_instance(
    spec: &DaemonSpec,
) -> std::collections::HashMap<String, Vec<std::net::IpAddr>> {
    spec.instances
        .iter()
        .map(|i| (i.name.clone(), i.held_addresses().map(|v| v.addr).collect()))
        .collect()
}
