//! The validated configuration the engine runs: [`DaemonSpec`], one [`InstanceSpec`] per VRRP
//! instance with the state machine's `vrrp_fsm::InstanceConfig`, its trackers (each with the
//! `TrackerId` derived from what it watches, so a reload keeps it), notify scripts, VMAC,
//! routes and rules. Built by [`Config::validate`](crate::Config::validate); every error names
//! the field (`instance[1].advert_int`). Nothing here touches the network: the only system
//! call is the read-only interface lookup that resolves the advert source address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use healthcheck::ProcessMatch;
use vip_netlink::AddressScope;
use vrrp_fsm::{InstanceConfig, TrackerConfig, TrackerId, TrackerKind, VirtualAddress};
use vrrp_proto::VRRP_TTL;
use vrrp_proto::{Auth, Version};

use crate::runtime::config::{Config, ConfigError, LogFormat, Tuning, UseVmac, VrrpInstance};
use crate::runtime::notify::NotifyScripts;
use crate::runtime::script_security::{self, ScriptUser};

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::new(field, message))
}

/// Reads and validates TOML text (tests and the reload planner's tests).
#[cfg(test)]
pub(crate) fn from_toml(
    text: &str,
    source_of: &dyn Fn(&str, IpAddr) -> Result<IpAddr, String>,
) -> Result<DaemonSpec, ConfigError> {
    validate(&Config::from_toml(text)?, source_of)
}

/// A `vrrp_script`-like tracker.
#[derive(Debug, Clone)]
pub struct TrackScript {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Priority weight (0 = FAULT while failed).
    pub weight: i32,
    /// Time between runs.
    pub interval: Duration,
    /// Time a run may take (keepalived's `timeout`; default the interval).
    pub timeout: Duration,
    /// Failures to go down.
    pub fall: u32,
    /// Successes to go up.
    pub rise: u32,
}

/// A tracked file (keepalived's `vrrp_track_file`): the number in it times the weight is
/// added to the priority; a total of −254 or below, or any non-zero number with weight 0,
/// means FAULT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// The file.
    pub path: std::path::PathBuf,
    /// Weight, −254..=254 (keepalived's default 1).
    pub weight: i32,
}

/// A tracked process (keepalived's `vrrp_track_process`): up while the number of matching
/// processes is within `min..=max` (`quorum` / `quorum_max`), polled from `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcess {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// How a process is recognised.
    pub matcher: ProcessMatch,
    /// `quorum`.
    pub min: u32,
    /// `quorum_max`.
    pub max: u32,
    /// Weight, −254..=254 (0: FAULT while down).
    pub weight: i32,
    /// Time between scans.
    pub interval: Duration,
    /// Scans out of range to go down.
    pub fall: u32,
    /// Scans in range to go up.
    pub rise: u32,
}

/// A tracked interface.
#[derive(Debug, Clone)]
pub struct TrackIface {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// Interface name.
    pub iface: String,
    /// Weight (0 = FAULT while down).
    pub weight: i32,
}

/// One instance, validated.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    /// Name for logs (`VI_<vrid>` from the command line).
    pub name: String,
    /// Interface.
    pub iface: String,
    /// The state machine's configuration (validated by `vrrp_fsm::Instance::new`).
    pub fsm: InstanceConfig,
    /// The advert source when given explicitly.
    pub unicast_src: Option<IpAddr>,
    /// TTL / hop limit of unicast adverts (keepalived's `unicast_ttl`, default 255).
    pub unicast_ttl: u8,
    /// Health scripts .
    pub track_scripts: Vec<TrackScript>,
    /// Tracked interfaces .
    pub track_ifaces: Vec<TrackIface>,
    /// Tracked files .
    pub track_files: Vec<TrackFile>,
    /// Tracked processes.
    pub track_processes: Vec<TrackProcess>,
    /// TCP connect checks.
    pub track_tcp: Vec<TrackTcp>,
    /// HTTP GET checks.
    pub track_http: Vec<TrackHttp>,
    /// Trackers the program sets itself.
    pub track_external: Vec<TrackExternal>,
    /// keepalived's notify scripts.
    pub notify: NotifyScripts,
    /// keepalived's `notify_priority_changes`: each change of the effective priority goes to
    /// the notify FIFO as `MASTER_PRIORITY` or `BACKUP_PRIORITY` (not to the scripts).
    pub notify_priority_changes: bool,
    /// keepalived's `use_vmac`: the VIPs live on a macvlan with the virtual MAC.
    pub vmac: Option<VmacSpec>,
    /// `auth_type AH`: the key of the adverts' IP Authentication Header.
    pub ip_ah: Option<[u8; 8]>,
    /// keepalived 2.4's `auth_hmac`: the adverts' HMAC-SHA256 trailer.
    pub auth_hmac: Option<vip_netlink::AuthHmac>,
    /// keepalived's `virtual_ipaddress_excluded`: added, removed and announced with the VIPs,
    /// never in an advert.
    pub vips_excluded: Vec<VirtualAddress>,
    /// keepalived's per-address `label` / `scope` of the VIPs and excluded ones that have any.
    pub vip_options: Vec<(IpAddr, VipOptions)>,
    /// keepalived's `virtual_routes`: installed after the VIPs, removed before them.
    pub routes: Vec<vip_netlink::VirtualRoute>,
    /// keepalived's `virtual_rules`: installed after the routes, removed before them.
    pub rules: Vec<vip_netlink::VirtualRule>,
}

/// keepalived's `use_vmac [NAME]` (and `vmac_xmit_base`) for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacSpec {
    /// The macvlan's name (`vrrp.<vrid>` unless named).
    pub name: String,
    /// `vmac_xmit_base`: adverts leave and arrive on the parent interface, not the VMAC.
    pub xmit_base: bool,
}

impl InstanceSpec {
    /// Every address the instance holds as Master: the VIPs, then the excluded ones.
    pub fn held_addresses(&self) -> impl Iterator<Item = &VirtualAddress> {
        self.fsm.vips.iter().chain(&self.vips_excluded)
    }

    /// Each tracker's id and what it watches, for status and logs.
    pub fn tracker_names(&self) -> impl Iterator<Item = (TrackerId, String)> + '_ {
        let scripts = self.track_scripts.iter().map(|t| (t.id, t.argv.join(" ")));
        let ifaces = self.track_ifaces.iter().map(|t| (t.id, t.iface.clone()));
        let files = self
            .track_files
            .iter()
            .map(|t| (t.id, t.path.display().to_string()));
        let procs = self
            .track_processes
            .iter()
            .map(|t| (t.id, format!("{:?}", t.matcher)));
        let tcp = self
            .track_tcp
            .iter()
            .map(|t| (t.id, format!("tcp {}", t.addr)));
        let http = self
            .track_http
            .iter()
            .map(|t| (t.id, format!("http://{}{}", t.addr, t.path)));
        let ext = self.track_external.iter().map(|t| (t.id, t.name.clone()));
        scripts
            .chain(ifaces)
            .chain(files)
            .chain(procs)
            .chain(tcp)
            .chain(http)
            .chain(ext)
    }

    /// Where the VIPs go and GARP/NA leave from: the VMAC, or the interface.
    pub fn vip_iface(&self) -> &str {
        self.vmac.as_ref().map_or(&self.iface, |v| &v.name)
    }

    /// Where adverts are sent and received: the VMAC unless `vmac_xmit_base`, or the
    /// interface.
    pub fn advert_iface(&self) -> &str {
        match &self.vmac {
            Some(v) if !v.xmit_base => &v.name,
            _ => &self.iface,
        }
    }
}

/// A tracker's id, derived from what it watches and how (never from its weight): a reload
/// that keeps a tracker keeps its id, and the instance the state it last heard (see
/// `vrrp_fsm::Instance::reconfigure`), whatever moved around it in the file. The kind takes
/// the top two bits, an FNV-1a hash of `identity` the rest.
pub fn tracker_id(kind: TrackerKind, identity: &str) -> TrackerId {
    let hash = identity.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let tag = match kind {
        TrackerKind::Interface => 1,
        TrackerKind::File => 2,
        TrackerKind::Process => 3,
        _ => 0,
    };
    TrackerId((tag << 30) | (hash >> 2))
}

/// The whole daemon, validated.
#[derive(Debug, Clone)]
pub struct DaemonSpec {
    /// Instances.
    pub instances: Vec<InstanceSpec>,
    /// Sync groups.
    pub sync_groups: Vec<SyncGroupSpec>,
    /// Log format.
    pub log_format: LogFormat,
    /// keepalived's `notify_fifo`: every announced transition as one line in this FIFO.
    pub notify_fifo: Option<std::path::PathBuf>,
    /// Where the instances' lock files go.
    pub lock_dir: std::path::PathBuf,
    /// Who the scripts run as (`None`: root).
    pub script_user: Option<ScriptUser>,
    /// What the daemon should warn about at start (scripts others could change, without
    /// `enable_script_security`).
    pub warnings: Vec<String>,
    /// Where the Prometheus endpoint listens (feature `metrics`); none: no endpoint.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// keepalived's `static_ipaddress`, `static_routes` and `static_rules`.
    pub statics: crate::runtime::static_config::StaticSpec,
    /// keepalived's SMTP alerts (none: no mail is sent).
    pub smtp: Option<crate::runtime::smtp_alert::SmtpSpec>,
    /// The routes announced to a routing daemon (`[[announce]]`), see
    /// [`route_announcer`](crate::runtime::route_announcer).
    pub announcements: Vec<crate::runtime::announce_config::AnnounceSpec>,
    /// keepalived's `virtual_server`s (feature `ipvs`), run by
    /// [`lvs`](crate::runtime::lvs).
    #[cfg(feature = "ipvs")]
    pub virtual_servers: Vec<crate::runtime::virtual_server_config::VirtualServerSpec>,
    /// keepalived's `lvs_sync_daemon` (feature `ipvs`), run by
    /// [`lvs_sync`](crate::runtime::lvs_sync).
    #[cfg(feature = "ipvs")]
    pub lvs_sync_daemon: Option<crate::runtime::lvs_sync::LvsSyncSpec>,
}

/// A sync group: its members move together (keepalived's `vrrp_sync_group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupSpec {
    /// Name (`$2` of the group's generic `notify`).
    pub name: String,
    /// Member indexes into [`DaemonSpec::instances`].
    pub members: Vec<usize>,
    /// The group's notify scripts, run when the group's state changes (keepalived's group
    /// `notify*`; the generic one gets `GROUP <name> <state> 0` appended).
    pub notify: NotifyScripts,
}

/// keepalived's per-address words on a `virtual_ipaddress` line that minimal_failover
/// applies: `label`, `scope` (and `dev`, only naming the instance's own interface).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VipOptions {
    /// `label L` (IPv4): `ip addr`'s alias name, the interface name or `IFACE:...`.
    pub label: Option<String>,
    /// `scope global|site|link|host|nowhere` (default global).
    pub scope: Option<AddressScope>,
    /// `dev D`: the interface the VIP lives on and is announced on, when not the instance's.
    pub dev: Option<String>,
}

/// How often and how patiently a TCP or HTTP tracker checks, and what it weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTiming {
    /// Weight, −253..=253 (0: FAULT while down).
    pub weight: i32,
    /// Time between checks.
    pub interval: Duration,
    /// Time a check may take.
    pub timeout: Duration,
    /// Failures to go down.
    pub fall: u32,
    /// Successes to go up.
    pub rise: u32,
}

/// A TCP connect tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackTcp {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// Where it connects.
    pub addr: SocketAddr,
    /// Timing and weight.
    pub timing: CheckTiming,
}

/// An HTTP GET tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackHttp {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// Where it connects.
    pub addr: SocketAddr,
    /// The path it asks for.
    pub path: String,
    /// The status it expects (`None`: any 2xx).
    pub status: Option<u16>,
    /// Timing and weight.
    pub timing: CheckTiming,
}

/// A tracker the program sets itself ([`Daemon::set_tracker`](crate::Daemon::set_tracker)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackExternal {
    /// The instance's tracker for it (see [`tracker_id`]).
    pub id: TrackerId,
    /// Its name.
    pub name: String,
    /// Weight (0 = FAULT while down).
    pub weight: i32,
}

/// How a field of instance `.0` is named in errors: `instance[i].key`.
#[derive(Clone, Copy)]
struct Naming(usize);

impl Naming {
    fn field(self, key: &str) -> String {
        format!("instance[{}].{key}", self.0)
    }
}

/// Validates `raw` (see [`Config::validate`]); `source_of` resolves an interface's advert
/// source address for the family of a sample address.
pub(crate) fn validate(
    raw: &Config,
    source_of: &dyn Fn(&str, IpAddr) -> Result<IpAddr, String>,
) -> Result<DaemonSpec, ConfigError> {
    #[cfg(feature = "ipvs")]
    let no_vs = raw.virtual_server.is_empty();
    #[cfg(not(feature = "ipvs"))]
    let no_vs = true;
    if raw.instance.is_empty() && raw.announce.is_empty() && no_vs {
        return err(
            "instance",
            "the configuration defines no instance (and no announcement or virtual server)",
        );
    }
    let mut instances = Vec::new();
    for (i, ri) in raw.instance.iter().enumerate() {
        let mut inst = validate_instance(ri, Naming(i), source_of)?;
        inst.name = ri.name.clone().unwrap_or_else(|| format!("VI_{i}"));
        if instances.iter().any(|o: &InstanceSpec| {
            o.iface == inst.iface && o.fsm.vrid == inst.fsm.vrid && o.fsm.family == inst.fsm.family
        }) {
            return err(
                format!("instance[{i}].vrid"),
                format!("VRID {} is already used on {}", inst.fsm.vrid, inst.iface),
            );
        }
        if instances.iter().any(|o: &InstanceSpec| o.name == inst.name) {
            return err(
                format!("instance[{i}].name"),
                format!("duplicate name {:?}", inst.name),
            );
        }
        if let Some(v) = &inst.vmac {
            let taken = |o: &InstanceSpec| o.vmac.as_ref().is_some_and(|w| w.name == v.name);
            if let Some(o) = instances.iter().find(|o| taken(o)) {
                return err(
                    format!("instance[{i}].use_vmac"),
                    format!("{:?} is the VMAC of instance {:?} too", v.name, o.name),
                );
            }
        }
        inst.notify_priority_changes = ri
            .notify_priority_changes
            .unwrap_or(raw.notify_priority_changes);
        instances.push(inst);
    }
    let mut sync_groups = Vec::new();
    let mut used = vec![false; instances.len()];
    for (g, rg) in raw.sync_group.iter().enumerate() {
        let mut members = Vec::new();
        for (m, name) in rg.instances.iter().enumerate() {
            let field = format!("sync_group[{g}].instances[{m}]");
            let Some(idx) = instances.iter().position(|i| &i.name == name) else {
                return err(field, format!("no instance named {name:?}"));
            };
            if used[idx] {
                return err(
                    field,
                    format!("instance {name:?} is already in a sync group"),
                );
            }
            used[idx] = true;
            members.push(idx);
        }
        if members.is_empty() {
            return err(
                format!("sync_group[{g}].instances"),
                "a sync group needs members",
            );
        }
        let script = |key: &str, cmd: &Option<String>| {
            cmd.as_deref()
                .map(|c| command_argv(format!("sync_group[{g}].{key}"), c))
                .transpose()
        };
        let notify = NotifyScripts {
            any: script("notify", &rg.notify)?,
            master: script("notify_master", &rg.notify_master)?,
            backup: script("notify_backup", &rg.notify_backup)?,
            fault: script("notify_fault", &rg.notify_fault)?,
            stop: script("notify_stop", &rg.notify_stop)?,
            master_rx_lower_pri: None,
        };
        sync_groups.push(SyncGroupSpec {
            name: rg.name.clone(),
            members,
            notify,
        });
    }
    let script_user =
        script_security::resolve(raw.script_user.as_deref()).or_else(|m| err("script_user", m))?;
    let warnings = check_scripts(
        &instances,
        &sync_groups,
        script_user.map_or(0, |u| u.uid),
        raw.enable_script_security,
    )?;
    let announcements = crate::runtime::announce_config::validate_all(&raw.announce, &instances)?;
    #[cfg(feature = "ipvs")]
    let lvs_sync_daemon =
        crate::runtime::lvs_sync::validate(raw.lvs_sync_daemon.as_ref(), &instances)?;
    Ok(DaemonSpec {
        instances,
        sync_groups,
        log_format: raw.log_format,
        notify_fifo: fifo_path("notify_fifo", raw.notify_fifo.as_deref())?,
        script_user,
        warnings,
        lock_dir: match raw.lock_dir.as_deref() {
            None => crate::runtime::instance_lock::DEFAULT_LOCK_DIR.into(),
            Some(p) if p.starts_with('/') => p.into(),
            Some(p) => return err("lock_dir", format!("{p:?} is not an absolute path")),
        },
        metrics_listen: metrics_addr(raw.metrics_listen.as_deref())?,
        statics: crate::runtime::static_config::validate(raw)?,
        smtp: crate::runtime::smtp_alert::validate(raw)?,
        announcements,
        #[cfg(feature = "ipvs")]
        virtual_servers: crate::runtime::virtual_server_config::validate_all(
            &raw.virtual_server,
            &raw.virtual_server_group,
        )?,
        #[cfg(feature = "ipvs")]
        lvs_sync_daemon,
    })
}

/// `metrics_listen`: an `ADDR:PORT` (`[v6]:PORT`), with the `metrics` feature built in.
fn metrics_addr(raw: Option<&str>) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    if !cfg!(feature = "metrics") {
        return Err(ConfigError::new(
            "metrics_listen",
            "this build has no metrics endpoint (feature `metrics`)",
        ));
    }
    raw.parse().map(Some).map_err(|_| {
        ConfigError::new(
            "metrics_listen",
            format!("{raw:?} is not ADDR:PORT (e.g. 127.0.0.1:9650 or [::1]:9650)"),
        )
    })
}

/// A `notify_fifo` path: absolute, so a daemon started elsewhere finds the same FIFO.
fn fifo_path(field: &str, path: Option<&str>) -> Result<Option<std::path::PathBuf>, ConfigError> {
    match path {
        None => Ok(None),
        Some(p) if p.starts_with('/') => Ok(Some(p.into())),
        Some(p) => err(field.to_string(), format!("{p:?} is not an absolute path")),
    }
}

/// Resolves the advert source of `iface` for the family of `sample` (primary IPv4 or IPv6
/// link-local), read-only.
pub fn resolve_source(iface: &str, sample: IpAddr) -> Result<IpAddr, String> {
    let ifc = vip_netlink::Interface::by_name(iface).map_err(|e| e.to_string())?;
    ifc.source_address(vip_netlink::AddressFamily::of(&sample))
        .map_err(|e| e.to_string())
}

/// [`resolve_source`], passing over the addresses of `skip` (the daemon's own static
/// addresses).
pub fn resolve_source_skipping(
    iface: &str,
    sample: IpAddr,
    skip: &[IpAddr],
) -> Result<IpAddr, String> {
    if skip.is_empty() {
        return resolve_source(iface, sample);
    }
    let ifc = vip_netlink::Interface::by_name(iface).map_err(|e| e.to_string())?;
    let found = ifc
        .addresses()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|a| !skip.contains(a))
        .find(|a| match (a, sample) {
            (IpAddr::V4(_), IpAddr::V4(_)) => true,
            (IpAddr::V6(v6), IpAddr::V6(_)) => v6.segments()[0] & 0xffc0 == 0xfe80,
            _ => false,
        });
    match found {
        Some(a) => Ok(a),
        None => resolve_source(iface, sample),
    }
}

/// `ADDR[/PREFIX] [label L] [scope S] [dev D] [no_track]`, keepalived's words for one
/// virtual address. `no_track` is accepted: nothing watches the addresses, so every one
/// behaves so.
pub(crate) fn parse_vip(s: &str) -> Result<(VirtualAddress, VipOptions), String> {
    let mut words = s.split_whitespace();
    let first = words.next().unwrap_or("");
    let (addr, prefix) = match first.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (first, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{s:?}: prefix length must be 0..={max}"))?,
    };
    let mut opts = VipOptions::default();
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .ok_or_else(|| format!("{s:?}: {word} needs a value"))
        };
        match word {
            "label" if addr.is_ipv4() => opts.label = Some(value()?.to_string()),
            "label" => return Err(format!("{s:?}: labels are IPv4 only")),
            "scope" => {
                opts.scope = Some(match value()? {
                    "global" | "universe" => AddressScope::Global,
                    "site" => AddressScope::Site,
                    "link" => AddressScope::Link,
                    "host" => AddressScope::Host,
                    "nowhere" => AddressScope::Nowhere,
                    other => return Err(format!("{s:?}: scope {other:?}")),
                })
            }
            "dev" => opts.dev = Some(value()?.to_string()),
            "no_track" => {}
            other => return Err(format!("{s:?}: unexpected {other:?}")),
        }
    }
    Ok((VirtualAddress::new(addr, prefix), opts))
}

fn seconds(field: String, v: f64, min: f64, max: f64) -> Result<Duration, ConfigError> {
    if !v.is_finite() || v < min || v > max {
        return err(field, format!("{v} is outside {min}..={max} seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A script's program and arguments: split on whitespace (no shell), not empty.
fn command_argv(field: String, cmd: &str) -> Result<Vec<String>, ConfigError> {
    let argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
    if argv.is_empty() {
        return err(field, "empty command");
    }
    Ok(argv)
}

fn validate_instance(
    r: &VrrpInstance,
    n: Naming,
    source_of: &dyn Fn(&str, IpAddr) -> Result<IpAddr, String>,
) -> Result<InstanceSpec, ConfigError> {
    if r.iface.is_empty() || r.iface.len() > 15 || r.iface.contains(['/', ' ']) {
        return err(
            n.field("iface"),
            format!("{:?} is not an interface name", r.iface),
        );
    }
    if r.vrid == 0 {
        return err(n.field("vrid"), "must be 1..=255");
    }
    if r.priority == 0 {
        return err(n.field("priority"), "must be 1..=255");
    }
    let version = match r.vrrp_version {
        2 => Version::V2,
        3 => Version::V3,
        v => return err(n.field("vrrp_version"), format!("{v}: must be 2 or 3")),
    };
    if r.vips.is_empty() {
        return err(n.field("vips"), "at least one virtual address is required");
    }
    let mut vips = Vec::new();
    let mut vip_options = Vec::new();
    for (k, s) in r.vips.iter().enumerate() {
        let field = n.field(&format!("vips[{k}]"));
        let (v, o) = parse_vip(s).map_err(|m| ConfigError {
            field: field.clone(),
            message: m,
        })?;
        check_vip_options(&field, &v, &o, r)?;
        vip_options.push((v.addr, o));
        if let Some(first) = vips.first() {
            let first: &VirtualAddress = first;
            if first.addr.is_ipv4() != v.addr.is_ipv4() {
                return err(
                    field,
                    "all virtual addresses must be of one family (IPv4 or IPv6)",
                );
            }
        }
        if version == Version::V2 && v.addr.is_ipv6() {
            return err(
                field,
                "VRRPv2 carries IPv4 only: use --vrrp-version 3 for IPv6",
            );
        }
        vips.push(v);
    }
    let sample = vips[0].addr;
    let mut vips_excluded: Vec<VirtualAddress> = Vec::new();
    for (k, s) in r.vips_excluded.iter().enumerate() {
        let field = n.field(&format!("vips_excluded[{k}]"));
        let (v, o) = parse_vip(s).map_err(|m| ConfigError {
            field: field.clone(),
            message: m,
        })?;
        check_vip_options(&field, &v, &o, r)?;
        vip_options.push((v.addr, o));
        if vips.iter().chain(&vips_excluded).any(|o| o.addr == v.addr) {
            return err(field, format!("{} is listed twice", v.addr));
        }
        vips_excluded.push(v);
    }
    let routes = held_list(n, "virtual_routes", &r.virtual_routes)?;
    let rules = held_list(n, "virtual_rules", &r.virtual_rules)?;
    // Advert interval: v2 whole seconds 1..=255, v3 centiseconds 0.01..=40.95.
    let int_field = n.field("advert_int");
    let advert_interval = match version {
        Version::V2 => {
            if !r.advert_int.is_finite() || r.advert_int.fract() != 0.0 {
                return err(
                    int_field,
                    format!("{}: VRRPv2 needs whole seconds", r.advert_int),
                );
            }
            seconds(int_field, r.advert_int, 1.0, 255.0)?
        }
        Version::V3 => {
            let cs = (r.advert_int * 100.0).round();
            if !r.advert_int.is_finite() || (r.advert_int * 100.0 - cs).abs() > 1e-6 {
                return err(
                    int_field,
                    format!("{}: VRRPv3 needs a multiple of 0.01 s", r.advert_int),
                );
            }
            seconds(int_field, r.advert_int, 0.01, 40.95)?;
            Duration::from_millis(cs as u64 * 10)
        }
    };
    let preempt_delay = seconds(n.field("preempt_delay"), r.preempt_delay, 0.0, 1000.0)?;
    let mut ip_ah = None;
    let auth = match &r.auth_pass {
        None => {
            if r.auth_type.is_some() {
                return err(n.field("auth_type"), "needs a password (auth_pass)");
            }
            Auth::None
        }
        Some(p) => {
            let field = n.field("auth_pass");
            if version != Version::V2 {
                return err(
                    field,
                    "authentication exists in VRRPv2 only (--vrrp-version 2)",
                );
            }
            if p.is_empty() || p.len() > 8 || !p.is_ascii() {
                return err(field, "must be 1 to 8 ASCII characters");
            }
            let mut b = [0u8; 8];
            b[..p.len()].copy_from_slice(p.as_bytes());
            match r
                .auth_type
                .as_deref()
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                None | Some("PASS") => Auth::SimplePassword(b),
                // The password keys the AH's HMAC-MD5; the message itself says type 2.
                Some("AH") => {
                    ip_ah = Some(b);
                    Auth::IpAh
                }
                Some(_) => {
                    return err(
                        n.field("auth_type"),
                        format!(
                            "{:?}: must be PASS or AH",
                            r.auth_type.as_deref().unwrap_or("")
                        ),
                    )
                }
            }
        }
    };
    let auth_hmac = match &r.auth_hmac {
        None => None,
        Some(raw) => {
            // keepalived drops the legacy authentication then; refusing says so.
            if r.auth_pass.is_some() {
                return err(
                    n.field("auth_hmac"),
                    "cannot be combined with auth_pass / auth_type",
                );
            }
            Some(crate::runtime::auth_hmac_spec::auth_hmac(
                raw,
                advert_interval,
                |k| n.field(&format!("auth_hmac.{k}")),
            )?)
        }
    };
    // keepalived's unicast_src_ip and mcast_src_ip set the one advert source, for unicast
    // and multicast adverts alike.
    let source = |key: &str, text: &Option<String>| -> Result<_, ConfigError> {
        let Some(s) = text else { return Ok(None) };
        let field = n.field(key);
        let a: IpAddr = s.parse().map_err(|_| ConfigError {
            field: field.clone(),
            message: format!("{s:?} is not an IP address"),
        })?;
        if a.is_ipv4() != sample.is_ipv4() {
            return err(field, "must be of the VIPs' address family");
        }
        Ok(Some(a))
    };
    let unicast_src = source("unicast_src", &r.unicast_src)?;
    let mcast_src = source("mcast_src_ip", &r.mcast_src_ip)?;
    if let (Some(u), Some(m)) = (unicast_src, mcast_src) {
        if u != m {
            return err(
                n.field("mcast_src_ip"),
                format!(
                    "{m} differs from unicast_src {u}: they are one setting (the advert source)"
                ),
            );
        }
    }
    let unicast_src = unicast_src.or(mcast_src);
    let mut peers = Vec::new();
    for s in &r.unicast_peers {
        let field = n.field("unicast_peers");
        let a: IpAddr = s.parse().map_err(|_| ConfigError {
            field: field.clone(),
            message: format!("{s:?} is not an IP address"),
        })?;
        if a.is_ipv4() != sample.is_ipv4() {
            return err(field, format!("{a} is not of the VIPs' address family"));
        }
        peers.push(a);
    }
    let mut track_scripts = Vec::new();
    for (k, t) in r.track_script.iter().enumerate() {
        let f = |key: &str| n.field(&format!("track_script[{k}].{key}"));
        let argv = command_argv(f("cmd"), &t.cmd)?;
        if !(-253..=253).contains(&t.weight) {
            return err(f("weight"), format!("{} is outside -253..=253", t.weight));
        }
        let interval = seconds(f("interval"), t.interval, 0.01, 3600.0)?;
        if t.fall == 0 {
            return err(f("fall"), "must be at least 1");
        }
        if t.rise == 0 {
            return err(f("rise"), "must be at least 1");
        }
        let timeout = match t.timeout {
            None => interval,
            Some(v) => seconds(f("timeout"), v, 0.001, 3600.0)?,
        };
        let identity = if t.timeout.is_some() {
            format!("{argv:?} {interval:?} {} {} {timeout:?}", t.fall, t.rise)
        } else {
            format!("{argv:?} {interval:?} {} {}", t.fall, t.rise)
        };
        track_scripts.push(TrackScript {
            id: tracker_id(TrackerKind::Script, &identity),
            argv,
            weight: t.weight,
            interval,
            timeout,
            fall: t.fall,
            rise: t.rise,
        });
    }
    let mut track_ifaces = Vec::new();
    for s in &r.track_ifaces {
        let field = n.field("track_ifaces");
        let (iface, weight) = match s.split_once(':') {
            None => (s.as_str(), 0),
            Some((i, w)) => (
                i,
                w.parse::<i32>()
                    .ok()
                    .filter(|w| (-253..=253).contains(w))
                    .ok_or_else(|| ConfigError {
                        field: field.clone(),
                        message: format!("{s:?}: weight must be an integer in -253..=253"),
                    })?,
            ),
        };
        if iface.is_empty() || iface.len() > 15 {
            return err(field, format!("{s:?} is not IFACE[:WEIGHT]"));
        }
        track_ifaces.push(TrackIface {
            id: tracker_id(TrackerKind::Interface, iface),
            iface: iface.to_string(),
            weight,
        });
    }
    let script = |key: &str, cmd: &Option<String>| {
        cmd.as_deref()
            .map(|c| command_argv(n.field(key), c))
            .transpose()
    };
    let notify = NotifyScripts {
        any: script("notify", &r.notify)?,
        master: script("notify_master", &r.notify_master)?,
        backup: script("notify_backup", &r.notify_backup)?,
        fault: script("notify_fault", &r.notify_fault)?,
        stop: script("notify_stop", &r.notify_stop)?,
        master_rx_lower_pri: script("notify_master_rx_lower_pri", &r.notify_master_rx_lower_pri)?,
    };
    let primary = match unicast_src {
        Some(a) => a,
        None => source_of(&r.iface, sample).map_err(|m| ConfigError {
            field: n.field("iface"),
            message: m,
        })?,
    };
    let unicast_ttl = match r.unicast_ttl {
        None => VRRP_TTL,
        Some(0) => return err(n.field("unicast_ttl"), "must be 1..=255"),
        Some(_) if peers.is_empty() => {
            return err(
                n.field("unicast_ttl"),
                "needs unicast_peers (multicast adverts always carry TTL 255)",
            )
        }
        Some(t) => t,
    };
    let mut fsm = InstanceConfig::new(r.vrid, primary);
    fsm.version = version;
    fsm.priority = r.priority;
    fsm.advert_interval = advert_interval;
    fsm.vips = vips;
    fsm.unicast_peers = peers;
    fsm.preempt = !r.nopreempt;
    fsm.preempt_delay = preempt_delay;
    fsm.auth = auth;
    fsm.garp_master_repeat = r.garp_repeat;
    fsm.garp_lower_prio_repeat = r.garp_repeat;
    if let Some(t) = &r.tuning {
        apply_tuning(&mut fsm, t, n)?;
        // keepalived's vrrp_strict forces auth_hmac's enforce mode; say so instead.
        let relaxed = auth_hmac
            .as_ref()
            .is_some_and(|a| a.mode() != vip_netlink::AuthHmacMode::Enforce);
        if t.strict_mode && relaxed {
            return err(
                n.field("auth_hmac.mode"),
                "tuning.strict_mode requires mode enforce (keepalived forces it)",
            );
        }
    }
    for t in &track_scripts {
        fsm.trackers
            .push(TrackerConfig::new(t.id, TrackerKind::Script, t.weight));
    }
    for t in &track_ifaces {
        fsm.trackers
            .push(TrackerConfig::new(t.id, TrackerKind::Interface, t.weight));
    }
    let mut track_files = Vec::new();
    for (k, t) in r.track_file.iter().enumerate() {
        if t.path.is_empty() {
            return err(n.field(&format!("track_file[{k}].path")), "empty path");
        }
        let (lo, hi) = TrackerKind::File.weight_range();
        if !(lo..=hi).contains(&t.weight) {
            return err(
                n.field(&format!("track_file[{k}].weight")),
                format!("{} is outside {lo}..={hi}", t.weight),
            );
        }
        let id = tracker_id(TrackerKind::File, &t.path);
        fsm.trackers
            .push(TrackerConfig::new(id, TrackerKind::File, t.weight));
        track_files.push(TrackFile {
            id,
            path: t.path.clone().into(),
            weight: t.weight,
        });
    }
    let mut track_processes = Vec::new();
    for (k, t) in r.track_process.iter().enumerate() {
        let field = |key: &str| n.field(&format!("track_process[{k}].{key}"));
        let matcher = match (&t.process, &t.argv) {
            (Some(p), None) if !p.is_empty() => ProcessMatch::Comm(p.clone()),
            (None, Some(a)) if !a.is_empty() => ProcessMatch::Argv(a.clone()),
            _ => return err(field("process"), "give one of process or argv, not empty"),
        };
        let max = t.quorum_max.unwrap_or(u32::MAX);
        if t.quorum == 0 || max < t.quorum {
            return err(
                field("quorum"),
                format!(
                    "quorum {} and quorum_max {max}: need 1 <= quorum <= quorum_max",
                    t.quorum
                ),
            );
        }
        let (lo, hi) = TrackerKind::Process.weight_range();
        if !(lo..=hi).contains(&t.weight) {
            return err(
                field("weight"),
                format!("{} is outside {lo}..={hi}", t.weight),
            );
        }
        if t.fall == 0 || t.rise == 0 {
            return err(field("fall"), "fall and rise must be at least 1");
        }
        let interval = seconds(field("interval"), t.interval, 0.01, 3600.0)?;
        let identity = format!(
            "{matcher:?} {} {max} {interval:?} {} {}",
            t.quorum, t.fall, t.rise
        );
        let id = tracker_id(TrackerKind::Process, &identity);
        fsm.trackers
            .push(TrackerConfig::new(id, TrackerKind::Process, t.weight));
        track_processes.push(TrackProcess {
            id,
            matcher,
            min: t.quorum,
            max,
            weight: t.weight,
            interval,
            fall: t.fall,
            rise: t.rise,
        });
    }
    let mut track_tcp = Vec::new();
    for (k, t) in r.track_tcp.iter().enumerate() {
        let tcp = tcp_tracker(&|key: &str| n.field(&format!("track_tcp[{k}].{key}")), t)?;
        fsm.trackers
            .push(TrackerConfig::new(tcp.id, TrackerKind::Script, t.weight));
        track_tcp.push(tcp);
    }
    let mut track_http = Vec::new();
    for (k, t) in r.track_http.iter().enumerate() {
        let http = http_tracker(&|key: &str| n.field(&format!("track_http[{k}].{key}")), t)?;
        fsm.trackers
            .push(TrackerConfig::new(http.id, TrackerKind::Script, t.weight));
        track_http.push(http);
    }
    let mut track_external = Vec::new();
    for (k, t) in r.track_external.iter().enumerate() {
        let f = |key: &str| n.field(&format!("track_external[{k}].{key}"));
        if t.name.is_empty() {
            return err(f("name"), "empty name");
        }
        if !(-253..=253).contains(&t.weight) {
            return err(f("weight"), format!("{} is outside -253..=253", t.weight));
        }
        let id = tracker_id(TrackerKind::Script, &format!("external {}", t.name));
        fsm.trackers
            .push(TrackerConfig::new(id, TrackerKind::Script, t.weight));
        track_external.push(TrackExternal {
            id,
            name: t.name.clone(),
            weight: t.weight,
        });
    }
    // One tracker per thing watched (its id says what that is).
    let lists: [(&str, Vec<TrackerId>); 7] = [
        ("track_tcp", track_tcp.iter().map(|t| t.id).collect()),
        ("track_http", track_http.iter().map(|t| t.id).collect()),
        (
            "track_external",
            track_external.iter().map(|t| t.id).collect(),
        ),
        ("track_script", track_scripts.iter().map(|t| t.id).collect()),
        ("track_ifaces", track_ifaces.iter().map(|t| t.id).collect()),
        ("track_file", track_files.iter().map(|t| t.id).collect()),
        (
            "track_process",
            track_processes.iter().map(|t| t.id).collect(),
        ),
    ];
    for (key, ids) in &lists {
        if let Some(k) = (1..ids.len()).find(|&k| ids[..k].contains(&ids[k])) {
            return err(
                n.field(&format!("{key}[{k}]")),
                "the same as an earlier entry (each may be tracked once)",
            );
        }
    }
    let vmac = vmac_name(r);
    if vmac.is_none() && r.vmac_xmit_base {
        return err(n.field("vmac_xmit_base"), "needs use_vmac");
    }
    let vmac = match vmac {
        None => None,
        Some(name) => {
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) || name == r.iface {
                return err(
                    n.field("use_vmac"),
                    format!("{name:?} is not a free interface name"),
                );
            }
            Some(VmacSpec {
                name,
                xmit_base: r.vmac_xmit_base,
            })
        }
    };
    // Let the state machine apply its own checks now, so errors exit 2 before any I/O.
    if let Err(e) = vrrp_fsm::Instance::new(fsm.clone()) {
        return err(n.field(fsm_field(&e)), e.to_string());
    }
    Ok(InstanceSpec {
        name: format!("VI_{}", r.vrid),
        iface: r.iface.clone(),
        fsm,
        unicast_src,
        unicast_ttl,
        track_scripts,
        track_ifaces,
        track_files,
        track_processes,
        track_tcp,
        track_http,
        track_external,
        notify,
        notify_priority_changes: r.notify_priority_changes.unwrap_or(false),
        vmac,
        ip_ah,
        auth_hmac,
        vips_excluded,
        vip_options: vip_options
            .into_iter()
            .filter(|(_, o)| *o != VipOptions::default())
            .collect(),
        routes,
        rules,
    })
}

/// `dev` names the interface the VIP lives on (by default the instance's, or its VMAC); a
/// label must pass iproute2's rule ([`vip_netlink::Vip::check_label`]) on that interface.
fn check_vip_options(
    field: &str,
    v: &VirtualAddress,
    o: &VipOptions,
    r: &VrrpInstance,
) -> Result<(), ConfigError> {
    if let Some(dev) = &o.dev {
        if dev.is_empty() || dev.len() >= 16 || dev.contains(['/', ' ']) {
            return err(field, format!("dev {dev:?} is not an interface name"));
        }
    }
    if let Some(label) = &o.label {
        // On the VIPs' interface (the VMAC's with use_vmac), or the one `dev` names.
        let iface = match &o.dev {
            Some(dev) if *dev != r.iface => dev.clone(),
            _ => vmac_name(r).unwrap_or_else(|| r.iface.clone()),
        };
        let vip = vip_netlink::Vip::new(iface, v.addr, v.prefix_len).map_err(|e| ConfigError {
            field: field.into(),
            message: e.to_string(),
        })?;
        if let Err(e) = vip.with_label(label.clone()).check_label() {
            return err(field, e.to_string());
        }
    }
    Ok(())
}

/// The name of the instance's VMAC (keepalived's default `vrrp.<vrid>`), if it has one.
fn vmac_name(r: &VrrpInstance) -> Option<String> {
    match &r.use_vmac {
        None | Some(UseVmac::On(false)) => None,
        Some(UseVmac::On(true)) => Some(format!("vrrp.{}", r.vrid)),
        Some(UseVmac::Named(name)) => Some(name.clone()),
    }
}

/// keepalived's `virtual_routes` or `virtual_rules` (`T`) from their words, each once.
fn held_list<T>(n: Naming, key: &str, texts: &[String]) -> Result<Vec<T>, ConfigError>
where
    T: std::str::FromStr<Err = vip_netlink::Error> + PartialEq,
{
    let mut list = Vec::new();
    for (k, text) in texts.iter().enumerate() {
        let field = n.field(&format!("{key}[{k}]"));
        let item: T = text.parse().map_err(|e| ConfigError {
            field: field.clone(),
            message: format!("{text:?}: {e}"),
        })?;
        if list.contains(&item) {
            return err(field, format!("{text:?} is listed twice"));
        }
        list.push(item);
    }
    Ok(list)
}

/// Applies `[instance.tuning]` to the state machine's configuration.
fn apply_tuning(fsm: &mut InstanceConfig, t: &Tuning, n: Naming) -> Result<(), ConfigError> {
    let field = |key: &str| n.field(&format!("tuning.{key}"));
    let secs = |key: &str, v: Option<f64>, into: &mut Duration| -> Result<(), ConfigError> {
        if let Some(v) = v {
            *into = seconds(field(key), v, 0.0, 86_400.0)?;
        }
        Ok(())
    };
    if let Some(state) = &t.state {
        fsm.initial_state_master = match state.to_ascii_uppercase().as_str() {
            "MASTER" => true,
            "BACKUP" => false,
            _ => {
                return err(
                    field("state"),
                    format!("{state:?}: must be MASTER or BACKUP"),
                )
            }
        };
    }
    secs(
        "garp_master_delay",
        t.garp_master_delay,
        &mut fsm.garp_master_delay,
    )?;
    // keepalived's default: the lower-priority burst follows garp_master_delay.
    fsm.garp_lower_prio_delay = fsm.garp_master_delay;
    secs(
        "garp_master_refresh",
        t.garp_master_refresh,
        &mut fsm.garp_master_refresh,
    )?;
    secs(
        "garp_lower_prio_delay",
        t.garp_lower_prio_delay,
        &mut fsm.garp_lower_prio_delay,
    )?;
    if let Some(k) = t.garp_master_refresh_repeat {
        fsm.garp_master_refresh_repeat = k;
    }
    if let Some(k) = t.garp_lower_prio_repeat {
        fsm.garp_lower_prio_repeat = k;
    }
    if let Some(k) = t.down_timer_adverts {
        if !(1..=100).contains(&k) {
            return err(field("down_timer_adverts"), format!("{k}: must be 1..=100"));
        }
        fsm.down_timer_adverts = k;
    }
    fsm.lower_prio_no_advert = t.lower_prio_no_advert;
    fsm.higher_prio_send_advert = t.higher_prio_send_advert;
    fsm.check_unicast_src = t.check_unicast_src;
    fsm.strict = t.strict_mode;
    Ok(())
}

/// The field a state-machine configuration error is about.
fn fsm_field(e: &vrrp_fsm::ConfigError) -> &'static str {
    let s = format!("{e:?}").to_ascii_lowercase();
    for (needle, field) in [
        ("vrid", "vrid"),
        ("priority", "priority"),
        ("interval", "advert_int"),
        ("preempt", "preempt_delay"),
        ("weight", "track_script"),
        ("unicast", "unicast_peers"),
        ("peer", "unicast_peers"),
        ("auth", "auth_pass"),
        ("primary", "unicast_src"),
        ("address", "vips"),
        ("vip", "vips"),
        ("prefix", "vips"),
    ] {
        if s.contains(needle) {
            return field;
        }
    }
    "config"
}

/// Every script the configuration runs, checked as keepalived's `enable_script_security`
/// does (see `script_security`): refused with it, a warning without it.
fn check_scripts(
    instances: &[InstanceSpec],
    groups: &[SyncGroupSpec],
    uid: u32,
    enforce: bool,
) -> Result<Vec<String>, ConfigError> {
    let mut scripts: Vec<(String, String)> = Vec::new();
    let mut notify = |field: String, n: &NotifyScripts| {
        for (key, argv) in [
            ("notify", &n.any),
            ("notify_master", &n.master),
            ("notify_backup", &n.backup),
            ("notify_fault", &n.fault),
            ("notify_stop", &n.stop),
            ("notify_master_rx_lower_pri", &n.master_rx_lower_pri),
        ] {
            if let Some(program) = argv.as_ref().and_then(|a| a.first()) {
                scripts.push((format!("{field}.{key}"), program.clone()));
            }
        }
    };
    for (i, inst) in instances.iter().enumerate() {
        notify(format!("instance[{i}]"), &inst.notify);
    }
    for (g, group) in groups.iter().enumerate() {
        notify(format!("sync_group[{g}]"), &group.notify);
    }
    for (i, inst) in instances.iter().enumerate() {
        for (k, t) in inst.track_scripts.iter().enumerate() {
            if let Some(program) = t.argv.first() {
                scripts.push((
                    format!("instance[{i}].track_script[{k}].cmd"),
                    program.clone(),
                ));
            }
        }
    }
    let mut warnings = Vec::new();
    for (field, program) in scripts {
        if let Some(why) = script_security::insecure(&program, uid) {
            if enforce {
                return err(field, format!("{program}: {why} (enable_script_security)"));
            }
            warnings.push(format!(
                "{field}: {program}: {why}; it runs anyway (enable_script_security is off)"
            ));
        }
    }
    Ok(warnings)
}

/// A `track_tcp` entry, checked: `f` names a key of it.
pub(crate) fn tcp_tracker(
    f: &dyn Fn(&str) -> String,
    t: &crate::runtime::config::TrackTcpConfig,
) -> Result<TrackTcp, ConfigError> {
    let addr: SocketAddr = t.connect.parse().map_err(|_| ConfigError {
        field: f("connect"),
        message: format!("{:?} is not IP:PORT", t.connect),
    })?;
    let timing = check_timing(f, t.weight, t.interval, t.timeout, t.fall, t.rise)?;
    let identity = format!("tcp {addr} {timing:?}");
    let id = tracker_id(TrackerKind::Script, &identity);
    Ok(TrackTcp { id, addr, timing })
}

/// A `track_http` entry, checked: `f` names a key of it.
pub(crate) fn http_tracker(
    f: &dyn Fn(&str) -> String,
    t: &crate::runtime::config::TrackHttpConfig,
) -> Result<TrackHttp, ConfigError> {
    let (addr, path) = parse_http_url(&t.url).map_err(|m| ConfigError {
        field: f("url"),
        message: m,
    })?;
    if let Some(s) = t.status {
        if !(100..=599).contains(&s) {
            return err(f("status"), format!("{s} is not an HTTP status"));
        }
    }
    let timing = check_timing(f, t.weight, t.interval, t.timeout, t.fall, t.rise)?;
    let identity = format!("http {addr} {path} {:?} {timing:?}", t.status);
    let id = tracker_id(TrackerKind::Script, &identity);
    Ok(TrackHttp {
        id,
        addr,
        path,
        status: t.status,
        timing,
    })
}

/// The timing of a TCP or HTTP tracker, checked: `f` names a key of it.
fn check_timing(
    f: &dyn Fn(&str) -> String,
    weight: i32,
    interval: f64,
    timeout: Option<f64>,
    fall: u32,
    rise: u32,
) -> Result<CheckTiming, ConfigError> {
    if !(-253..=253).contains(&weight) {
        return err(f("weight"), format!("{weight} is outside -253..=253"));
    }
    let interval = seconds(f("interval"), interval, 0.01, 3600.0)?;
    let timeout = match timeout {
        None => interval,
        Some(t) => seconds(f("timeout"), t, 0.01, 3600.0)?,
    };
    if fall == 0 || rise == 0 {
        return err(f("fall"), "fall and rise must be at least 1");
    }
    Ok(CheckTiming {
        weight,
        interval,
        timeout,
        fall,
        rise,
    })
}

/// `http://IP[:PORT][/path]` (an address, not a name: the check never waits for DNS).
fn parse_http_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?} does not start with http://"))?;
    let (host, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    let addr = host
        .parse::<SocketAddr>()
        .or_else(|_| {
            let ip = host.trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 80))
        })
        .map_err(|_| format!("{url:?}: {host:?} is not IP[:PORT]"))?;
    Ok((addr, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One IPv4 instance on eth0; tests append keys to it.
    const BASE: &str =
        "[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['192.0.2.100/24']\n";

    fn parse(text: &str) -> Result<DaemonSpec, ConfigError> {
        from_toml(text, &src)
    }

    fn src(_: &str, sample: IpAddr) -> Result<IpAddr, String> {
        Ok(if sample.is_ipv4() {
            "192.0.2.1".parse().unwrap()
        } else {
            "fe80::1".parse().unwrap()
        })
    }

    #[test]
    fn toml_with_two_instances_and_a_sync_group() {
        let spec = parse(
            r#"
            [[instance]]
            name = "web"
            iface = "eth0"
            vrid = 1
            priority = 150
            vips = ["192.0.2.100/24"]
            vrrp_version = 3
            advert_int = 0.1
            [[instance]]
            name = "db"
            iface = "eth0"
            vrid = 2
            priority = 100
            vips = ["fd00::100/64"]
            vrrp_version = 3
            [[sync_group]]
            name = "G"
            instances = ["web", "db"]
            notify = "/usr/local/bin/group.sh"
            notify_master = "/bin/up.sh vip"
            "#,
        )
        .unwrap();
        assert_eq!(spec.instances.len(), 2);
        assert_eq!(
            spec.instances[0].fsm.advert_interval,
            Duration::from_millis(100)
        );
        let g = &spec.sync_groups[..];
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].name.as_str(), &g[0].members[..]), ("G", &[0, 1][..]));
        assert_eq!(
            g[0].notify.any.as_deref(),
            Some(&["/usr/local/bin/group.sh".to_string()][..])
        );
        assert_eq!(
            g[0].notify.master.as_deref(),
            Some(&["/bin/up.sh".to_string(), "vip".to_string()][..])
        );
        assert_eq!(g[0].notify.backup, None);
    }

    #[test]
    fn tuning_sets_keepalived_knobs_and_keeps_its_defaults() {
        let plain = parse(BASE).unwrap().instances[0].fsm.clone();
        let tuned = parse(&format!(
            "{BASE}[instance.tuning]\nstate='master'\ngarp_master_delay=0\n\
                 garp_master_refresh=30\ngarp_master_refresh_repeat=2\ndown_timer_adverts=5\n\
                 lower_prio_no_advert=true\nhigher_prio_send_advert=true\n"
        ))
        .unwrap()
        .instances[0]
            .fsm
            .clone();
        assert!(!plain.initial_state_master && tuned.initial_state_master);
        assert_eq!(plain.garp_master_delay, Duration::from_secs(5));
        assert_eq!(tuned.garp_master_delay, Duration::ZERO);
        // The lower-priority burst follows garp_master_delay unless set itself.
        assert_eq!(tuned.garp_lower_prio_delay, Duration::ZERO);
        assert_eq!(tuned.garp_master_refresh, Duration::from_secs(30));
        assert_eq!(tuned.garp_master_refresh_repeat, 2);
        assert_eq!((plain.down_timer_adverts, tuned.down_timer_adverts), (3, 5));
        assert!(tuned.lower_prio_no_advert && tuned.higher_prio_send_advert);
        assert!(!plain.lower_prio_no_advert && !plain.higher_prio_send_advert);
    }

    #[test]
    fn use_vmac_names_the_macvlan_and_refuses_a_shared_one() {
        let inst = |vrid: u8, vmac: &str| {
            format!(
                "[[instance]]\nname='i{vrid}'\niface='eth0'\nvrid={vrid}\npriority=100\n\
                 vips=['192.0.2.{vrid}/24']\n{vmac}\n"
            )
        };
        let spec =
            parse(&(inst(1, "use_vmac=true") + &inst(2, "use_vmac='vm2'\nvmac_xmit_base=true")))
                .unwrap();
        let (a, b) = (&spec.instances[0], &spec.instances[1]);
        assert_eq!((a.vip_iface(), a.advert_iface()), ("vrrp.1", "vrrp.1"));
        assert_eq!((b.vip_iface(), b.advert_iface()), ("vm2", "eth0"));
        let e = parse(&(inst(1, "use_vmac='vm'") + &inst(2, "use_vmac='vm'"))).unwrap_err();
        assert_eq!(e.field, "instance[1].use_vmac");
        let e = parse(&inst(1, "vmac_xmit_base=true")).unwrap_err();
        assert_eq!(e.field, "instance[0].vmac_xmit_base");
    }

    #[test]
    fn auth_hmac_block_from_toml_for_v2_and_v3_and_never_with_auth_pass() {
        let block = "[instance.auth_hmac]\nkeys = { 1 = 'hex:000102030405060708090a0b0c0d0e0f\
                     101112131415161718191a1b1c1d1e1f', 9 = 'abcdefghijklmnopqrstuvwxyz012345' }\n\
                     active_key = 9\nmode = 'permissive'\nanti_replay = 'monotonic'\n";
        for version in ["vrrp_version=2\n", "vrrp_version=3\nadvert_int=0.1\n"] {
            let spec = parse(&format!("{BASE}{version}{block}")).unwrap();
            let a = spec.instances[0].auth_hmac.as_ref().expect("auth_hmac");
            assert_eq!(a.active_key(), 9);
            assert_eq!(a.key_ids().collect::<Vec<_>>(), vec![1, 9]);
            assert_eq!(a.mode(), vip_netlink::AuthHmacMode::Permissive);
            assert_eq!(a.anti_replay(), vip_netlink::AntiReplay::Monotonic);
        }
        let e = parse(&format!("{BASE}auth_pass='x'\n{block}")).unwrap_err();
        assert_eq!(e.field, "instance[0].auth_hmac");
        let strict = format!("{BASE}{block}[instance.tuning]\nstrict_mode = true\n");
        assert_eq!(
            parse(&strict).unwrap_err().field,
            "instance[0].auth_hmac.mode"
        );
        let e = parse(&format!(
            "{BASE}{}",
            block.replace("active_key = 9", "active_key = 3")
        ))
        .unwrap_err();
        assert_eq!(e.field, "instance[0].auth_hmac.active_key");
        assert_eq!(parse(BASE).unwrap().instances[0].auth_hmac, None);
    }

    #[test]
    fn auth_type_ah_keys_the_advert_socket_and_needs_a_v2_password() {
        let spec = parse(&format!("{BASE}auth_pass='secret'\nauth_type='AH'\n")).unwrap();
        let i = &spec.instances[0];
        assert_eq!(i.fsm.auth, Auth::IpAh);
        assert_eq!(i.ip_ah, Some(*b"secret\0\0"));
        let pass = parse(&format!("{BASE}auth_pass='secret'\n")).unwrap();
        assert_eq!(
            pass.instances[0].fsm.auth,
            Auth::SimplePassword(*b"secret\0\0")
        );
        assert_eq!(pass.instances[0].ip_ah, None);
        for (extra, field) in [
            ("auth_type='AH'\n", "instance[0].auth_type"),
            ("auth_pass='x'\nauth_type='MD5'\n", "instance[0].auth_type"),
            (
                "auth_pass='x'\nauth_type='AH'\nvrrp_version=3\n",
                "instance[0].auth_pass",
            ),
        ] {
            let e = parse(&format!("{BASE}{extra}")).unwrap_err();
            assert_eq!(e.field, field, "{extra}");
        }
    }

    #[test]
    fn track_file_becomes_a_file_tracker_with_keepalived_s_default_weight() {
        let spec = parse(&format!(
            "{BASE}track_file=[{{path='/run/a'}}, {{path='/run/b', weight=-254}}]\n"
        ))
        .unwrap();
        let i = &spec.instances[0];
        assert_eq!(i.track_files.len(), 2);
        assert_eq!(
            (i.track_files[0].weight, i.track_files[1].weight),
            (1, -254)
        );
        let t = &i.fsm.trackers;
        assert_eq!(
            (t[0].id, t[0].kind),
            (i.track_files[0].id, TrackerKind::File)
        );
        let e = parse(&format!(
            "{BASE}track_file=[{{path='/run/a', weight=255}}]\n"
        ))
        .unwrap_err();
        assert_eq!(e.field, "instance[0].track_file[0].weight");
    }

    #[test]
    fn a_tracker_s_id_follows_what_it_watches_not_its_place_or_weight() {
        let one = "track_script=[{cmd='/bin/a', weight=-10}]\ntrack_ifaces=['eth1:-5']\n";
        let two = "track_script=[{cmd='/bin/b'}, {cmd='/bin/a', weight=-30}]\n\
                   track_ifaces=['eth2', 'eth1']\n";
        let [a, b] = [one, two].map(|t| parse(&format!("{BASE}{t}")).unwrap().instances[0].clone());
        assert_eq!(a.track_scripts[0].id, b.track_scripts[1].id);
        assert_eq!(a.track_ifaces[0].id, b.track_ifaces[1].id);
        assert_ne!(b.track_scripts[0].id, b.track_scripts[1].id);
        // Another interval is another check, so another tracker.
        let slow = parse(&format!(
            "{BASE}track_script=[{{cmd='/bin/a', weight=-10, interval=5.0}}]\n"
        ))
        .unwrap();
        assert_ne!(slow.instances[0].track_scripts[0].id, a.track_scripts[0].id);
        // The same thing watched twice is refused, naming the list.
        let e = parse(&format!(
            "{BASE}track_file=[{{path='/run/a'}}, {{path='/run/a'}}]\n"
        ))
        .unwrap_err();
        assert_eq!(e.field, "instance[0].track_file[1]");
    }

    #[test]
    fn track_process_matches_a_name_or_a_command_line_within_its_quorum() {
        let spec = parse(&format!(
            "{BASE}track_process=[{{process='haproxy', weight=-50, quorum=2, quorum_max=4}}, \
                 {{argv=['/bin/app', '-x']}}]\n"
        ))
        .unwrap();
        let p = &spec.instances[0].track_processes;
        assert_eq!(p[0].matcher, ProcessMatch::Comm("haproxy".into()));
        assert_eq!((p[0].min, p[0].max, p[0].weight), (2, 4, -50));
        assert_eq!(
            p[1].matcher,
            ProcessMatch::Argv(vec!["/bin/app".into(), "-x".into()])
        );
        assert_eq!((p[1].min, p[1].max, p[1].weight), (1, u32::MAX, 0));
        let t = &spec.instances[0].fsm.trackers;
        assert_eq!((t[0].id, t[0].kind), (p[0].id, TrackerKind::Process));
        for (bad, field) in [
            (
                "{process='a', argv=['b']}",
                "instance[0].track_process[0].process",
            ),
            (
                "{process='a', quorum=3, quorum_max=2}",
                "instance[0].track_process[0].quorum",
            ),
            (
                "{process='a', weight=-255}",
                "instance[0].track_process[0].weight",
            ),
        ] {
            let e = parse(&format!("{BASE}track_process=[{bad}]\n")).unwrap_err();
            assert_eq!(e.field, field, "{bad}");
        }
    }

    #[test]
    fn excluded_vips_are_held_not_advertised_and_listed_once() {
        let spec = parse(&format!(
            "{BASE}vips_excluded=['fd00::1/64', '192.0.2.101/24']\n"
        ))
        .unwrap();
        let i = &spec.instances[0];
        assert_eq!(i.fsm.vips.len(), 1, "only the VIPs are advertised");
        let held: Vec<String> = i.held_addresses().map(|v| v.addr.to_string()).collect();
        assert_eq!(held, ["192.0.2.100", "fd00::1", "192.0.2.101"]);
        let e = parse(&format!("{BASE}vips_excluded=['192.0.2.100/24']\n")).unwrap_err();
        assert_eq!(e.field, "instance[0].vips_excluded[0]");
    }

    #[test]
    fn unicast_ttl_applies_to_unicast_only() {
        let plain = parse(BASE).unwrap();
        assert_eq!(plain.instances[0].unicast_ttl, 255);
        let uc = format!("{BASE}unicast_peers=['192.0.2.2']\n");
        let spec = parse(&format!("{uc}unicast_ttl=64\n")).unwrap();
        assert_eq!(spec.instances[0].unicast_ttl, 64);
        for bad in [
            format!("{BASE}unicast_ttl=64\n"),
            format!("{uc}unicast_ttl=0\n"),
        ] {
            let e = parse(&bad).unwrap_err();
            assert_eq!(e.field, "instance[0].unicast_ttl", "{bad}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse("[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['192.0.2.1/24']\nadvert_int=0.5\n")
        .unwrap_err();
        assert_eq!(e.field, "instance[0].advert_int");
        let e = parse("[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=['192.0.2.1/33']\n")
            .unwrap_err();
        assert_eq!(e.field, "instance[0].vips[0]");
    }

    #[test]
    fn notify_priority_changes_defaults_to_the_file_s_key() {
        let two = "[[instance]]\nname='a'\niface='eth0'\nvrid=1\npriority=100\nvips=['192.0.2.1/24']\n\
                   [[instance]]\nname='b'\niface='eth0'\nvrid=2\npriority=100\nvips=['192.0.2.2/24']\n\
                   notify_priority_changes=false\n";
        let on = |text: &str| -> Vec<bool> {
            parse(text)
                .unwrap()
                .instances
                .iter()
                .map(|i| i.notify_priority_changes)
                .collect()
        };
        assert_eq!(on(two), [false, false]);
        assert_eq!(
            on(&format!("notify_priority_changes=true\n{two}")),
            [true, false]
        );
    }

    #[test]
    fn virtual_routes_parse_in_keepalived_s_words_and_errors_name_the_entry() {
        let spec = parse(&format!(
            "{BASE}virtual_routes=['10.99.0.0/16 via 192.0.2.254', 'blackhole 10.98.0.0/16']\n"
        ))
        .unwrap();
        let r = &spec.instances[0].routes;
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].to_string(), "blackhole 10.98.0.0/16");
        for (bad, field) in [
            (
                "['10.99.0.1/16 via 192.0.2.254']",
                "instance[0].virtual_routes[0]",
            ),
            (
                "['blackhole 10.98.0.0/16', 'blackhole 10.98.0.0/16']",
                "instance[0].virtual_routes[1]",
            ),
        ] {
            let e = parse(&format!("{BASE}virtual_routes={bad}\n")).unwrap_err();
            assert_eq!(e.field, field, "{bad}: {}", e.message);
        }
        let rules = parse(&format!(
            "{BASE}virtual_rules=['from 192.0.2.100 table 100']\n"
        ))
        .unwrap();
        assert_eq!(rules.instances[0].rules.len(), 1);
        let e = parse(&format!("{BASE}virtual_rules=['from 10.0.0.0/8']\n")).unwrap_err();
        assert_eq!(e.field, "instance[0].virtual_rules[0]");
        assert!(e.message.contains("no action"), "{}", e.message);
    }

    #[test]
    fn mcast_src_ip_and_unicast_src_are_one_advert_source() {
        let src =
            |extra: &str| parse(&format!("{BASE}{extra}")).map(|d| d.instances[0].unicast_src);
        let a: Option<IpAddr> = Some("192.0.2.9".parse().unwrap());
        assert_eq!(src("mcast_src_ip='192.0.2.9'\n").unwrap(), a);
        // Without peers, unicast_src is the multicast source, as in keepalived.
        assert_eq!(src("unicast_src='192.0.2.9'\n").unwrap(), a);
        assert_eq!(
            src("unicast_src='192.0.2.9'\nmcast_src_ip='192.0.2.9'\n").unwrap(),
            a
        );
        let e = src("unicast_src='192.0.2.9'\nmcast_src_ip='192.0.2.8'\n").unwrap_err();
        assert_eq!(e.field, "instance[0].mcast_src_ip");
        let e = src("mcast_src_ip='fd00::9'\n").unwrap_err();
        assert_eq!(e.field, "instance[0].mcast_src_ip");
    }

    #[test]
    fn a_vip_takes_keepalived_s_label_scope_and_dev_words() {
        let one = |vip: &str| {
            parse(&format!(
                "[[instance]]\niface='eth0'\nvrid=1\npriority=100\nvips=[{vip}]\n"
            ))
        };
        let spec = one("'192.0.2.1/24 dev eth0 label eth0:web scope link no_track'").unwrap();
        let o = &spec.instances[0].vip_options;
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].1.label.as_deref(), Some("eth0:web"));
        assert_eq!(o[0].1.scope, Some(AddressScope::Link));
        assert!(one("'192.0.2.1/24'").unwrap().instances[0]
            .vip_options
            .is_empty());
        // keepalived's VIP on another interface: added there, announced there.
        let other = one("'192.0.2.1/24 dev eth1 label eth1:x'").unwrap();
        let vips = crate::runtime::daemon::vip_list(&other.instances[0]).unwrap();
        assert_eq!(
            (vips[0].interface(), vips[0].label()),
            ("eth1", Some("eth1:x"))
        );
        for (bad, why) in [
            ("'192.0.2.1/24 dev eth1/x'", "not an interface name"),
            ("'192.0.2.1/24 dev eth1 label eth0:x'", "must be"),
            ("'192.0.2.1/24 label web'", "must be"),
            ("'192.0.2.1/24 scope galaxy'", "scope"),
            ("'192.0.2.1/24 brd 192.0.2.255'", "unexpected"),
            ("'192.0.2.1/24 label'", "needs a value"),
        ] {
            let e = one(bad).unwrap_err();
            assert_eq!(e.field, "instance[0].vips[0]", "{bad}");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn notify_scripts_from_toml() {
        let spec = parse(&format!(
            "{BASE}notify='/usr/local/bin/n.sh'\nnotify_master='/bin/m.sh a b'\n"
        ))
        .unwrap();
        let n = &spec.instances[0].notify;
        assert_eq!(n.any, Some(vec!["/usr/local/bin/n.sh".to_string()]));
        assert_eq!(
            n.master,
            Some(vec!["/bin/m.sh".to_string(), "a".into(), "b".into()])
        );
        assert_eq!(
            (n.backup.as_ref(), n.fault.as_ref(), n.stop.as_ref()),
            (None, None, None)
        );
        let e = parse(&format!("{BASE}notify_fault='  '\n")).unwrap_err();
        assert_eq!(e.field, "instance[0].notify_fault");
    }

    #[test]
    fn tcp_http_and_external_trackers_become_script_trackers() {
        let spec = parse(&format!(
            "{BASE}track_tcp=[{{ connect='127.0.0.1:8080', weight=-50 }}]\n\
             track_http=[{{ url='http://[::1]:81/health', status=204, weight=-20, interval=2.0, timeout=0.5, fall=2 }}]\n\
             track_external=[{{ name='db', weight=0 }}]\n"
        ))
        .unwrap();
        let i = &spec.instances[0];
        let tcp = &i.track_tcp[0];
        assert_eq!(tcp.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            (tcp.timing.weight, tcp.timing.interval, tcp.timing.timeout),
            (-50, Duration::from_secs(1), Duration::from_secs(1))
        );
        let http = &i.track_http[0];
        assert_eq!(
            (http.addr, http.path.as_str(), http.status),
            ("[::1]:81".parse().unwrap(), "/health", Some(204))
        );
        assert_eq!(
            (http.timing.timeout, http.timing.fall, http.timing.rise),
            (Duration::from_millis(500), 2, 1)
        );
        assert_eq!(i.track_external[0].name, "db");
        // Each feeds a Script tracker of the state machine with its weight.
        let kinds: Vec<(TrackerKind, i32)> =
            i.fsm.trackers.iter().map(|t| (t.kind, t.weight)).collect();
        assert_eq!(
            kinds,
            [
                (TrackerKind::Script, -50),
                (TrackerKind::Script, -20),
                (TrackerKind::Script, 0)
            ]
        );
        let names: Vec<String> = i.tracker_names().map(|(_, n)| n).collect();
        assert_eq!(
            names,
            ["tcp 127.0.0.1:8080", "http://[::1]:81/health", "db"]
        );
    }

    #[test]
    fn bad_tracker_values_name_their_field() {
        for (extra, field) in [
            (
                "track_tcp=[{ connect='localhost:80' }]",
                "instance[0].track_tcp[0].connect",
            ),
            (
                "track_tcp=[{ connect='127.0.0.1:80', weight=300 }]",
                "instance[0].track_tcp[0].weight",
            ),
            (
                "track_tcp=[{ connect='127.0.0.1:80', interval=0 }]",
                "instance[0].track_tcp[0].interval",
            ),
            (
                "track_tcp=[{ connect='127.0.0.1:80', fall=0 }]",
                "instance[0].track_tcp[0].fall",
            ),
            (
                "track_http=[{ url='https://10.0.0.1/' }]",
                "instance[0].track_http[0].url",
            ),
            (
                "track_http=[{ url='http://web.example/' }]",
                "instance[0].track_http[0].url",
            ),
            (
                "track_http=[{ url='http://10.0.0.1/', status=700 }]",
                "instance[0].track_http[0].status",
            ),
            (
                "track_external=[{ name='' }]",
                "instance[0].track_external[0].name",
            ),
            (
                "track_external=[{ name='a', weight=-254 }]",
                "instance[0].track_external[0].weight",
            ),
            (
                "track_external=[{ name='a' }, { name='a' }]",
                "instance[0].track_external[1]",
            ),
        ] {
            let e = parse(&format!("{BASE}{extra}\n")).unwrap_err();
            assert_eq!(e.field, field, "{extra}: {e}");
        }
    }

    #[test]
    fn the_builders_write_what_the_toml_says() {
        use crate::runtime::config::{SyncGroup, VrrpInstance};
        let built = Config::new()
            .instance(
                VrrpInstance::new("web", "eth0", 51, 150)
                    .vrrp_version(3)
                    .advert_int(0.1)
                    .vip("192.0.2.100/24")
                    .unicast_peer("192.0.2.2")
                    .nopreempt()
                    .track_iface("eth1", -20)
                    .track_script("/bin/true", -30)
                    .track_tcp("127.0.0.1:8080", -50)
                    .track_http("http://127.0.0.1:8080/", -40)
                    .track_external("db", 0)
                    .notify("/bin/true"),
            )
            .sync_group(SyncGroup::new("G", ["web"]))
            .notify_fifo("/run/fifo");
        let toml = Config::from_toml(
            "notify_fifo = '/run/fifo'\n[[instance]]\nname = 'web'\niface = 'eth0'\nvrid = 51\n\
             priority = 150\nvrrp_version = 3\nadvert_int = 0.1\nvips = ['192.0.2.100/24']\n\
             unicast_peers = ['192.0.2.2']\nnopreempt = true\ntrack_ifaces = ['eth1:-20']\n\
             track_script = [{ cmd = '/bin/true', weight = -30 }]\n\
             track_tcp = [{ connect = '127.0.0.1:8080', weight = -50 }]\n\
             track_http = [{ url = 'http://127.0.0.1:8080/', weight = -40 }]\n\
             track_external = [{ name = 'db' }]\nnotify = '/bin/true'\n\
             [[sync_group]]\nname = 'G'\ninstances = ['web']\n",
        )
        .unwrap();
        assert_eq!(built, toml);
        // And back: the value serialises to TOML that reads the same.
        let again = Config::from_toml(&toml::to_string(&built).unwrap()).unwrap();
        assert_eq!(again, built);
        assert!(validate(&built, &src).is_ok());
        let e = Config::from_toml("[[instance]]\nbogus = 1\n").unwrap_err();
        assert_eq!(e.field, "config");
        let e = validate(&Config::new(), &src).unwrap_err();
        assert_eq!(e.field, "instance");
    }

    #[test]
    fn metrics_listen_is_an_address_and_port() {
        assert_eq!(
            metrics_addr(Some("127.0.0.1:9650")).unwrap(),
            Some("127.0.0.1:9650".parse().unwrap())
        );
        assert_eq!(metrics_addr(None).unwrap(), None);
        for bad in ["127.0.0.1", "localhost:9650", ":9650", "[::1]", ""] {
            let e = metrics_addr(Some(bad)).unwrap_err();
            assert_eq!(e.field, "metrics_listen", "{bad}");
        }
    }
}
