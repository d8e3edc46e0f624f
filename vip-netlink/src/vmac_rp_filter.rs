//! keepalived's `all.rp_filter` rewrite for VMACs, and its restoration.
//!
//! The kernel filters on `max(all.rp_filter, <dev>.rp_filter)`, so the `rp_filter=0` a VMAC
//! gets means nothing while `all.rp_filter` is set: a strict (1) reverse-path check then drops
//! what clients send to a VIP on the VMAC, since the route back to them leaves through the
//! parent. keepalived therefore, on the first VMAC, raises every interface (and `default`,
//! for interfaces created later) whose own value is lower to the `all` value, so their
//! filtering stays what it was, and sets `all.rp_filter=0`; the VMAC alone ends up
//! unfiltered. When the last VMAC goes, `all`, `default` and the interfaces still there get
//! their values back. Kept per network namespace, process-wide (like
//! [`vmac_parent_arp`](crate::vmac_parent_arp)): any manager may remove the last VMAC.

use std::sync::Mutex;

use tracing::{debug, warn};

use crate::error::Result;
use crate::interface::Interface;
use crate::net_sysctl::{self, current_netns, NetnsId};

/// One namespace with VMACs of ours in it.
#[derive(Debug)]
struct NamespaceClaim {
    netns: NetnsId,
    /// `all.rp_filter` as found and the `(name, value)` of everything raised to it
    /// (`default` included); `None` when `all` was already 0 (nothing rewritten).
    saved: Option<(String, Vec<(String, String)>)>,
    /// The VMACs (interface indices) of ours in the namespace.
    vmacs: Vec<u32>,
}

static CLAIMS: Mutex<Vec<NamespaceClaim>> = Mutex::new(Vec::new());

fn rp_filter(name: &str) -> String {
    format!("ipv4/conf/{name}/rp_filter")
}

/// The filtering level a value stands for (0 off, 1 strict, 2 loose: the kernel takes the
/// maximum); unparsable counts as off.
fn level(value: &str) -> u8 {
    value.parse().unwrap_or(0)
}

/// The VMAC `vmac` (`vmac_index`) now exists in the calling thread's namespace: the first
/// one there rewrites `all.rp_filter` as described in the module docs; later ones are only
/// counted. On failure everything written is put back.
pub(crate) fn claim(vmac: &str, vmac_index: u32) -> Result<()> {
    let netns = current_netns()?;
    let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
    // VMACs that vanished without `release` (deleted by hand or by another tool) no longer
    // hold the rewrite: a claim left without any is restored first.
    let mut stale = Vec::new();
    claims.retain_mut(|c| {
        if c.netns == netns {
            c.vmacs.retain(|v| Interface::by_index(*v).is_ok());
            if c.vmacs.is_empty() {
                stale.push(c.saved.take());
                return false;
            }
        }
        true
    });
    for saved in stale.into_iter().flatten() {
        restore(saved);
    }
    if let Some(c) = claims.iter_mut().find(|c| c.netns == netns) {
        if !c.vmacs.contains(&vmac_index) {
            c.vmacs.push(vmac_index);
        }
        return Ok(());
    }
    let all = net_sysctl::read(&rp_filter("all"))?;
    let saved = if level(&all) == 0 {
        None
    } else {
        let mut raised = Vec::new();
        let result = raise_all_to(&all, vmac, &mut raised)
            .and_then(|()| net_sysctl::write(&rp_filter("all"), "0"));
        if let Err(e) = result {
            restore((all, raised));
            return Err(e);
        }
        debug!(all = %all, raised = raised.len(), "VMAC: all.rp_filter=0, interfaces kept at their filtering");
        Some((all, raised))
    };
    claims.push(NamespaceClaim {
        netns,
        saved,
        vmacs: vec![vmac_index],
    });
    Ok(())
}

/// Raises every interface but `vmac` (and `default`) below `all` to it, recording each.
fn raise_all_to(all: &str, vmac: &str, raised: &mut Vec<(String, String)>) -> Result<()> {
    for name in net_sysctl::ipv4_conf_names()? {
        if name == vmac {
            continue;
        }
        let value = match net_sysctl::read(&rp_filter(&name)) {
            Ok(v) => v,
            // Gone since the listing: nothing to keep filtering.
            Err(_) if name != "default" && Interface::by_name(&name).is_err() => continue,
            Err(e) => return Err(e),
        };
        if level(&value) < level(all) {
            net_sysctl::write(&rp_filter(&name), all)?;
            raised.push((name, value));
        }
    }
    Ok(())
}

/// Writes `all` back first (filtering never drops below what it was), then every raised
/// value; interfaces gone meanwhile are skipped.
fn restore((all, raised): (String, Vec<(String, String)>)) {
    if let Err(e) = net_sysctl::write(&rp_filter("all"), &all) {
        warn!("restoring all.rp_filter={all}: {e}");
    }
    for (name, value) in raised {
        match net_sysctl::write(&rp_filter(&name), &value) {
            Ok(()) => {}
            Err(_) if name != "default" && Interface::by_name(&name).is_err() => {}
            Err(e) => warn!(iface = %name, "restoring rp_filter={value}: {e}"),
        }
    }
}

/// The VMAC `vmac_index` (in the calling thread's namespace) is gone: when it was the last
/// of ours there, the rewrite is undone. Failures are logged.
pub(crate) fn release(vmac_index: u32) {
    let netns = match current_netns() {
        Ok(n) => n,
        Err(e) => {
            warn!("all.rp_filter not restored: {e}");
            return;
        }
    };
    let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(pos) = claims
        .iter()
        .position(|c| c.netns == netns && c.vmacs.contains(&vmac_index))
    else {
        return;
    };
    claims[pos].vmacs.retain(|v| *v != vmac_index);
    if claims[pos].vmacs.is_empty() {
        if let Some(saved) = claims.swap_remove(pos).saved {
            debug!(all = %saved.0, "VMAC: all.rp_filter and the raised interfaces restored");
            restore(saved);
        }
    }
}
