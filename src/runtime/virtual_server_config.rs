//! `[[virtual_server]]`: keepalived's `virtual_server` (an IPVS service, its health-checked
//! real servers and keepalived's pool rules) as written ([`VirtualServerConfig`]) and as
//! validated ([`VirtualServerSpec`]). What runs it is [`lvs`](crate::runtime::lvs).
//! Feature `ipvs`.
//!
//! ```
//! use hakit::Config;
//! let config = Config::from_toml(
//!     "[[virtual_server]]\naddress = '192.0.2.1:80'\nlb_algo = 'wrr'\nlb_kind = 'NAT'\n\
//!      quorum = 2\nsorry_server = '198.51.100.9:80'\n\
//!      [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\nweight = 2\n\
//!      tcp_check = [{ connect_timeout = 1 }]\n",
//! )
//! .unwrap();
//! let spec = config.validate().unwrap();
//! assert_eq!(spec.virtual_servers[0].service.scheduler.as_str(), "wrr");
//! assert_eq!(spec.virtual_servers[0].real_servers[0].weight, 2);
//! let bad = Config::from_toml(
//!     "[[virtual_server]]\naddress = '192.0.2.1:80'\nlb_algo = 'fastest'\n",
//! )
//! .unwrap()
//! .validate()
//! .unwrap_err();
//! assert_eq!(bad.field, "virtual_server[0].lb_algo");
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipvs_netlink::{
    Family, ForwardMethod, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey, Tunnel,
};
use serde::{Deserialize, Serialize};

use crate::runtime::config::ConfigError;

/// The largest real server weight accepted (keepalived's limit).
pub const MAX_WEIGHT: u32 = 65535;

/// One `[[virtual_server]]` table as written (keepalived's keywords).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServerConfig {
    /// `IP:PORT` (`[v6]:PORT`) of the service; exclusive with `fwmark`.
    #[serde(default)]
    pub address: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP` (ignored with `fwmark`, as keepalived does).
    #[serde(default)]
    pub protocol: Option<String>,
    /// A firewall-mark service (1 or more); exclusive with `address`. Its family is the
    /// real servers' (IPv4 without real servers).
    #[serde(default)]
    pub fwmark: Option<u32>,
    /// The IPVS scheduler (`rr`, `wrr`, `lc`, `wlc` (default), `lblc`, `lblcr`, `dh`, `sh`,
    /// `sed`, `nq`, `mh`, `fo`, `ovf`, `twos`).
    #[serde(default = "default_lb_algo")]
    pub lb_algo: String,
    /// How packets reach the real servers: `NAT` (default), `DR` or `TUN`.
    #[serde(default = "default_lb_kind")]
    pub lb_kind: String,
    /// Persistence, seconds (1 or more); none: no persistence.
    #[serde(default)]
    pub persistence_timeout: Option<u32>,
    /// Persistence granularity: an IPv4 netmask (`255.255.255.0`) or an IPv6 prefix length
    /// (`64`); needs `persistence_timeout`.
    #[serde(default)]
    pub persistence_granularity: Option<String>,
    /// One-packet scheduling (UDP services only).
    #[serde(default)]
    pub ops: bool,
    /// `IP:PORT` served while the quorum is lost.
    #[serde(default)]
    pub sorry_server: Option<String>,
    /// With `inhibit_on_failure`: the sorry server stays with weight 0 instead of leaving.
    #[serde(default)]
    pub sorry_server_inhibit: bool,
    /// The total weight of live real servers needed (default 1).
    #[serde(default = "one_u64")]
    pub quorum: u64,
    /// Hysteresis around the quorum (default 0): lost below `quorum - hysteresis`,
    /// regained at `quorum + hysteresis`.
    #[serde(default)]
    pub hysteresis: u64,
    /// Command run (by `/bin/sh -c`) when the quorum is gained.
    #[serde(default)]
    pub quorum_up: Option<String>,
    /// Command run (by `/bin/sh -c`) when the quorum is lost.
    #[serde(default)]
    pub quorum_down: Option<String>,
    /// Real servers start down until their first check passes.
    #[serde(default)]
    pub alpha: bool,
    /// Run `quorum_down` when the daemon stops while the quorum is up.
    #[serde(default)]
    pub omega: bool,
    /// A failed real server stays in the table with weight 0 instead of leaving.
    #[serde(default)]
    pub inhibit_on_failure: bool,
    /// Seconds between checks (default 60), for every checker of this virtual server.
    #[serde(default = "default_delay_loop")]
    pub delay_loop: f64,
    /// Retries before a real server is declared down (default 1), unless a checker says.
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between those retries (default 1), unless a checker says.
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
    /// Suspend the checks while this node does not hold the address as a VIP.
    #[serde(default)]
    pub ha_suspend: bool,
    /// The real servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub real_server: Vec<RealServerConfig>,
}

/// One `[[virtual_server.real_server]]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RealServerConfig {
    /// `IP:PORT` (`[v6]:PORT`), of the virtual server's family; a fwmark service's may be a
    /// bare `IP` (the packet's port is kept; its checks then need `connect_port`).
    pub address: String,
    /// Weight 0 to 65535 (default 1).
    #[serde(default = "one_u32")]
    pub weight: u32,
    /// Command run (by `/bin/sh -c`) when the real server comes up.
    #[serde(default)]
    pub notify_up: Option<String>,
    /// Command run (by `/bin/sh -c`) when the real server goes down.
    #[serde(default)]
    pub notify_down: Option<String>,
    /// keepalived's `TCP_CHECK`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_check: Vec<TcpCheckConfig>,
    /// keepalived's `HTTP_GET`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_get: Vec<HttpGetConfig>,
    /// keepalived's `SSL_GET`s: `HTTP_GET` over TLS, any certificate accepted (as
    /// keepalived's default); needs the `tls` feature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssl_get: Vec<HttpGetConfig>,
    /// keepalived's `MISC_CHECK`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub misc_check: Vec<MiscCheckConfig>,
}

/// keepalived's `TCP_CHECK`: a connect.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheckConfig {
    /// The address connected to (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// The port connected to (default: the real server's).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// Seconds (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// Retries (default: the virtual server's).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

/// keepalived's `HTTP_GET`: every `url` must answer with its status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGetConfig {
    /// The URLs (at least one).
    pub url: Vec<UrlConfig>,
    /// The address connected to (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// The port connected to (default: the real server's).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// Seconds (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// The `Host:` header.
    #[serde(default)]
    pub virtualhost: Option<String>,
    /// Retries (default: the virtual server's).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

/// One `url` of an `HTTP_GET`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UrlConfig {
    /// The path, starting with `/`.
    pub path: String,
    /// The status expected (100 to 599; default: any 2xx).
    #[serde(default)]
    pub status_code: Option<u16>,
}

/// keepalived's `MISC_CHECK`: a command whose exit status 0 means up.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MiscCheckConfig {
    /// The command line, run by `/bin/sh -c`.
    pub misc_path: String,
    /// Seconds the command may take (default: `delay_loop`).
    #[serde(default)]
    pub misc_timeout: Option<f64>,
    /// Retries (default 0 for a script, as keepalived).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

fn default_lb_algo() -> String {
    "wlc".into()
}
fn default_lb_kind() -> String {
    "NAT".into()
}
fn default_delay_loop() -> f64 {
    60.0
}
fn one_u64() -> u64 {
    1
}
fn one_u32() -> u32 {
    1
}

impl VirtualServerConfig {
    /// A TCP virtual server on `address` (`IP:PORT`) with keepalived's defaults.
    pub fn new(address: impl Into<String>) -> Self {
        VirtualServerConfig {
            address: Some(address.into()),
            protocol: None,
            fwmark: None,
            lb_algo: default_lb_algo(),
            lb_kind: default_lb_kind(),
            persistence_timeout: None,
            persistence_granularity: None,
            ops: false,
            sorry_server: None,
            sorry_server_inhibit: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            alpha: false,
            omega: false,
            inhibit_on_failure: false,
            delay_loop: default_delay_loop(),
            retry: None,
            delay_before_retry: None,
            ha_suspend: false,
            real_server: Vec::new(),
        }
    }
}

/// What a check does (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// `TCP_CHECK`: connect to this address.
    Tcp(SocketAddr),
    /// `HTTP_GET`, or `SSL_GET` with `tls`.
    Http {
        /// Where.
        addr: SocketAddr,
        /// Over TLS (`SSL_GET`).
        tls: bool,
        /// `(path, expected status)`; none: any 2xx.
        urls: Vec<(String, Option<u16>)>,
        /// The `Host:` header.
        virtualhost: Option<String>,
    },
    /// `MISC_CHECK`: `/bin/sh -c` this command line.
    Misc(String),
}

/// One check of a real server (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDef {
    /// What it does.
    pub kind: CheckKind,
    /// Between checks (`delay_loop`).
    pub interval: Duration,
    /// Bound of one check.
    pub timeout: Duration,
    /// Retries before down.
    pub retry: u32,
    /// Between retries.
    pub delay_before_retry: Duration,
}

/// A real server (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerSpec {
    /// Its address.
    pub addr: SocketAddr,
    /// Weight while alive.
    pub weight: u32,
    /// Run when it comes up.
    pub notify_up: Option<String>,
    /// Run when it goes down.
    pub notify_down: Option<String>,
    /// Its checks (alive while all pass; none: always alive).
    pub checks: Vec<CheckDef>,
}

/// A virtual server (validated), ready for [`lvs`](crate::runtime::lvs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerSpec {
    /// Its place in the file (`virtual_server[0]`), for logs.
    pub name: String,
    /// The IPVS service (key, scheduler, persistence, flags).
    pub service: Service,
    /// How packets reach the real servers.
    pub forward: ForwardMethod,
    /// The real servers.
    pub real_servers: Vec<RealServerSpec>,
    /// Served while the quorum is lost.
    pub sorry_server: Option<SocketAddr>,
    /// The sorry server stays with weight 0 instead of leaving.
    pub sorry_server_inhibit: bool,
    /// Live weight needed.
    pub quorum: u64,
    /// Hysteresis around the quorum.
    pub hysteresis: u64,
    /// Run when the quorum is gained.
    pub quorum_up: Option<String>,
    /// Run when the quorum is lost.
    pub quorum_down: Option<String>,
    /// Real servers start down.
    pub alpha: bool,
    /// Run `quorum_down` at shutdown.
    pub omega: bool,
    /// Failed real servers stay with weight 0.
    pub inhibit_on_failure: bool,
    /// Checks suspended while the address is not a VIP held here.
    pub ha_suspend: bool,
}

impl VirtualServerSpec {
    /// One line for `--config-test`: `virtual_server[0]: TCP 192.0.2.1:80 wrr NAT, 2 real server(s)`.
    ///
    /// ```
    /// let c = hakit::Config::from_toml(
    ///     "[[virtual_server]]\nfwmark = 7\nlb_kind = 'DR'\nlb_algo = 'rr'\n",
    /// )
    /// .unwrap();
    /// let spec = c.validate().unwrap();
    /// assert_eq!(spec.virtual_servers[0].summary(), "virtual_server[0]: FWM 7 rr DR, 0 real server(s)");
    /// ```
    pub fn summary(&self) -> String {
        let kind = match self.forward {
            ForwardMethod::DirectRoute => "DR",
            ForwardMethod::Tunnel(_) => "TUN",
            _ => "NAT",
        };
        format!(
            "{}: {} {} {kind}, {} real server(s)",
            self.name,
            self.service.key,
            self.service.scheduler,
            self.real_servers.len()
        )
    }
}

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::new(field, message))
}

fn seconds(field: &str, v: f64) -> Result<Duration, ConfigError> {
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        return err(
            field,
            format!("{v} is not a number of seconds in (0, 86400]"),
        );
    }
    Ok(Duration::from_secs_f64(v))
}

/// A fwmark service's real server: `IP:PORT` or a bare `IP` (port 0).
fn fwmark_real_server(s: &str) -> Option<SocketAddr> {
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0)))
}

fn socket(field: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    let a: SocketAddr = s
        .parse()
        .or_else(|_| err(field, format!("{s:?} is not IP:PORT")))?;
    if a.port() == 0 {
        return err(field, "port 0");
    }
    Ok(a)
}

fn protocol_of(service: &Service) -> Option<Protocol> {
    match service.key {
        ServiceKey::Inet { protocol, .. } => Some(protocol),
        ServiceKey::Fwmark { .. } => None,
    }
}

fn family_of(ip: IpAddr) -> Family {
    if ip.is_ipv4() {
        Family::Inet
    } else {
        Family::Inet6
    }
}

/// Validates every `[[virtual_server]]` (fields named `virtual_server[N].key`).
pub fn validate_all(raw: &[VirtualServerConfig]) -> Result<Vec<VirtualServerSpec>, ConfigError> {
    let specs = raw
        .iter()
        .enumerate()
        .map(|(i, vs)| validate(&format!("virtual_server[{i}]"), vs))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, a) in specs.iter().enumerate() {
        if specs[..i].iter().any(|b| b.service.key == a.service.key) {
            return err(
                format!("virtual_server[{i}]"),
                "the same service as an earlier virtual_server",
            );
        }
    }
    Ok(specs)
}

/// Validates one `[[virtual_server]]`; `at` names it (`virtual_server[0]`).
pub fn validate(at: &str, vs: &VirtualServerConfig) -> Result<VirtualServerSpec, ConfigError> {
    let f = |k: &str| format!("{at}.{k}");
    let mut service = match (&vs.address, vs.fwmark) {
        (Some(_), Some(_)) => return err(f("fwmark"), "both address and fwmark are set"),
        (None, None) => return err(f("address"), "neither address nor fwmark is set"),
        (None, Some(0)) => return err(f("fwmark"), "0 is no firewall mark"),
        (None, Some(mark)) => {
            // keepalived accepts `protocol` on a fwmark service and ignores it: so does hakit.
            let family = vs
                .real_server
                .first()
                .and_then(|r| fwmark_real_server(&r.address))
                .map_or(Family::Inet, |a| family_of(a.ip()));
            Service::fwmark(family, mark)
        }
        (Some(a), None) => {
            let addr = socket(&f("address"), a)?;
            match vs
                .protocol
                .as_deref()
                .unwrap_or("TCP")
                .to_ascii_uppercase()
                .as_str()
            {
                "TCP" => Service::tcp(addr),
                "UDP" => Service::udp(addr),
                "SCTP" => Service::sctp(addr),
                other => return err(f("protocol"), format!("{other:?} is not TCP, UDP or SCTP")),
            }
        }
    };
    let family = service.key.family();
    let sched = Scheduler::from(vs.lb_algo.to_ascii_lowercase().as_str());
    if let Scheduler::Other(name) = &sched {
        let known: Vec<&str> = Scheduler::ALL.iter().map(Scheduler::as_str).collect();
        return err(
            f("lb_algo"),
            format!("unknown scheduler {name:?} (one of {})", known.join(", ")),
        );
    }
    service = service.scheduler(sched);
    let forward = match vs.lb_kind.to_ascii_uppercase().as_str() {
        "NAT" => ForwardMethod::Masquerade,
        "DR" => ForwardMethod::DirectRoute,
        "TUN" => ForwardMethod::Tunnel(Tunnel::default()),
        other => return err(f("lb_kind"), format!("{other:?} is not NAT, DR or TUN")),
    };
    match vs.persistence_timeout {
        Some(0) => return err(f("persistence_timeout"), "0 (leave it out for none)"),
        Some(t) => service = service.persistent(t),
        None if vs.persistence_granularity.is_some() => {
            return err(f("persistence_granularity"), "needs persistence_timeout")
        }
        None => {}
    }
    if let Some(g) = &vs.persistence_granularity {
        service = service.netmask(granularity(&f("persistence_granularity"), g, family)?);
    }
    if vs.ops {
        if protocol_of(&service) != Some(Protocol::Udp) {
            return err(f("ops"), "one-packet scheduling is for UDP services only");
        }
        service = service.flags(ServiceFlags::ONE_PACKET);
    }
    let sorry_server = match &vs.sorry_server {
        None => None,
        Some(s) => {
            let a = socket(&f("sorry_server"), s)?;
            if family_of(a.ip()) != family {
                return err(
                    f("sorry_server"),
                    "not of the virtual server's address family",
                );
            }
            Some(a)
        }
    };
    if vs.sorry_server_inhibit && sorry_server.is_none() {
        return err(f("sorry_server_inhibit"), "there is no sorry_server");
    }
    if vs.hysteresis >= vs.quorum.max(1) && vs.hysteresis > 0 {
        return err(f("hysteresis"), "must be smaller than quorum");
    }
    if vs.quorum == 0 {
        return err(f("quorum"), "at least 1");
    }
    let interval = seconds(&f("delay_loop"), vs.delay_loop)?;
    let retry = vs.retry.unwrap_or(1);
    let delay_before_retry = match vs.delay_before_retry {
        Some(d) => seconds(&f("delay_before_retry"), d)?,
        None => Duration::from_secs(1),
    };
    let mut real_servers = Vec::new();
    for (j, rs) in vs.real_server.iter().enumerate() {
        let at = format!("{at}.real_server[{j}]");
        let g = |k: &str| format!("{at}.{k}");
        let addr = match (vs.fwmark, fwmark_real_server(&rs.address)) {
            // A fwmark service's real server may leave its port out (the packet's is kept).
            (Some(_), Some(a)) => a,
            _ => socket(&g("address"), &rs.address)?,
        };
        if family_of(addr.ip()) != family {
            return err(
                g("address"),
                format!("{addr} is not of the virtual server's address family"),
            );
        }
        if real_servers.iter().any(|r: &RealServerSpec| r.addr == addr) {
            return err(g("address"), format!("{addr} is listed twice"));
        }
        if rs.weight > MAX_WEIGHT {
            return err(
                g("weight"),
                format!("{} is out of range 0 to {MAX_WEIGHT}", rs.weight),
            );
        }
        let mut checks = Vec::new();
        let common = |k: &str,
                      r: Option<u32>,
                      d: Option<f64>,
                      default_retry: u32|
         -> Result<(u32, Duration), ConfigError> {
            let d = match d {
                Some(d) => seconds(&format!("{k}.delay_before_retry"), d)?,
                None => delay_before_retry,
            };
            Ok((r.unwrap_or(default_retry), d))
        };
        let target = |k: &str, ip: Option<IpAddr>, port: Option<u16>| {
            let t = SocketAddr::new(ip.unwrap_or(addr.ip()), port.unwrap_or(addr.port()));
            if t.port() == 0 {
                return err(format!("{k}.connect_port"), "port 0");
            }
            Ok(t)
        };
        let timeout = |k: &str, t: Option<f64>| match t {
            Some(t) => seconds(k, t),
            None => Ok(Duration::from_secs(5)),
        };
        for (c, t) in rs.tcp_check.iter().enumerate() {
            let k = g(&format!("tcp_check[{c}]"));
            let (retry, delay_before_retry) = common(&k, t.retry, t.delay_before_retry, retry)?;
            checks.push(CheckDef {
                kind: CheckKind::Tcp(target(&k, t.connect_ip, t.connect_port)?),
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), t.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        let https = rs.ssl_get.iter().enumerate().map(|(c, h)| (c, h, true));
        for (c, h, tls) in rs
            .http_get
            .iter()
            .enumerate()
            .map(|(c, h)| (c, h, false))
            .chain(https)
        {
            let k = g(&format!(
                "{}[{c}]",
                if tls { "ssl_get" } else { "http_get" }
            ));
            if tls && !cfg!(feature = "tls") {
                return err(k, "SSL_GET needs hakit's tls feature");
            }
            if h.url.is_empty() {
                return err(format!("{k}.url"), "at least one url");
            }
            let mut urls = Vec::new();
            for (u, url) in h.url.iter().enumerate() {
                if !url.path.starts_with('/') {
                    return err(format!("{k}.url[{u}].path"), "must start with /");
                }
                if let Some(s) = url.status_code {
                    if !(100..=599).contains(&s) {
                        return err(
                            format!("{k}.url[{u}].status_code"),
                            format!("{s} is not an HTTP status"),
                        );
                    }
                }
                urls.push((url.path.clone(), url.status_code));
            }
            let (retry, delay_before_retry) = common(&k, h.retry, h.delay_before_retry, retry)?;
            checks.push(CheckDef {
                kind: CheckKind::Http {
                    addr: target(&k, h.connect_ip, h.connect_port)?,
                    tls,
                    urls,
                    virtualhost: h.virtualhost.clone(),
                },
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), h.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        for (c, m) in rs.misc_check.iter().enumerate() {
            let k = g(&format!("misc_check[{c}]"));
            if m.misc_path.trim().is_empty() {
                return err(format!("{k}.misc_path"), "empty");
            }
            let (retry, delay_before_retry) = common(&k, m.retry, m.delay_before_retry, 0)?;
            checks.push(CheckDef {
                kind: CheckKind::Misc(m.misc_path.clone()),
                interval,
                timeout: match m.misc_timeout {
                    Some(t) => seconds(&format!("{k}.misc_timeout"), t)?,
                    None => interval,
                },
                retry,
                delay_before_retry,
            });
        }
        real_servers.push(RealServerSpec {
            addr,
            weight: rs.weight,
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            checks,
        });
    }
    if let Some(s) = sorry_server {
        if real_servers.iter().any(|r| r.addr == s) {
            return err(f("sorry_server"), format!("{s} is also a real server"));
        }
    }
    Ok(VirtualServerSpec {
        name: at.to_string(),
        service,
        forward,
        real_servers,
        sorry_server,
        sorry_server_inhibit: vs.sorry_server_inhibit,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        alpha: vs.alpha,
        omega: vs.omega,
        inhibit_on_failure: vs.inhibit_on_failure,
        ha_suspend: vs.ha_suspend,
    })
}

/// `persistence_granularity`: a contiguous IPv4 mask, or an IPv6 prefix length 1 to 128.
fn granularity(field: &str, g: &str, family: Family) -> Result<Netmask, ConfigError> {
    match family {
        Family::Inet => {
            let m: Ipv4Addr = g
                .parse()
                .or_else(|_| err(field, format!("{g:?} is not an IPv4 netmask")))?;
            let bits = u32::from(m);
            if bits.leading_ones() + bits.trailing_zeros() != 32 || bits == 0 {
                return err(field, format!("{g} is not a contiguous netmask"));
            }
            Ok(Netmask::V4(m))
        }
        Family::Inet6 => match g.trim_start_matches('/').parse::<u8>() {
            Ok(p @ 1..=128) => Ok(Netmask::V6(p)),
            _ => err(
                field,
                format!("{g:?} is not an IPv6 prefix length 1 to 128"),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(extra: &str) -> Result<Vec<VirtualServerSpec>, ConfigError> {
        let text = format!(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\n{extra}\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\n\
             tcp_check = [{{}}]\n"
        );
        let c = crate::Config::from_toml(&text)?;
        validate_all(&c.virtual_server)
    }

    fn field_of(extra: &str) -> String {
        vs(extra).unwrap_err().field
    }

    #[test]
    fn defaults_are_keepalived_s() {
        let s = &vs("").unwrap()[0];
        assert_eq!(s.service.scheduler, Scheduler::Wlc);
        assert_eq!(s.forward, ForwardMethod::Masquerade);
        assert_eq!(s.quorum, 1);
        assert!(!s.service.flags.contains(ServiceFlags::PERSISTENT));
        let c = &s.real_servers[0].checks[0];
        assert_eq!(c.kind, CheckKind::Tcp("198.51.100.2:80".parse().unwrap()));
        assert_eq!(c.interval, Duration::from_secs(60));
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.retry, 1);
    }

    #[test]
    fn every_scheduler_ipvs_netlink_knows_is_accepted() {
        for s in Scheduler::ALL {
            let spec = vs(&format!("lb_algo = '{}'", s.as_str())).unwrap();
            assert_eq!(spec[0].service.scheduler, s);
        }
        assert_eq!(field_of("lb_algo = 'fastest'"), "virtual_server[0].lb_algo");
    }

    #[test]
    fn kinds_protocols_and_persistence() {
        let s = &vs(
            "lb_kind = 'DR'\nprotocol = 'SCTP'\npersistence_timeout = 300\n\
                     persistence_granularity = '255.255.255.0'",
        )
        .unwrap()[0];
        assert_eq!(s.forward, ForwardMethod::DirectRoute);
        assert_eq!(protocol_of(&s.service), Some(Protocol::Sctp));
        assert!(s.service.flags.contains(ServiceFlags::PERSISTENT));
        assert_eq!(s.service.timeout, 300);
        assert_eq!(
            s.service.netmask,
            Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
        );
        let s = &vs("lb_kind = 'tun'\nprotocol = 'udp'\nops = true").unwrap()[0];
        assert!(matches!(s.forward, ForwardMethod::Tunnel(_)));
        assert!(s.service.flags.contains(ServiceFlags::ONE_PACKET));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            ("lb_kind = 'MASQ'", "virtual_server[0].lb_kind"),
            ("protocol = 'ICMP'", "virtual_server[0].protocol"),
            ("ops = true", "virtual_server[0].ops"),
            (
                "persistence_timeout = 0",
                "virtual_server[0].persistence_timeout",
            ),
            (
                "persistence_granularity = '255.255.255.0'",
                "virtual_server[0].persistence_granularity",
            ),
            (
                "persistence_timeout = 60\npersistence_granularity = '255.0.255.0'",
                "virtual_server[0].persistence_granularity",
            ),
            ("quorum = 0", "virtual_server[0].quorum"),
            ("quorum = 2\nhysteresis = 2", "virtual_server[0].hysteresis"),
            ("delay_loop = 0", "virtual_server[0].delay_loop"),
            (
                "sorry_server = '[2001:db8::1]:80'",
                "virtual_server[0].sorry_server",
            ),
            (
                "sorry_server = '198.51.100.2:80'",
                "virtual_server[0].sorry_server",
            ),
            (
                "sorry_server_inhibit = true",
                "virtual_server[0].sorry_server_inhibit",
            ),
            ("fwmark = 3", "virtual_server[0].fwmark"),
        ];
        for (extra, field) in cases {
            assert_eq!(field_of(extra), field, "{extra}");
        }
    }

    #[test]
    fn fwmark_zero_and_real_server_errors() {
        let c = crate::Config::from_toml(
            "[[virtual_server]]\nfwmark = 0\n[[virtual_server]]\nfwmark = 7\n\
             [[virtual_server.real_server]]\naddress = '[2001:db8::2]:80'\n",
        )
        .unwrap();
        assert_eq!(
            validate_all(&c.virtual_server).unwrap_err().field,
            "virtual_server[0].fwmark"
        );
        let ok = validate_all(&c.virtual_server[1..]).unwrap();
        assert_eq!(ok[0].service.key.family(), Family::Inet6);
        // keepalived's fwmark real server without a port; its checks then need connect_port.
        let c = crate::Config::from_toml(
            "[[virtual_server]]\nfwmark = 1\nprotocol = 'TCP'\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2'\n\
             tcp_check = [{ connect_port = 80 }]\n",
        )
        .unwrap();
        let ok = validate_all(&c.virtual_server).unwrap();
        assert_eq!(
            ok[0].real_servers[0].addr,
            "198.51.100.2:0".parse().unwrap()
        );
        assert_eq!(
            ok[0].real_servers[0].checks[0].kind,
            CheckKind::Tcp("198.51.100.2:80".parse().unwrap())
        );
        let c = crate::Config::from_toml(
            "[[virtual_server]]\nfwmark = 1\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2'\ntcp_check = [{}]\n",
        )
        .unwrap();
        assert_eq!(
            validate_all(&c.virtual_server).unwrap_err().field,
            "virtual_server[0].real_server[0].tcp_check[0].connect_port"
        );

        let bad = |rs: &str| {
            let c = crate::Config::from_toml(&format!(
                "[[virtual_server]]\naddress = '192.0.2.1:80'\n\
                 [[virtual_server.real_server]]\n{rs}\n"
            ))
            .unwrap();
            validate_all(&c.virtual_server).unwrap_err().field
        };
        let rs0 = "virtual_server[0].real_server[0]";
        assert_eq!(
            bad("address = '[2001:db8::2]:80'"),
            format!("{rs0}.address")
        );
        assert_eq!(bad("address = '198.51.100.2'"), format!("{rs0}.address"));
        assert_eq!(
            bad("address = '198.51.100.2:80'\nweight = 65536"),
            format!("{rs0}.weight")
        );
        assert_eq!(
            bad("address = '198.51.100.2:80'\nhttp_get = [{ url = [] }]"),
            format!("{rs0}.http_get[0].url")
        );
        assert_eq!(
            bad("address = '198.51.100.2:80'\nhttp_get = [{ url = [{ path = '/', status_code = 99 }] }]"),
            format!("{rs0}.http_get[0].url[0].status_code")
        );
        assert_eq!(
            bad("address = '198.51.100.2:80'\nmisc_check = [{ misc_path = ' ' }]"),
            format!("{rs0}.misc_check[0].misc_path")
        );
        assert_eq!(
            bad("address = '198.51.100.2:80'\ntcp_check = [{ connect_timeout = -1 }]"),
            format!("{rs0}.tcp_check[0].connect_timeout")
        );
    }

    #[test]
    fn checkers_inherit_the_virtual_server_s_timing() {
        let c = crate::Config::from_toml(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\ndelay_loop = 2\nretry = 3\n\
             delay_before_retry = 0.5\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\nweight = 0\n\
             http_get = [{ url = [{ path = '/healthz', status_code = 200 }], connect_port = 8080, \
             virtualhost = 'www', retry = 2 }]\n\
             misc_check = [{ misc_path = '/bin/true' }]\n",
        )
        .unwrap();
        let s = &validate_all(&c.virtual_server).unwrap()[0];
        let rs = &s.real_servers[0];
        assert_eq!(rs.weight, 0);
        assert_eq!(
            rs.checks[0].kind,
            CheckKind::Http {
                addr: "198.51.100.2:8080".parse().unwrap(),
                tls: false,
                urls: vec![("/healthz".into(), Some(200))],
                virtualhost: Some("www".into()),
            }
        );
        assert_eq!(rs.checks[0].retry, 2);
        assert_eq!(rs.checks[0].delay_before_retry, Duration::from_millis(500));
        assert_eq!(rs.checks[0].interval, Duration::from_secs(2));
        assert_eq!(rs.checks[1].kind, CheckKind::Misc("/bin/true".into()));
        assert_eq!(rs.checks[1].retry, 0);
        assert_eq!(rs.checks[1].timeout, Duration::from_secs(2));
    }

    #[test]
    fn ssl_get_is_http_get_over_tls() {
        let c = crate::Config::from_toml(
            "[[virtual_server]]\naddress = '192.0.2.1:443'\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:443'\n\
             ssl_get = [{ url = [{ path = '/' }] }]\n",
        )
        .unwrap();
        let r = validate_all(&c.virtual_server);
        if cfg!(feature = "tls") {
            let s = r.unwrap();
            assert!(matches!(
                s[0].real_servers[0].checks[0].kind,
                CheckKind::Http { tls: true, .. }
            ));
        } else {
            assert_eq!(
                r.unwrap_err().field,
                "virtual_server[0].real_server[0].ssl_get[0]"
            );
        }
    }

    #[test]
    fn a_service_listed_twice_is_refused() {
        let c = crate::Config::from_toml(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\n\
             [[virtual_server]]\naddress = '192.0.2.1:80'\n",
        )
        .unwrap();
        assert_eq!(
            validate_all(&c.virtual_server).unwrap_err().field,
            "virtual_server[1]"
        );
    }
}
