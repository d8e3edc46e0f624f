//! The command line's one instance as a [`Config`], and the library's field names
//! (`instance[0].advert_int`) turned back into the flags the user wrote (`--advert-int`).

use crate::runtime::{TrackScriptConfig, UseVmac};
use crate::{Config, ConfigError, VrrpInstance};

use crate::cli::args::Args;

/// The flags' instance (named `VI_<vrid>`, as before the library existed).
pub fn config(a: &Args) -> Result<Config, ConfigError> {
    let vrid = a.vrid.unwrap_or(0);
    let mut inst = VrrpInstance::new(
        format!("VI_{vrid}"),
        a.iface.clone().unwrap_or_default(),
        vrid,
        a.priority.unwrap_or(0),
    );
    if let Some(cmd) = &a.track_script {
        inst.track_script.push(TrackScriptConfig {
            cmd: cmd.clone(),
            weight: a.track_weight,
            interval: a.track_interval,
            fall: a.track_fall,
            rise: a.track_rise,
            timeout: None,
        });
    }
    inst.vips = a.vips.clone();
    inst.virtual_routes = a.virtual_routes.clone();
    inst.virtual_rules = a.virtual_rules.clone();
    inst.vrrp_version = a.vrrp_version;
    inst.advert_int = a.advert_int;
    inst.preempt_delay = a.preempt_delay;
    inst.nopreempt = a.nopreempt;
    inst.auth_pass = a.auth_pass.clone();
    inst.auth_type = a.auth_type.clone();
    inst.unicast_src = a.unicast_src.clone();
    inst.mcast_src_ip = a.mcast_src_ip.clone();
    inst.unicast_peers = a.unicast_peers.clone();
    inst.track_ifaces = a.track_ifaces.clone();
    inst.garp_repeat = a.garp_repeat;
    inst.notify = a.notify.clone();
    inst.notify_master = a.notify_master.clone();
    inst.notify_backup = a.notify_backup.clone();
    inst.notify_fault = a.notify_fault.clone();
    inst.notify_stop = a.notify_stop.clone();
    inst.notify_master_rx_lower_pri = a.notify_master_rx_lower_pri.clone();
    inst.notify_priority_changes = Some(a.notify_priority_changes);
    inst.use_vmac = a.use_vmac.then_some(UseVmac::On(true));
    inst.vmac_xmit_base = a.vmac_xmit_base;
    let mut config = Config::new().instance(inst);
    if let Some(fifo) = &a.notify_fifo {
        config = config.notify_fifo(fifo.clone());
    }
    Ok(config)
}

/// A validation error of the flags' instance, naming the flag.
pub fn flag_error(mut e: ConfigError) -> ConfigError {
    e.field = flag_of(&e.field);
    e
}

/// `instance[0].track_script[0].weight` -> `--track-weight`, `notify_fifo` ->
/// `--notify-fifo`, `instance[0].vips[1]` -> `--vip`.
fn flag_of(field: &str) -> String {
    let key = field.strip_prefix("instance[0].").unwrap_or(field);
    // Without list indexes: `track_script[0].weight` -> `track_script.weight`.
    let mut plain = String::with_capacity(key.len());
    let mut in_index = false;
    for c in key.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => plain.push(c),
            _ => {}
        }
    }
    let flag = match plain.as_str() {
        "vips" => "vip",
        "vips_excluded" => "vip-excluded",
        "unicast_peers" => "unicast-peer",
        "track_ifaces" => "track-iface",
        "track_script" | "track_script.cmd" => "track-script",
        "track_script.weight" => "track-weight",
        "track_script.interval" => "track-interval",
        "track_script.fall" => "track-fall",
        "track_script.rise" => "track-rise",
        "virtual_routes" => "virtual-route",
        "virtual_rules" => "virtual-rule",
        other => return format!("--{}", other.replace(['_', '.'], "-")),
    };
    format!("--{flag}")
}

#[cfg(test)]
mod tests {
    use super::flag_of;

    #[test]
    fn library_fields_become_the_flags() {
        for (field, flag) in [
            ("instance[0].advert_int", "--advert-int"),
            ("instance[0].vips[1]", "--vip"),
            ("instance[0].track_script[0].weight", "--track-weight"),
            ("instance[0].track_script[0].cmd", "--track-script"),
            ("instance[0].unicast_peers", "--unicast-peer"),
            ("instance[0].virtual_routes[2]", "--virtual-route"),
            ("notify_fifo", "--notify-fifo"),
            ("instance[0].vrrp_version", "--vrrp-version"),
        ] {
            assert_eq!(flag_of(field), flag, "{field}");
        }
    }
}
