//! keepalived's `use_vmac`: a private-mode macvlan carrying the VRRP virtual MAC.
use async_trait::async_trait;
use futures::StreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::{LinkMacVlan, LinkUnspec};
use tracing::{debug, warn};
use vrrp_proto::AddressFamily;

use crate::error::{Error, Result};
use crate::interface::Interface;
use crate::net_sysctl;
use crate::vip::Change;
use crate::vip_manager::nl_errno;
use crate::{vmac_parent_arp, vmac_rp_filter};

/// The VRRP virtual MAC of `vrid`: 00-00-5e-00-01-{vrid} for IPv4, 00-00-5e-00-02-{vrid}
/// for IPv6 (RFC 5798 §7.3).
///
/// ```
/// use vip_netlink::{virtual_mac, AddressFamily};
/// assert_eq!(virtual_mac(AddressFamily::Ipv4, 51), [0, 0, 0x5e, 0, 1, 51]);
/// ```
pub fn virtual_mac(family: AddressFamily, vrid: u8) -> [u8; 6] {
    let f = match family {
        AddressFamily::Ipv4 => 1,
        AddressFamily::Ipv6 => 2,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// What VMAC to create.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmacConfig {
    pub(crate) parent: String,
    pub(crate) name: String,
    pub(crate) mac: [u8; 6],
    pub(crate) family: AddressFamily,
    pub(crate) sysctls: bool,
}

impl VmacConfig {
    /// A VMAC named `vrrp.<vrid>` on `parent` with the virtual MAC of `family`/`vrid`.
    pub fn new(parent: impl Into<String>, family: AddressFamily, vrid: u8) -> Result<Self> {
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
    /// `accept_local=1`, `rp_filter=0`; on the parent `arp_ignore=1`, `arp_filter=1`, the
    /// parent's own values written back when the last VMAC this process created on it is
    /// removed (as keepalived does; a VMAC found in place at start restores nothing). And,
    /// since the kernel filters on `max(all, <dev>)`, a set `all.rp_filter` becomes 0 with
    /// every other interface (and `default`) below it raised to it, so only the VMACs stop
    /// filtering; all of it is written back when the namespace's last VMAC of ours goes.
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
///
/// ```no_run
/// # async fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{Announce, Announcer, AddressFamily, VmacConfig, VmacManager, VmacOps};
/// let vmacs = VmacManager::new()?;
/// let vmac = vmacs.create(&VmacConfig::new("eth0", AddressFamily::Ipv4, 51)?).await?;
/// // VIPs go on `vrrp.51`; GARPs leave from 00:00:5e:00:01:33.
/// Announcer::new(&vmac.name)?.announce("192.0.2.10".parse().unwrap()).await?;
/// # Ok(()) }
/// ```
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

/// What an existing link looks like, for the idempotence check.
pub(crate) struct ExistingLink {
    pub(crate) index: u32,
    mac: Option<Vec<u8>>,
    parent: Option<u32>,
    is_macvlan: bool,
}

impl ExistingLink {
    /// Reads the kernel's `RTM_NEWLINK` answer to a link lookup.
    pub(crate) fn from_message(msg: LinkMessage) -> Self {
        let mut out = ExistingLink {
            index: msg.header.index,
            mac: None,
            parent: None,
            is_macvlan: false,
        };
        for attr in msg.attributes {
            match attr {
                LinkAttribute::Address(a) => out.mac = Some(a),
                LinkAttribute::Link(l) => out.parent = Some(l),
                LinkAttribute::LinkInfo(infos) => {
                    out.is_macvlan = infos
                        .iter()
                        .any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
                }
                _ => {}
            }
        }
        out
    }
}

/// VMACs deleted per kernel batch by [`VmacManager::remove_many`]: the kernel holds the
/// host-wide RTNL lock for a whole batch, so other namespaces' address and link changes (a
/// peer on the same host taking over) wait at most one batch.
pub const VMACS_PER_BATCH: usize = 64;

impl VmacManager {
    /// Deletes the VMACs named, [`VMACS_PER_BATCH`] per kernel batch: they are moved to a
    /// link group of their own and the group is deleted (`RTM_DELLINK` by `IFLA_GROUP`). The
    /// kernel waits for an RCU grace period after each deletion it makes: one by one, a
    /// daemon's 1,024 VMACs took 20 s at exit (its whole exit now takes 2 s). Absent names are
    /// skipped. Returns how many were deleted.
    ///
    /// ```no_run
    /// # async fn f() -> vip_netlink::Result<()> {
    /// let vmacs = vip_netlink::VmacManager::new()?;
    /// vmacs.remove_many(&["vrrp.51".into(), "vrrp.52".into()]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_many(&self, names: &[String]) -> Result<usize> {
        let mut deleted = 0;
        for batch in names.chunks(VMACS_PER_BATCH) {
            deleted += self.remove_batch(batch).await?;
        }
        Ok(deleted)
    }

    /// One batch of [`remove_many`](Self::remove_many).
    async fn remove_batch(&self, names: &[String]) -> Result<usize> {
        // A group nobody else uses for the blink between the moves and the deletion.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let group = 0x8000_0000 | (std::process::id() << 12) ^ nanos;
        let mut moved = Vec::with_capacity(names.len());
        for name in names {
            let Ok(ifc) = Interface::by_name(name) else {
                continue;
            };
            let msg = LinkUnspec::new_with_index(ifc.index())
                .link_group(group)
                .build();
            match self.handle.link().set(msg).execute().await {
                Ok(()) => moved.push(ifc.index()),
                Err(e) if nl_errno(&e) == Some(libc::ENODEV) => {}
                Err(e) => return Err(Error::rtnetlink("move VMAC to its group", e, Some(name))),
            }
        }
        if moved.is_empty() {
            return Ok(0);
        }
        let mut del = self.handle.link().del(0);
        del.message_mut()
            .attributes
            .push(LinkAttribute::Group(group));
        let deleted = del.execute().await;
        for &index in &moved {
            release_sysctls(index);
        }
        deleted.map_err(|e| Error::rtnetlink("delete the VMACs' group", e, None))?;
        debug!(count = moved.len(), "VMACs removed");
        Ok(moved.len())
    }

    async fn existing(&self, name: &str) -> Result<Option<ExistingLink>> {
        let Ok(ifc) = Interface::by_name(name) else {
            return Ok(None);
        };
        let mut stream = self.handle.link().get().match_index(ifc.index()).execute();
        let Some(msg) = stream.next().await else {
            return Ok(None);
        };
        let msg = match msg {
            Ok(m) => m,
            Err(e) if nl_errno(&e) == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(Error::rtnetlink("get link", e, Some(name))),
        };
        Ok(Some(ExistingLink::from_message(msg)))
    }

    /// Sysctls, link up and (IPv6) link-local of a VMAC just created as `index`.
    async fn set_up_new(&self, config: &VmacConfig, parent: &Interface, index: u32) -> Result<()> {
        let name = &config.name;
        if config.family == AddressFamily::Ipv6 {
            // keepalived: no kernel-generated link-local from the virtual MAC (it would be
            // the same on every router); the link-local is derived from the parent's MAC.
            net_sysctl::write(&format!("ipv6/conf/{name}/addr_gen_mode"), "1")?;
        }
        if config.sysctls {
            net_sysctl::write(&format!("ipv4/conf/{name}/arp_ignore"), "1")?;
            net_sysctl::write(&format!("ipv4/conf/{name}/accept_local"), "1")?;
            net_sysctl::write(&format!("ipv4/conf/{name}/rp_filter"), "0")?;
            vmac_parent_arp::claim(&config.parent, parent.index(), index)?;
            vmac_rp_filter::claim(name, index)?;
        }
        self.set_up(index, name).await?;
        if config.family == AddressFamily::Ipv6 {
            let ll = eui64_link_local(parent.mac()?);
            let mut req = self
                .handle
                .address()
                .add(index, std::net::IpAddr::V6(ll), 64);
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            match req.execute().await {
                Ok(()) => {}
                Err(e) if nl_errno(&e) == Some(libc::EEXIST) => {}
                Err(e) => return Err(Error::rtnetlink("add VMAC link-local", e, Some(name))),
            }
        }
        Ok(())
    }

    async fn set_up(&self, index: u32, name: &str) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| Error::rtnetlink("set VMAC up", e, Some(name)))
    }
}

/// A VMAC of ours is gone: the parent's ARP settings and `all.rp_filter` come back when it
/// was the last to need them.
fn release_sysctls(vmac_index: u32) {
    vmac_parent_arp::release(vmac_index);
    vmac_rp_filter::release(vmac_index);
}

/// The EUI-64 link-local address of a MAC (RFC 4291 appendix A).
fn eui64_link_local(mac: [u8; 6]) -> std::net::Ipv6Addr {
    let b = [
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ];
    std::net::Ipv6Addr::from(b)
}

#[async_trait]
impl VmacOps for VmacManager {
    async fn create(&self, config: &VmacConfig) -> Result<Vmac> {
        if config.name.is_empty() || config.name.len() >= libc::IF_NAMESIZE {
            return Err(Error::InvalidConfig(format!(
                "interface name {:?} must be 1 to 15 bytes",
                config.name
            )));
        }
        let parent = Interface::by_name(&config.parent)?;
        if let Some(link) = self.existing(&config.name).await? {
            let same = link.is_macvlan
                && link.parent == Some(parent.index())
                && link.mac.as_deref() == Some(&config.mac[..]);
            if !same {
                return Err(Error::InvalidConfig(format!(
                    "interface {} exists and is not this VMAC",
                    config.name
                )));
            }
            self.set_up(link.index, &config.name).await?;
            return Ok(Vmac {
                name: config.name.clone(),
                index: link.index,
                mac: config.mac,
                change: Change::Unchanged,
            });
        }
        let msg = LinkMacVlan::new(&config.name, parent.index(), MacVlanMode::Private)
            .address(config.mac.to_vec())
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| Error::rtnetlink("create VMAC", e, Some(&config.parent)))?;
        let vmac = Interface::by_name(&config.name)?;
        // A half-set-up VMAC is worse than none (a retry would find it in place and skip
        // its sysctls): on any failure it goes again, and the parent gets its values back.
        if let Err(e) = self.set_up_new(config, &parent, vmac.index()).await {
            if let Err(del) = self.handle.link().del(vmac.index()).execute().await {
                warn!(vmac = %config.name, "removing the half-created VMAC: {del}");
            }
            release_sysctls(vmac.index());
            return Err(e);
        }
        let name = &config.name;
        debug!(vmac = %name, parent = %config.parent, "VMAC created");
        Ok(Vmac {
            name: config.name.clone(),
            index: vmac.index(),
            mac: config.mac,
            change: Change::Applied,
        })
    }

    async fn remove(&self, name: &str) -> Result<Change> {
        let Ok(ifc) = Interface::by_name(name) else {
            return Ok(Change::Unchanged);
        };
        match self.handle.link().del(ifc.index()).execute().await {
            Ok(()) => {
                debug!(vmac = %name, "VMAC removed");
                release_sysctls(ifc.index());
                Ok(Change::Applied)
            }
            Err(e) if nl_errno(&e) == Some(libc::ENODEV) => {
                release_sysctls(ifc.index());
                Ok(Change::Unchanged)
            }
            Err(e) => Err(Error::rtnetlink("delete VMAC", e, Some(name))),
        }
    }
}
