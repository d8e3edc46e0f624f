//! keepalived's `static_ipaddress`, `static_routes` and `static_rules`: addresses, routes and
//! rules the daemon installs at start-up whatever the VRRP states, and removes at shutdown.
//!
//! As keepalived 2.4 does (`vrrp_daemon.c`): at start, leftovers of an earlier run are
//! removed, then (once the instances know their interfaces' own addresses) the addresses,
//! routes and rules are added, in that order; a static address is never taken for an
//! interface's own (the advert source) when the configuration is validated; at shutdown the
//! rules, routes and addresses go, in that order; a reload removes what the new
//! configuration no longer has and adds what it adds. Failures are logged and the others go
//! on, as for the VIPs. Routes and rules are written as `virtual_routes` and `virtual_rules`
//! are (protocol `keepalived`), addresses as VIPs are, with `dev` naming their interface.
//!
//! ```
//! use hakit::Config;
//! let mut config = Config::from_toml(
//!     "static_ipaddress = ['192.0.2.16/24 dev lo scope link']\n\
//!      static_routes = ['198.51.100.0/24 via 192.0.2.254']\n\
//!      static_rules = ['from 192.0.2.16 table 100']\n",
//! )
//! .unwrap();
//! let statics = hakit::runtime::static_config::validate(&config).unwrap();
//! assert_eq!((statics.addresses.len(), statics.routes.len(), statics.rules.len()), (1, 1, 1));
//! config.static_ipaddress = vec!["192.0.2.16/24".into()];
//! let e = hakit::runtime::static_config::validate(&config).unwrap_err();
//! assert_eq!(e.field, "static_ipaddress[0]");
//! ```

use tracing::warn;
use vip_netlink::{Change, Vip, VipManager, VirtualRoute, VirtualRule};

use crate::runtime::config::{Config, ConfigError};
use crate::runtime::routing::{add_all, remove_all, HeldWithVips};

/// What the daemon installs at start-up, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticSpec {
    /// `static_ipaddress`.
    pub addresses: Vec<Vip>,
    /// `static_routes`.
    pub routes: Vec<VirtualRoute>,
    /// `static_rules`.
    pub rules: Vec<VirtualRule>,
}

impl StaticSpec {
    /// Whether there is nothing to install.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

/// The static addresses, routes and rules of `raw`; errors name the entry
/// (`static_routes[2]`). See the module's example.
pub fn validate(raw: &Config) -> Result<StaticSpec, ConfigError> {
    let mut addresses: Vec<Vip> = Vec::new();
    for (k, text) in raw.static_ipaddress.iter().enumerate() {
        let field = format!("static_ipaddress[{k}]");
        let (va, opts) =
            crate::runtime::spec::parse_vip(text).map_err(|m| ConfigError::new(&field, m))?;
        let Some(dev) = opts.dev else {
            return Err(ConfigError::new(
                field,
                format!("{text:?}: a static address needs `dev IFACE`"),
            ));
        };
        let mut vip = Vip::from_virtual(dev, va)
            .map_err(|e| ConfigError::new(&field, format!("{text:?}: {e}")))?;
        if let Some(label) = opts.label {
            vip = vip.with_label(label);
        }
        if let Some(scope) = opts.scope {
            vip = vip.with_scope(scope);
        }
        if addresses.contains(&vip) {
            return Err(ConfigError::new(field, format!("{text:?} is listed twice")));
        }
        addresses.push(vip);
    }
    Ok(StaticSpec {
        addresses,
        routes: parse_list("static_routes", &raw.static_routes)?,
        rules: parse_list("static_rules", &raw.static_rules)?,
    })
}

fn parse_list<T>(key: &str, texts: &[String]) -> Result<Vec<T>, ConfigError>
where
    T: std::str::FromStr<Err = vip_netlink::Error> + PartialEq,
{
    let mut list = Vec::new();
    for (k, text) in texts.iter().enumerate() {
        let field = format!("{key}[{k}]");
        let item: T = text
            .parse()
            .map_err(|e| ConfigError::new(&field, format!("{text:?}: {e}")))?;
        if list.contains(&item) {
            return Err(ConfigError::new(field, format!("{text:?} is listed twice")));
        }
        list.push(item);
    }
    Ok(list)
}

const OWNER: &str = "static";

fn add_addresses<'a>(vip_mgr: &VipManager, list: impl IntoIterator<Item = &'a Vip>) {
    for v in list {
        if let Err(e) = vip_mgr.add_now(v) {
            warn!(what = "static address", address = %v.address(), iface = v.interface(), "adding: {e}");
        }
    }
}

fn remove_addresses<'a>(vip_mgr: &VipManager, list: impl IntoIterator<Item = &'a Vip>) {
    for v in list {
        if let Err(e) = vip_mgr.remove_now(v) {
            warn!(what = "static address", address = %v.address(), iface = v.interface(), "removing: {e}");
        }
    }
}

fn remove_leftovers<T: HeldWithVips>(vip_mgr: &VipManager, list: &[T]) {
    for item in list {
        match item.remove(vip_mgr) {
            Ok(Change::Applied) => {
                warn!(%item, "removed a static {} left by an earlier run", T::WHAT)
            }
            Ok(Change::Unchanged) => {}
            Err(e) => warn!(%item, "removing a leftover static {}: {e}", T::WHAT),
        }
    }
}

/// First step of a start: removes what an earlier run left (before the advert sockets pick
/// their source address, which a leftover static address must not be).
pub fn clear_leftovers(spec: &StaticSpec, vip_mgr: &VipManager) {
    remove_leftovers(vip_mgr, &spec.rules);
    remove_leftovers(vip_mgr, &spec.routes);
    for v in &spec.addresses {
        if let Ok(Change::Applied) = vip_mgr.remove_now(v) {
            warn!(address = %v.address(), "removed a static address left by an earlier run");
        }
    }
}

/// At start-up, after [`clear_leftovers`]: adds the addresses, routes and rules.
///
/// ```no_run
/// use hakit::runtime::static_config::{clear_leftovers, install, uninstall, validate};
/// let config = hakit::Config::from_toml("static_routes = ['198.51.100.0/24 dev eth0']\n").unwrap();
/// let statics = validate(&config).unwrap();
/// let vip_mgr = hakit::vip::VipManager::new().unwrap();
/// clear_leftovers(&statics, &vip_mgr);
/// install(&statics, &vip_mgr);
/// // ... and at the end:
/// uninstall(&statics, &vip_mgr);
/// ```
pub fn install(spec: &StaticSpec, vip_mgr: &VipManager) {
    add_addresses(vip_mgr, &spec.addresses);
    add_all(OWNER, vip_mgr, &spec.routes);
    add_all(OWNER, vip_mgr, &spec.rules);
}

/// At shutdown: removes the rules, routes and addresses.
pub fn uninstall(spec: &StaticSpec, vip_mgr: &VipManager) {
    remove_all(OWNER, vip_mgr, &spec.rules);
    remove_all(OWNER, vip_mgr, &spec.routes);
    remove_addresses(vip_mgr, &spec.addresses);
}

/// At a reload: what `old` had and `new` has not goes, then what `new` adds comes.
pub fn reload(old: &StaticSpec, new: &StaticSpec, vip_mgr: &VipManager) {
    remove_all(
        OWNER,
        vip_mgr,
        old.rules.iter().filter(|r| !new.rules.contains(r)),
    );
    remove_all(
        OWNER,
        vip_mgr,
        old.routes.iter().filter(|r| !new.routes.contains(r)),
    );
    remove_addresses(
        vip_mgr,
        old.addresses.iter().filter(|a| !new.addresses.contains(a)),
    );
    add_addresses(
        vip_mgr,
        new.addresses.iter().filter(|a| !old.addresses.contains(a)),
    );
    add_all(
        OWNER,
        vip_mgr,
        new.routes.iter().filter(|r| !old.routes.contains(r)),
    );
    add_all(
        OWNER,
        vip_mgr,
        new.rules.iter().filter(|r| !old.rules.contains(r)),
    );
}
