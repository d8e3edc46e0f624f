//! keepalived's `virtual_routes` and `virtual_rules` of an instance: installed while it
//! holds its VIPs, after them (a route may use a VIP as its source; a rule points at a table
//! the routes fill), and removed before them, in the reverse order. Failures are logged and
//! the others go on, as for the VIPs.

use tracing::warn;
use vip_netlink::{Change, VipManager, VirtualRoute, VirtualRule};

use crate::runtime::spec::InstanceSpec;

/// Routes or rules that come and go with the VIPs.
pub trait HeldWithVips: std::fmt::Display {
    /// What it is, for the logs.
    const WHAT: &'static str;
    fn add(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change>;
    fn remove(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change>;
}

impl HeldWithVips for VirtualRoute {
    const WHAT: &'static str = "route";
    fn add(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change> {
        vip_mgr.add_route_now(self)
    }
    fn remove(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change> {
        vip_mgr.remove_route_now(self)
    }
}

impl HeldWithVips for VirtualRule {
    const WHAT: &'static str = "rule";
    fn add(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change> {
        vip_mgr.add_rule_now(self)
    }
    fn remove(&self, vip_mgr: &VipManager) -> vip_netlink::Result<Change> {
        vip_mgr.remove_rule_now(self)
    }
}

/// Installs `items` of instance `name`.
pub fn add_all<'a, T: HeldWithVips + 'a>(
    name: &str,
    vip_mgr: &VipManager,
    items: impl IntoIterator<Item = &'a T>,
) {
    for item in items {
        if let Err(e) = item.add(vip_mgr) {
            warn!(instance = %name, what = T::WHAT, %item, "adding: {e}");
        }
    }
}

/// Removes `items` of instance `name`.
pub fn remove_all<'a, T: HeldWithVips + 'a>(
    name: &str,
    vip_mgr: &VipManager,
    items: impl IntoIterator<Item = &'a T>,
) {
    for item in items {
        if let Err(e) = item.remove(vip_mgr) {
            warn!(instance = %name, what = T::WHAT, %item, "removing: {e}");
        }
    }
}

/// After the VIPs are in: routes, then rules.
pub fn install(spec: &InstanceSpec, vip_mgr: &VipManager) {
    add_all(&spec.name, vip_mgr, &spec.routes);
    add_all(&spec.name, vip_mgr, &spec.rules);
}

/// Before the VIPs go: rules, then routes.
pub fn uninstall(spec: &InstanceSpec, vip_mgr: &VipManager) {
    remove_all(&spec.name, vip_mgr, &spec.rules);
    remove_all(&spec.name, vip_mgr, &spec.routes);
}

/// A reload of a Master holding its VIPs, first step: what `new` no longer has goes.
pub fn drop_removed(old: &InstanceSpec, new: &InstanceSpec, vip_mgr: &VipManager) {
    let gone_rules = old.rules.iter().filter(|r| !new.rules.contains(r));
    remove_all(&old.name, vip_mgr, gone_rules);
    let gone_routes = old.routes.iter().filter(|r| !new.routes.contains(r));
    remove_all(&old.name, vip_mgr, gone_routes);
}

/// A reload of a Master holding its VIPs, last step (the new VIPs are in): what `new` adds.
pub fn add_new(old: &InstanceSpec, new: &InstanceSpec, vip_mgr: &VipManager) {
    let new_routes = new.routes.iter().filter(|r| !old.routes.contains(r));
    add_all(&new.name, vip_mgr, new_routes);
    let new_rules = new.rules.iter().filter(|r| !old.rules.contains(r));
    add_all(&new.name, vip_mgr, new_rules);
}

/// Removes leftovers of a crashed earlier run; `Err` on the first failure.
pub fn remove_stale(spec: &InstanceSpec, vip_mgr: &VipManager) -> Result<(), String> {
    remove_stale_of(&spec.name, vip_mgr, &spec.rules)?;
    remove_stale_of(&spec.name, vip_mgr, &spec.routes)
}

fn remove_stale_of<'a, T: HeldWithVips + 'a>(
    name: &str,
    vip_mgr: &VipManager,
    items: impl IntoIterator<Item = &'a T>,
) -> Result<(), String> {
    for item in items {
        let removed = item
            .remove(vip_mgr)
            .map_err(|e| format!("removing a stale {}: {e}", T::WHAT))?;
        if removed == Change::Applied {
            warn!(instance = %name, %item, "removed a stale {} left by an earlier run", T::WHAT);
        }
    }
    Ok(())
}
