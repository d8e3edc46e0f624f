//! keepalived.conf's VRRP keywords onto the daemon's [`Config`]: `global_defs`, `vrrp_script`,
//! `vrrp_track_file`, `vrrp_track_process`, `vrrp_sync_group` and `vrrp_instance`.
//!
//! Every line is either applied, or refused with its file, line and keyword ([`MapError`]), or,
//! where keepalived itself only warns and carries on (an unknown keyword in a sync group, a
//! `vrrp_script` without `script`, an invalid route or rule), kept as a [`Warning`] that says
//! what keepalived does. No line is ignored silently. What hakit does not implement yet
//! (`BFD_CHECK`, SNMP) is refused by name;
//! `virtual_server`, `virtual_server_group` and `lvs_sync_daemon` need the `ipvs` feature. The values are checked afterwards by [`Config::validate`], as for TOML.

use std::collections::BTreeMap;

use crate::keepalived_conf::{ConfFile, Location, Node, Warning};
use vip_netlink::{VirtualRoute, VirtualRule};

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

pub(crate) fn refuse<T>(node: &Node, message: impl Into<String>) -> Result<T, MapError> {
    Err(MapError {
        location: node.location.clone(),
        keyword: node.keyword.clone(),
        message: message.into(),
    })
}

pub(crate) fn unsupported<T>(node: &Node) -> Result<T, MapError> {
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
            // `track_file` is keepalived 2.1's name for both VRRP and FILE_CHECK use.
            "vrrp_track_file" | "track_file" => m.track_file(node)?,
            "vrrp_track_process" => m.track_process(node)?,
            _ => {}
        }
    }
    m.instance_names = file
        .nodes
        .iter()
        .filter(|n| n.keyword == "vrrp_instance")
        .filter_map(|n| n.args.first().cloned())
        .collect();
    for node in &file.nodes {
        match node.keyword.as_str() {
            "vrrp_script" | "vrrp_track_file" | "track_file" | "vrrp_track_process" => {}
            "global_defs" => m.global_defs(node)?,
            "vrrp_instance" => m.instance(node)?,
            "vrrp_sync_group" => m.sync_group(node)?,
            #[cfg(feature = "ipvs")]
            "virtual_server" => m.config.virtual_server.push(
                crate::keepalived_conf::to_virtual_server::virtual_server(node, &m.files)?,
            ),
            #[cfg(feature = "ipvs")]
            "virtual_server_group" => m
                .config
                .virtual_server_group
                .push(crate::keepalived_conf::to_virtual_server::virtual_server_group(node)?),
            "static_ipaddress" => {
                for line in &node.children {
                    if let Some(text) = m.static_address(line)? {
                        m.config.static_ipaddress.push(text);
                    }
                }
            }
            "static_routes" => {
                for line in &node.children {
                    if let Some(text) = m.held::<VirtualRoute>(line, "route")? {
                        m.config.static_routes.push(text);
                    }
                }
            }
            "static_rules" => {
                for line in &node.children {
                    if let Some(text) = m.rule(line)? {
                        m.config.static_rules.push(text);
                    }
                }
            }
            _ => unsupported(node)?,
        }
    }
    // keepalived: `smtp_alert_vrrp` is the instances' and groups' default, else `smtp_alert`.
    m.config.smtp_alert = m.smtp_alert_vrrp.or(m.smtp_alert).unwrap_or(false);
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
    /// The names of the file's `vrrp_instance`s.
    instance_names: Vec<String>,
    /// Global `smtp_alert` and `smtp_alert_vrrp`.
    smtp_alert: Option<bool>,
    smtp_alert_vrrp: Option<bool>,
    /// Rules given keepalived's default preference so far (IPv4, IPv6).
    next_rule_priority: (u32, u32),
}

/// keepalived's first default rule preference (`vrrp_iprule.c`).
const RULE_START_PRIORITY: u32 = 16384;

/// keepalived's optional boolean: none (true), `on|off`, `true|false`, `yes|no`.
pub(crate) fn flag(node: &Node) -> Result<bool, MapError> {
    match node.args.as_slice() {
        [] => Ok(true),
        [v] => match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Ok(true),
            "off" | "false" | "no" => Ok(false),
            _ => refuse(node, format!("{v:?} is not on/off, true/false or yes/no")),
        },
        _ => refuse(node, "expects at most one of on/off, true/false, yes/no"),
    }
}

/// The address of `text` when instance `i` already has it as keepalived counts duplicates:
/// a VIP repeating any VIP, or repeating an excluded one on the same interface; an excluded
/// address repeating either on the same interface.
fn duplicate_vip(i: &VrrpInstance, text: &str, excluded: bool) -> Option<String> {
    let key = |t: &str| {
        let mut words = t.split_whitespace();
        let addr = words.next().unwrap_or("").split('/').next().unwrap_or("");
        let mut dev = None;
        while let Some(w) = words.next() {
            if w == "dev" {
                dev = words.next();
            }
        }
        (addr.to_string(), dev.unwrap_or(&i.iface).to_string())
    };
    let (addr, dev) = key(text);
    let same = |t: &String, check_dev: bool| {
        let (a, d) = key(t);
        a == addr && (!check_dev || d == dev)
    };
    let dup =
        i.vips.iter().any(|t| same(t, excluded)) || i.vips_excluded.iter().any(|t| same(t, true));
    dup.then_some(addr)
}

/// A block's line as one text: keyword and words.
fn line_text(n: &Node) -> String {
    std::iter::once(n.keyword.as_str())
        .chain(n.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one argument of `node`.
pub(crate) fn one(node: &Node) -> Result<&str, MapError> {
    match node.args.as_slice() {
        [a] => Ok(a),
        _ => refuse(node, "expects one value"),
    }
}

pub(crate) fn number<T: std::str::FromStr>(node: &Node) -> Result<T, MapError> {
    let v = one(node)?;
    v.parse()
        .or_else(|_| refuse(node, format!("{v:?} is not a valid number here")))
}

/// A script line as keepalived takes it: one quoted word or several words.
pub(crate) fn command(node: &Node) -> Result<String, MapError> {
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
                "router_id" => self.config.router_id = Some(one(n)?.to_string()),
                "notification_email" => {
                    for e in &n.children {
                        if !e.args.is_empty() {
                            return refuse(e, "expects one mail address per line");
                        }
                        self.config.notification_email.push(e.keyword.clone());
                    }
                }
                "notification_email_from" => {
                    self.config.notification_email_from = Some(one(n)?.to_string())
                }
                "smtp_server" => match n.args.as_slice() {
                    [_] | [_, _] => self.config.smtp_server = Some(n.args.join(" ")),
                    _ => return refuse(n, "expects HOST [PORT]"),
                },
                "smtp_helo_name" => self.config.smtp_helo_name = Some(one(n)?.to_string()),
                "smtp_connect_timeout" => self.config.smtp_connect_timeout = Some(number(n)?),
                "smtp_alert" => self.smtp_alert = Some(flag(n)?),
                "smtp_alert_vrrp" => self.smtp_alert_vrrp = Some(flag(n)?),
                "vrrp_version" => self.default_version = Some(number(n)?),
                "vrrp_strict" => self.strict = true,
                "notify_fifo" | "vrrp_notify_fifo" => {
                    self.config.notify_fifo = Some(one(n)?.to_string());
                }
                "vrrp_notify_priority_changes" => self.config.notify_priority_changes = true,
                "script_user" => self.config.script_user = Some(n.args.join(" ")),
                "enable_script_security" => self.config.enable_script_security = true,
                #[cfg(feature = "ipvs")]
                "lvs_sync_daemon" => {
                    self.config.lvs_sync_daemon = Some(
                        crate::keepalived_conf::to_virtual_server::lvs_sync_daemon(n)?,
                    )
                }
                _ => unsupported(n)?,
            }
        }
        Ok(())
    }

    /// A route or rule line (`T`): its text, or `None` when keepalived would skip it as
    /// invalid (warned); refused when it uses what hakit does not implement.
    fn held<T>(&mut self, n: &Node, what: &str) -> Result<Option<String>, MapError>
    where
        T: std::str::FromStr<Err = vip_netlink::Error>,
    {
        let mut text = line_text(n);
        if what == "route" {
            // keepalived takes `protocol static`, `table main` (iproute2's names) too.
            text = crate::keepalived_conf::route_names::numbered(&text);
        }
        match text.parse::<T>() {
            Ok(_) => {
                // keepalived's warnings for its deprecated route words, which it still applies.
                for (old, new) in [("or", "nexthop"), ("gw", "via")] {
                    if what == "route" && text.split_whitespace().any(|w| w == old) {
                        self.warn(
                            n,
                            &format!("\"{old}\" for routes is deprecated (keepalived: please use \"{new}\")"),
                        );
                    }
                }
                Ok(Some(text))
            }
            Err(e) => {
                self.warn(
                    n,
                    &format!("invalid {what} {text:?} skipped, as keepalived does: {e}"),
                );
                Ok(None)
            }
        }
    }

    /// A `static_rules` or `virtual_rules` line: as [`Mapper::held`], and a rule without a
    /// preference gets keepalived's: 16384, then one less for each such rule of its family,
    /// in the order of the file (with keepalived's warning).
    fn rule(&mut self, n: &Node) -> Result<Option<String>, MapError> {
        let Some(text) = self.held::<VirtualRule>(n, "rule")? else {
            return Ok(None);
        };
        let has_pref = n
            .args
            .iter()
            .any(|w| matches!(w.as_str(), "priority" | "preference" | "pref"));
        if has_pref {
            return Ok(Some(text));
        }
        let ipv6 = text.parse::<VirtualRule>().is_ok_and(|r| r.is_ipv6());
        let next = if ipv6 {
            &mut self.next_rule_priority.1
        } else {
            &mut self.next_rule_priority.0
        };
        let priority = RULE_START_PRIORITY - *next;
        *next += 1;
        self.warn(
            n,
            &format!(
                "rule has no preference specified - setting to {priority}, as keepalived does"
            ),
        );
        Ok(Some(format!("{text} priority {priority}")))
    }

    /// A `static_ipaddress` line: `dev` is required (keepalived's `default_interface` is not
    /// supported); an invalid address is skipped with a warning, as keepalived does.
    fn static_address(&mut self, n: &Node) -> Result<Option<String>, MapError> {
        let text = line_text(n);
        match crate::runtime::spec::parse_vip(&text) {
            Ok((_, opts)) if opts.dev.is_some() => Ok(Some(text)),
            Ok(_) => refuse(
                n,
                "a static address without `dev` (keepalived's default_interface) is not supported by hakit yet",
            ),
            Err(e) => {
                self.warn(n, &format!("invalid address skipped, as keepalived does: {e}"));
                Ok(None)
            }
        }
    }

    fn script(&mut self, block: &Node) -> Result<(), MapError> {
        let name = one(block)?.to_string();
        let mut s = TrackScriptConfig {
            cmd: String::new(),
            weight: 0,
            interval: 1.0,
            fall: 1,
            rise: 1,
            timeout: None,
        };
        for n in &block.children {
            match n.keyword.as_str() {
                "script" => s.cmd = command(n)?,
                "interval" => s.interval = number(n)?,
                "weight" => s.weight = number(n)?,
                "fall" => s.fall = number(n)?,
                "rise" => s.rise = number(n)?,
                "timeout" => s.timeout = Some(number(n)?),
                _ => unsupported(n)?,
            }
        }
        if s.cmd.is_empty() {
            // keepalived drops it with an error and carries on; a track_script naming it is
            // then ignored with a warning.
            self.warn(
                block,
                &format!("no script set for vrrp_script {name}: removed, as keepalived does"),
            );
            return Ok(());
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
                "smtp_alert" => g.smtp_alert = Some(flag(n)?),
                // keepalived 1.x listed the members straight in the block; keepalived 2
                // says "Unknown keyword" and ignores the line: so does hakit, saying so.
                name if n.args.is_empty() && self.instance_names.iter().any(|i| i == name) => self
                    .warn(
                    n,
                    "unknown keyword: ignored, as keepalived 2 does (members go in `group { }`)",
                ),
                _ => unsupported(n)?,
            }
        }
        if g.instances.is_empty() {
            self.warn(
                block,
                &format!(
                    "sync group {} has no virtual router: removed, as keepalived does",
                    g.name
                ),
            );
            return Ok(());
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
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    let excluded = n.keyword == "virtual_ipaddress_excluded";
                    for line in &n.children {
                        let text = line_text(line);
                        if let Some(dup) = duplicate_vip(&i, &text, excluded) {
                            // keepalived: "VIP duplicates a VIP ... - ignoring".
                            self.warn(
                                line,
                                &format!("{dup} duplicates an earlier address: ignored, as keepalived does"),
                            );
                        } else if excluded {
                            i.vips_excluded.push(text);
                        } else {
                            i.vips.push(text);
                        }
                    }
                }
                "virtual_routes" => {
                    for line in &n.children {
                        if let Some(text) = self.held::<VirtualRoute>(line, "route")? {
                            i.virtual_routes.push(text);
                        }
                    }
                }
                "virtual_rules" => {
                    for line in &n.children {
                        if let Some(text) = self.rule(line)? {
                            i.virtual_rules.push(text);
                        }
                    }
                }
                "smtp_alert" => i.smtp_alert = Some(flag(n)?),
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
                            // keepalived: "track script NAME not found, ignoring...".
                            self.warn(
                                t,
                                &format!(
                                    "no vrrp_script named {name:?}: ignored, as keepalived does"
                                ),
                            );
                            continue;
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
    10.1.0.0/16 nexthop via 192.0.2.1 weight 2 nexthop via 192.0.2.2
    10.77.0.2/32 dev lo table 100 protocol bird
    10.98.0.0/16 via 192.0.2.254 proto static table main
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
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.router_id.as_deref(), Some("LVS_DEVEL"));
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
                "10.77.0.1/32 dev lo table 100 protocol 85",
                "10.1.0.0/16 nexthop via 192.0.2.1 weight 2 nexthop via 192.0.2.2",
                "10.77.0.2/32 dev lo table 100 protocol 12",
                "10.98.0.0/16 via 192.0.2.254 proto 4 table 254"
            ]
        );
        let route: vip_netlink::VirtualRoute = i.virtual_routes[1].parse().unwrap();
        assert_eq!((route.table(), route.protocol()), (100, 85));
        let multipath: vip_netlink::VirtualRoute = i.virtual_routes[2].parse().unwrap();
        assert_eq!(multipath.next_hops().len(), 2);
        // iproute2's names, as keepalived takes them.
        let route: vip_netlink::VirtualRoute = i.virtual_routes[4].parse().unwrap();
        assert_eq!((route.table(), route.protocol()), (254, 4));
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
  smtp_alert maybe
}
",
                "smtp_alert",
                3,
            ),
            (
                "static_ipaddress {
  10.0.0.1/24
}
",
                "10.0.0.1/24",
                2,
            ),
            (
                "global_defs {
  smtp_server 10.0.0.1 25 extra
}
",
                "smtp_server",
                2,
            ),
            (
                "virtual_server group {
}
",
                "virtual_server",
                1,
            ),
            (
                "global_defs {
  lvs_sync_daemon eth0 VI_1 maxlen 1500 weight 2
}
",
                "lvs_sync_daemon",
                2,
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

    const MAIL_AND_STATICS: &str = "
global_defs {
  notification_email {
    ops@example.org
    oncall@example.org
  }
  notification_email_from ka@example.org
  smtp_server 192.0.2.1 2525
  smtp_helo_name lb1.example.org
  smtp_connect_timeout 5
  smtp_alert_vrrp off
}
static_ipaddress {
  192.0.2.16/24 dev eth0 scope link
  192.0.2.999 dev eth0
}
static_routes {
  198.51.100.0/24 via 192.0.2.254 dev eth0 scope site
}
static_rules {
  from 192.0.2.16 table 100
  to 192.0.2./24 table 1
}
vrrp_script nothing {
  interval 1
  timeout 3
}
vrrp_script chk {
  script /bin/true
  timeout 2.5
}
vrrp_sync_group G {
  V
  group {
    V
  }
  smtp_alert
}
vrrp_sync_group Empty {
  V
}
vrrp_instance V {
  interface eth0
  virtual_router_id 1
  smtp_alert yes
  track_script {
    nothing
    chk
  }
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance W {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.101
    192.0.2.101/24 label eth0:1
  }
}
";

    #[test]
    fn mail_statics_and_what_keepalived_only_warns_about() {
        let (c, warnings) = read(MAIL_AND_STATICS).unwrap();
        assert_eq!(
            c.notification_email,
            ["ops@example.org", "oncall@example.org"]
        );
        assert_eq!(c.smtp_server.as_deref(), Some("192.0.2.1 2525"));
        assert_eq!(c.smtp_connect_timeout, Some(5.0));
        assert!(!c.smtp_alert, "smtp_alert_vrrp off is the default");
        assert_eq!(c.instance[0].smtp_alert, Some(true));
        assert_eq!(c.instance[1].smtp_alert, None);
        assert_eq!(c.sync_group.len(), 1, "the empty group is removed");
        assert_eq!(c.sync_group[0].smtp_alert, Some(true));
        assert_eq!(c.static_ipaddress, ["192.0.2.16/24 dev eth0 scope link"]);
        assert_eq!(
            c.static_routes,
            ["198.51.100.0/24 via 192.0.2.254 dev eth0 scope site"]
        );
        assert_eq!(c.static_rules, ["from 192.0.2.16 table 100 priority 16384"]);
        let s = &c.instance[0].track_script;
        assert_eq!((s.len(), s[0].timeout), (1, Some(2.5)));
        let lines: Vec<(u32, &str)> = warnings
            .iter()
            .map(|w| (w.location.line, w.message.as_str()))
            .collect();
        for (line, start) in [
            (15, "192.0.2.999: invalid address skipped"),
            (
                21,
                "from: rule has no preference specified - setting to 16384",
            ),
            (22, "to: invalid rule"),
            (24, "vrrp_script: no script set for vrrp_script nothing"),
            (33, "V: unknown keyword"),
            (
                39,
                "vrrp_sync_group: sync group Empty has no virtual router",
            ),
            (40, "V: unknown keyword"),
            (47, "nothing: no vrrp_script named"),
            (
                59,
                "192.0.2.101/24: 192.0.2.101 duplicates an earlier address",
            ),
        ] {
            assert!(
                lines
                    .iter()
                    .any(|(l, m)| *l == line && m.starts_with(start)),
                "line {line} {start:?} in {lines:?}"
            );
        }
        assert_eq!(warnings.len(), 9, "{lines:?}");
        let spec = crate::runtime::spec::validate(&c, &source).unwrap();
        let smtp = spec.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("192.0.2.1", 2525));
        assert_eq!(smtp.instances.iter().collect::<Vec<_>>(), ["V"]);
        assert_eq!(smtp.groups.iter().collect::<Vec<_>>(), ["G"]);
        assert_eq!(spec.statics.addresses.len(), 1);
        assert_eq!(
            spec.instances[0].track_scripts[0].timeout,
            std::time::Duration::from_millis(2500)
        );
    }

    /// Every sample of Debian's keepalived package loads (read, mapped and validated, the
    /// interfaces' addresses stubbed) or is refused naming its first unsupported keyword and
    /// line: exactly as the README's table says, with its count of those that load.
    #[test]
    fn debian_samples_load_or_name_what_is_missing_as_the_readme_says() {
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
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let table: BTreeMap<&str, &str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `keepalived.conf"))
            .filter_map(|l| {
                let (name, rest) = l.split_once("` | ")?;
                let outcome = rest.trim_end_matches(" |");
                let outcome = outcome.split(" (").next().unwrap_or(outcome);
                Some((name, outcome))
            })
            .collect();
        let mut loaded = 0;
        let mut wrong = Vec::new();
        for path in &names {
            let file = Reader::new()
                .host(Some("hakit-test"))
                .read_file(path)
                .unwrap();
            let outcome = match to_config(&file) {
                Ok((c, _)) => match crate::runtime::spec::validate(&c, &source) {
                    Ok(_) => {
                        loaded += 1;
                        "loads".to_string()
                    }
                    Err(e) => format!("refused by validation: {e}"),
                },
                Err(e) => format!("refused: `{}` at line {}", e.keyword, e.location.line),
            };
            let name = path.file_name().unwrap().to_str().unwrap();
            let key = name.trim_start_matches("keepalived.conf");
            if table.get(key) != Some(&outcome.as_str()) {
                wrong.push(format!("| `{name}` | {outcome} |"));
            }
        }
        assert!(
            wrong.is_empty(),
            "the README's table differs:\n{}",
            wrong.join("\n")
        );
        assert_eq!(
            table.len(),
            names.len(),
            "the README's table has other samples"
        );
        let claim = format!("**{loaded} of {} samples load**", names.len());
        assert!(readme.contains(&claim), "the README does not say {claim}");
    }
}
