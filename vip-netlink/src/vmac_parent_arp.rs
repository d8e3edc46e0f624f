//! The parent interface's ARP settings while VMACs sit on it, and their restoration.
//!
//! keepalived (`set_interface_parameters` / `reset_interface_parameters`) sets
//! `arp_ignore=1` and `arp_filter=1` on a VMAC's parent, so the parent stops answering ARP
//! for the VIPs the VMAC holds, counts the VMACs using the parent, and writes the values it
//! found back when the last of them is removed. A parent already at 1 and 1 is left alone.
//!
//! The count lives here, process-wide, not in a [`VmacManager`](crate::VmacManager): a
//! daemon may remove a VMAC through another manager than the one that created it (after a
//! reload, say), and the parent's values must come back exactly once. Entries are keyed by
//! network namespace, since one process may drive several.

use std::sync::Mutex;

use tracing::{debug, warn};

use crate::error::Result;
use crate::interface::Interface;
use crate::net_sysctl::{self, current_netns, NetnsId};

/// An interface index in one network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NsIndex {
    netns: NetnsId,
    ifindex: u32,
}

/// One parent interface with VMACs of ours on it.
#[derive(Debug)]
struct ParentClaim {
    parent: NsIndex,
    parent_name: String,
    /// `arp_ignore` and `arp_filter` as found before the first VMAC; `None` when they
    /// were already 1 and 1 (nothing to restore).
    original: Option<(String, String)>,
    /// The VMACs (interface indices, same namespace) using this parent.
    vmacs: Vec<u32>,
}

/// Every parent we changed, in every namespace this process touched.
static CLAIMS: Mutex<Vec<ParentClaim>> = Mutex::new(Vec::new());

fn arp_paths(parent: &str) -> (String, String) {
    (
        format!("ipv4/conf/{parent}/arp_ignore"),
        format!("ipv4/conf/{parent}/arp_filter"),
    )
}

/// The VMAC `vmac_index` now sits on `parent` (`parent_index`): the first VMAC on a parent
/// records its `arp_ignore`/`arp_filter` and sets both to 1; later ones are only counted.
pub(crate) fn claim(parent: &str, parent_index: u32, vmac_index: u32) -> Result<()> {
    let netns = current_netns()?;
    let key = NsIndex {
        netns,
        ifindex: parent_index,
    };
    let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
    // A claim whose VMACs all vanished without `release` (deleted by hand or by another
    // tool) no longer holds the parent at 1/1: its values are put back first, so the fresh
    // claim below records the parent's own values and not ours.
    let mut stale = Vec::new();
    claims.retain_mut(|c| {
        if c.parent == key {
            c.vmacs.retain(|v| Interface::by_index(*v).is_ok());
            if c.vmacs.is_empty() {
                if let Some(original) = c.original.take() {
                    stale.push((std::mem::take(&mut c.parent_name), original));
                }
                return false;
            }
        }
        true
    });
    for (name, original) in stale {
        restore(&name, original);
    }
    if let Some(c) = claims.iter_mut().find(|c| c.parent == key) {
        if !c.vmacs.contains(&vmac_index) {
            c.vmacs.push(vmac_index);
        }
        return Ok(());
    }
    let (ignore_path, filter_path) = arp_paths(parent);
    let ignore = net_sysctl::read(&ignore_path)?;
    let filter = net_sysctl::read(&filter_path)?;
    let original = if ignore == "1" && filter == "1" {
        None
    } else {
        net_sysctl::write(&ignore_path, "1")?;
        if let Err(e) = net_sysctl::write(&filter_path, "1") {
            // Not half changed: nothing is recorded, so nothing would restore arp_ignore.
            if let Err(undo) = net_sysctl::write(&ignore_path, &ignore) {
                warn!(%parent, "putting arp_ignore back after a failed arp_filter write: {undo}");
            }
            return Err(e);
        }
        debug!(%parent, arp_ignore = %ignore, arp_filter = %filter, "VMAC parent: arp_ignore=1 arp_filter=1");
        Some((ignore, filter))
    };
    claims.push(ParentClaim {
        parent: key,
        parent_name: parent.to_string(),
        original,
        vmacs: vec![vmac_index],
    });
    Ok(())
}

/// The VMAC `vmac_index` (in the calling thread's namespace) is gone: when it was the last
/// on its parent, the parent gets its original values back. A VMAC this process did not
/// set up (found in place at start) releases nothing. Failures are logged: the VMAC is
/// gone either way, which is what the caller asked for.
pub(crate) fn release(vmac_index: u32) {
    let netns = match current_netns() {
        Ok(n) => n,
        Err(e) => {
            warn!("VMAC parent settings not restored: {e}");
            return;
        }
    };
    let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(pos) = claims
        .iter()
        .position(|c| c.parent.netns == netns && c.vmacs.contains(&vmac_index))
    else {
        return;
    };
    claims[pos].vmacs.retain(|v| *v != vmac_index);
    if !claims[pos].vmacs.is_empty() {
        return;
    }
    let claim = claims.swap_remove(pos);
    if let Some(original) = claim.original {
        restore(&claim.parent_name, original);
    }
}

/// Writes the parent's recorded `arp_ignore`/`arp_filter` back. Failures are logged.
fn restore(parent: &str, (ignore, filter): (String, String)) {
    let (ignore_path, filter_path) = arp_paths(parent);
    let restored = net_sysctl::write(&ignore_path, &ignore)
        .and_then(|()| net_sysctl::write(&filter_path, &filter));
    match restored {
        Ok(()) => {
            debug!(%parent, arp_ignore = %ignore, arp_filter = %filter, "VMAC parent restored")
        }
        // The parent went with its VMACs: nothing is left to restore.
        Err(_) if Interface::by_name(parent).is_err() => {
            debug!(%parent, "VMAC parent gone, nothing to restore")
        }
        Err(e) => warn!(%parent, "restoring the VMAC parent's arp_ignore/arp_filter: {e}"),
    }
}
