//! The daemon's configuration as written: in code with the builders, or in TOML
//! (`[[instance]]` and `[[sync_group]]` tables, keepalived's names; see
//! `examples/minimal_failover/sample.toml` for every key). [`Config::validate`] turns it into
//! the [`DaemonSpec`](crate::runtime::DaemonSpec) the engine runs, with an error that names the
//! field (`instance[1].advert_int`) for anything wrong.
//!
//! ```
//! use hakit::{Config, VrrpInstance};
//! let code = Config::new().instance(
//!     VrrpInstance::new("web", "eth0", 51, 150).vrrp_version(3).vip("10.0.0.100/24"),
//! );
//! let toml = Config::from_toml(
//!     "[[instance]]\nname = 'web'\niface = 'eth0'\nvrid = 51\npriority = 150\n\
//!      vrrp_version = 3\nvips = ['10.0.0.100/24']\n",
//! )
//! .unwrap();
//! assert_eq!(code, toml);
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A configuration error: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ConfigError {
    /// The field as written in the file (`instance[0].vips[1]`, `sync_group[0].instances`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Log output format (the file's `log_format` key; the engine itself only logs through
/// `tracing`, the program sets the subscriber up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The raw fields of one instance, as written on the command line or in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    /// Name (TOML only).
    #[serde(default)]
    pub name: Option<String>,
    /// Interface.
    pub iface: String,
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// VIPs, `addr/prefix`.
    pub vips: Vec<String>,
    /// keepalived's `virtual_ipaddress_excluded`: held with the VIPs but not advertised
    /// (either family), `addr/prefix` (TOML only).
    #[serde(default)]
    pub vips_excluded: Vec<String>,
    /// keepalived's `virtual_routes`, one route each in keepalived's words, e.g.
    /// `"10.99.0.0/16 via 10.0.0.254 dev eth0"` or `"blackhole 10.98.0.0/16"`.
    #[serde(default)]
    pub virtual_routes: Vec<String>,
    /// keepalived's `virtual_rules`, one rule each in keepalived's words, e.g.
    /// `"from 10.0.0.100 table 100 priority 1000"`.
    #[serde(default)]
    pub virtual_rules: Vec<String>,
    /// 2 or 3.
    #[serde(default = "default_version")]
    pub vrrp_version: u8,
    /// Seconds.
    #[serde(default = "default_advert_int")]
    pub advert_int: f64,
    /// Seconds.
    #[serde(default)]
    pub preempt_delay: f64,
    /// nopreempt.
    #[serde(default)]
    pub nopreempt: bool,
    /// v2 PASS.
    #[serde(default)]
    pub auth_pass: Option<String>,
    /// `auth_type`: `PASS` (the default with a password) or `AH` (IP Authentication Header).
    #[serde(default)]
    pub auth_type: Option<String>,
    /// keepalived 2.4's `auth_hmac` block: HMAC-SHA256 trailers on adverts (TOML
    /// `[instance.auth_hmac]`; see [`AuthHmacConfig`]).
    #[serde(default)]
    pub auth_hmac: Option<AuthHmacConfig>,
    /// Unicast source.
    #[serde(default)]
    pub unicast_src: Option<String>,
    /// keepalived's `mcast_src_ip`: the advert source, multicast or not (the same setting as
    /// `unicast_src`, as in keepalived).
    #[serde(default)]
    pub mcast_src_ip: Option<String>,
    /// Unicast peers.
    #[serde(default)]
    pub unicast_peers: Vec<String>,
    /// keepalived's `unicast_ttl`: TTL / hop limit of unicast adverts (default 255; TOML only).
    #[serde(default)]
    pub unicast_ttl: Option<u8>,
    /// Track scripts.
    #[serde(default)]
    pub track_script: Vec<TrackScriptConfig>,
    /// `IFACE[:WEIGHT]`.
    #[serde(default)]
    pub track_ifaces: Vec<String>,
    /// keepalived's `track_file`: `{ path = "...", weight = W }` (TOML only).
    #[serde(default)]
    pub track_file: Vec<TrackFileConfig>,
    /// keepalived's `track_process` (TOML only).
    #[serde(default)]
    pub track_process: Vec<TrackProcessConfig>,
    /// TCP connect checks (`[{ connect = "127.0.0.1:8080", weight = -50 }]`).
    #[serde(default)]
    pub track_tcp: Vec<TrackTcpConfig>,
    /// HTTP GET checks (`[{ url = "http://127.0.0.1:8080/health", weight = -50 }]`).
    #[serde(default)]
    pub track_http: Vec<TrackHttpConfig>,
    /// Trackers the program sets itself (`[{ name = "db", weight = -50 }]`).
    #[serde(default)]
    pub track_external: Vec<ExternalTrackerConfig>,
    /// GARPs per VIP.
    #[serde(default = "default_garp_repeat")]
    pub garp_repeat: u32,
    /// `notify`: `CMD ARGS`, run with `INSTANCE name state priority` appended.
    #[serde(default)]
    pub notify: Option<String>,
    /// `notify_master`: `CMD ARGS`.
    #[serde(default)]
    pub notify_master: Option<String>,
    /// `notify_backup`: `CMD ARGS`.
    #[serde(default)]
    pub notify_backup: Option<String>,
    /// `notify_fault`: `CMD ARGS`.
    #[serde(default)]
    pub notify_fault: Option<String>,
    /// `notify_stop`: `CMD ARGS`.
    #[serde(default)]
    pub notify_stop: Option<String>,
    /// `notify_master_rx_lower_pri`: `CMD ARGS`.
    #[serde(default)]
    pub notify_master_rx_lower_pri: Option<String>,
    /// `notify_priority_changes` (default: the file's top-level key).
    #[serde(default)]
    pub notify_priority_changes: Option<bool>,
    /// keepalived's finer knobs (TOML only; the flags keep keepalived's defaults).
    #[serde(default)]
    pub tuning: Option<Tuning>,
    /// `use_vmac`: `true` (named `vrrp.<vrid>`) or the macvlan's name.
    #[serde(default)]
    pub use_vmac: Option<UseVmac>,
    /// `vmac_xmit_base`: adverts on the parent interface.
    #[serde(default)]
    pub vmac_xmit_base: bool,
    /// `smtp_alert`: mail the instance's transitions (default: the global
    /// [`Config::smtp_alert`]).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
}

/// `use_vmac = true` or `use_vmac = "name"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum UseVmac {
    /// On (default name) or off.
    On(bool),
    /// On, with this name.
    Named(String),
}

/// keepalived's per-instance knobs beyond the fixed command line, under `[instance.tuning]`
/// in TOML, each named as in keepalived.conf. Absent keys keep keepalived's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// `state MASTER|BACKUP`: MASTER starts with a down timer of one advert interval plus the
    /// minimum skew instead of the full Master_Down_Interval.
    pub state: Option<String>,
    /// `garp_master_delay` (s): the second GARP burst after becoming Master (0: none).
    pub garp_master_delay: Option<f64>,
    /// `garp_master_refresh` (s): GARPs repeated while Master (0: off).
    pub garp_master_refresh: Option<f64>,
    /// `garp_master_refresh_repeat`: GARPs per VIP in each refresh.
    pub garp_master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_repeat`: GARPs per VIP when a Master hears a lower priority.
    pub garp_lower_prio_repeat: Option<u32>,
    /// `garp_lower_prio_delay` (s): the second lower-priority burst.
    pub garp_lower_prio_delay: Option<f64>,
    /// `lower_prio_no_advert`: a Master does not answer a lower priority with an advert.
    #[serde(default)]
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: a Master sends one advert before yielding.
    #[serde(default)]
    pub higher_prio_send_advert: bool,
    /// `down_timer_adverts` (1..=100): adverts missed before the Master is declared down.
    pub down_timer_adverts: Option<u8>,
    /// `check_unicast_src`: drop adverts from sources that are not unicast peers.
    #[serde(default)]
    pub check_unicast_src: bool,
    /// `strict_mode` (keepalived's `vrrp_strict` for one instance).
    #[serde(default)]
    pub strict_mode: bool,
}

/// A tracked process as written: `process` (the kernel's comm name, at most 15 characters,
/// which is what keepalived's `process NAME` compares) or `argv` (the whole command line,
/// keepalived's `process PATH ARGS` with `param_match exact`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackProcessConfig {
    /// Process name.
    #[serde(default)]
    pub process: Option<String>,
    /// Exact command line.
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    /// Weight (keepalived's default 0: FAULT while down).
    #[serde(default)]
    pub weight: i32,
    /// `quorum` (default 1).
    #[serde(default = "one")]
    pub quorum: u32,
    /// `quorum_max` (default unbounded).
    #[serde(default)]
    pub quorum_max: Option<u32>,
    /// Seconds between scans.
    #[serde(default = "default_track_interval")]
    pub interval: f64,
    /// Fall.
    #[serde(default = "one")]
    pub fall: u32,
    /// Rise.
    #[serde(default = "one")]
    pub rise: u32,
}

/// A tracked file as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackFileConfig {
    /// The file holding a number.
    pub path: String,
    /// Weight (keepalived's default 1).
    #[serde(default = "one_i32")]
    pub weight: i32,
}

fn one_i32() -> i32 {
    1
}

/// A track script as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackScriptConfig {
    /// `CMD ARGS`.
    pub cmd: String,
    /// Weight.
    #[serde(default)]
    pub weight: i32,
    /// Seconds.
    #[serde(default = "default_track_interval")]
    pub interval: f64,
    /// Fall.
    #[serde(default = "one")]
    pub fall: u32,
    /// Rise.
    #[serde(default = "one")]
    pub rise: u32,
    /// keepalived's `timeout`, seconds: a run taking longer fails (default: the interval).
    #[serde(default)]
    pub timeout: Option<f64>,
}

fn default_version() -> u8 {
    2
}
fn default_advert_int() -> f64 {
    1.0
}
fn default_garp_repeat() -> u32 {
    5
}
fn default_track_interval() -> f64 {
    1.0
}
fn one() -> u32 {
    1
}

/// The TOML file: `[[instance]]` tables and `[[sync_group]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `log_format`: `text` or `json` (for the program's logging).
    #[serde(default)]
    pub log_format: LogFormat,
    /// keepalived's `notify_fifo`: an absolute path.
    #[serde(default)]
    pub notify_fifo: Option<String>,
    /// The Prometheus endpoint's `ADDR:PORT` (feature `metrics`); none: no endpoint.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// keepalived's global `vrrp_notify_priority_changes`: every instance's default.
    #[serde(default)]
    pub notify_priority_changes: bool,
    /// keepalived's `script_user USER [GROUP]`: who notify and track scripts run as
    /// (default: `keepalived_script` if that user exists, else root).
    #[serde(default)]
    pub script_user: Option<String>,
    /// keepalived's `enable_script_security`: refuse scripts that anyone but root or the
    /// script user could change.
    #[serde(default)]
    pub enable_script_security: bool,
    /// Where the instances' lock files go (default `/run/hakit`): a second daemon with the
    /// same instance in the same network namespace is refused before it touches anything.
    #[serde(default)]
    pub lock_dir: Option<String>,
    /// keepalived's `vrrp_instance`s.
    #[serde(default)]
    pub instance: Vec<VrrpInstance>,
    /// keepalived's `vrrp_sync_group`s.
    #[serde(default)]
    pub sync_group: Vec<SyncGroup>,
    /// keepalived's `static_ipaddress`: addresses installed at start-up whatever the VRRP
    /// states, removed at shutdown; keepalived's words, `dev` required
    /// (`192.0.2.16/24 dev eth0 scope link`).
    #[serde(default)]
    pub static_ipaddress: Vec<String>,
    /// keepalived's `static_routes`, in the words of `virtual_routes`: installed at start-up
    /// after the static addresses, removed at shutdown.
    #[serde(default)]
    pub static_routes: Vec<String>,
    /// keepalived's `static_rules`, in the words of `virtual_rules`: installed at start-up
    /// after the static routes, removed at shutdown before them.
    #[serde(default)]
    pub static_rules: Vec<String>,
    /// keepalived's `router_id`: names the alert mails (default: the host name).
    #[serde(default)]
    pub router_id: Option<String>,
    /// keepalived's `notification_email`: who the alert mails go to.
    #[serde(default)]
    pub notification_email: Vec<String>,
    /// keepalived's `notification_email_from` (default `root@HOSTNAME`).
    #[serde(default)]
    pub notification_email_from: Option<String>,
    /// keepalived's `smtp_server HOST [PORT]` (port 25 by default); with no server or no
    /// recipient, no mail is sent.
    #[serde(default)]
    pub smtp_server: Option<String>,
    /// keepalived's `smtp_helo_name` (default: the host name).
    #[serde(default)]
    pub smtp_helo_name: Option<String>,
    /// keepalived's `smtp_connect_timeout`, seconds (default 30): the bound of one mail's
    /// connection and of each of its replies.
    #[serde(default)]
    pub smtp_connect_timeout: Option<f64>,
    /// keepalived's global `smtp_alert`: every instance's and sync group's default.
    #[serde(default)]
    pub smtp_alert: bool,
    /// Routes announced to a routing daemon (FRR) while a condition holds
    /// (`[[announce]]`; see [`AnnounceConfig`](crate::runtime::AnnounceConfig)).
    #[serde(default)]
    pub announce: Vec<crate::runtime::announce_config::AnnounceConfig>,
    /// keepalived's `virtual_server`s: IPVS services with health-checked real servers
    /// (`[[virtual_server]]`, feature `ipvs`; see
    /// [`VirtualServerConfig`](crate::runtime::virtual_server_config::VirtualServerConfig)).
    #[cfg(feature = "ipvs")]
    #[serde(default)]
    pub virtual_server: Vec<crate::runtime::virtual_server_config::VirtualServerConfig>,
    /// keepalived's `virtual_server_group`s, named by a virtual server's `group`
    /// (`[[virtual_server_group]]`, feature `ipvs`; see
    /// [`VirtualServerGroupConfig`](crate::runtime::virtual_server_config::VirtualServerGroupConfig)).
    #[cfg(feature = "ipvs")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_server_group: Vec<crate::runtime::virtual_server_config::VirtualServerGroupConfig>,
    /// keepalived's `lvs_sync_daemon IFACE INSTANCE [id N]` (`[lvs_sync_daemon]`, feature
    /// `ipvs`; see [`lvs_sync`](crate::runtime::lvs_sync)).
    #[cfg(feature = "ipvs")]
    #[serde(default)]
    pub lvs_sync_daemon: Option<crate::runtime::lvs_sync::LvsSyncDaemonConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncGroup {
    /// The group's name.
    pub name: String,
    /// Its members, by instance name.
    pub instances: Vec<String>,
    /// `notify`: run with `GROUP name STATE 0` appended.
    pub notify: Option<String>,
    /// `notify_master`.
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify_stop: Option<String>,
    /// `smtp_alert`: mail the group's transitions (default: the global
    /// [`Config::smtp_alert`]).
    #[serde(default)]
    pub smtp_alert: Option<bool>,
}

impl Config {
    /// An empty configuration (add instances with [`Config::instance`]).
    pub fn new() -> Self {
        Config::default()
    }

    /// Reads a TOML text (syntax and types only; [`Config::validate`] checks the values).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError::new("config", e.to_string().trim().replace('\n', " ")))
    }

    /// Reads a TOML file (see [`Config::from_toml`]); errors name the file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("config", format!("{}: {e}", path.display())))?;
        Config::from_toml(&text)
    }

    /// Adds an instance.
    pub fn instance(mut self, instance: VrrpInstance) -> Self {
        self.instance.push(instance);
        self
    }

    /// Adds a sync group (keepalived's `vrrp_sync_group`) of the named instances.
    pub fn sync_group(mut self, group: SyncGroup) -> Self {
        self.sync_group.push(group);
        self
    }

    /// Adds a route announcement (`[[announce]]`).
    pub fn announce(mut self, announce: crate::runtime::announce_config::AnnounceConfig) -> Self {
        self.announce.push(announce);
        self
    }

    /// Adds a virtual server (`[[virtual_server]]`, feature `ipvs`).
    #[cfg(feature = "ipvs")]
    pub fn virtual_server(
        mut self,
        vs: crate::runtime::virtual_server_config::VirtualServerConfig,
    ) -> Self {
        self.virtual_server.push(vs);
        self
    }

    /// Adds a virtual server group (`[[virtual_server_group]]`, feature `ipvs`).
    #[cfg(feature = "ipvs")]
    pub fn virtual_server_group(
        mut self,
        group: crate::runtime::virtual_server_config::VirtualServerGroupConfig,
    ) -> Self {
        self.virtual_server_group.push(group);
        self
    }

    /// keepalived's `notify_fifo`: every transition as a line in this FIFO (absolute path).
    pub fn notify_fifo(mut self, path: impl Into<String>) -> Self {
        self.notify_fifo = Some(path.into());
        self
    }

    /// Serves Prometheus metrics on `addr` (`ADDR:PORT`, feature `metrics`).
    pub fn metrics_listen(mut self, addr: impl Into<String>) -> Self {
        self.metrics_listen = Some(addr.into());
        self
    }

    /// Checks every value and resolves each instance's advert source from its interface
    /// (read-only: nothing on the network changes).
    pub fn validate(&self) -> Result<crate::runtime::DaemonSpec, ConfigError> {
        // The static addresses are this daemon's own: never an interface's source address
        // (a `scope link` one is listed first by the kernel once installed).
        let statics = crate::runtime::static_config::validate(self)?;
        let skip: Vec<std::net::IpAddr> = statics.addresses.iter().map(|v| v.address()).collect();
        crate::runtime::spec::validate(self, &|iface, sample| {
            crate::runtime::spec::resolve_source_skipping(iface, sample, &skip)
        })
    }
}

impl SyncGroup {
    /// A sync group of the instances named.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        instances: impl IntoIterator<Item = S>,
    ) -> Self {
        SyncGroup {
            name: name.into(),
            instances: instances.into_iter().map(Into::into).collect(),
            ..SyncGroup::default()
        }
    }
}

impl VrrpInstance {
    /// An instance with keepalived's defaults (VRRPv2, 1 s adverts, preempt, 5 GARPs per
    /// VIP); add at least one VIP.
    pub fn new(name: impl Into<String>, iface: impl Into<String>, vrid: u8, priority: u8) -> Self {
        VrrpInstance {
            name: Some(name.into()),
            iface: iface.into(),
            vrid,
            priority,
            vips: Vec::new(),
            vips_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            vrrp_version: default_version(),
            advert_int: default_advert_int(),
            preempt_delay: 0.0,
            nopreempt: false,
            auth_pass: None,
            auth_type: None,
            auth_hmac: None,
            unicast_src: None,
            mcast_src_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: None,
            track_script: Vec::new(),
            track_ifaces: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_tcp: Vec::new(),
            track_http: Vec::new(),
            track_external: Vec::new(),
            garp_repeat: default_garp_repeat(),
            notify: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_master_rx_lower_pri: None,
            notify_priority_changes: None,
            tuning: None,
            use_vmac: None,
            vmac_xmit_base: false,
            smtp_alert: None,
        }
    }

    /// Adds a virtual address, `ADDR[/PREFIX]` with keepalived's optional words
    /// (`label L`, `scope S`, `dev D`, `no_track`).
    pub fn vip(mut self, vip: impl Into<String>) -> Self {
        self.vips.push(vip.into());
        self
    }

    /// VRRP version, 2 or 3.
    pub fn vrrp_version(mut self, version: u8) -> Self {
        self.vrrp_version = version;
        self
    }

    /// Advertisement interval in seconds (whole for v2, 0.01 steps for v3).
    pub fn advert_int(mut self, seconds: f64) -> Self {
        self.advert_int = seconds;
        self
    }

    /// keepalived's `nopreempt`.
    pub fn nopreempt(mut self) -> Self {
        self.nopreempt = true;
        self
    }

    /// Unicast peers instead of multicast.
    pub fn unicast_peer(mut self, peer: impl Into<String>) -> Self {
        self.unicast_peers.push(peer.into());
        self
    }

    /// Tracks an interface: down is FAULT with weight 0, otherwise adds `weight`.
    pub fn track_iface(mut self, iface: &str, weight: i32) -> Self {
        self.track_ifaces.push(format!("{iface}:{weight}"));
        self
    }

    /// A `vrrp_script`: `cmd` (split on whitespace, no shell) every second; exit 0 is up.
    pub fn track_script(mut self, cmd: impl Into<String>, weight: i32) -> Self {
        self.track_script.push(TrackScriptConfig {
            cmd: cmd.into(),
            weight,
            interval: default_track_interval(),
            fall: 1,
            rise: 1,
            timeout: None,
        });
        self
    }

    /// A TCP connect check of `addr` (`IP:PORT`) every second; while it fails the priority
    /// moves by `weight` (0: FAULT).
    pub fn track_tcp(mut self, addr: impl Into<String>, weight: i32) -> Self {
        self.track_tcp.push(TrackTcpConfig {
            connect: addr.into(),
            weight,
            ..TrackTcpConfig::default()
        });
        self
    }

    /// An HTTP GET of `url` (`http://IP:PORT/path`) every second, up on a 2xx status.
    pub fn track_http(mut self, url: impl Into<String>, weight: i32) -> Self {
        self.track_http.push(TrackHttpConfig {
            url: url.into(),
            weight,
            ..TrackHttpConfig::default()
        });
        self
    }

    /// A tracker the program sets itself with [`Daemon::set_tracker`](crate::Daemon::set_tracker)
    /// (up until it says otherwise).
    pub fn track_external(mut self, name: impl Into<String>, weight: i32) -> Self {
        self.track_external.push(ExternalTrackerConfig {
            name: name.into(),
            weight,
        });
        self
    }

    /// keepalived's generic `notify` script (`INSTANCE name STATE priority` appended).
    pub fn notify(mut self, cmd: impl Into<String>) -> Self {
        self.notify = Some(cmd.into());
        self
    }

    /// keepalived 2.4's `auth_hmac` block.
    pub fn auth_hmac(mut self, auth: AuthHmacConfig) -> Self {
        self.auth_hmac = Some(auth);
        self
    }
}

/// keepalived 2.4's `auth_hmac` block as written: adverts carry an HMAC-SHA256 trailer that
/// receivers verify against replay. Validated into [`vip_netlink::AuthHmac`].
///
/// ```
/// use hakit::{AuthHmacConfig, Config, VrrpInstance};
/// let key = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// let auth = AuthHmacConfig::new(1, key).mode("permissive");
/// let code = Config::new()
///     .instance(VrrpInstance::new("web", "eth0", 51, 150).vip("10.0.0.100/24").auth_hmac(auth));
/// let toml = Config::from_toml(&format!(
///     "[[instance]]\nname = 'web'\niface = 'eth0'\nvrid = 51\npriority = 150\n\
///      vips = ['10.0.0.100/24']\n[instance.auth_hmac]\nkeys = {{ 1 = '{key}' }}\n\
///      active_key = 1\nmode = 'permissive'\n"
/// ))
/// .unwrap();
/// assert_eq!(code, toml);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthHmacConfig {
    /// keepalived's `key ID VALUE` lines: id (1 to 255, as a string in TOML) to value, 32 to
    /// 64 octets: `hex:` then hex digits, `file:PATH` (the file holds what the value would;
    /// a trailing newline is dropped), or the ASCII text itself.
    pub keys: std::collections::BTreeMap<String, String>,
    /// The id of the key that signs. Move it from node to node to rotate.
    pub active_key: u8,
    /// `time` (the default: sequences grow and timestamps are within `time_window` of the
    /// clock) or `monotonic` (sequences grow).
    #[serde(default)]
    pub anti_replay: Option<String>,
    /// Seconds, 1 to 300 (`time` only). Default: `max(3 × advert_int, 5)`.
    #[serde(default)]
    pub time_window: Option<u32>,
    /// `enforce` (the default), `permissive` (signs, accepts trailerless adverts) or
    /// `receive-only` (signs nothing, accepts trailerless adverts, verifies the others).
    #[serde(default)]
    pub mode: Option<String>,
}

impl AuthHmacConfig {
    /// One key, `id`, which signs; keepalived's defaults for the rest.
    pub fn new(id: u8, value: impl Into<String>) -> Self {
        AuthHmacConfig {
            keys: [(id.to_string(), value.into())].into_iter().collect(),
            active_key: id,
            anti_replay: None,
            time_window: None,
            mode: None,
        }
    }

    /// Adds (or replaces) key `id`.
    pub fn key(mut self, id: u8, value: impl Into<String>) -> Self {
        self.keys.insert(id.to_string(), value.into());
        self
    }

    /// The key that signs.
    pub fn active_key(mut self, id: u8) -> Self {
        self.active_key = id;
        self
    }

    /// `enforce`, `permissive` or `receive-only`.
    pub fn mode(mut self, mode: impl Into<String>) -> Self {
        self.mode = Some(mode.into());
        self
    }

    /// `time` or `monotonic`.
    pub fn anti_replay(mut self, rule: impl Into<String>) -> Self {
        self.anti_replay = Some(rule.into());
        self
    }

    /// The freshness window, seconds.
    pub fn time_window(mut self, seconds: u32) -> Self {
        self.time_window = Some(seconds);
        self
    }
}

/// keepalived's `TCP_CHECK` as a VRRP tracker: up while `connect` accepts a connection.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackTcpConfig {
    /// `IP:PORT` to connect to.
    pub connect: String,
    /// Weight, −253..=253 (0: FAULT while down).
    #[serde(default)]
    pub weight: i32,
    /// Seconds between two checks.
    #[serde(default = "default_track_interval")]
    pub interval: f64,
    /// Seconds a check may take (default: the interval).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Failures to go down.
    #[serde(default = "one")]
    pub fall: u32,
    /// Successes to go up.
    #[serde(default = "one")]
    pub rise: u32,
}

impl Default for TrackTcpConfig {
    fn default() -> Self {
        TrackTcpConfig {
            connect: String::new(),
            weight: 0,
            interval: default_track_interval(),
            timeout: None,
            fall: 1,
            rise: 1,
        }
    }
}

/// keepalived's `HTTP_GET` as a VRRP tracker: up while `url` answers with an expected status.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackHttpConfig {
    /// `http://IP:PORT/path` (an address, not a name: no DNS in the failover path).
    pub url: String,
    /// Expected status (default: any 2xx).
    #[serde(default)]
    pub status: Option<u16>,
    /// Weight, −253..=253 (0: FAULT while down).
    #[serde(default)]
    pub weight: i32,
    /// Seconds between two checks.
    #[serde(default = "default_track_interval")]
    pub interval: f64,
    /// Seconds a check may take (default: the interval).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Failures to go down.
    #[serde(default = "one")]
    pub fall: u32,
    /// Successes to go up.
    #[serde(default = "one")]
    pub rise: u32,
}

impl Default for TrackHttpConfig {
    fn default() -> Self {
        TrackHttpConfig {
            url: String::new(),
            status: None,
            weight: 0,
            interval: default_track_interval(),
            timeout: None,
            fall: 1,
            rise: 1,
        }
    }
}

/// A tracker the program feeds itself ([`Daemon::set_tracker`](crate::Daemon::set_tracker)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTrackerConfig {
    /// The name the program sets it by (unique per instance).
    pub name: String,
    /// Weight, −253..=253 (0: FAULT while down).
    #[serde(default)]
    pub weight: i32,
}
