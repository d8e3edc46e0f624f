//! Adding, removing and listing addresses over rtnetlink.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope as NlScope,
    CacheInfo,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use tracing::debug;

use crate::error::{errno_of, Error, Result};
use crate::interface::Interface;
use crate::netlink_request::{Ack, NetlinkRequester};
use crate::vip::{AddressScope, Change, InterfaceAddress, PreferredLifetime, Vip};
use crate::virtual_route::VirtualRoute;
use crate::virtual_rule::VirtualRule;

/// Address operations an instance needs, so a daemon can plug another backend.
/// [`VipManager`] is the rtnetlink implementation.
#[async_trait]
pub trait VipOps: Send + Sync {
    /// Add the VIP; adding a present address is [`Change::Unchanged`].
    async fn add(&self, vip: &Vip) -> Result<Change>;
    /// Remove the VIP; removing an absent address is [`Change::Unchanged`].
    async fn remove(&self, vip: &Vip) -> Result<Change>;
    /// All addresses on an interface.
    async fn list(&self, interface: &str) -> Result<Vec<InterfaceAddress>>;
}

/// The rtnetlink [`VipOps`]. Cheap to clone (clones share the sockets and the cache).
///
/// Adding and removing go through a netlink socket of its own, request and acknowledgement
/// on the calling thread (the kernel answers inside the send; [`add_now`](Self::add_now) and
/// [`remove_now`](Self::remove_now) need no runtime), with each interface's index
/// cached after the first look-up and forgotten when the kernel says the interface is
/// gone. Listing uses an `rtnetlink` connection driven by a task on the current runtime.
#[derive(Debug, Clone)]
pub struct VipManager {
    handle: rtnetlink::Handle,
    direct: Arc<Mutex<NetlinkRequester>>,
    ifindex: Arc<Mutex<HashMap<String, u32>>>,
}

impl VipManager {
    /// Open a netlink connection and spawn its driver task (needs a tokio runtime).
    ///
    /// ```no_run
    /// # async fn f() -> vip_netlink::Result<()> {
    /// use vip_netlink::{Vip, VipManager, VipOps};
    /// let vips = VipManager::new()?;
    /// vips.add(&Vip::new("eth0", "192.0.2.10".parse().unwrap(), 24)?).await?;
    /// # Ok(()) }
    /// ```
    pub fn new() -> Result<Self> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| Error::io("netlink socket", e))?;
        tokio::spawn(conn);
        let direct = NetlinkRequester::new().map_err(|e| Error::io("netlink socket", e))?;
        Ok(VipManager {
            handle,
            direct: Arc::new(Mutex::new(direct)),
            ifindex: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The interface's index, from the cache or looked up (and cached).
    fn index_of(&self, interface: &str) -> Result<u32> {
        let mut cache = self.ifindex.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&i) = cache.get(interface) {
            return Ok(i);
        }
        let i = Interface::by_name(interface)?.index();
        cache.insert(interface.to_string(), i);
        Ok(i)
    }

    fn forget_index(&self, interface: &str) {
        let mut cache = self.ifindex.lock().unwrap_or_else(|e| e.into_inner());
        cache.remove(interface);
    }

    /// Send one request with `interface`'s cached index (none without an interface); if the
    /// kernel says the interface is gone (it may have been re-created with a new index),
    /// look it up again once.
    fn interface_request(
        &self,
        op: &'static str,
        interface: Option<&str>,
        build: impl Fn(Option<u32>) -> (RouteNetlinkMessage, u16),
    ) -> Result<Ack> {
        let mut retried = false;
        loop {
            let index = interface.map(|i| self.index_of(i)).transpose()?;
            let (msg, flags) = build(index);
            let ack = self
                .direct
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .request(msg, flags)
                .map_err(|e| Error::io(op, e))?;
            match (ack, interface) {
                (Ack::Errno(libc::ENODEV) | Ack::Errno(libc::ENXIO), Some(interface)) => {
                    self.forget_index(interface);
                    if retried {
                        return Ok(ack);
                    }
                    retried = true;
                }
                (ack, _) => return Ok(ack),
            }
        }
    }

    fn address_request(
        &self,
        op: &'static str,
        vip: &Vip,
        already_so: i32,
        build: impl Fn(u32) -> (RouteNetlinkMessage, u16),
    ) -> Result<Change> {
        self.idempotent_request(op, Some(&vip.interface), already_so, |i| {
            build(i.unwrap_or(0))
        })
    }

    /// Installs one of keepalived's `virtual_routes` on the calling thread, without a runtime
    /// (see [`add_now`](Self::add_now)); one already there is [`Change::Unchanged`].
    ///
    /// ```no_run
    /// # fn f(vips: &vip_netlink::VipManager) -> vip_netlink::Result<()> {
    /// let route = "10.99.0.0/16 via 192.0.2.254".parse()?;
    /// vips.add_route_now(&route)?;
    /// # Ok(()) }
    /// ```
    pub fn add_route_now(&self, route: &VirtualRoute) -> Result<Change> {
        route.validate()?;
        let hops = next_hop_indexes(route)?;
        let index_of = |name: &str| hops.get(name).copied();
        let change =
            self.idempotent_request("add route", route.interface(), libc::EEXIST, |oif| {
                (
                    RouteNetlinkMessage::NewRoute(route.message(oif, &index_of)),
                    NLM_F_EXCL | NLM_F_CREATE,
                )
            })?;
        debug!(%route, ?change, "add route");
        Ok(change)
    }

    /// Removes one of keepalived's `virtual_routes` (only a route of protocol `keepalived`
    /// matches); an absent one is [`Change::Unchanged`].
    pub fn remove_route_now(&self, route: &VirtualRoute) -> Result<Change> {
        let change = next_hop_indexes(route).and_then(|hops| {
            let index_of = |name: &str| hops.get(name).copied();
            self.idempotent_request("remove route", route.interface(), libc::ESRCH, |oif| {
                (
                    RouteNetlinkMessage::DelRoute(route.message(oif, &index_of)),
                    0,
                )
            })
        });
        let change = match change {
            // Its interface is gone, and the route with it.
            Err(Error::NoSuchInterface(_)) => Change::Unchanged,
            other => other?,
        };
        debug!(%route, ?change, "remove route");
        Ok(change)
    }

    /// Installs one of keepalived's `virtual_rules` on the calling thread, without a runtime
    /// (see [`add_now`](Self::add_now)); one already there is [`Change::Unchanged`].
    ///
    /// ```no_run
    /// # fn f(vips: &vip_netlink::VipManager) -> vip_netlink::Result<()> {
    /// let rule = "from 192.0.2.100 table 100 priority 1000".parse()?;
    /// vips.add_rule_now(&rule)?;
    /// # Ok(()) }
    /// ```
    pub fn add_rule_now(&self, rule: &VirtualRule) -> Result<Change> {
        let change = self.idempotent_request("add rule", None, libc::EEXIST, |_| {
            (
                RouteNetlinkMessage::NewRule(rule.message()),
                NLM_F_EXCL | NLM_F_CREATE,
            )
        })?;
        debug!(%rule, ?change, "add rule");
        Ok(change)
    }

    /// Removes one of keepalived's `virtual_rules` (only a rule of protocol `keepalived`
    /// matches); an absent one is [`Change::Unchanged`].
    pub fn remove_rule_now(&self, rule: &VirtualRule) -> Result<Change> {
        let change = self.idempotent_request("remove rule", None, libc::ENOENT, |_| {
            (RouteNetlinkMessage::DelRule(rule.message()), 0)
        })?;
        debug!(%rule, ?change, "remove rule");
        Ok(change)
    }

    /// One request of an idempotent add or remove: done is [`Change::Applied`], the kernel's
    /// `already_so` errno (EEXIST for an add, the "no such" one for a removal)
    /// [`Change::Unchanged`], any other errno an error.
    fn idempotent_request(
        &self,
        op: &'static str,
        interface: Option<&str>,
        already_so: i32,
        build: impl Fn(Option<u32>) -> (RouteNetlinkMessage, u16),
    ) -> Result<Change> {
        match self.interface_request(op, interface, build)? {
            Ack::Ok => Ok(Change::Applied),
            Ack::Errno(errno) if errno == already_so => Ok(Change::Unchanged),
            Ack::Errno(errno) => Err(Error::netlink(op, errno, interface)),
        }
    }

    /// [`VipOps::add`] on the calling thread, without a runtime: for a caller's own event
    /// loop. Returns at once: the kernel acknowledges inside the request's send.
    ///
    /// ```no_run
    /// # fn f(vips: &vip_netlink::VipManager) -> vip_netlink::Result<()> {
    /// use vip_netlink::Vip;
    /// vips.add_now(&Vip::new("eth0", "192.0.2.10".parse().unwrap(), 24)?)?;
    /// # Ok(()) }
    /// ```
    pub fn add_now(&self, vip: &Vip) -> Result<Change> {
        vip.check_label()?;
        let change = self.address_request("add address", vip, libc::EEXIST, |index| {
            let mut msg = add_message(index, vip);
            fill_message(&mut msg, vip);
            (
                RouteNetlinkMessage::NewAddress(msg),
                NLM_F_EXCL | NLM_F_CREATE,
            )
        })?;
        if change == Change::Applied {
            debug!(vip = %vip.address, interface = %vip.interface, "VIP added");
        }
        Ok(change)
    }

    /// [`VipOps::remove`] on the calling thread, without a runtime (see
    /// [`add_now`](Self::add_now)).
    pub fn remove_now(&self, vip: &Vip) -> Result<Change> {
        let change = self.address_request("remove address", vip, libc::EADDRNOTAVAIL, |index| {
            let mut msg = AddressMessage::default();
            msg.header.family = family_of(&vip.address);
            msg.header.prefix_len = vip.prefix_len;
            msg.header.index = index;
            msg.attributes.push(AddressAttribute::Local(vip.address));
            if vip.address.is_ipv6() {
                msg.attributes.push(AddressAttribute::Address(vip.address));
            }
            (RouteNetlinkMessage::DelAddress(msg), 0)
        })?;
        if change == Change::Applied {
            debug!(vip = %vip.address, interface = %vip.interface, "VIP removed");
        }
        Ok(change)
    }
}

#[async_trait]
impl VipOps for VipManager {
    async fn add(&self, vip: &Vip) -> Result<Change> {
        self.add_now(vip)
    }

    async fn remove(&self, vip: &Vip) -> Result<Change> {
        self.remove_now(vip)
    }

    async fn list(&self, interface: &str) -> Result<Vec<InterfaceAddress>> {
        let ifc = Interface::by_name(interface)?;
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifc.index())
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = stream.next().await {
            let msg = msg.map_err(|e| Error::rtnetlink("list addresses", e, Some(interface)))?;
            if msg.header.index != ifc.index() {
                continue;
            }
            if let Some(a) = interface_address(&msg) {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// The errno of a netlink error reply, if it is one.
pub(crate) fn nl_errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(errno_of(m.raw_code())),
        _ => None,
    }
}

/// The `RTM_NEWADDR` keepalived sends for a VIP: local and address both the VIP, and no
/// broadcast address (keepalived sets one only when told `brd`; `rtnetlink`'s builder would
/// add it for an IPv4 prefix shorter than /31, and `ip addr` would then show a `brd` that a
/// keepalived node has not).
fn add_message(index: u32, vip: &Vip) -> AddressMessage {
    match vip.address {
        IpAddr::V4(a) => {
            let mut msg = rtnetlink::AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(index)
                .address(a, vip.prefix_len)
                .build();
            msg.attributes
                .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
            msg
        }
        IpAddr::V6(a) => rtnetlink::AddressMessageBuilder::<std::net::Ipv6Addr>::new()
            .index(index)
            .address(a, vip.prefix_len)
            .build(),
    }
}

fn family_of(a: &IpAddr) -> AddressFamily {
    match a {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// Put the VIP's scope, label, flags and lifetimes into an `RTM_NEWADDR`.
fn fill_message(msg: &mut AddressMessage, vip: &Vip) {
    msg.header.scope = NlScope::from(vip.scope.to_raw());
    if let Some(label) = &vip.label {
        msg.attributes.push(AddressAttribute::Label(label.clone()));
    }
    if vip.address.is_ipv6() {
        let mut flags = AddressFlags::empty();
        if vip.nodad {
            flags |= AddressFlags::Nodad;
            msg.header.flags |= AddressHeaderFlags::Nodad;
        }
        msg.attributes.push(AddressAttribute::Flags(flags));
        if let PreferredLifetime::Seconds(secs) = vip.preferred_lifetime {
            // The valid lifetime stays infinite: only the preferred one moves, as
            // `ip addr add ... preferred_lft N` does.
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = secs;
            ci.ifa_valid = u32::MAX;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
    }
}

/// Decode one `RTM_NEWADDR` into an [`InterfaceAddress`].
pub(crate) fn interface_address(msg: &AddressMessage) -> Option<InterfaceAddress> {
    let mut address = None;
    let mut local = None;
    let mut label = None;
    let mut flags = u32::from(msg.header.flags.bits());
    let mut preferred = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Flags(f) => flags = f.bits(),
            AddressAttribute::CacheInfo(ci) if ci.ifa_preferred != u32::MAX => {
                preferred = Some(ci.ifa_preferred)
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address on IPv4 (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 carries only IFA_ADDRESS.
    let address = local.or(address)?;
    Some(InterfaceAddress {
        ifindex: msg.header.index,
        address,
        prefix_len: msg.header.prefix_len,
        label,
        scope: AddressScope::from_raw(u8::from(msg.header.scope)),
        flags,
        preferred_lifetime: preferred,
    })
}

/// The index of every interface a route's next hops name, looked up afresh (routes change at
/// transitions only, and a cached index could name an interface re-created since).
fn next_hop_indexes(route: &VirtualRoute) -> Result<std::collections::HashMap<String, u32>> {
    route
        .next_hops()
        .iter()
        .filter_map(|h| h.interface.as_deref())
        .map(|name| Ok((name.to_string(), Interface::by_name(name)?.index())))
        .collect()
}
