//! Adding, removing and listing addresses over rtnetlink.
use std::net::IpAddr;

use async_trait::async_trait;
use futures::StreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope as NlScope,
    CacheInfo,
};
use netlink_packet_route::AddressFamily;
use tracing::debug;

use crate::error::{Error, Result};
use crate::interface::Interface;
use crate::vip::{AddressScope, Change, InterfaceAddress, PreferredLifetime, Vip};

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

/// The rtnetlink [`VipOps`]: one netlink connection driven by a task on the current tokio
/// runtime. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VipManager {
    handle: rtnetlink::Handle,
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
        Ok(VipManager { handle })
    }
}

#[async_trait]
impl VipOps for VipManager {
    async fn add(&self, vip: &Vip) -> Result<Change> {
        let ifc = Interface::by_name(&vip.interface)?;
        check_label(vip)?;
        let mut req = self
            .handle
            .address()
            .add(ifc.index(), vip.address, vip.prefix_len);
        fill_message(req.message_mut(), vip);
        match req.execute().await {
            Ok(()) => {
                debug!(vip = %vip.address, interface = %vip.interface, "VIP added");
                Ok(Change::Applied)
            }
            Err(e) if nl_errno(&e) == Some(libc::EEXIST) => Ok(Change::Unchanged),
            Err(e) => Err(Error::rtnetlink("add address", e, Some(&vip.interface))),
        }
    }

    async fn remove(&self, vip: &Vip) -> Result<Change> {
        let ifc = Interface::by_name(&vip.interface)?;
        let mut msg = AddressMessage::default();
        msg.header.family = family_of(&vip.address);
        msg.header.prefix_len = vip.prefix_len;
        msg.header.index = ifc.index();
        msg.attributes.push(AddressAttribute::Local(vip.address));
        if vip.address.is_ipv6() {
            msg.attributes.push(AddressAttribute::Address(vip.address));
        }
        match self.handle.address().del(msg).execute().await {
            Ok(()) => {
                debug!(vip = %vip.address, interface = %vip.interface, "VIP removed");
                Ok(Change::Applied)
            }
            Err(e) if nl_errno(&e) == Some(libc::EADDRNOTAVAIL) => Ok(Change::Unchanged),
            Err(e) => Err(Error::rtnetlink("remove address", e, Some(&vip.interface))),
        }
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

/// iproute2's rule, which the kernel does not enforce: a label is the interface name or
/// starts with it followed by ':', and fits in IFNAMSIZ.
fn check_label(vip: &Vip) -> Result<()> {
    let Some(label) = &vip.label else {
        return Ok(());
    };
    let ok_prefix = label == &vip.interface
        || label
            .strip_prefix(vip.interface.as_str())
            .is_some_and(|rest| rest.starts_with(':'));
    if !ok_prefix || label.len() >= libc::IF_NAMESIZE {
        return Err(Error::InvalidConfig(format!(
            "label {label:?} must be {0:?} or start with \"{0}:\" and be at most 15 bytes",
            vip.interface
        )));
    }
    if vip.address.is_ipv6() {
        return Err(Error::InvalidConfig("labels are IPv4 only".into()));
    }
    Ok(())
}

/// The errno of a netlink error reply, if it is one.
pub(crate) fn nl_errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
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
