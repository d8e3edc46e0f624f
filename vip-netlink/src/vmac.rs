//! keepalived's `use_vmac`: a private-mode macvlan carrying the VRRP virtual MAC.
use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::interface::IpFamily;
use crate::vip::Change;

/// The VRRP virtual MAC of `vrid`: 00-00-5e-00-01-{vrid} for IPv4, 00-00-5e-00-02-{vrid}
/// for IPv6 (RFC 5798 §7.3).
///
/// ```
/// use vip_netlink::{virtual_mac, IpFamily};
/// assert_eq!(virtual_mac(IpFamily::V4, 51), [0, 0, 0x5e, 0, 1, 51]);
/// ```
pub fn virtual_mac(family: IpFamily, vrid: u8) -> [u8; 6] {
    let f = match family {
        IpFamily::V4 => 1,
        IpFamily::V6 => 2,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// What VMAC to create.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmacConfig {
    pub(crate) parent: String,
    pub(crate) name: String,
    pub(crate) mac: [u8; 6],
    pub(crate) family: IpFamily,
    pub(crate) sysctls: bool,
}

impl VmacConfig {
    /// A VMAC named `vrrp.<vrid>` on `parent` with the virtual MAC of `family`/`vrid`.
    pub fn new(parent: impl Into<String>, family: IpFamily, vrid: u8) -> Result<Self> {
        if vrid == 0 {
            return Err(Error::InvalidConfig("VRID 0 is reserved".into()));
        }
        Ok(VmacConfig {
            parent: parent.into(),
            name: format!("vrrp.{vrid}"),
            mac: virtual_mac(family, vrid),
            family,
            sysctls: true,
        })
    }

    /// Another interface name (keepalived's `use_vmac <name>`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Another MAC address.
    pub fn with_mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = mac;
        self
    }

    /// Whether to set keepalived's sysctls (default true): on the VMAC `arp_ignore=1`,
    /// `accept_local=1`, `rp_filter=0`; on the parent `arp_ignore=1`, `arp_filter=1`.
    pub fn with_sysctls(mut self, on: bool) -> Self {
        self.sysctls = on;
        self
    }

    /// The VMAC interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }
}

/// A VMAC interface that exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vmac {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// Whether [`VmacOps::create`] created it or found it in place.
    pub change: Change,
}

/// VMAC operations, so a daemon can plug another backend.
#[async_trait]
pub trait VmacOps: Send + Sync {
    /// Create the macvlan (private mode) and set it up; an existing VMAC with the same
    /// name, parent and MAC is reused.
    async fn create(&self, config: &VmacConfig) -> Result<Vmac>;
    /// Delete the VMAC by name; an absent one is [`Change::Unchanged`].
    async fn remove(&self, name: &str) -> Result<Change>;
}

/// The rtnetlink [`VmacOps`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VmacManager {
    handle: rtnetlink::Handle,
}

impl VmacManager {
    /// Open a netlink connection and spawn its driver task (needs a tokio runtime).
    pub fn new() -> Result<Self> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| Error::io("netlink socket", e))?;
        tokio::spawn(conn);
        Ok(VmacManager { handle })
    }
}

#[async_trait]
impl VmacOps for VmacManager {
    async fn create(&self, config: &VmacConfig) -> Result<Vmac> {
        let _ = (config, &self.handle);
        todo!("being implemented")
    }

    async fn remove(&self, name: &str) -> Result<Change> {
        let _ = name;
        todo!("being implemented")
    }
}
