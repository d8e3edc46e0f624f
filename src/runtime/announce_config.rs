//! `[[announce]]`: a service prefix handed to a routing daemon while a condition holds, as
//! written ([`AnnounceConfig`]) and as validated ([`AnnounceSpec`]). What runs it is
//! [`route_announcer`](crate::runtime::route_announcer).
//!
//! ```
//! use hakit::Config;
//! let config = Config::from_toml(
//!     "[[announce]]\nprefix = '192.0.2.80/32'\niface = 'svc0'\ntable = 100\nmetric = 10\n\
//!      track_tcp = [{ connect = '127.0.0.1:80', interval = 0.1, rise = 2, fall = 2 }]\n",
//! )
//! .unwrap();
//! let spec = config.validate().unwrap();
//! assert_eq!(spec.announcements[0].route(10).to_string(),
//!            "192.0.2.80/32 dev lo metric 10 table 100 protocol 85");
//! let bad = Config::from_toml("[[announce]]\nprefix = '192.0.2.80/32'\niface = 'svc0'\nmetric = 0\n")
//!     .unwrap()
//!     .validate()
//!     .unwrap_err();
//! assert_eq!(bad.field, "announce[0].metric");
//! ```

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use vip_netlink::VirtualRoute;

use crate::runtime::config::{ConfigError, TrackHttpConfig, TrackTcpConfig};
use crate::runtime::spec::{http_tracker, tcp_tracker, InstanceSpec, TrackHttp, TrackTcp};

/// The kernel table announced IPv4 routes go to by default (FRR: `ip import-table 100`).
pub const DEFAULT_TABLE: u32 = 100;
/// The kernel table announced IPv6 routes go to by default: main (FRR 8.4's zebra imports
/// no IPv6 table; `redistribute kernel` with a route-map on the prefixes takes them).
pub const DEFAULT_TABLE_V6: u32 = 254;
/// The rtnetlink protocol announced routes carry by default (`ip route ... proto 85`): not
/// in iproute2's list of names, none of the kernel's, keepalived's (18) or FRR's own (11 and
/// 186 to 198: zebra sweeps its own when it starts).
pub const DEFAULT_PROTOCOL: u8 = 85;
/// The metric (kernel `RTA_PRIORITY`, FRR's metric, BGP's MED) by default.
pub const DEFAULT_METRIC: u32 = 10;

/// One `[[announce]]` table as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceConfig {
    /// The prefix announced, `ADDR/LEN` (a host route `/32` or `/128`, or a shorter prefix
    /// with its host bits zero).
    pub prefix: String,
    /// The interface the service address is held on while announced: a veth end whose peer
    /// is down (no carrier; see the announcer's documentation for why).
    pub iface: String,
    /// The address held on `iface` while announced, `ADDR/LEN` (default: the prefix itself
    /// when it is a host route; a shorter prefix holds nothing unless this is set).
    #[serde(default)]
    pub address: Option<String>,
    /// The kernel routing table the routes go to, 1 to 252 or 254 (main): one FRR's zebra
    /// imports (`ip import-table N`, IPv4; the default for IPv4 is 100), or main, whose
    /// kernel routes bgpd takes with `redistribute kernel route-map ...` (the default for
    /// IPv6: FRR 8.4 has no `ipv6 import-table`).
    #[serde(default)]
    pub table: Option<u32>,
    /// The routes' rtnetlink protocol: 5 to 255, not 11 or 186 to 198 (FRR's) nor 18
    /// (keepalived's).
    #[serde(default = "default_protocol")]
    pub protocol: u8,
    /// The metric announced while the condition holds (kernel priority, which zebra takes as
    /// the route's metric and bgpd as the MED): at least 1 (IPv6 turns 0 into 1024).
    #[serde(default = "default_metric")]
    pub metric: u32,
    /// With `vrrp_instance`: the metric announced while that instance is Backup (healthy
    /// otherwise), a worse path instead of a withdrawal; not `metric` (FRR's route-map tells
    /// the states apart by it: `match metric N`, then local-preference, prepends or
    /// communities). None: a Backup withdraws.
    #[serde(default)]
    pub backup_metric: Option<u32>,
    /// Announce only while this VRRP instance (by name) is Master (or Backup with
    /// `backup_metric`).
    #[serde(default)]
    pub vrrp_instance: Option<String>,
    /// Seconds between the withdrawal of the route and the release of the address at a
    /// graceful shutdown, for the traffic still on its way (0 to 60; default 0.5).
    #[serde(default = "default_drain")]
    pub drain: f64,
    /// TCP checks that must all pass (rise/fall as for the trackers; `weight` must stay 0).
    #[serde(default)]
    pub track_tcp: Vec<TrackTcpConfig>,
    /// HTTP checks that must all pass (`weight` must stay 0).
    #[serde(default)]
    pub track_http: Vec<TrackHttpConfig>,
}

fn default_drain() -> f64 {
    0.5
}
fn default_protocol() -> u8 {
    DEFAULT_PROTOCOL
}
fn default_metric() -> u32 {
    DEFAULT_METRIC
}

impl AnnounceConfig {
    /// `prefix` held on `iface` (see the fields for the rest), announced unconditionally
    /// until a check or a VRRP instance is added.
    pub fn new(prefix: impl Into<String>, iface: impl Into<String>) -> Self {
        AnnounceConfig {
            prefix: prefix.into(),
            iface: iface.into(),
            address: None,
            table: None,
            protocol: DEFAULT_PROTOCOL,
            metric: DEFAULT_METRIC,
            backup_metric: None,
            vrrp_instance: None,
            drain: default_drain(),
            track_tcp: Vec::new(),
            track_http: Vec::new(),
        }
    }

    /// Announces only while `instance` is Master; with `backup_metric`, a Backup announces
    /// with that worse metric instead.
    pub fn vrrp_instance(
        mut self,
        instance: impl Into<String>,
        backup_metric: Option<u32>,
    ) -> Self {
        self.vrrp_instance = Some(instance.into());
        self.backup_metric = backup_metric;
        self
    }

    /// Adds a TCP check of `addr` (`IP:PORT`).
    pub fn track_tcp(mut self, check: TrackTcpConfig) -> Self {
        self.track_tcp.push(check);
        self
    }

    /// The metric while the condition holds.
    pub fn metric(mut self, metric: u32) -> Self {
        self.metric = metric;
        self
    }
}

/// One announcement, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceSpec {
    /// The prefix's address.
    pub prefix: IpAddr,
    /// The prefix's length.
    pub prefix_len: u8,
    /// Where the address is held.
    pub iface: String,
    /// The address held while announced, with its length.
    pub address: Option<(IpAddr, u8)>,
    /// The kernel table (the family's default when not written).
    pub table: u32,
    /// The rtnetlink protocol.
    pub protocol: u8,
    /// The metric while the condition holds.
    pub metric: u32,
    /// The metric while the VRRP instance is Backup.
    pub backup_metric: Option<u32>,
    /// The VRRP instance it follows.
    pub vrrp_instance: Option<String>,
    /// The delay between the route's withdrawal and the address's release at shutdown.
    pub drain: std::time::Duration,
    /// TCP checks (their ids unused).
    pub track_tcp: Vec<TrackTcp>,
    /// HTTP checks (their ids unused).
    pub track_http: Vec<TrackHttp>,
}

impl AnnounceSpec {
    /// The kernel route announced with `metric`: the prefix through `lo` in the table.
    pub fn route(&self, metric: u32) -> VirtualRoute {
        self.route_any_metric().with_metric(metric)
    }

    /// The route without a metric: a removal of it takes out one of any metric.
    pub fn route_any_metric(&self) -> VirtualRoute {
        VirtualRoute::new(self.prefix, self.prefix_len)
            .expect("validated prefix")
            .with_interface("lo")
            .with_table(self.table)
            .expect("validated table")
            .with_protocol(self.protocol)
    }

    /// How many checks it has.
    pub fn checks(&self) -> usize {
        self.track_tcp.len() + self.track_http.len()
    }
}

fn err<T>(field: String, message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::new(field, message))
}

/// `ADDR/LEN` of either family.
fn parse_prefix(field: String, raw: &str) -> Result<(IpAddr, u8), ConfigError> {
    let Some((a, l)) = raw.split_once('/') else {
        return err(field, format!("{raw:?} is not ADDR/LEN"));
    };
    let (Ok(addr), Ok(len)) = (a.parse::<IpAddr>(), l.parse::<u8>()) else {
        return err(field, format!("{raw:?} is not ADDR/LEN"));
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return err(field, format!("/{len} is longer than {max} bits"));
    }
    Ok((addr, len))
}

/// The bits of `addr` past `len`, as a number (zero for a prefix written right).
fn host_bits(addr: IpAddr, len: u8) -> u128 {
    let (bits, width) = match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let keep = u32::from(width - len);
    if keep >= 128 {
        bits
    } else {
        bits & ((1u128 << keep) - 1)
    }
}

/// Validates every `[[announce]]` against the instances: errors name `announce[i].key`.
pub(crate) fn validate_all(
    raw: &[AnnounceConfig],
    instances: &[InstanceSpec],
) -> Result<Vec<AnnounceSpec>, ConfigError> {
    let mut out: Vec<AnnounceSpec> = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let f = |key: &str| format!("announce[{i}].{key}");
        let spec = validate_one(a, &f, instances)?;
        if out.iter().any(|o| {
            (o.prefix, o.prefix_len, o.table) == (spec.prefix, spec.prefix_len, spec.table)
        }) {
            return err(f("prefix"), format!("{} is announced twice", a.prefix));
        }
        out.push(spec);
    }
    Ok(out)
}

fn validate_one(
    a: &AnnounceConfig,
    f: &dyn Fn(&str) -> String,
    instances: &[InstanceSpec],
) -> Result<AnnounceSpec, ConfigError> {
    let (prefix, prefix_len) = parse_prefix(f("prefix"), &a.prefix)?;
    if host_bits(prefix, prefix_len) != 0 {
        return err(f("prefix"), format!("{} has host bits set", a.prefix));
    }
    if a.iface.is_empty() || a.iface.len() > 15 || a.iface.contains(['/', ' ']) {
        return err(
            f("iface"),
            format!("{:?} is not an interface name", a.iface),
        );
    }
    let host = if prefix.is_ipv4() { 32 } else { 128 };
    let address = match &a.address {
        Some(raw) => {
            let (addr, len) = parse_prefix(f("address"), raw)?;
            let inside = addr.is_ipv4() == prefix.is_ipv4()
                && net_bits(addr, prefix_len) == net_bits(prefix, prefix_len);
            if !inside {
                return err(f("address"), format!("{raw} is not inside {}", a.prefix));
            }
            Some((addr, len))
        }
        None if prefix_len == host => Some((prefix, prefix_len)),
        None => None,
    };
    let table = match a.table {
        None if prefix.is_ipv4() => DEFAULT_TABLE,
        None => DEFAULT_TABLE_V6,
        Some(t) if (1..=252).contains(&t) || t == 254 => t,
        Some(t) => {
            return err(
                f("table"),
                format!("{t} is neither 1..=252 nor 254 (main); 253 and 255 are the kernel's"),
            )
        }
    };
    if a.protocol < 5 || [11, 18].contains(&a.protocol) || (186..=198).contains(&a.protocol) {
        return err(
            f("protocol"),
            format!(
                "{} belongs to the kernel (0 to 4), keepalived (18) or FRR (11, 186 to 198)",
                a.protocol
            ),
        );
    }
    if a.metric == 0 {
        return err(f("metric"), "0 is not a metric (IPv6 turns it into 1024)");
    }
    if a.backup_metric == Some(0) {
        return err(
            f("backup_metric"),
            "0 is not a metric (IPv6 turns it into 1024)",
        );
    }
    if a.backup_metric == Some(a.metric) {
        return err(
            f("backup_metric"),
            format!(
                "{} is also `metric`: a Backup's route would look like the Master's",
                a.metric
            ),
        );
    }
    match (&a.vrrp_instance, a.backup_metric) {
        (None, Some(_)) => {
            return err(f("backup_metric"), "needs vrrp_instance");
        }
        (Some(name), _) if !instances.iter().any(|i| &i.name == name) => {
            return err(f("vrrp_instance"), format!("no instance named {name:?}"));
        }
        _ => {}
    }
    if !a.drain.is_finite() || !(0.0..=60.0).contains(&a.drain) {
        return err(f("drain"), format!("{} is outside 0..=60 seconds", a.drain));
    }
    let mut track_tcp = Vec::new();
    for (k, t) in a.track_tcp.iter().enumerate() {
        let g = |key: &str| f(&format!("track_tcp[{k}].{key}"));
        if t.weight != 0 {
            return err(g("weight"), "an announcement's check has no weight");
        }
        track_tcp.push(tcp_tracker(&g, t)?);
    }
    let mut track_http = Vec::new();
    for (k, t) in a.track_http.iter().enumerate() {
        let g = |key: &str| f(&format!("track_http[{k}].{key}"));
        if t.weight != 0 {
            return err(g("weight"), "an announcement's check has no weight");
        }
        track_http.push(http_tracker(&g, t)?);
    }
    Ok(AnnounceSpec {
        prefix,
        prefix_len,
        iface: a.iface.clone(),
        address,
        table,
        protocol: a.protocol,
        metric: a.metric,
        backup_metric: a.backup_metric,
        vrrp_instance: a.vrrp_instance.clone(),
        drain: std::time::Duration::from_secs_f64(a.drain),
        track_tcp,
        track_http,
    })
}

/// The network part of `addr` under a `/len` mask.
fn net_bits(addr: IpAddr, len: u8) -> u128 {
    let all = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    all ^ host_bits(addr, len)
}

#[cfg(test)]
mod tests {
    use crate::runtime::config::Config;

    fn field_of(body: &str) -> String {
        let text = format!("[[announce]]\n{body}\n");
        Config::from_toml(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .field
    }

    const BASE: &str = "prefix = '192.0.2.80/32'\niface = 'svc0'";

    #[test]
    fn each_bad_value_names_its_field() {
        for (body, field) in [
            (
                "prefix = '192.0.2.80'\niface = 'svc0'",
                "announce[0].prefix",
            ),
            (
                "prefix = '192.0.2.80/24'\niface = 'svc0'",
                "announce[0].prefix",
            ),
            (
                "prefix = 'fd00::1/129'\niface = 'svc0'",
                "announce[0].prefix",
            ),
            ("prefix = '192.0.2.80/32'\niface = ''", "announce[0].iface"),
            (
                &format!("{BASE}\naddress = '198.51.100.1/32'"),
                "announce[0].address",
            ),
            (
                &format!("{BASE}\naddress = 'fd00::1/128'"),
                "announce[0].address",
            ),
            (&format!("{BASE}\ntable = 0"), "announce[0].table"),
            (&format!("{BASE}\ntable = 255"), "announce[0].table"),
            (&format!("{BASE}\nprotocol = 186"), "announce[0].protocol"),
            (&format!("{BASE}\nprotocol = 2"), "announce[0].protocol"),
            (&format!("{BASE}\nprotocol = 11"), "announce[0].protocol"),
            (&format!("{BASE}\nmetric = 0"), "announce[0].metric"),
            (&format!("{BASE}\ndrain = -1.0"), "announce[0].drain"),
            (
                &format!("{BASE}\nbackup_metric = 20"),
                "announce[0].backup_metric",
            ),
            (
                &format!("{BASE}\nbackup_metric = 10"),
                "announce[0].backup_metric",
            ),
            (
                &format!("{BASE}\nvrrp_instance = 'nope'"),
                "announce[0].vrrp_instance",
            ),
            (
                &format!("{BASE}\ntrack_tcp = [{{ connect = 'localhost:80' }}]"),
                "announce[0].track_tcp[0].connect",
            ),
            (
                &format!("{BASE}\ntrack_tcp = [{{ connect = '127.0.0.1:80', weight = -5 }}]"),
                "announce[0].track_tcp[0].weight",
            ),
            (
                &format!("{BASE}\ntrack_http = [{{ url = 'ftp://x' }}]"),
                "announce[0].track_http[0].url",
            ),
            (
                &format!("{BASE}\ntrack_tcp = [{{ connect = '127.0.0.1:80', rise = 0 }}]"),
                "announce[0].track_tcp[0].fall",
            ),
        ] {
            assert_eq!(field_of(body), field, "{body}");
        }
        let twice = format!("[[announce]]\n{BASE}\n[[announce]]\n{BASE}\n");
        let e = Config::from_toml(&twice).unwrap().validate().unwrap_err();
        assert_eq!(e.field, "announce[1].prefix");
    }

    #[test]
    fn a_host_route_holds_its_own_address_and_a_prefix_holds_what_it_is_told() {
        let text = format!(
            "[[announce]]\n{BASE}\n[[announce]]\nprefix = '2001:db8:80::/48'\niface = 'svc0'\n\
             address = '2001:db8:80::1/128'\nmetric = 5\n[[announce]]\n\
             prefix = '198.51.100.0/24'\niface = 'svc0'\n"
        );
        let spec = Config::from_toml(&text).unwrap().validate().unwrap();
        let a = &spec.announcements;
        assert_eq!(a[0].address, Some(("192.0.2.80".parse().unwrap(), 32)));
        assert_eq!(a[1].address, Some(("2001:db8:80::1".parse().unwrap(), 128)));
        assert_eq!(a[2].address, None);
        assert_eq!(
            a[1].route(5).to_string(),
            "2001:db8:80::/48 dev lo metric 5 table 254 protocol 85"
        );
    }
}
