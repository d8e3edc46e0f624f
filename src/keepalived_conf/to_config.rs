//! keepalived.conf's VRRP keywords onto the daemon's [`Config`]: `global_defs`, `vrrp_script`,
//! `vrrp_track_file`, `vrrp_track_process`, `vrrp_sync_group` and `vrrp_instance`.
//!
//! Every line is either applied, or refused with its file, line and keyword ([`MapError`]), or,
//! where it changes nothing in hakit and keepalived itself would carry on, kept as a
//! [`Warning`] that says so. No line is ignored silently. What hakit does not implement yet
//! (`virtual_server` and the rest of keepalived's checker side, SMTP alerts, SNMP, BFD) is
//! refused by name. The values are checked afterwards by [`Config::validate`], as for TOML.

use std::collections::BTreeMap;

use crate::keepalived_conf::{ConfFile, Location, Node, Warning};
use crate::runtime::config::{
    Config, SyncGroup, TrackFileConfig, TrackProcessConfig, TrackScriptConfig, Tuning, UseVmac,
    VrrpInstance,
};

/// A line of keepalived.conf that cannot become part of the daemon's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {keyword}: {message}")]
pub struct MapError {
    /// Where.
    pub location: Location,
    /// The keyword of the line.
    pub keyword: String,
    /// Why.
    pub message: String,
}

fn refuse<T>(node: &Node, message: impl Into<String>) -> Result<T, MapError> {
    Err(MapError {
        location: node.location.clone(),
        keyword: node.keyword.clone(),
        message: message.into(),
    })
}

fn unsupported<T>(node: &Node) -> Result<T, MapError> {
    refuse(node, "not supported by hakit yet")
}

/// The daemon's configuration from a parsed keepalived.conf, with the warnings of lines that
/// change nothing here.
///
/// ```
/// use hakit::keepalived_conf::{to_config, Reader};
/// let text = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n\
///             virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n";
/// let file = Reader::new().read_str(text, "keepalived.conf").unwrap();
/// let (config, warnings) = to_config(&file).unwrap();
/// assert_eq!(config.instance[0].vrid, 51);
/// assert!(warnings.is_empty());
/// ```
pub fn to_config(file: &ConfFile) -> Result<(Config, Vec<Warning>), MapError> {
    let mut m = Mapper::default();
    // Scripts, files and processes are named before instances use them, wherever they stand.
    for node in &file.nodes {
        match node.keyword.as_str() {
            "vrrp_script" => m.script(node)?,
            "vrrp_track_file" => m.track_file(node)?,
            "vrrp_track_process" => m.track_process(node)?,
            _ => {}
        }
    }
    for node in &file.nodes {
        match node.keyword.as_str() {
            "vrrp_script" | "vrrp_track_file" | "vrrp_track_process" => {}
            "global_defs" => m.global_defs(node)?,
            "vrrp_instance" => m.instance(node)?,
            "vrrp_sync_group" => m.sync_group(node)?,
            _ => unsupported(node)?,
        }
    }
    // keepalived's global vrrp_version is every instance's default.
    if let Some(v) = m.default_version {
        for (inst, explicit) in m.config.instance.iter_mut().zip(&m.explicit_version) {
            if !explicit {
                inst.vrrp_version = v;
            }
        }
    }
    let mut warnings = file.warnings.clone();
    warnings.extend(m.warnings);
    Ok((m.config, warnings))
}

#[derive(Default)]
struct Mapper {
    config: Config,
    warnings: Vec<Warning>,
    scripts: BTreeMap<String, TrackScriptConfig>,
    files: BTreeMap<String, TrackFileConfig>,
    processes: BTreeMap<String, TrackProcessConfig>,
    default_version: Option<u8>,
    /// Per instance: whether it names its own `version`.
    explicit_version: Vec<bool>,
    /// `vrrp_strict`: every instance's `strict_mode`.
    strict: bool,
}

/// The one argument of `node`.
fn one(node: &Node) -> Result<&str, MapError> {
    match node.args.as_slice() {
        [a] => Ok(a),
        _ => refuse(node, "expects one value"),
    }
}

fn number<T: std::str::FromStr>(node: &Node) -> Result<T, MapError> {
    let v = one(node)?;
    v.parse()
        .or_else(|_| refuse(node, format!("{v:?} is not a valid number here")))
}

/// A script line as keepalived takes it: one quoted word or several words.
fn command(node: &Node) -> Result<String, MapError> {
    if node.args.is_empty() {
        return refuse(node, "expects a command");
    }
    Ok(node.args.join(" "))
}

/// `KEYWORD NAME [weight W]` inside `track_*` blocks.
fn tracked(node: &Node) -> Result<(String, Option<i32>), MapError> {
    match node.args.as_slice() {
        [] => Ok((node.keyword.clone(), None)),
        [w, v] if w == "weight" => {
            let weight = v
                .parse()
                .or_else(|_| refuse(node, format!("weight {v:?} is not a number")))?;
            Ok((node.keyword.clone(), Some(weight)))
        }
        _ => refuse(node, "expects NAME [weight W]"),
    }
}

impl Mapper {
    fn warn(&mut self, node: &Node, message: &str) {
        self.warnings.push(Warning {
            location: node.location.clone(),
            message: format!("{}: {message}", node.keyword),
        });
    }

    fn global_defs(&mut self, block: &Node) -> Result<(), MapError> {
        for n in &block.children {
            match n.keyword.as_str() {
                "router_id" => self.warn(
                    n,
                    "no effect in hakit (keepalived names its emails with it)",
                ),
                "vrrp_version" => self.default_version = Some(number(n)?),
                "vrrp_strict" => self.strict = true,
                "notify_fifo" | "vrrp_notify_fifo" => {
                    self.config.notify_fifo = Some(one(n)?.to_string());
                }
                "vrrp_notify_priority_changes" => self.config.notify_priority_changes = true,
                "script_user" => self.config.script_user = Some(n.args.join(" ")),
                "enable_script_security" => self.config.enable_script_security = true,
                _ => unsupported(n)?,
            }
        }
        Ok(())
    }

    fn script(&mut self, block: &Node) -> Result<(), MapError> {
        let name = one(block)?.to_string();
        let mut s = TrackScriptConfig {
            cmd: String::new(),
            weight: 0,
            interval: 1.0,
            fall: 1,
            rise: 1,
        };
        for n in &block.children {
            match n.keyword.as_str() {
                "script" => s.cmd = command(n)?,
                "interval" => s.interval = number(n)?,
                "weight" => s.weight = number(n)?,
                "fall" => s.fall = number(n)?,
                "rise" => s.rise = number(n)?,
                _ => unsupported(n)?,
            }
        }
        if s.cmd.is_empty() {
            return refuse(block, "has no script");
        }
        self.scripts.insert(name, s);
        Ok(())
    }

    fn track_file(&mut self, block: &Node) -> Result<(), MapError> {
        let name = one(block)?.to_string();
        let mut f = TrackFileConfig {
            path: String::new(),
            weight: 1,
        };
        for n in &block.children {
            match n.keyword.as_str() {
                "file" => f.path = one(n)?.to_string(),
                "weight" => f.weight = number(n)?,
                _ => unsupported(n)?,
            }
        }
        if f.path.is_empty() {
            return refuse(block, "has no file");
        }
        self.files.insert(name, f);
        Ok(())
    }

    fn track_process(&mut self, block: &Node) -> Result<(), MapError> {
        let name = one(block)?.to_string();
        let mut p = TrackProcessConfig {
            process: None,
            argv: None,
            weight: 0,
            quorum: 1,
            quorum_max: None,
            interval: 1.0,
            fall: 1,
            rise: 1,
        };
        let mut exact = false;
        let mut words = Vec::new();
        for n in &block.children {
            match n.keyword.as_str() {
                "process" => words = n.args.clone(),
                "param_match" if one(n)? == "exact" => exact = true,
                "weight" => p.weight = number(n)?,
                "quorum" => p.quorum = number(n)?,
                "quorum_max" => p.quorum_max = Some(number(n)?),
                _ => unsupported(n)?,
            }
        }
        match (words.as_slice(), exact) {
            ([], _) => return refuse(block, "has no process"),
            ([name], false) => p.process = Some(name.clone()),
            (_, true) => p.argv = Some(words),
            (_, false) => return refuse(block, "process with arguments needs param_match exact"),
        }
        self.processes.insert(name, p);
        Ok(())
    }

    fn sync_group(&mut self, block: &Node) -> Result<(), MapError> {
        let mut g = SyncGroup::new(one(block)?, Vec::<String>::new());
        for n in &block.children {
            match n.keyword.as_str() {
                "group" => g.instances = n.children.iter().map(|c| c.keyword.clone()).collect(),
                "notify" => g.notify = Some(command(n)?),
                "notify_master" => g.notify_master = Some(command(n)?),
                "notify_backup" => g.notify_backup = Some(command(n)?),
                "notify_fault" => g.notify_fault = Some(command(n)?),
                "notify_stop" => g.notify_stop = Some(command(n)?),
                _ => unsupported(n)?,
            }
        }
        self.config.sync_group.push(g);
        Ok(())
    }

    fn instance(&mut self, block: &Node) -> Result<(), MapError> {
        let mut i = VrrpInstance::new(one(block)?, "", 0, 100);
        let mut version = false;
        let mut tuning = Tuning {
            strict_mode: self.strict,
            ..Tuning::default()
        };
        let lines = |n: &Node| -> Vec<String> {
            n.children
                .iter()
                .map(|c| {
                    std::iter::once(c.keyword.as_str())
                        .chain(c.args.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        };
        for n in &block.children {
            match n.keyword.as_str() {
                "interface" => i.iface = one(n)?.to_string(),
                "virtual_router_id" => i.vrid = number(n)?,
                "priority" => i.priority = number(n)?,
                "advert_int" => i.advert_int = number(n)?,
                "version" => {
                    i.vrrp_version = number(n)?;
                    version = true;
                }
                "state" => tuning.state = Some(one(n)?.to_string()),
                "nopreempt" => i.nopreempt = true,
                "preempt" => i.nopreempt = false,
                "preempt_delay" => i.preempt_delay = number(n)?,
                "authentication" => {
                    for a in &n.children {
                        match a.keyword.as_str() {
                            "auth_type" => i.auth_type = Some(one(a)?.to_string()),
                            "auth_pass" => i.auth_pass = Some(one(a)?.to_string()),
                            _ => unsupported(a)?,
                        }
                    }
                }
                "virtual_ipaddress" => i.vips.extend(lines(n)),
                "virtual_ipaddress_excluded" => i.vips_excluded.extend(lines(n)),
                "virtual_routes" => i.virtual_routes.extend(lines(n)),
                "virtual_rules" => i.virtual_rules.extend(lines(n)),
                "track_interface" => {
                    for t in &n.children {
                        let (iface, weight) = tracked(t)?;
                        i.track_ifaces.push(match weight {
                            Some(w) => format!("{iface}:{w}"),
                            None => iface,
                        });
                    }
                }
                "track_script" => {
                    for t in &n.children {
                        let (name, weight) = tracked(t)?;
                        let Some(s) = self.scripts.get(&name) else {
                            return refuse(t, format!("no vrrp_script named {name:?}"));
                        };
                        let mut s = s.clone();
                        if let Some(w) = weight {
                            s.weight = w;
                        }
                        i.track_script.push(s);
                    }
                }
                "track_file" => {
                    for t in &n.children {
                        let (name, weight) = tracked(t)?;
                        let Some(f) = self.files.get(&name) else {
                            return refuse(t, format!("no vrrp_track_file named {name:?}"));
                        };
                        let mut f = f.clone();
                        if let Some(w) = weight {
                            f.weight = w;
                        }
                        i.track_file.push(f);
                    }
                }
                "track_process" => {
                    for t in &n.children {
                        let (name, weight) = tracked(t)?;
                        let Some(p) = self.processes.get(&name) else {
                            return refuse(t, format!("no vrrp_track_process named {name:?}"));
                        };
                        let mut p = p.clone();
                        if let Some(w) = weight {
                            p.weight = w;
                        }
                        i.track_process.push(p);
                    }
                }
                "unicast_src_ip" => i.unicast_src = Some(one(n)?.to_string()),
                "mcast_src_ip" => i.mcast_src_ip = Some(one(n)?.to_string()),
                "unicast_ttl" => i.unicast_ttl = Some(number(n)?),
                "unicast_peer" => {
                    for p in &n.children {
                        if !p.args.is_empty() {
                            unsupported(p)?;
                        }
                        i.unicast_peers.push(p.keyword.clone());
                    }
                }
                "notify" => i.notify = Some(command(n)?),
                "notify_master" => i.notify_master = Some(command(n)?),
                "notify_backup" => i.notify_backup = Some(command(n)?),
                "notify_fault" => i.notify_fault = Some(command(n)?),
                "notify_stop" => i.notify_stop = Some(command(n)?),
                "notify_master_rx_lower_pri" => i.notify_master_rx_lower_pri = Some(command(n)?),
                "notify_priority_changes" => i.notify_priority_changes = Some(true),
                "garp_master_repeat" => i.garp_repeat = number(n)?,
                "garp_master_delay" => tuning.garp_master_delay = Some(number(n)?),
                "garp_master_refresh" => tuning.garp_master_refresh = Some(number(n)?),
                "garp_master_refresh_repeat" => {
                    tuning.garp_master_refresh_repeat = Some(number(n)?)
                }
                "garp_lower_prio_repeat" => tuning.garp_lower_prio_repeat = Some(number(n)?),
                "garp_lower_prio_delay" => tuning.garp_lower_prio_delay = Some(number(n)?),
                "lower_prio_no_advert" => tuning.lower_prio_no_advert = true,
                "higher_prio_send_advert" => tuning.higher_prio_send_advert = true,
                "down_timer_adverts" => tuning.down_timer_adverts = Some(number(n)?),
                "check_unicast_src" => tuning.check_unicast_src = true,
                "strict_mode" => tuning.strict_mode = true,
                "use_vmac" => {
                    i.use_vmac = Some(match n.args.as_slice() {
                        [] => UseVmac::On(true),
                        [name] => UseVmac::Named(name.clone()),
                        _ => return refuse(n, "expects use_vmac [NAME]"),
                    })
                }
                "vmac_xmit_base" => i.vmac_xmit_base = true,
                _ => unsupported(n)?,
            }
        }
        if tuning != Tuning::default() {
            i.tuning = Some(tuning);
        }
        self.explicit_version.push(version);
        self.config.instance.push(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keepalived_conf::Reader;
    use std::net::IpAddr;

    fn read(text: &str) -> Result<(Config, Vec<Warning>), MapError> {
        to_config(&Reader::new().read_str(text, "k.conf").unwrap())
    }

    fn source(_: &str, sample: IpAddr) -> Result<IpAddr, String> {
        Ok(if sample.is_ipv4() {
            "192.0.2.1".parse().unwrap()
        } else {
            "fe80::1".parse().unwrap()
        })
    }

    const FULL: &str = r#"
global_defs {
  router_id LVS_DEVEL
  vrrp_version 3
  notify_fifo /run/k.fifo
  script_user root
}
vrrp_script chk {
  script "/bin/true --quiet"
  interval 2
  weight -20
  fall 3
  rise 2
}
vrrp_track_file maint {
  file /run/maint
}
vrrp_track_process web {
  process nginx
  quorum 1
  weight -30
}
vrrp_sync_group G {
  group {
    VI_1
  }
  notify_master "/bin/true G master"
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.5
  nopreempt
  virtual_ipaddress {
    192.0.2.100/24 label eth0:1
    192.0.2.101
  }
  virtual_routes {
    10.99.0.0/16 via 192.0.2.254
    10.77.0.1/32 dev lo table 100 protocol 85
  }
  track_interface {
    eth1 weight -10
  }
  track_script {
    chk weight -40
  }
  track_file {
    maint
  }
  track_process {
    web
  }
  unicast_peer {
    192.0.2.2
  }
  garp_master_delay 3
  notify "/bin/true"
}
"#;

    #[test]
    fn vrrp_keywords_become_the_config() {
        let (c, warnings) = read(FULL).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}"); // router_id changes nothing here
        assert!(warnings[0].message.starts_with("router_id"));
        let i = &c.instance[0];
        assert_eq!(
            (
                i.name.as_deref(),
                i.iface.as_str(),
                i.vrid,
                i.priority,
                i.vrrp_version
            ),
            (Some("VI_1"), "eth0", 51, 150, 3)
        );
        assert_eq!((i.advert_int, i.nopreempt), (0.5, true));
        assert_eq!(i.vips, ["192.0.2.100/24 label eth0:1", "192.0.2.101"]);
        // `protocol N`: a route that FRR's zebra imports (`ip import-table 100`) as keepalived
        // users hand a VIP's route to BGP; hakit's own way is `[[announce]]`.
        assert_eq!(
            i.virtual_routes,
            [
                "10.99.0.0/16 via 192.0.2.254",
                "10.77.0.1/32 dev lo table 100 protocol 85"
            ]
        );
        let route: vip_netlink::VirtualRoute = i.virtual_routes[1].parse().unwrap();
        assert_eq!((route.table(), route.protocol()), (100, 85));
        assert_eq!(i.track_ifaces, ["eth1:-10"]);
        assert_eq!(
            (
                i.track_script[0].cmd.as_str(),
                i.track_script[0].weight,
                i.track_script[0].fall
            ),
            ("/bin/true --quiet", -40, 3)
        );
        assert_eq!(
            (i.track_file[0].path.as_str(), i.track_file[0].weight),
            ("/run/maint", 1)
        );
        assert_eq!(i.track_process[0].process.as_deref(), Some("nginx"));
        assert_eq!(i.unicast_peers, ["192.0.2.2"]);
        let t = i.tuning.as_ref().unwrap();
        assert_eq!(
            (t.state.as_deref(), t.garp_master_delay),
            (Some("MASTER"), Some(3.0))
        );
        assert_eq!(c.sync_group[0].instances, ["VI_1"]);
        assert_eq!(c.notify_fifo.as_deref(), Some("/run/k.fifo"));
        // And it validates as the TOML would.
        let spec = crate::runtime::spec::validate(&c, &source).unwrap();
        assert_eq!(spec.instances[0].fsm.vips.len(), 2);
    }

    #[test]
    fn unsupported_lines_are_refused_with_file_line_and_keyword() {
        for (text, keyword, line) in [
            (
                "vrrp_instance V {
  interface eth0
  smtp_alert
}
",
                "smtp_alert",
                3,
            ),
            (
                "virtual_server 10.0.0.1 80 {
}
",
                "virtual_server",
                1,
            ),
            (
                "global_defs {
  lvs_sync_daemon eth0 VI_1
}
",
                "lvs_sync_daemon",
                2,
            ),
            (
                "vrrp_instance V {
  track_script {
    nope
  }
}
",
                "nope",
                3,
            ),
            (
                "vrrp_instance V {
  priority high
}
",
                "priority",
                2,
            ),
        ] {
            let e = read(text).unwrap_err();
            assert_eq!(
                (e.keyword.as_str(), e.location.line),
                (keyword, line),
                "{e}"
            );
            assert!(
                e.to_string()
                    .starts_with(&format!("k.conf:{line}: {keyword}: ")),
                "{e}"
            );
        }
    }

    /// Every sample of Debian's keepalived package: loads, or is refused naming its first
    /// unsupported keyword and line (the README's table).
    #[test]
    fn debian_samples_load_or_name_what_is_missing() {
        let dir = std::path::Path::new("/usr/share/doc/keepalived/samples");
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        };
        let mut names: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("keepalived.conf"))
            })
            .collect();
        names.sort();
        let mut loaded = 0;
        for path in &names {
            let file = Reader::new()
                .host(Some("hakit-test"))
                .read_file(path)
                .unwrap();
            match to_config(&file) {
                Ok((c, _)) => {
                    loaded += 1;
                    match crate::runtime::spec::validate(&c, &source) {
                        Ok(_) => eprintln!("| {} | loads |", path.display()),
                        Err(e) => {
                            eprintln!("| {} | loads; refused by validation: {e} |", path.display())
                        }
                    }
                }
                Err(e) => {
                    assert!(e.location.line > 0, "{e}");
                    eprintln!(
                        "| {} | refused: `{}` at line {} |",
                        path.display(),
                        e.keyword,
                        e.location.line
                    );
                }
            }
        }
        eprintln!("{loaded} of {} samples load", names.len());
    }
}
