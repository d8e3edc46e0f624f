//! keepalived's `virtual_routes`: routes an instance installs while it holds its VIPs, and
//! the `RTM_NEWROUTE` / `RTM_DELROUTE` that add and remove one.
//!
//! A route is written as keepalived writes it in `virtual_routes { }` (iproute2's words):
//! `[blackhole|unreachable|prohibit] [src ADDR] [to] PREFIX [via|gw ADDR] [dev IFACE]
//! [or ADDR] [scope global|site|link|host] [metric|preference N] [table N] [no_track]
//! [nexthop [via ADDR] [dev IFACE] [weight N]]...` (a multipath route: one `nexthop` per
//! path, as iproute2 writes it; `via A or B` is keepalived's deprecated two-gateway form of
//! the same); `no_track` is
//! accepted, as nothing here watches a route (every route behaves as `no_track`: a route
//! deleted by hand stays deleted until the next transition to Master). It is installed with
//! protocol `keepalived` (18), as keepalived does, so `ip route` shows who owns it and a
//! removal only ever takes out such a route. Another protocol number may be chosen
//! (`protocol N`, [`VirtualRoute::with_protocol`]): hakit's route announcer marks the routes
//! a routing daemon imports with its own.
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol,
    RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;

use crate::error::{Error, Result};
use crate::ip_words::{check_prefix, parse_addr, parse_number, parse_prefix};

/// What a route does with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// Forwarded (through `via` or straight out of `dev`).
    Unicast,
    /// Dropped silently (`blackhole`).
    Blackhole,
    /// Dropped with ICMP unreachable (`unreachable`).
    Unreachable,
    /// Dropped with ICMP administratively prohibited (`prohibit`).
    Prohibit,
}

/// The scope of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteScopeKind {
    /// `global` (`universe`).
    Global,
    /// `site`: the destination is within this site (IPv6 interior routes; keepalived's
    /// `scope site`).
    Site,
    /// `link`: the destination is on the link.
    Link,
    /// `host`: the destination is this host.
    Host,
}

/// One path of a multipath route (`nexthop via A dev X weight N`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// The gateway (`via`), of the route's family.
    pub gateway: Option<IpAddr>,
    /// The outgoing interface (`dev`).
    pub interface: Option<String>,
    /// The share of traffic, 1 to 256 (`weight`; default 1).
    pub weight: u16,
}

/// One of keepalived's `virtual_routes`.
///
/// ```
/// use vip_netlink::VirtualRoute;
///
/// let r: VirtualRoute = "src 192.0.2.100 to 10.99.0.0/16 via 192.0.2.254 dev eth0 metric 10"
///     .parse()
///     .unwrap();
/// assert_eq!(r.prefix_len(), 16);
/// assert_eq!(r.interface(), Some("eth0"));
/// assert_eq!(r.to_string(), "src 192.0.2.100 10.99.0.0/16 via 192.0.2.254 dev eth0 metric 10");
/// assert!("blackhole 10.98.0.0/16".parse::<VirtualRoute>().is_ok());
/// assert!("10.99.0.0/16 via fd00::1".parse::<VirtualRoute>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualRoute {
    kind: RouteKind,
    destination: IpAddr,
    prefix_len: u8,
    gateway: Option<IpAddr>,
    /// keepalived's `via A or B`: the second gateway of a two-way multipath route.
    or_gateway: Option<IpAddr>,
    /// `nexthop ...`: the paths of a multipath route.
    next_hops: Vec<NextHop>,
    interface: Option<String>,
    source: Option<IpAddr>,
    scope: Option<RouteScopeKind>,
    metric: Option<u32>,
    table: Option<u32>,
    protocol: Option<u8>,
}

/// The most paths of one multipath route (the kernel's own limit is far higher; a route
/// line is not where hundreds belong).
const MAX_NEXT_HOPS: usize = 32;
/// The main routing table (`ip route`'s default).
const MAIN_TABLE: u32 = 254;
/// `RT_TABLE_COMPAT`: the header's table byte when the real id needs the `RTA_TABLE` word.
const COMPAT_TABLE: u8 = 252;
/// `RTPROT_KEEPALIVED`, the default owner.
const KEEPALIVED_PROTOCOL: u8 = 18;

impl VirtualRoute {
    /// A unicast route to `destination/prefix_len` (host bits must be zero), in the main
    /// table; add a gateway or an interface before installing it.
    pub fn new(destination: IpAddr, prefix_len: u8) -> Result<Self> {
        check_prefix(destination, prefix_len, "route")?;
        Ok(VirtualRoute {
            kind: RouteKind::Unicast,
            destination,
            prefix_len,
            gateway: None,
            or_gateway: None,
            next_hops: Vec::new(),
            interface: None,
            source: None,
            scope: None,
            metric: None,
            table: None,
            protocol: None,
        })
    }

    /// Another kind (`blackhole`, ...).
    pub fn with_kind(mut self, kind: RouteKind) -> Self {
        self.kind = kind;
        self
    }

    /// Through this gateway (`via`), of the destination's family.
    pub fn with_gateway(mut self, gateway: IpAddr) -> Result<Self> {
        same_family(self.destination, gateway, "via")?;
        self.gateway = Some(gateway);
        Ok(self)
    }

    /// keepalived's deprecated `via A or B`: a multipath route over the gateway and this
    /// second one (each next hop of weight 1, as keepalived installs it). Needs a gateway.
    ///
    /// ```
    /// use vip_netlink::VirtualRoute;
    /// let r: VirtualRoute = "10.113.0.0/24 via 192.0.2.252 or 192.0.2.253".parse().unwrap();
    /// assert_eq!(r.or_gateway(), Some("192.0.2.253".parse().unwrap()));
    /// assert!("10.113.0.0/24 or 192.0.2.253".parse::<VirtualRoute>().is_err());
    /// ```
    pub fn with_or_gateway(mut self, gateway: IpAddr) -> Result<Self> {
        same_family(self.destination, gateway, "or")?;
        self.or_gateway = Some(gateway);
        Ok(self)
    }

    /// Adds a path of a multipath route (`nexthop`): a gateway of the route's family and/or
    /// an interface, with a weight 1 to 256.
    ///
    /// ```
    /// use vip_netlink::VirtualRoute;
    /// let r: VirtualRoute = "10.1.0.0/16 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2"
    ///     .parse()
    ///     .unwrap();
    /// assert_eq!(r.next_hops().len(), 2);
    /// assert_eq!(r.next_hops()[0].weight, 2);
    /// assert!("10.1.0.0/16 nexthop via 192.0.2.1 weight 0".parse::<VirtualRoute>().is_err());
    /// assert!("10.1.0.0/16 via 192.0.2.9 nexthop via 192.0.2.1".parse::<VirtualRoute>().is_err());
    /// ```
    pub fn with_next_hop(mut self, hop: NextHop) -> Result<Self> {
        if let Some(gw) = hop.gateway {
            same_family(self.destination, gw, "nexthop via")?;
        }
        if !(1..=256).contains(&hop.weight) {
            return Err(Error::InvalidConfig(format!(
                "nexthop weight {} is outside 1..=256",
                hop.weight
            )));
        }
        self.next_hops.push(hop);
        Ok(self)
    }

    /// The paths of a multipath route given with `nexthop` (empty otherwise).
    pub fn next_hops(&self) -> &[NextHop] {
        &self.next_hops
    }

    /// The second gateway of `via A or B`, if any.
    pub fn or_gateway(&self) -> Option<IpAddr> {
        self.or_gateway
    }

    /// Out of this interface (`dev`).
    pub fn with_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// With this preferred source address (`src`, typically a VIP), of the destination's
    /// family.
    pub fn with_source(mut self, source: IpAddr) -> Result<Self> {
        same_family(self.destination, source, "src")?;
        self.source = Some(source);
        Ok(self)
    }

    /// With this scope (default: `global`, as keepalived).
    pub fn with_scope(mut self, scope: RouteScopeKind) -> Self {
        self.scope = Some(scope);
        self
    }

    /// With this metric (`metric` / `preference`).
    pub fn with_metric(mut self, metric: u32) -> Self {
        self.metric = Some(metric);
        self
    }

    /// In this table (default: main, 254).
    pub fn with_table(mut self, table: u32) -> Result<Self> {
        if table == 0 {
            return Err(Error::InvalidConfig("route table 0 is unspecified".into()));
        }
        self.table = Some(table);
        Ok(self)
    }

    /// Owned by this rtnetlink protocol number (`ip route`'s `proto`; default 18,
    /// `keepalived`): installed with it, and a removal only takes out a route that has it.
    pub fn with_protocol(mut self, protocol: u8) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The rtnetlink protocol number it is installed with.
    pub fn protocol(&self) -> u8 {
        self.protocol.unwrap_or(KEEPALIVED_PROTOCOL)
    }

    /// The metric (`RTA_PRIORITY`), if set.
    pub fn metric(&self) -> Option<u32> {
        self.metric
    }

    /// The destination prefix's address.
    pub fn destination(&self) -> IpAddr {
        self.destination
    }

    /// The destination prefix's length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The kind.
    pub fn kind(&self) -> RouteKind {
        self.kind
    }

    /// The gateway, if any.
    pub fn gateway(&self) -> Option<IpAddr> {
        self.gateway
    }

    /// The outgoing interface, if any.
    pub fn interface(&self) -> Option<&str> {
        self.interface.as_deref()
    }

    /// The preferred source address, if any.
    pub fn source(&self) -> Option<IpAddr> {
        self.source
    }

    /// The table (main unless set).
    pub fn table(&self) -> u32 {
        self.table.unwrap_or(MAIN_TABLE)
    }

    /// The scope the kernel gets: as set, else `global`. That is keepalived's default (seen
    /// on its routes here), not iproute2's (`link` for a route without gateway).
    pub fn scope(&self) -> RouteScopeKind {
        self.scope.unwrap_or(RouteScopeKind::Global)
    }

    /// Checks the route can be installed: a unicast route needs a gateway or an interface.
    pub fn validate(&self) -> Result<()> {
        if self.or_gateway.is_some() && self.gateway.is_none() {
            return Err(Error::InvalidConfig(format!(
                "route {}/{}: `or` needs a gateway (via) before it",
                self.destination, self.prefix_len
            )));
        }
        if !self.next_hops.is_empty() {
            let bad = if self.kind != RouteKind::Unicast {
                Some("a multipath route is unicast")
            } else if self.gateway.is_some() || self.or_gateway.is_some() {
                Some("`nexthop` and a route-wide `via`/`or` exclude each other")
            } else if self
                .next_hops
                .iter()
                .any(|h| h.gateway.is_none() && h.interface.is_none())
            {
                Some("each nexthop needs via or dev")
            } else if self.next_hops.len() > MAX_NEXT_HOPS {
                Some("too many nexthops")
            } else {
                None
            };
            if let Some(why) = bad {
                return Err(Error::InvalidConfig(format!(
                    "route {}/{}: {why}",
                    self.destination, self.prefix_len
                )));
            }
        }
        if self.kind == RouteKind::Unicast
            && self.gateway.is_none()
            && self.interface.is_none()
            && self.next_hops.is_empty()
        {
            return Err(Error::InvalidConfig(format!(
                "route {}/{} needs via or dev",
                self.destination, self.prefix_len
            )));
        }
        if self.kind != RouteKind::Unicast && self.gateway.is_some() {
            return Err(Error::InvalidConfig(format!(
                "a {} route has no gateway",
                kind_word(self.kind)
            )));
        }
        Ok(())
    }

    /// The route message (`RTM_NEWROUTE` or `RTM_DELROUTE` body); `oif` is the index of
    /// [`interface`](Self::interface) when it has one, `index_of` gives a next hop's.
    pub(crate) fn message(
        &self,
        oif: Option<u32>,
        index_of: &dyn Fn(&str) -> Option<u32>,
    ) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let table = self.table();
        msg.header = RouteHeader {
            address_family: if self.destination.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            },
            destination_prefix_length: self.prefix_len,
            table: u8::try_from(table).unwrap_or(COMPAT_TABLE),
            protocol: RouteProtocol::from(self.protocol()),
            scope: match self.scope() {
                RouteScopeKind::Global => RouteScope::Universe,
                RouteScopeKind::Site => RouteScope::Site,
                RouteScopeKind::Link => RouteScope::Link,
                RouteScopeKind::Host => RouteScope::Host,
            },
            kind: match self.kind {
                RouteKind::Unicast => RouteType::Unicast,
                RouteKind::Blackhole => RouteType::BlackHole,
                RouteKind::Unreachable => RouteType::Unreachable,
                RouteKind::Prohibit => RouteType::Prohibit,
            },
            ..msg.header
        };
        msg.attributes.push(RouteAttribute::Table(table));
        if self.prefix_len > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(
                    self.destination,
                )));
        }
        match (self.gateway, self.or_gateway) {
            (Some(gw), Some(or)) => {
                // keepalived's `or`: both gateways as next hops of weight 1, out of `dev`
                // when given, else where the kernel finds each gateway.
                let hop = |gw: IpAddr| {
                    let mut nh = RouteNextHop::default();
                    nh.interface_index = oif.unwrap_or(0);
                    nh.attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
                    nh
                };
                msg.attributes
                    .push(RouteAttribute::MultiPath(vec![hop(gw), hop(or)]));
            }
            (Some(gw), None) => msg
                .attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw))),
            _ => {}
        }
        if !self.next_hops.is_empty() {
            let hops = self
                .next_hops
                .iter()
                .map(|h| {
                    let mut nh = RouteNextHop::default();
                    nh.interface_index = h
                        .interface
                        .as_deref()
                        .and_then(index_of)
                        .or(oif)
                        .unwrap_or(0);
                    // rtnh_hops is the weight minus one.
                    nh.hops = u8::try_from(h.weight.saturating_sub(1)).unwrap_or(u8::MAX);
                    if let Some(gw) = h.gateway {
                        nh.attributes
                            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
                    }
                    nh
                })
                .collect();
            msg.attributes.push(RouteAttribute::MultiPath(hops));
        }
        if let Some(src) = self.source {
            msg.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let (Some(oif), None, true) = (oif, self.or_gateway, self.next_hops.is_empty()) {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        if let Some(metric) = self.metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        msg
    }
}

fn same_family(a: IpAddr, b: IpAddr, what: &str) -> Result<()> {
    if a.is_ipv4() != b.is_ipv4() {
        return Err(Error::InvalidConfig(format!(
            "{what} {b} is not of the family of {a}"
        )));
    }
    Ok(())
}

fn kind_word(kind: RouteKind) -> &'static str {
    match kind {
        RouteKind::Unicast => "unicast",
        RouteKind::Blackhole => "blackhole",
        RouteKind::Unreachable => "unreachable",
        RouteKind::Prohibit => "prohibit",
    }
}

impl FromStr for VirtualRoute {
    type Err = Error;

    /// keepalived's `virtual_routes` line (see the module documentation).
    fn from_str(s: &str) -> Result<Self> {
        let mut words = s.split_whitespace().peekable();
        let kind = match words.peek().copied() {
            Some("blackhole") => Some(RouteKind::Blackhole),
            Some("unreachable") => Some(RouteKind::Unreachable),
            Some("prohibit") => Some(RouteKind::Prohibit),
            _ => None,
        };
        if kind.is_some() {
            words.next();
        }
        let mut source = None;
        let mut destination = None;
        let mut rest: Vec<(&str, Option<&str>)> = Vec::new();
        let mut hops: Vec<NextHop> = Vec::new();
        while let Some(word) = words.next() {
            match word {
                "src" => source = Some(parse_addr(words.next().unwrap_or(""), "src")?),
                "to" => destination = words.next(),
                "nexthop" => hops.push(NextHop {
                    gateway: None,
                    interface: None,
                    weight: 1,
                }),
                // After `nexthop`, these belong to that path.
                "via" | "gw" | "dev" | "weight" if !hops.is_empty() => {
                    let value = words.next();
                    let hop = hops.last_mut().expect("not empty");
                    match word {
                        "dev" => match value {
                            Some(d) if !d.is_empty() && d.len() < libc::IF_NAMESIZE => {
                                hop.interface = Some(d.to_string())
                            }
                            _ => {
                                return Err(Error::InvalidConfig(
                                    "dev needs an interface name".into(),
                                ))
                            }
                        },
                        "weight" => {
                            let w: u32 = parse_number(value, "weight")?;
                            hop.weight = u16::try_from(w).unwrap_or(u16::MAX);
                        }
                        _ => hop.gateway = Some(parse_addr(value.unwrap_or(""), word)?),
                    }
                }
                "via" | "gw" | "or" | "dev" | "scope" | "metric" | "preference" | "table"
                | "protocol" | "proto" => rest.push((word, words.next())),
                // keepalived's own word: do not leave Master when the route is deleted. A
                // VirtualRoute is never tracked, so it always behaves so.
                "no_track" => {}
                prefix if destination.is_none() => destination = Some(prefix),
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "route {s:?}: unexpected {other:?}"
                    )))
                }
            }
        }
        let destination =
            destination.ok_or_else(|| Error::InvalidConfig(format!("route {s:?}: no prefix")))?;
        let (addr, len) = parse_prefix(destination)?;
        let mut route = VirtualRoute::new(addr, len)?;
        if let Some(kind) = kind {
            route = route.with_kind(kind);
        }
        if let Some(src) = source {
            route = route.with_source(src)?;
        }
        for (key, value) in rest {
            route = match key {
                "via" | "gw" => route.with_gateway(parse_addr(value.unwrap_or(""), key)?)?,
                "or" => route.with_or_gateway(parse_addr(value.unwrap_or(""), key)?)?,
                "dev" => match value {
                    Some(d) if !d.is_empty() && d.len() < libc::IF_NAMESIZE => {
                        route.with_interface(d)
                    }
                    _ => return Err(Error::InvalidConfig("dev needs an interface name".into())),
                },
                "scope" => route.with_scope(match value {
                    Some("global") | Some("universe") => RouteScopeKind::Global,
                    Some("site") => RouteScopeKind::Site,
                    Some("link") => RouteScopeKind::Link,
                    Some("host") => RouteScopeKind::Host,
                    other => {
                        return Err(Error::InvalidConfig(format!(
                            "scope {other:?}: global, site, link or host"
                        )))
                    }
                }),
                "metric" | "preference" => route.with_metric(parse_number(value, key)?),
                "protocol" | "proto" => {
                    let n = parse_number(value, key)?;
                    let p = u8::try_from(n).map_err(|_| {
                        Error::InvalidConfig(format!("protocol {n} is outside 0..=255"))
                    })?;
                    route.with_protocol(p)
                }
                _ => route.with_table(parse_number(value, key)?)?,
            };
        }
        for hop in hops {
            route = route.with_next_hop(hop)?;
        }
        route.validate()?;
        Ok(route)
    }
}

impl fmt::Display for VirtualRoute {
    /// The route in the words [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", kind_word(self.kind))?;
        }
        if let Some(src) = self.source {
            write!(f, "src {src} ")?;
        }
        write!(f, "{}/{}", self.destination, self.prefix_len)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(or) = self.or_gateway {
            write!(f, " or {or}")?;
        }
        if let Some(dev) = &self.interface {
            write!(f, " dev {dev}")?;
        }
        if let Some(scope) = self.scope {
            let word = match scope {
                RouteScopeKind::Global => "global",
                RouteScopeKind::Site => "site",
                RouteScopeKind::Link => "link",
                RouteScopeKind::Host => "host",
            };
            write!(f, " scope {word}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        if let Some(p) = self.protocol {
            write!(f, " protocol {p}")?;
        }
        for hop in &self.next_hops {
            write!(f, " nexthop")?;
            if let Some(gw) = hop.gateway {
                write!(f, " via {gw}")?;
            }
            if let Some(dev) = &hop.interface {
                write!(f, " dev {dev}")?;
            }
            if hop.weight != 1 {
                write!(f, " weight {}", hop.weight)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<VirtualRoute> {
        s.parse()
    }

    #[test]
    fn keepalived_words_parse_and_print_back() {
        for s in [
            "10.99.0.0/16 via 192.0.2.254",
            "src 192.0.2.100 0.0.0.0/0 via 192.0.2.1 dev eth0 metric 5 table 100",
            "blackhole 10.98.0.0/16",
            "unreachable fd00:99::/48",
            "198.51.100.7/32 dev eth1 scope host",
            "10.113.0.0/24 via 192.0.2.252 or 192.0.2.253",
            "10.77.0.1/32 dev lo metric 50 table 100 protocol 99",
            "10.1.0.0/16 metric 5 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2",
            "fd00:1::/64 nexthop via fe80::1 dev eth0 nexthop via fe80::2 dev eth1 weight 256",
        ] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            parse("10.99.0.0/16 via 192.0.2.254 no_track").unwrap(),
            parse("10.99.0.0/16 via 192.0.2.254").unwrap()
        );
        let d = parse("default via 192.0.2.1 table 1000").unwrap();
        assert_eq!((d.prefix_len(), d.table()), (0, 1000));
        assert_eq!(
            parse("to 10.1.0.0/16 gw 192.0.2.9").unwrap().gateway(),
            Some("192.0.2.9".parse().unwrap())
        );
        assert_eq!(
            parse("10.1.0.0/16 dev eth0").unwrap().scope(),
            RouteScopeKind::Global
        );
        assert_eq!(
            parse("10.1.0.0/16 dev eth0 scope link").unwrap().scope(),
            RouteScopeKind::Link
        );
        assert_eq!(
            parse("10.1.0.0/16 via 192.0.2.9").unwrap().scope(),
            RouteScopeKind::Global
        );
        assert_eq!(parse("10.1.2.3 dev eth0").unwrap().prefix_len(), 32);
    }

    #[test]
    fn bad_routes_are_typed_errors_naming_the_problem() {
        for (s, why) in [
            ("10.99.0.1/16 via 192.0.2.254", "host bits"),
            ("10.99.0.0/33 dev eth0", "longer than"),
            ("10.99.0.0/16", "needs via or dev"),
            ("10.99.0.0/16 via fd00::1", "family"),
            ("src fd00::1 10.99.0.0/16 dev eth0", "family"),
            ("blackhole 10.99.0.0/16 via 192.0.2.1", "no gateway"),
            ("10.99.0.0/16 dev eth0 metric x", "number"),
            ("10.99.0.0/16 dev eth0 table 0", "unspecified"),
            ("10.99.0.0/16 dev eth0 scope nowhere", "scope"),
            ("10.99.0.0/16 dev eth0 onlink", "unexpected"),
            ("via 192.0.2.1", "no prefix"),
            ("", "no prefix"),
            ("10.99.0.0/16 dev", "interface name"),
            ("10.99.0.0/16 dev eth0 protocol 256", "outside 0..=255"),
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn the_message_carries_protocol_keepalived_and_the_table_word() {
        let r = parse("10.99.0.0/16 via 192.0.2.254 table 1000 metric 7").unwrap();
        let none = |_: &str| None;
        let m = r.message(Some(3), &none);
        assert_eq!(m.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(m.header.table, COMPAT_TABLE);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(7)));
        assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
        let own = parse("10.77.0.1/32 dev lo table 100 protocol 99").unwrap();
        assert_eq!(
            own.message(Some(1), &none).header.protocol,
            RouteProtocol::from(99u8)
        );
        let d = parse("blackhole 0.0.0.0/0").unwrap().message(None, &none);
        assert_eq!(d.header.kind, RouteType::BlackHole);
        assert!(!d
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
    }

    #[test]
    fn next_hops_become_one_multipath_attribute_with_weights_and_their_own_interfaces() {
        let r = parse("10.1.0.0/16 nexthop via 192.0.2.1 dev eth1 weight 3 nexthop via 192.0.2.2")
            .unwrap();
        let index = |name: &str| (name == "eth1").then_some(7);
        let m = r.message(None, &index);
        let Some(RouteAttribute::MultiPath(hops)) = m
            .attributes
            .iter()
            .find(|a| matches!(a, RouteAttribute::MultiPath(_)))
        else {
            panic!("no multipath attribute: {:?}", m.attributes)
        };
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].interface_index, hops[0].hops), (7, 2));
        assert_eq!((hops[1].interface_index, hops[1].hops), (0, 0));
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Gateway(_) | RouteAttribute::Oif(_))));
        for (bad, why) in [
            ("10.1.0.0/16 nexthop weight 2", "needs via or dev"),
            (
                "10.1.0.0/16 nexthop via 192.0.2.1 weight 257",
                "outside 1..=256",
            ),
            ("10.1.0.0/16 nexthop via fd00::1", "not of the family"),
            ("blackhole 10.1.0.0/16 nexthop via 192.0.2.1", "unicast"),
            ("10.1.0.0/16 via 192.0.2.9 nexthop via 192.0.2.1", "exclude"),
            ("10.1.0.0/16 nexthop dev", "interface name"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let many = format!("10.1.0.0/16{}", " nexthop via 192.0.2.1".repeat(33));
        assert!(parse(&many).unwrap_err().to_string().contains("too many"));
    }
}
