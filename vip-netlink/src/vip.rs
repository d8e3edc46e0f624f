//! A virtual IP address as keepalived's `virtual_ipaddress` entries describe it.
use std::net::IpAddr;

use vrrp_proto::VirtualAddress;

use crate::error::{Error, Result};

/// Address scope (`ip addr add ... scope`), RFC 3549 `ifa_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AddressScope {
    /// `scope global` (0), keepalived's default.
    #[default]
    Global,
    /// `scope site` (200).
    Site,
    /// `scope link` (253).
    Link,
    /// `scope host` (254).
    Host,
    /// `scope nowhere` (255).
    Nowhere,
}

impl AddressScope {
    /// The kernel's numeric scope.
    pub fn to_raw(self) -> u8 {
        match self {
            AddressScope::Global => 0,
            AddressScope::Site => 200,
            AddressScope::Link => 253,
            AddressScope::Host => 254,
            AddressScope::Nowhere => 255,
        }
    }

    /// From the kernel's numeric scope (unknown values map to `Global`).
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            200 => AddressScope::Site,
            253 => AddressScope::Link,
            254 => AddressScope::Host,
            255 => AddressScope::Nowhere,
            _ => AddressScope::Global,
        }
    }
}

/// IPv6 preferred lifetime of a VIP (`ip addr add ... preferred_lft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreferredLifetime {
    /// `preferred_lft forever`: the VIP may be picked as a source address.
    Forever,
    /// `preferred_lft N` seconds; 0 makes the address deprecated at once, so the kernel
    /// does not pick the VIP as source address for outgoing connections (keepalived's
    /// `preferred_lft 0` option, recommended for IPv6 VIPs). The valid lifetime stays
    /// forever.
    Seconds(u32),
}

/// Whether an idempotent operation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// The kernel state was changed.
    Applied,
    /// The kernel was already in the requested state (address present / absent).
    Unchanged,
}

/// One virtual address on one interface.
///
/// ```
/// use vip_netlink::{Vip, AddressScope};
/// let vip = Vip::new("eth0", "192.0.2.10".parse().unwrap(), 24)
///     .unwrap()
///     .with_label("eth0:1")
///     .with_scope(AddressScope::Global);
/// assert_eq!(vip.label(), Some("eth0:1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vip {
    pub(crate) interface: String,
    pub(crate) address: IpAddr,
    pub(crate) prefix_len: u8,
    pub(crate) label: Option<String>,
    pub(crate) scope: AddressScope,
    pub(crate) nodad: bool,
    pub(crate) preferred_lifetime: PreferredLifetime,
}

impl Vip {
    /// A VIP `address/prefix_len` on `interface`. IPv6 VIPs default to `nodad` (they must
    /// answer at once after a failover, as keepalived adds them) and `preferred_lft forever`.
    pub fn new(interface: impl Into<String>, address: IpAddr, prefix_len: u8) -> Result<Self> {
        let max = vrrp_proto::AddressFamily::of(&address).max_prefix_len();
        if prefix_len > max {
            return Err(Error::InvalidConfig(format!(
                "prefix length {prefix_len} too long for {address}"
            )));
        }
        Ok(Vip {
            interface: interface.into(),
            address,
            prefix_len,
            label: None,
            scope: AddressScope::Global,
            nodad: address.is_ipv6(),
            preferred_lifetime: PreferredLifetime::Forever,
        })
    }

    /// A VIP on `interface` from a configuration's [`VirtualAddress`] (the type `vrrp_fsm`'s
    /// `InstanceConfig::vips` holds), with [`Vip::new`]'s defaults and checks.
    ///
    /// ```
    /// use vip_netlink::{VirtualAddress, Vip};
    /// let va = VirtualAddress::new("192.0.2.10".parse().unwrap(), 24);
    /// let vip = Vip::from_virtual("eth0", va).unwrap();
    /// assert_eq!(vip.virtual_address(), va);
    /// assert!(Vip::from_virtual("eth0", VirtualAddress::new(va.addr, 33)).is_err());
    /// ```
    pub fn from_virtual(interface: impl Into<String>, address: VirtualAddress) -> Result<Self> {
        Vip::new(interface, address.addr, address.prefix_len)
    }

    /// IPv4 label (`label eth0:1`). The kernel requires it to start with the interface name.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Address scope.
    pub fn with_scope(mut self, scope: AddressScope) -> Self {
        self.scope = scope;
        self
    }

    /// IPv6 `nodad` (skip duplicate address detection). Ignored for IPv4.
    pub fn with_nodad(mut self, nodad: bool) -> Self {
        self.nodad = nodad;
        self
    }

    /// IPv6 preferred lifetime. Ignored for IPv4.
    pub fn with_preferred_lifetime(mut self, lft: PreferredLifetime) -> Self {
        self.preferred_lifetime = lft;
        self
    }

    /// Interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }
    /// The address.
    pub fn address(&self) -> IpAddr {
        self.address
    }
    /// Prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }
    /// The address with its prefix length, as a configuration names it.
    pub fn virtual_address(&self) -> VirtualAddress {
        VirtualAddress::new(self.address, self.prefix_len)
    }
    /// Label, if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
    /// Scope.
    pub fn scope(&self) -> AddressScope {
        self.scope
    }
    /// IPv6 nodad.
    pub fn nodad(&self) -> bool {
        self.nodad
    }
    /// IPv6 preferred lifetime.
    pub fn preferred_lifetime(&self) -> PreferredLifetime {
        self.preferred_lifetime
    }

    /// iproute2's rule, which the kernel does not enforce: a label is the interface name or
    /// starts with it followed by ':', and fits in IFNAMSIZ; IPv4 only. [`VipManager::add_now`](crate::VipManager::add_now)
    /// checks it; a configuration can check it before any I/O.
    ///
    /// ```
    /// use vip_netlink::Vip;
    /// let vip = Vip::new("eth0", "192.0.2.10".parse().unwrap(), 24).unwrap();
    /// assert!(vip.clone().with_label("eth0:web").check_label().is_ok());
    /// assert!(vip.with_label("web").check_label().is_err());
    /// ```
    pub fn check_label(&self) -> Result<()> {
        let Some(label) = &self.label else {
            return Ok(());
        };
        let ok_prefix = label == &self.interface
            || label
                .strip_prefix(self.interface.as_str())
                .is_some_and(|rest| rest.starts_with(':'));
        if !ok_prefix || label.len() >= libc::IF_NAMESIZE {
            return Err(Error::InvalidConfig(format!(
                "label {label:?} must be {0:?} or start with \"{0}:\" and be at most 15 bytes",
                self.interface
            )));
        }
        if self.address.is_ipv6() {
            return Err(Error::InvalidConfig("labels are IPv4 only".into()));
        }
        Ok(())
    }
}

impl From<&Vip> for VirtualAddress {
    /// The VIP's address and prefix length (its interface and options are dropped).
    fn from(vip: &Vip) -> Self {
        vip.virtual_address()
    }
}

/// One address as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// Interface index.
    pub ifindex: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Label (IPv4).
    pub label: Option<String>,
    /// Scope.
    pub scope: AddressScope,
    /// Raw `IFA_F_*` flags.
    pub flags: u32,
    /// Preferred lifetime in seconds, `None` for forever (IPv6 cache info).
    pub preferred_lifetime: Option<u32>,
}
