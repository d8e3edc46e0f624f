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
use std::ops::RangeInclusive;
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
    /// `IP:PORT` (`[v6]:PORT`) of the service; exclusive with `fwmark` and `group`.
    #[serde(default)]
    pub address: Option<String>,
    /// The name of a `[[virtual_server_group]]`: one IPVS service per member of the group,
    /// all with this table's scheduler, real servers and checks (checked once, not once per
    /// member, as keepalived does); exclusive with `address` and `fwmark`.
    #[serde(default)]
    pub group: Option<String>,
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
    /// The `Host:` header of every `http_get`/`ssl_get` that names none (keepalived's
    /// `virtualhost` on the virtual server).
    #[serde(default)]
    pub virtualhost: Option<String>,
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
    /// This real server's own `inhibit_on_failure` (none: the virtual server's).
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
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
    /// keepalived's `SMTP_CHECK`s: the server's `220` greeting, `HELO`, `250`, `QUIT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub smtp_check: Vec<SmtpCheckConfig>,
    /// keepalived's `DNS_CHECK`s: a query over UDP that must be answered without error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_check: Vec<DnsCheckConfig>,
    /// keepalived's `UDP_CHECK`s: a datagram sent; an ICMP port unreachable means down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub udp_check: Vec<UdpCheckConfig>,
    /// keepalived's `PING_CHECK`s: an ICMP (ICMPv6) echo to the real server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ping_check: Vec<PingCheckConfig>,
    /// keepalived's `FILE_CHECK`s: a number in a file (watched with inotify).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_check: Vec<FileCheckConfig>,
}

impl RealServerConfig {
    /// A real server at `address` with weight 1 and no checks (always alive).
    pub fn new(address: impl Into<String>) -> Self {
        RealServerConfig {
            address: address.into(),
            weight: 1,
            notify_up: None,
            notify_down: None,
            inhibit_on_failure: None,
            tcp_check: Vec::new(),
            http_get: Vec::new(),
            ssl_get: Vec::new(),
            misc_check: Vec::new(),
            smtp_check: Vec::new(),
            dns_check: Vec::new(),
            udp_check: Vec::new(),
            ping_check: Vec::new(),
            file_check: Vec::new(),
        }
    }
}

/// keepalived's `FILE_CHECK` (its `track_file`'s file, with the check's weight): the file
/// holds a number N (a missing or unreadable file counts as 0, as keepalived reads it). With
/// weight 0 the real server is down while N is not 0 (with `reverse`: while it is 0); with
/// a weight W it stays up and its IPVS weight becomes its own plus N × W (minus with
/// `reverse`), floored at 0, and it is down only when that product reaches keepalived's
/// FAULT value (`-2147483648`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheckConfig {
    /// The file (absolute path).
    pub path: String,
    /// The weight W, -2147483647 to 2147483647 (default 0).
    #[serde(default)]
    pub weight: i32,
    /// Reverse the sense of the number.
    #[serde(default)]
    pub reverse: bool,
}

/// One `[[virtual_server_group]]` (keepalived's `virtual_server_group NAME { ... }`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServerGroupConfig {
    /// The name `[[virtual_server]]`'s `group` refers to.
    pub name: String,
    /// keepalived's member lines, as written there: `IP [PORT]`, a range `IP-LAST [PORT]`
    /// (the last IPv4 byte or the last IPv6 group, in hex), `IP-IP [PORT]`,
    /// `IP/LEN [PORT]`, or `fwmark N [inet|inet6]`.
    pub members: Vec<String>,
}

/// keepalived's `SMTP_CHECK` (one server; keepalived's `host` sub-blocks become one check
/// each, all of which must pass).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpCheckConfig {
    /// The address connected to (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// The port connected to (default: the real server's).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// The source address (`bindto`).
    #[serde(default)]
    pub bindto: Option<IpAddr>,
    /// Seconds (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// The name sent with `HELO` (default: keepalived's, `smtpchecker.keepalived.org`).
    #[serde(default)]
    pub helo_name: Option<String>,
    /// Retries (default: the virtual server's).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

/// keepalived's `DNS_CHECK`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheckConfig {
    /// The address queried (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// The port queried (default: the real server's).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// Seconds (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// The query type: `A`, `NS`, `CNAME`, `SOA` (default), `MX`, `TXT` or `AAAA`.
    #[serde(default, rename = "type")]
    pub qtype: Option<String>,
    /// The name queried (default `.`).
    #[serde(default)]
    pub name: Option<String>,
    /// Retries (default: the virtual server's).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

/// keepalived's `UDP_CHECK`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UdpCheckConfig {
    /// The address probed (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
    /// The port probed (default: the real server's).
    #[serde(default)]
    pub connect_port: Option<u16>,
    /// Seconds (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// The datagram sent, in hex (default: empty).
    #[serde(default)]
    pub payload: Option<String>,
    /// A reply is needed (without it, silence until the timeout is up).
    #[serde(default)]
    pub require_reply: bool,
    /// The reply must start with these bytes, in hex (implies `require_reply`).
    #[serde(default)]
    pub reply: Option<String>,
    /// Retries (default: the virtual server's).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Seconds between retries (default: the virtual server's).
    #[serde(default)]
    pub delay_before_retry: Option<f64>,
}

/// keepalived's `PING_CHECK`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PingCheckConfig {
    /// The address pinged (default: the real server's).
    #[serde(default)]
    pub connect_ip: Option<IpAddr>,
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
    /// The status expected: one code (`200`) or keepalived's list of codes and ranges
    /// (`"200-299 301 503"`), 100 to 599; default: any 2xx.
    #[serde(default)]
    pub status_code: Option<StatusCodeConfig>,
    /// The MD5 of the body, 32 hex digits (keepalived's `digest`).
    #[serde(default)]
    pub digest: Option<String>,
}

/// `status_code` as written: a number, or keepalived's words.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum StatusCodeConfig {
    /// `status_code = 200`.
    Code(u16),
    /// `status_code = "200-299 301"`.
    List(String),
}

impl StatusCodeConfig {
    /// The ranges, each within 100 to 599; `field` names the key in an error.
    fn ranges(&self, field: &str) -> Result<Vec<RangeInclusive<u16>>, ConfigError> {
        let words: Vec<String> = match self {
            StatusCodeConfig::Code(c) => vec![c.to_string()],
            StatusCodeConfig::List(l) => l.split_whitespace().map(str::to_string).collect(),
        };
        if words.is_empty() {
            return err(field, "no status code");
        }
        let code = |w: &str| match w.parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(c),
            _ => err(field, format!("{w:?} is not an HTTP status (100 to 599)")),
        };
        let mut out = Vec::new();
        for w in &words {
            let r = match w.split_once('-') {
                Some((a, b)) => code(a)?..=code(b)?,
                None => code(w).map(|c| c..=c)?,
            };
            if r.is_empty() {
                return err(field, format!("{w:?} is an empty range"));
            }
            out.push(r);
        }
        Ok(out)
    }
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
            group: None,
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
            virtualhost: None,
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
        /// The URLs, all of which must answer.
        urls: Vec<UrlCheck>,
        /// The `Host:` header.
        virtualhost: Option<String>,
    },
    /// `MISC_CHECK`: `/bin/sh -c` this command line.
    Misc(String),
    /// `SMTP_CHECK`.
    Smtp {
        /// Where.
        addr: SocketAddr,
        /// From where (`bindto`).
        bind: Option<IpAddr>,
        /// The `HELO` name.
        helo_name: Option<String>,
    },
    /// `DNS_CHECK`.
    Dns {
        /// Where.
        addr: SocketAddr,
        /// The name queried.
        name: String,
        /// The query type (`1` A, `6` SOA, ...).
        qtype: u16,
    },
    /// `UDP_CHECK`.
    Udp {
        /// Where.
        addr: SocketAddr,
        /// The datagram.
        payload: Vec<u8>,
        /// A reply is needed.
        require_reply: bool,
        /// The reply's expected first bytes, hex (checked valid).
        reply: Option<String>,
    },
    /// `PING_CHECK`: an echo to this address.
    Ping(IpAddr),
    /// `FILE_CHECK`: a number in this file.
    File {
        /// The file.
        path: String,
        /// The weight.
        weight: i32,
        /// Reversed.
        reverse: bool,
    },
}

/// One `url` of an `HTTP_GET`/`SSL_GET` (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCheck {
    /// The path.
    pub path: String,
    /// The statuses accepted; empty: any 2xx.
    pub status: Vec<RangeInclusive<u16>>,
    /// The body's MD5, lower-case hex.
    pub digest: Option<String>,
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
    /// Its own `inhibit_on_failure` (none: the virtual server's).
    pub inhibit_on_failure: Option<bool>,
    /// Its checks (alive while all pass; none: always alive).
    pub checks: Vec<CheckDef>,
}

/// A virtual server (validated), ready for [`lvs`](crate::runtime::lvs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerSpec {
    /// Its place in the file (`virtual_server[0]`), for logs.
    pub name: String,
    /// The IPVS service (key, scheduler, persistence, flags); with a group, its first
    /// member's.
    pub service: Service,
    /// Every IPVS service key this virtual server programs, `service.key` first: one, or
    /// one per member of its `group`.
    pub keys: Vec<ServiceKey>,
    /// Its `group`'s name, if it has one.
    pub group: Option<String>,
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
        let what = match &self.group {
            Some(g) => format!("group {g} ({} services)", self.keys.len()),
            None => self.service.key.to_string(),
        };
        format!(
            "{}: {what} {} {kind}, {} real server(s)",
            self.name,
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
pub fn validate_all(
    raw: &[VirtualServerConfig],
    groups: &[VirtualServerGroupConfig],
) -> Result<Vec<VirtualServerSpec>, ConfigError> {
    for (i, g) in groups.iter().enumerate() {
        if g.name.trim().is_empty() {
            return err(format!("virtual_server_group[{i}].name"), "empty");
        }
        if groups[..i].iter().any(|h| h.name == g.name) {
            return err(
                format!("virtual_server_group[{i}].name"),
                format!("{:?} is defined twice", g.name),
            );
        }
    }
    let specs = raw
        .iter()
        .enumerate()
        .map(|(i, vs)| validate(&format!("virtual_server[{i}]"), vs, groups))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, a) in specs.iter().enumerate() {
        let earlier = specs[..i].iter().flat_map(|b| b.keys.iter());
        let mut seen: Vec<&ServiceKey> = earlier.collect();
        for k in &a.keys {
            if seen.contains(&k) {
                return err(
                    format!("virtual_server[{i}]"),
                    format!("service {k} is programmed twice"),
                );
            }
            seen.push(k);
        }
    }
    Ok(specs)
}

/// Validates one `[[virtual_server]]`; `at` names it (`virtual_server[0]`).
pub fn validate(
    at: &str,
    vs: &VirtualServerConfig,
    groups: &[VirtualServerGroupConfig],
) -> Result<VirtualServerSpec, ConfigError> {
    let f = |k: &str| format!("{at}.{k}");
    let rs_family = vs
        .real_server
        .first()
        .and_then(|r| fwmark_real_server(&r.address))
        .map(|a| family_of(a.ip()));
    let group_keys = match &vs.group {
        None => None,
        Some(_) if vs.address.is_some() || vs.fwmark.is_some() => {
            return err(f("group"), "a group and an address or fwmark are both set")
        }
        Some(name) => {
            let Some(gi) = groups.iter().position(|g| &g.name == name) else {
                return err(
                    f("group"),
                    format!("no virtual_server_group named {name:?}"),
                );
            };
            let g = &groups[gi];
            let protocol = match vs
                .protocol
                .as_deref()
                .unwrap_or("TCP")
                .to_ascii_uppercase()
                .as_str()
            {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                other => return err(f("protocol"), format!("{other:?} is not TCP, UDP or SCTP")),
            };
            let mut keys = Vec::new();
            for (m, line) in g.members.iter().enumerate() {
                let field = format!("virtual_server_group[{gi}].members[{m}]");
                let more = crate::runtime::virtual_server_group::expand_member(
                    line,
                    protocol,
                    rs_family.unwrap_or(Family::Inet),
                )
                .or_else(|e| err(&field, e))?;
                for k in more {
                    if keys
                        .first()
                        .is_some_and(|f: &ServiceKey| f.family() != k.family())
                    {
                        return err(field, "mixes IPv4 and IPv6 services in one group");
                    }
                    if keys.contains(&k) {
                        return err(field, format!("service {k} is listed twice"));
                    }
                    if let ServiceKey::Inet { addr, .. } = k {
                        if addr.port() == 0 && vs.persistence_timeout.is_none() {
                            return err(field, "a member without a port needs persistence_timeout");
                        }
                    }
                    keys.push(k);
                }
                if keys.len() > crate::runtime::virtual_server_group::MAX_GROUP_SERVICES {
                    return err(field, "the group expands to too many services");
                }
            }
            if keys.is_empty() {
                return err(
                    f("group"),
                    format!("virtual_server_group {name:?} has no member"),
                );
            }
            Some(keys)
        }
    };
    let mut service = match (&vs.address, vs.fwmark) {
        _ if group_keys.is_some() => {
            let keys = group_keys.as_ref().map_or(&[][..], Vec::as_slice);
            Service::new(keys[0])
        }
        (Some(_), Some(_)) => return err(f("fwmark"), "both address and fwmark are set"),
        (None, None) => return err(f("address"), "neither address, fwmark nor group is set"),
        (None, Some(0)) => return err(f("fwmark"), "0 is no firewall mark"),
        (None, Some(mark)) => {
            // keepalived accepts `protocol` on a fwmark service and ignores it: so does hakit.
            Service::fwmark(rs_family.unwrap_or(Family::Inet), mark)
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
                let field = |key: &str| format!("{k}.url[{u}].{key}");
                if !url.path.starts_with('/') {
                    return err(field("path"), "must start with /");
                }
                let status = match &url.status_code {
                    Some(c) => c.ranges(&field("status_code"))?,
                    None => Vec::new(),
                };
                let digest = match &url.digest {
                    Some(d) if d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        Some(d.to_ascii_lowercase())
                    }
                    Some(d) => {
                        return err(
                            field("digest"),
                            format!("{d:?} is not an MD5 (32 hex digits)"),
                        )
                    }
                    None => None,
                };
                urls.push(UrlCheck {
                    path: url.path.clone(),
                    status,
                    digest,
                });
            }
            let (retry, delay_before_retry) = common(&k, h.retry, h.delay_before_retry, retry)?;
            checks.push(CheckDef {
                kind: CheckKind::Http {
                    addr: target(&k, h.connect_ip, h.connect_port)?,
                    tls,
                    urls,
                    virtualhost: h.virtualhost.clone().or_else(|| vs.virtualhost.clone()),
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
        for (c, t) in rs.smtp_check.iter().enumerate() {
            let k = g(&format!("smtp_check[{c}]"));
            let (retry, delay_before_retry) = common(&k, t.retry, t.delay_before_retry, retry)?;
            if t.helo_name
                .as_deref()
                .is_some_and(|h| h.is_empty() || h.contains(['\r', '\n']))
            {
                return err(format!("{k}.helo_name"), "empty or holds a line break");
            }
            checks.push(CheckDef {
                kind: CheckKind::Smtp {
                    addr: target(&k, t.connect_ip, t.connect_port)?,
                    bind: t.bindto,
                    helo_name: t.helo_name.clone(),
                },
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), t.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        for (c, t) in rs.dns_check.iter().enumerate() {
            let k = g(&format!("dns_check[{c}]"));
            let (retry, delay_before_retry) = common(&k, t.retry, t.delay_before_retry, retry)?;
            let qtype = match t
                .qtype
                .as_deref()
                .unwrap_or("SOA")
                .to_ascii_uppercase()
                .as_str()
            {
                "A" => healthcheck::dns_rtype::A,
                "NS" => healthcheck::dns_rtype::NS,
                "CNAME" => healthcheck::dns_rtype::CNAME,
                "SOA" => healthcheck::dns_rtype::SOA,
                "MX" => healthcheck::dns_rtype::MX,
                "TXT" => healthcheck::dns_rtype::TXT,
                "AAAA" => healthcheck::dns_rtype::AAAA,
                other => {
                    return err(
                        format!("{k}.type"),
                        format!("{other:?} is not A, NS, CNAME, SOA, MX, TXT or AAAA"),
                    )
                }
            };
            let name = t.name.clone().unwrap_or_else(|| ".".into());
            let addr = target(&k, t.connect_ip, t.connect_port)?;
            // The name's syntax is the checker's to judge: ask it now, not at run time.
            healthcheck::DnsCheck::new(addr, &name, qtype)
                .or_else(|e| err(format!("{k}.name"), e.to_string()))?;
            checks.push(CheckDef {
                kind: CheckKind::Dns { addr, name, qtype },
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), t.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        for (c, t) in rs.udp_check.iter().enumerate() {
            let k = g(&format!("udp_check[{c}]"));
            let (retry, delay_before_retry) = common(&k, t.retry, t.delay_before_retry, retry)?;
            let payload = match &t.payload {
                Some(hex) => decode_hex(hex).or_else(|e| err(format!("{k}.payload"), e))?,
                None => Vec::new(),
            };
            if let Some(r) = &t.reply {
                healthcheck::ReplyPattern::from_hex(r)
                    .or_else(|e| err(format!("{k}.reply"), e.to_string()))?;
            }
            checks.push(CheckDef {
                kind: CheckKind::Udp {
                    addr: target(&k, t.connect_ip, t.connect_port)?,
                    payload,
                    require_reply: t.require_reply || t.reply.is_some(),
                    reply: t.reply.clone(),
                },
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), t.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        for (c, t) in rs.ping_check.iter().enumerate() {
            let k = g(&format!("ping_check[{c}]"));
            let (retry, delay_before_retry) = common(&k, t.retry, t.delay_before_retry, retry)?;
            let ip = t.connect_ip.unwrap_or(addr.ip());
            if family_of(ip) != family {
                return err(
                    format!("{k}.connect_ip"),
                    "not of the virtual server's address family",
                );
            }
            checks.push(CheckDef {
                kind: CheckKind::Ping(ip),
                interval,
                timeout: timeout(&format!("{k}.connect_timeout"), t.connect_timeout)?,
                retry,
                delay_before_retry,
            });
        }
        for (c, t) in rs.file_check.iter().enumerate() {
            let k = g(&format!("file_check[{c}]"));
            if !t.path.starts_with('/') {
                return err(
                    format!("{k}.path"),
                    format!("{:?} is not an absolute path", t.path),
                );
            }
            if t.weight == i32::MIN {
                return err(
                    format!("{k}.weight"),
                    "out of range -2147483647 to 2147483647",
                );
            }
            checks.push(CheckDef {
                kind: CheckKind::File {
                    path: t.path.clone(),
                    weight: t.weight,
                    reverse: t.reverse,
                },
                interval,
                timeout: Duration::from_secs(1),
                retry: 0,
                delay_before_retry,
            });
        }
        real_servers.push(RealServerSpec {
            addr,
            weight: rs.weight,
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            inhibit_on_failure: rs.inhibit_on_failure,
            checks,
        });
    }
    if let Some(s) = sorry_server {
        if real_servers.iter().any(|r| r.addr == s) {
            return err(f("sorry_server"), format!("{s} is also a real server"));
        }
    }
    let keys = group_keys.unwrap_or_else(|| vec![service.key]);
    Ok(VirtualServerSpec {
        name: at.to_string(),
        keys,
        group: vs.group.clone(),
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

/// Hex digits (an even number, spaces allowed between bytes) as bytes.
fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("{hex:?}: an odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("{hex:?} is not hex"))
        })
        .collect()
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
        validate_all(&c.virtual_server, &c.virtual_server_group)
    }

    fn field_of(extra: &str) -> String {
        vs(extra).unwrap_err().field
    }

    /// A group `g` of `members`, used by a virtual server with `extra` keys and a real
    /// server at `rs` with `checks` (TOML lines).
    fn group(members: &str, extra: &str, rs: &str) -> Result<Vec<VirtualServerSpec>, ConfigError> {
        let text = format!(
            "[[virtual_server_group]]\nname = 'g'\nmembers = [{members}]\n\
             [[virtual_server]]\ngroup = 'g'\n{extra}\n\
             [[virtual_server.real_server]]\naddress = '{rs}'\ntcp_check = [{{}}]\n"
        );
        let c = crate::Config::from_toml(&text)?;
        validate_all(&c.virtual_server, &c.virtual_server_group)
    }

    #[test]
    fn a_group_programs_one_service_per_member_with_the_same_real_servers() {
        let specs = group(
            "'192.0.2.1 80', '192.0.2.10-12 8080', 'fwmark 7'",
            "protocol = 'UDP'\nlb_algo = 'rr'",
            "198.51.100.2:80",
        )
        .unwrap();
        let s = &specs[0];
        let keys: Vec<String> = s.keys.iter().map(ToString::to_string).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        assert_eq!(s.keys[0], ServiceKey::udp("192.0.2.1:80".parse().unwrap()));
        assert_eq!(
            s.keys[3],
            ServiceKey::udp("192.0.2.12:8080".parse().unwrap())
        );
        assert_eq!(s.keys[4], ServiceKey::fwmark(Family::Inet, 7));
        assert_eq!(s.service.key, s.keys[0]);
        assert_eq!(s.group.as_deref(), Some("g"));
        assert_eq!(s.real_servers.len(), 1);
        // A fwmark member takes its real servers' family.
        let v6 = group("'fwmark 9'", "", "[2001:db8::2]:80").unwrap();
        assert_eq!(v6[0].keys, vec![ServiceKey::fwmark(Family::Inet6, 9)]);
    }

    #[test]
    fn group_errors_name_their_field() {
        let field =
            |members: &str, extra: &str, rs: &str| group(members, extra, rs).unwrap_err().field;
        assert_eq!(
            field(
                "'192.0.2.1 80'",
                "address = '192.0.2.9:80'",
                "198.51.100.2:80"
            ),
            "virtual_server[0].group"
        );
        assert_eq!(field("", "", "198.51.100.2:80"), "virtual_server[0].group");
        assert_eq!(
            field("'192.0.2.9-3 80'", "", "198.51.100.2:80"),
            "virtual_server_group[0].members[0]"
        );
        assert_eq!(
            field("'192.0.2.1 80', '192.0.2.1 80'", "", "198.51.100.2:80"),
            "virtual_server_group[0].members[1]"
        );
        assert_eq!(
            field("'192.0.2.1 80', '2001:db8::1 80'", "", "198.51.100.2:80"),
            "virtual_server_group[0].members[1]"
        );
        // No port: every port, which IPVS takes for a persistent service only.
        assert_eq!(
            field("'192.0.2.1'", "", "198.51.100.2:80"),
            "virtual_server_group[0].members[0]"
        );
        assert!(group("'192.0.2.1'", "persistence_timeout = 60", "198.51.100.2:80").is_ok());
        // A real server of another family than the members.
        assert_eq!(
            field("'192.0.2.1 80'", "", "[2001:db8::2]:80"),
            "virtual_server[0].real_server[0].address"
        );
        let c = crate::Config::from_toml("[[virtual_server]]\ngroup = 'nope'\n").unwrap();
        assert_eq!(
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server[0].group"
        );
        // The same service through a group and a plain virtual server.
        let c = crate::Config::from_toml(
            "[[virtual_server_group]]\nname = 'g'\nmembers = ['192.0.2.1 80']\n\
             [[virtual_server]]\ngroup = 'g'\n[[virtual_server]]\naddress = '192.0.2.1:80'\n",
        )
        .unwrap();
        assert_eq!(
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server[1]"
        );
        let c = crate::Config::from_toml(
            "[[virtual_server_group]]\nname = 'g'\nmembers = []\n[[virtual_server_group]]\nname = 'g'\nmembers = []\n",
        )
        .unwrap();
        assert_eq!(
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server_group[1].name"
        );
    }

    fn checker(rs_keys: &str) -> Result<Vec<CheckDef>, ConfigError> {
        let text = format!(
            "[[virtual_server]]\naddress = '192.0.2.1:80'\nvirtualhost = 'vs.example'\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2:80'\n{rs_keys}\n"
        );
        let c = crate::Config::from_toml(&text)?;
        Ok(
            validate_all(&c.virtual_server, &c.virtual_server_group)?[0].real_servers[0]
                .checks
                .clone(),
        )
    }

    #[test]
    fn smtp_dns_udp_and_ping_checks() {
        let checks = checker(
            "smtp_check = [{ helo_name = 'lb', bindto = '198.51.100.1' }]\n\
             dns_check = [{ connect_port = 53, type = 'a', name = 'www.example' }]\n\
             udp_check = [{ payload = '68 61', reply = '6f6b' }, {}]\n\
             ping_check = [{ connect_timeout = 1 }]",
        )
        .unwrap();
        let kinds: Vec<CheckKind> = checks.iter().map(|c| c.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                CheckKind::Smtp {
                    addr: "198.51.100.2:80".parse().unwrap(),
                    bind: Some("198.51.100.1".parse().unwrap()),
                    helo_name: Some("lb".into()),
                },
                CheckKind::Dns {
                    addr: "198.51.100.2:53".parse().unwrap(),
                    name: "www.example".into(),
                    qtype: healthcheck::dns_rtype::A,
                },
                CheckKind::Udp {
                    addr: "198.51.100.2:80".parse().unwrap(),
                    payload: b"ha".to_vec(),
                    require_reply: true,
                    reply: Some("6f6b".into()),
                },
                CheckKind::Udp {
                    addr: "198.51.100.2:80".parse().unwrap(),
                    payload: Vec::new(),
                    require_reply: false,
                    reply: None,
                },
                CheckKind::Ping("198.51.100.2".parse().unwrap()),
            ]
        );
        assert_eq!(checks[4].timeout, Duration::from_secs(1));
        let field = |keys: &str| checker(keys).unwrap_err().field;
        let at = "virtual_server[0].real_server[0]";
        assert_eq!(
            field("smtp_check = [{ helo_name = \"a\\r\\nRCPT\" }]"),
            format!("{at}.smtp_check[0].helo_name")
        );
        assert_eq!(
            field("dns_check = [{ type = 'PTR' }]"),
            format!("{at}.dns_check[0].type")
        );
        assert_eq!(
            field(&format!(
                "dns_check = [{{ name = '{}.example' }}]",
                "x".repeat(64)
            )),
            format!("{at}.dns_check[0].name")
        );
        assert_eq!(
            field("udp_check = [{ payload = 'abc' }]"),
            format!("{at}.udp_check[0].payload")
        );
        assert_eq!(
            field("udp_check = [{ payload = 'zz' }]"),
            format!("{at}.udp_check[0].payload")
        );
        assert_eq!(
            field("udp_check = [{ reply = 'q' }]"),
            format!("{at}.udp_check[0].reply")
        );
        assert_eq!(
            field("ping_check = [{ connect_ip = '2001:db8::1' }]"),
            format!("{at}.ping_check[0].connect_ip")
        );
        assert_eq!(
            field("inhibit_on_failure = true\nping_check = [{ connect_timeout = 0 }]"),
            format!("{at}.ping_check[0].connect_timeout")
        );
    }

    #[test]
    fn urls_take_status_lists_digests_and_the_virtual_server_s_virtualhost() {
        let checks = checker(
            "http_get = [{ url = [{ path = '/', status_code = '200-299 400-499 503' }, \
             { path = '/m', status_code = 200, digest = '9B3A0C85A887A256D6939DA88AABD8CD' }] }]",
        )
        .unwrap();
        let CheckKind::Http {
            urls, virtualhost, ..
        } = &checks[0].kind
        else {
            panic!("{:?}", checks[0].kind)
        };
        assert_eq!(virtualhost.as_deref(), Some("vs.example"));
        assert_eq!(urls[0].status, vec![200..=299, 400..=499, 503..=503]);
        assert_eq!(urls[1].status, vec![200..=200]);
        assert_eq!(
            urls[1].digest.as_deref(),
            Some("9b3a0c85a887a256d6939da88aabd8cd")
        );
        let field = |keys: &str| checker(keys).unwrap_err().field;
        let url = "virtual_server[0].real_server[0].http_get[0].url[0]";
        for bad in ["'299-200'", "'2xx'", "'99'", "''", "600"] {
            assert_eq!(
                field(&format!(
                    "http_get = [{{ url = [{{ path = '/', status_code = {bad} }}] }}]"
                )),
                format!("{url}.status_code"),
                "{bad}"
            );
        }
        assert_eq!(
            field("http_get = [{ url = [{ path = '/', digest = 'abc' }] }]"),
            format!("{url}.digest")
        );
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
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server[0].fwmark"
        );
        let ok = validate_all(&c.virtual_server[1..], &[]).unwrap();
        assert_eq!(ok[0].service.key.family(), Family::Inet6);
        // keepalived's fwmark real server without a port; its checks then need connect_port.
        let c = crate::Config::from_toml(
            "[[virtual_server]]\nfwmark = 1\nprotocol = 'TCP'\n\
             [[virtual_server.real_server]]\naddress = '198.51.100.2'\n\
             tcp_check = [{ connect_port = 80 }]\n",
        )
        .unwrap();
        let ok = validate_all(&c.virtual_server, &c.virtual_server_group).unwrap();
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
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server[0].real_server[0].tcp_check[0].connect_port"
        );

        let bad = |rs: &str| {
            let c = crate::Config::from_toml(&format!(
                "[[virtual_server]]\naddress = '192.0.2.1:80'\n\
                 [[virtual_server.real_server]]\n{rs}\n"
            ))
            .unwrap();
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field
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
        let s = &validate_all(&c.virtual_server, &c.virtual_server_group).unwrap()[0];
        let rs = &s.real_servers[0];
        assert_eq!(rs.weight, 0);
        assert_eq!(
            rs.checks[0].kind,
            CheckKind::Http {
                addr: "198.51.100.2:8080".parse().unwrap(),
                tls: false,
                urls: vec![UrlCheck {
                    path: "/healthz".into(),
                    status: vec![200..=200],
                    digest: None,
                }],
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
        let r = validate_all(&c.virtual_server, &c.virtual_server_group);
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
            validate_all(&c.virtual_server, &c.virtual_server_group)
                .unwrap_err()
                .field,
            "virtual_server[1]"
        );
    }
}
