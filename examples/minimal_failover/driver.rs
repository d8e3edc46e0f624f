//! The daemon: opens every driver, starts the watchers (link, track scripts, signals) as
//! tokio tasks on the main thread, and hands the routing itself to the [`VrrpLoop`] on a
//! thread of its own, which the watchers reach through an [`event_queue`].
//!
//! The split keeps the per-advert path out of any reactor: the VRRP loop waits in one plain
//! `epoll` set, while the rarely busy watchers keep tokio (netlink link events, child
//! processes, signals). The main thread sleeps in its reactor until one of them has news.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use healthcheck::{
    CheckId, CheckSpec, ExecCheck, FileCheck, Monitor, MonitorConfig, Policy, ProcessCheck,
    TrackWeight,
};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{info, warn};
use vip_netlink::{
    AdvertSocket, AdvertSocketConfig, Announcer, Change, IpFamily, LinkEvent, LinkEvents,
    LinkWatch, Vip, VipManager, VmacConfig, VmacManager, VmacOps,
};
use vrrp_fsm::{Router, SyncGroupConfig};

use crate::config::{
    file_tracker, from_file, process_tracker, script_tracker, DaemonSpec, InstanceSpec,
};
use crate::event_queue::{event_queue, Event};
use crate::notify::{spawn_notifier, NOTIFY_TIMEOUT};
use crate::notify_fifo::NotifyFifo;
use crate::vrrp_loop::{InstanceIo, VrrpLoop};

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

fn ctx(what: &str, e: vip_netlink::Error) -> DriverError {
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
    let family = IpFamily::of(&inst.fsm.vips[0].addr);
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

/// The addresses an instance holds as Master, as `VipManager` entries on its VIP interface:
/// the VIPs, then `virtual_ipaddress_excluded`.
pub fn vip_list(inst: &InstanceSpec) -> vip_netlink::Result<Vec<Vip>> {
    inst.held_addresses()
        .map(|v| Vip::new(inst.vip_iface(), v.addr, v.prefix_len))
        .collect()
}

/// Creates the VMACs of `spec` (keepalived's `use_vmac`) and returns the names of those this
/// run created, to remove at exit; on an error the ones already created are removed.
async fn create_vmacs(spec: &DaemonSpec) -> Result<Vec<String>, DriverError> {
    let mut created = Vec::new();
    if spec.instances.iter().all(|i| i.vmac.is_none()) {
        return Ok(created);
    }
    let mgr = VmacManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    for inst in &spec.instances {
        let Some(v) = &inst.vmac else { continue };
        let family = IpFamily::of(&inst.fsm.vips[0].addr);
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

/// Runs the daemon until SIGTERM/SIGINT (then shuts down gracefully and returns `Ok`).
/// `config`: the file to re-read on SIGHUP (`None`: started from flags). VMACs it created are
/// removed when it ends, whatever the outcome.
pub async fn run(spec: DaemonSpec, config: Option<PathBuf>) -> Result<(), DriverError> {
    let vmacs = create_vmacs(&spec).await?;
    let result = run_daemon(spec, config).await;
    remove_vmacs(&vmacs).await;
    result
}

async fn run_daemon(spec: DaemonSpec, config: Option<PathBuf>) -> Result<(), DriverError> {
    // First of all: SIGHUP's default action would end the daemon and leave its VIPs behind.
    let mut sighup = signal(SignalKind::hangup())
        .map_err(|e| DriverError::Other(format!("SIGHUP handler: {e}")))?;
    let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    let mut router = Router::new();
    let mut ios = Vec::new();
    for inst in &spec.instances {
        let id = router
            .add_instance(inst.fsm.clone())
            .map_err(|e| DriverError::Other(format!("{}: {e}", inst.name)))?;
        let sock = open_advert_socket(inst)
            .map_err(|e| ctx(&format!("{}: opening the advert socket", inst.name), e))?;
        let announcer = Announcer::new_polled(inst.vip_iface())
            .map_err(|e| ctx(&format!("{}: opening the GARP/NA socket", inst.name), e))?;
        let vips = vip_list(inst).map_err(|e| ctx(&inst.name, e))?;
        let advert = match router.instance(id) {
            Some(i) => Box::new(i.advert(0)),
            None => return Err(DriverError::Other(format!("{}: instance lost", inst.name))),
        };
        ios.push(InstanceIo {
            spec: inst.clone(),
            id,
            sock,
            announcer,
            vips,
            advert,
            wake_after: None,
        });
    }
    for group in &spec.sync_groups {
        let ids = group.members.iter().map(|&m| ios[m].id).collect();
        router
            .add_sync_group(SyncGroupConfig::new(ids))
            .map_err(|e| DriverError::Other(format!("sync group {}: {e}", group.name)))?;
    }

    // A crashed earlier run may have left our VIPs behind; we are not Master yet, so they go.
    for io in &ios {
        if io.spec.fsm.priority == 255 {
            continue;
        }
        for v in &io.vips {
            match vip_mgr.remove_now(v) {
                Ok(Change::Applied) => {
                    warn!(instance = %io.spec.name, vip = %v.address(), "removed a stale VIP left by an earlier run")
                }
                Ok(Change::Unchanged) => {}
                Err(e) => return Err(ctx("removing a stale VIP", e)),
            }
        }
    }

    let (tx, events) = event_queue().map_err(|e| DriverError::Other(format!("eventfd: {e}")))?;

    // Link state of every interface we care about, then a watcher task per interface.
    let mut ifaces: BTreeMap<String, ()> = BTreeMap::new();
    for io in &ios {
        ifaces.insert(io.spec.iface.clone(), ());
        for t in &io.spec.track_ifaces {
            ifaces.insert(t.iface.clone(), ());
        }
    }
    let mut links = Vec::new();
    for iface in ifaces.keys() {
        // Links only: the address events of our own VIPs would wake this thread mid-takeover.
        let mut watch =
            LinkWatch::links_only(iface).map_err(|e| ctx(&format!("watching {iface}"), e))?;
        links.push((iface.clone(), watch.is_up()));
        let tx = tx.clone();
        let name = iface.clone();
        tokio::spawn(async move {
            loop {
                match watch.next_event().await {
                    Ok(LinkEvent::Up) => tx.send(Event::Link(name.clone(), true)),
                    Ok(LinkEvent::Down) | Ok(LinkEvent::Removed) => {
                        tx.send(Event::Link(name.clone(), false))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tx.send(Event::Fatal(format!("link watch on {name}: {e}")));
                        return;
                    }
                }
            }
        });
    }

    // Track scripts, files and processes on a healthcheck monitor (rise/fall like
    // vrrp_script); each check feeds one tracker of one instance.
    let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
    let mut checks: BTreeMap<u64, (usize, vrrp_fsm::TrackerId)> = BTreeMap::new();
    let rise_fall = |rise, fall| Policy::Script {
        rise,
        fall,
        init_fail: false,
    };
    let mut add = |i: usize, tracker, what: &str, spec: CheckSpec| {
        let name = &ios[i].spec.name;
        let id = spec.id;
        monitor
            .add(spec)
            .map_err(|e| DriverError::Other(format!("{name}: {what}: {e}")))?;
        checks.insert(id.0, (i, tracker));
        Ok::<(), DriverError>(())
    };
    for (i, io) in ios.iter().enumerate() {
        for (k, t) in io.spec.track_scripts.iter().enumerate() {
            let exec = ExecCheck::new(t.argv.clone())
                .map_err(|e| DriverError::Other(format!("{}: track script: {e}", io.spec.name)))?;
            let spec = CheckSpec::new(CheckId((i * 1000 + k) as u64), exec)
                .interval(t.interval)
                .timeout(t.interval)
                .policy(rise_fall(t.rise, t.fall));
            add(i, script_tracker(k), "track script", spec)?;
        }
        // keepalived watches a track_file with inotify: so does FileCheck under the monitor,
        // the interval being only a fallback.
        for (k, f) in io.spec.track_files.iter().enumerate() {
            let file = FileCheck::new(f.path.clone());
            let spec = CheckSpec::new(CheckId((i * 1000 + 500 + k) as u64), file)
                .interval(Duration::from_secs(1))
                .timeout(Duration::from_secs(1))
                .policy(rise_fall(1, 1))
                .weight(TrackWeight::new(f.weight).scaled_by_value());
            add(i, file_tracker(k), "track file", spec)?;
        }
        for (k, t) in io.spec.track_processes.iter().enumerate() {
            let scan = ProcessCheck::new(t.matcher.clone()).count(t.min, t.max);
            let spec = CheckSpec::new(CheckId((i * 1000 + 750 + k) as u64), scan)
                .interval(t.interval)
                .timeout(t.interval.max(Duration::from_secs(1)))
                .policy(rise_fall(t.rise, t.fall));
            add(i, process_tracker(k), "track process", spec)?;
        }
    }
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(ch) = changes.recv().await {
                let Some(&(i, tracker)) = checks.get(&ch.id.0) else {
                    continue;
                };
                // Up / Down for a script, the file's value for a track_file; nothing before
                // a script's first result.
                let Some(state) = ch.to_vrrp_fsm() else {
                    continue;
                };
                tx.send(Event::Tracker(i, tracker, state));
            }
        });
    }

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

    {
        let tx = tx.clone();
        let log_format = spec.log_format;
        tokio::spawn(async move {
            while sighup.recv().await.is_some() {
                let Some(path) = &config else {
                    info!("SIGHUP: started from flags, there is no file to reload");
                    continue;
                };
                info!(file = %path.display(), "SIGHUP: reloading");
                // Validation reads the interfaces' addresses: off the VRRP thread.
                match from_file(path, log_format) {
                    Ok(new) => tx.send(Event::Reload(Box::new(new))),
                    Err(e) => warn!(
                        file = %path.display(),
                        "reload refused: {e}; the running configuration stays"
                    ),
                }
            }
        });
    }

    for io in &ios {
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
        group_states: vec![None; spec.sync_groups.len()],
        notify,
        notify_fifo: spec.notify_fifo.clone(),
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
    drop(monitor);
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
