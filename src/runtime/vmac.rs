//! keepalived's `use_vmac`: the macvlans the daemon creates before its instances open their
//! sockets, and removes at exit (or when a reload drops their instance).

use std::sync::{Arc, Mutex};

use tracing::{info, warn};
use vip_netlink::{Change, VmacConfig, VmacManager, VmacOps};

use crate::runtime::daemon::{ctx, DaemonError};
use crate::runtime::spec::InstanceSpec;

/// The VMACs this run created and has not removed yet (a reload adds and removes some).
pub(crate) type CreatedVmacs = Arc<Mutex<Vec<String>>>;

/// How many VMACs are being set up at once: each one is a few netlink round trips and sysctl
/// writes, most of it waiting; one after the other, 1,024 of them kept one node's instances
/// from starting for seven seconds.
const VMACS_AT_ONCE: usize = 16;

/// Creates the VMACs of `instances`, [`VMACS_AT_ONCE`] at a time, and returns the names of
/// those this run created, to remove at exit; on an error the ones created are removed.
pub(crate) async fn create_vmacs<'a>(
    instances: impl IntoIterator<Item = &'a InstanceSpec>,
) -> Result<Vec<String>, DaemonError> {
    let mut created = Vec::new();
    let wanted: Vec<&InstanceSpec> = instances.into_iter().filter(|i| i.vmac.is_some()).collect();
    if wanted.is_empty() {
        return Ok(created);
    }
    let mgr = VmacManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    let slots = Arc::new(tokio::sync::Semaphore::new(VMACS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for inst in wanted {
        let Some(v) = &inst.vmac else { continue };
        let (mgr, slots) = (mgr.clone(), slots.clone());
        let (instance, name) = (inst.name.clone(), v.name.clone());
        let config = VmacConfig::new(inst.iface.clone(), inst.fsm.family, inst.fsm.vrid);
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let made = match config {
                Ok(cfg) => mgr.create(&cfg.with_name(name.clone())).await,
                Err(e) => Err(e),
            };
            (instance, name, made)
        });
    }
    let mut failed = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((instance, _, Ok(vmac))) => {
                info!(%instance, vmac = %vmac.name, change = ?vmac.change, "VMAC ready");
                if vmac.change == Change::Applied {
                    created.push(vmac.name);
                }
            }
            Ok((instance, name, Err(e))) => {
                let e = ctx(&format!("{instance}: creating VMAC {name}"), e);
                failed.get_or_insert(e);
            }
            Err(e) => {
                failed.get_or_insert(DaemonError::Other(format!("creating a VMAC: {e}")));
            }
        }
    }
    if let Some(e) = failed {
        remove_vmacs(&created).await;
        return Err(e);
    }
    Ok(created)
}

/// Removes the VMACs this run created (keepalived removes its VMACs at exit).
pub(crate) async fn remove_vmacs(names: &[String]) {
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
    match mgr.remove_many(names).await {
        Ok(n) => info!(removed = n, "VMACs removed"),
        Err(e) => {
            // One by one, then: whatever the batch left.
            warn!("removing the VMACs in one batch: {e}");
            for name in names {
                if let Err(e) = mgr.remove(name).await {
                    warn!(vmac = %name, "removing the VMAC: {e}");
                }
            }
        }
    }
}
