//! The daemon: opens every driver, starts the watchers (link, track scripts, signals) as
//! tokio tasks on the main thread, and hands the routing itself to the [`VrrpLoop`] on a
//! thread of its own, which the watchers reach through an [`event_queue`].
//!
//! The split keeps the per-advert path out of any reactor: the VRRP loop waits in one plain
//! `epoll` set, while the rarely busy watchers keep tokio (netlink link events, child
//! processes, signals). The main thread sleeps in its reactor until one of them has news.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tracing::{info, warn};
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, Change, Vip, VipManager, VmacConfig,
    VmacManager, VmacOps,
};
use vrrp_fsm::{Router, SyncGroupConfig};

use crate::config::{from_file, DaemonSpec, InstanceSpec, SyncGroupSpec};
use crate::event_queue::{event_queue, Event, EventSender};
use crate::instance_io::{InstanceIo, InstanceSlots};
use crate::notify::{spawn_notifier, NOTIFY_TIMEOUT};
use crate::notify_fifo::NotifyFifo;
use crate::reload::{plan_reload, ReloadRequest};
use crate::vrrp_loop::VrrpLoop;
use crate::watchers::Watchers;

/// Why the daemon stopped with an error (exit 1).
#[derive(Debug)]
pub enum DriverError {
    /// Missing CAP_NET_RAW / CAP_NET_ADMIN.
    Privileges(String),
    /// Anything else, with context.
    Other(String),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Privileges(m) => write!(
                f,
                "{m}: minimal_failover needs CAP_NET_RAW and CAP_NET_ADMIN (run it as root)"
            ),
            DriverError::Other(m) => f.write_str(m),
        }
    }
}

pub fn ctx(what: &str, e: vip_netlink::Error) -> DriverError {
    match e {
        vip_netlink::Error::PermissionDenied { .. } => {
            DriverError::Privileges(format!("{what}: {e}"))
        }
        e => DriverError::Other(format!("{what}: {e}")),
    }
}

/// The advert socket of an instance, opened polled (the VRRP loop's `epoll` set watches it):
/// multicast, or unicast to its peers.
pub fn open_advert_socket(inst: &InstanceSpec) -> vip_netlink::Result<AdvertSocket> {
    let family = AddressFamily::of(&inst.fsm.vips[0].addr);
    let mut cfg = AdvertSocketConfig::multicast(inst.advert_iface(), family, inst.fsm.version)
        .with_vrid(inst.fsm.vrid)
        .with_unicast_peers(inst.fsm.unicast_peers.iter().copied())
        .with_ttl(inst.unicast_ttl);
    if let Some(key) = inst.ip_ah {
        cfg = cfg.with_ip_ah(key);
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
/// with their label and scope: the VIPs, then `virtual_ipaddress_excluded`.
pub fn vip_list(inst: &InstanceSpec) -> vip_netlink::Result<Vec<Vip>> {
    inst.held_addresses()
        .map(|v| {
            let mut vip = Vip::new(inst.vip_iface(), v.addr, v.prefix_len)?;
            if let Some((_, o)) = inst.vip_options.iter().find(|(a, _)| *a == v.addr) {
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

/// Creates the VMACs of `instances` (keepalived's `use_vmac`) and returns the names of those
/// this run created, to remove at exit; on an error the ones already created are removed.
async fn create_vmacs<'a>(
    instances: impl IntoIterator<Item = &'a InstanceSpec>,
) -> Result<Vec<String>, DriverError> {
    let mut created = Vec::new();
    let wanted: Vec<&InstanceSpec> = instances.into_iter().filter(|i| i.vmac.is_some()).collect();
    if wanted.is_empty() {
        return Ok(created);
    }
    let mgr = VmacManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    for inst in wanted {
        let Some(v) = &inst.vmac else { continue };
        let family = AddressFamily::of(&inst.fsm.vips[0].addr);
        let made = match VmacConfig::new(inst.iface.clone(), family, inst.fsm.vrid) {
            Ok(cfg) => mgr.create(&cfg.with_name(v.name.clone())).await,
            Err(e) => Err(e),
        };
        match made {
            Ok(vmac) => {
                info!(instance = %inst.name, vmac = %vmac.name, change = ?vmac.change, "VMAC ready");
                if vmac.change == Change::Applied {
                    created.push(vmac.name);
                }
            }
            Err(e) => {
                remove_vmacs(&created).await;
                return Err(ctx(&format!("{}: creating VMAC {}", inst.name, v.name), e));
            }
        }
    }
    Ok(created)
}

/// Removes the VMACs this run created (keepalived removes its VMACs at exit).
async fn remove_vmacs(names: &[String]) {
    if names.is_empty() {
        return;
    }
    let mgr = match VmacManager::new() {
        Ok(m) => m,
        Err(e) => {
            warn!("removing the VMACs: {e}");
            return;
        }
    };
    for name in names {
        if let Err(e) = mgr.remove(name).await {
            warn!(vmac = %name, "removing the VMAC: {e}");
        }
    }
}

/// The VMACs this run created and has not removed yet (a reload adds and removes some).
type CreatedVmacs = Arc<Mutex<Vec<String>>>;

/// A mutex's guard; a panic elsewhere while holding it leaves nothing half-done here.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the daemon until SIGTERM/SIGINT (then shuts down gracefully and returns `Ok`).
/// `config`: the file to re-read on SIGHUP (`None`: started from flags). VMACs it created are
/// removed when it ends, whatever the outcome.
pub async fn run(spec: DaemonSpec, config: Option<PathBuf>) -> Result<(), DriverError> {
    let vmacs = CreatedVmacs::new(Mutex::new(create_vmacs(&spec.instances).await?));
    let result = run_daemon(spec, config, vmacs.clone()).await;
    let left = std::mem::take(&mut *lock(&vmacs));
    remove_vmacs(&left).await;
    result
}

async fn run_daemon(
    spec: DaemonSpec,
    config: Option<PathBuf>,
    vmacs: CreatedVmacs,
) -> Result<(), DriverError> {
    // First of all: SIGHUP's default action would end the daemon and leave its VIPs behind.
    let sighup = signal(SignalKind::hangup())
        .map_err(|e| DriverError::Other(format!("SIGHUP handler: {e}")))?;
    let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    let mut router = Router::new();
    let mut ios = InstanceSlots::default();
    for inst in &spec.instances {
        let id = router
            .add_instance(inst.fsm.clone())
            .map_err(|e| DriverError::Other(format!("{}: {e}", inst.name)))?;
        ios.insert(InstanceIo::open(inst, id, &router)?);
    }
    // At start, an instance's slot is its index in the file.
    let mut group_ids = Vec::with_capacity(spec.sync_groups.len());
    for group in &spec.sync_groups {
        let ids = group
            .members
            .iter()
            .filter_map(|&m| ios.get(m).map(|io| io.id))
            .collect();
        let gid = router
            .add_sync_group(SyncGroupConfig::new(ids))
            .map_err(|e| DriverError::Other(format!("sync group {}: {e}", group.name)))?;
        group_ids.push(gid);
    }

    // A crashed earlier run may have left our VIPs behind; we are not Master yet, so they go.
    for io in ios.iter() {
        io.remove_stale_vips(&vip_mgr)?;
    }

    let (tx, events) = event_queue().map_err(|e| DriverError::Other(format!("eventfd: {e}")))?;

    // Link state of every interface we care about, a watcher task per interface, and the
    // tracker checks.
    let mut watchers = Watchers::new(tx.clone());
    let mut links = BTreeMap::new();
    for (slot, inst) in spec.instances.iter().enumerate() {
        links.extend(watchers.watch_links(inst)?);
        watchers.sync_checks(slot, inst)?;
    }
    let watchers = Arc::new(Mutex::new(watchers));

    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| DriverError::Other(format!("SIGTERM handler: {e}")))?;
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| DriverError::Other(format!("SIGINT handler: {e}")))?;
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let which = tokio::select! {
                _ = sigterm.recv() => "SIGTERM",
                _ = sigint.recv() => "SIGINT",
            };
            tx.send(Event::Shutdown(which));
        });
    }

    tokio::spawn(
        Reloader {
            config,
            log_format: spec.log_format,
            running: spec.instances.iter().cloned().map(Some).collect(),
            groups: spec.sync_groups.clone(),
            fifo: spec.notify_fifo.clone(),
            tx: tx.clone(),
            watchers: watchers.clone(),
            vmacs,
        }
        .run(sighup),
    );

    for io in ios.iter() {
        info!(
            instance = %io.spec.name, iface = %io.spec.iface, vrid = io.spec.fsm.vrid,
            priority = io.spec.fsm.priority, version = ?io.spec.fsm.version,
            advert_int = ?io.spec.fsm.advert_interval, source = ?io.sock.source(),
            unicast_peers = ?io.spec.fsm.unicast_peers, "starting"
        );
    }
    let fifo = match &spec.notify_fifo {
        Some(path) => Some(
            NotifyFifo::open(path)
                .map_err(|e| DriverError::Other(format!("notify_fifo {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let (notify, notifier) = spawn_notifier(fifo);
    // The routing runs on its own thread; this one keeps the watchers until it is done.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let vrrp = VrrpLoop {
        router,
        ios,
        vip_mgr,
        events,
        links,
        sync_groups: spec.sync_groups.clone(),
        group_ids,
        group_states: vec![None; spec.sync_groups.len()],
        notify,
        notify_fifo: spec.notify_fifo.clone(),
        removing: Vec::new(),
    };
    let thread = std::thread::Builder::new()
        .name("vrrp".into())
        .spawn(move || {
            let _ = done_tx.send(vrrp.run());
        })
        .map_err(|e| DriverError::Other(format!("starting the VRRP thread: {e}")))?;
    let result = done_rx
        .await
        .unwrap_or_else(|_| Err(DriverError::Other("the VRRP loop panicked".into())));
    let _ = thread.join();
    lock(&watchers).stop_checks();
    // The loop (and its job sender) is gone: let the queued notify scripts, STOP included,
    // finish, but never hang the exit on them.
    if tokio::time::timeout(NOTIFY_TIMEOUT + Duration::from_secs(1), notifier)
        .await
        .is_err()
    {
        warn!("notify scripts still running at exit");
    }
    result
}

/// The tokio side of SIGHUP: re-reads the file (validation reads the interfaces' addresses:
/// off the VRRP thread), plans it against what runs (see `reload.rs`), creates the VMACs of
/// new instances, hands the plan to the VRRP loop and, once it is applied, starts the
/// watchers of new instances and stops those of removed ones.
struct Reloader {
    config: Option<PathBuf>,
    log_format: crate::cli::LogFormat,
    /// The running instances by slot, as the VRRP loop has them.
    running: Vec<Option<InstanceSpec>>,
    /// The running sync groups, members as slots.
    groups: Vec<SyncGroupSpec>,
    fifo: Option<PathBuf>,
    tx: EventSender,
    watchers: Arc<Mutex<Watchers>>,
    vmacs: CreatedVmacs,
}

impl Reloader {
    async fn run(mut self, mut sighup: tokio::signal::unix::Signal) {
        while sighup.recv().await.is_some() {
            let Some(path) = self.config.clone() else {
                info!("SIGHUP: started from flags, there is no file to reload");
                continue;
            };
            info!(file = %path.display(), "SIGHUP: reloading");
            if let Err(e) = self.reload(&path).await {
                warn!(file = %path.display(), "reload refused: {e}; the running configuration stays");
            }
        }
    }

    async fn reload(&mut self, path: &std::path::Path) -> Result<(), String> {
        let new = from_file(path, self.log_format).map_err(|e| e.to_string())?;
        let plan = plan_reload(&self.running, &self.groups, self.fifo.as_deref(), &new)?;
        let added: Vec<usize> = plan.added().collect();
        let made = create_vmacs(added.iter().map(|&i| &new.instances[i]))
            .await
            .map_err(|e| e.to_string())?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx.send(Event::Reload(Box::new(ReloadRequest {
            spec: new.clone(),
            plan: plan.clone(),
            reply,
        })));
        let slots = match answer.await {
            Ok(Ok(slots)) => slots,
            // The loop refused (and logged why), or it is gone (shutting down).
            Ok(Err(e)) => {
                remove_vmacs(&made).await;
                return Err(e);
            }
            Err(_) => {
                remove_vmacs(&made).await;
                return Ok(());
            }
        };
        lock(&self.vmacs).extend(made);
        for &slot in &plan.removed {
            lock(&self.watchers).remove_checks(slot);
            let Some(gone) = self.running[slot].take() else {
                continue;
            };
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
                            self.tx.send(Event::Link(iface, up));
                        }
                    }
                    Err(e) => warn!(instance = %spec.name, "{e}"),
                }
                if let Err(e) = watchers.sync_checks(slot, spec) {
                    warn!(instance = %spec.name, "{e}");
                }
            }
            if self.running.len() <= slot {
                self.running.resize(slot + 1, None);
            }
            self.running[slot] = Some(spec.clone());
        }
        self.groups = new
            .sync_groups
            .iter()
            .map(|g| SyncGroupSpec {
                members: g.members.iter().map(|&m| slots[m]).collect(),
                ..g.clone()
            })
            .collect();
        Ok(())
    }
}
