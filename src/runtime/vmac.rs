//! keepalived's `use_vmac`: the macvlans the daemon creates before its instances open their
//! sockets, and removes at exit (or when a reload drops their instance).

use std::sync::{Arc, Mutex};

use tracing::{info, warn};
use vip_netlink::{Change, VmacConfig, VmacManager, VmacOps};

use crate::runtime::daemon::{ctx, DaemonError};
use crate::runtime::spec::InstanceSpec;

/// The VMACs this run created and has not removed yet (a reload adds and removes some).
pub(crate) type CreatedVmacs = Arc<Mutex<Vec<String>>>;

/// Creates the VMACs of `instances` and returns the names of those this run created, to
/// remove at exit; on an error the ones already created are removed.
pub(crate) async fn create_vmacs<'a>(
    instances: impl IntoIterator<Item = &'a InstanceSpec>,
) -> Result<Vec<String>, DaemonError> {
    let mut created = Vec::new();
    let wanted: Vec<&InstanceSpec> = instances.into_iter().filter(|i| i.vmac.is_some()).collect();
    if wanted.is_empty() {
        return Ok(created);
    }
    let mgr = VmacManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    for inst in wanted {
        let Some(v) = &inst.vmac else { continue };
        let family = inst.fsm.family;
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
