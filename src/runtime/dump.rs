//! keepalived's state dumps, in keepalived 2.2.7's formats so that tools written for
//! keepalived read them unchanged: the data dump (`SIGUSR1`, `/tmp/keepalived.data`, the
//! "VRRP Topology" section), the stats dump (`SIGUSR2`, `/tmp/keepalived.stats`) and the JSON
//! dump (keepalived's JSON signal, `/tmp/keepalived.json`).
//!
//! The daemon writes them on request ([`Daemon::dump_data`](crate::Daemon::dump_data),
//! [`Daemon::dump_stats`](crate::Daemon::dump_stats),
//! [`Daemon::dump_json`](crate::Daemon::dump_json)); keepalived's global sections (global
//! definitions, socket pool, interfaces) describe keepalived's own internals and are left out.

use std::fmt::Write as _;
use std::io;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use vrrp_fsm::State;
use vrrp_proto::{AddressFamily, Version};

use crate::runtime::spec::InstanceSpec;
use crate::runtime::status::InstanceStatus;

/// keepalived's default data dump file.
pub const DEFAULT_DATA_FILE: &str = "/tmp/keepalived.data";
/// keepalived's default stats dump file.
pub const DEFAULT_STATS_FILE: &str = "/tmp/keepalived.stats";
/// keepalived's default JSON dump file.
pub const DEFAULT_JSON_FILE: &str = "/tmp/keepalived.json";

/// One instance as the dumps show it: its status, its configuration and its last transition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DumpInstance<'a> {
    pub status: &'a InstanceStatus,
    pub spec: &'a InstanceSpec,
    pub last_transition: Option<SystemTime>,
}

/// keepalived's state numbers in the JSON dump (`VRRP_STATE_INIT` .. `VRRP_STATE_FAULT`).
fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

fn version_number(v: Version) -> u8 {
    if v == Version::V2 {
        2
    } else {
        3
    }
}

/// keepalived's `accept`: on unless strict mode turned it off (this daemon installs no
/// filter that would drop traffic to the VIPs).
fn accepts(fsm: &vrrp_fsm::InstanceConfig) -> bool {
    fsm.accept_mode || !fsm.strict
}

/// Seconds and microseconds since the epoch.
fn epoch(t: Option<SystemTime>) -> (u64, u32) {
    let d = t
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

/// `ctime(3)` with microseconds, in local time: `Mon Dec  7 06:23:31.645776 2026`.
#[allow(unsafe_code)]
fn ctime_us(secs: u64, usecs: u32) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = secs as libc::time_t;
    // SAFETY: an all-zero tm is valid; localtime_r writes into it and reads only `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return String::from("unknown");
    }
    format!(
        "{} {} {:2} {:02}:{:02}:{:02}.{usecs:06} {}",
        DAYS[tm.tm_wday.rem_euclid(7) as usize],
        MONTHS[tm.tm_mon.rem_euclid(12) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year + 1900
    )
}

/// A VIP as keepalived lists it: `10.77.0.100/24 dev v0 scope global set` (`set` while held).
fn vip_line(inst: &DumpInstance<'_>, vip: &vrrp_proto::VirtualAddress) -> String {
    let scope = if vip.addr.is_ipv6()
        && matches!(vip.addr, std::net::IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
    {
        "link"
    } else {
        "global"
    };
    format!(
        "{}/{} dev {} scope {scope}{}",
        vip.addr,
        vip.prefix_len,
        inst.spec.vip_iface(),
        if inst.status.vips_held { " set" } else { "" }
    )
}

/// The data dump: keepalived's "VRRP Topology" section, one block per instance.
pub(crate) fn data(instances: &[DumpInstance<'_>]) -> String {
    let mut s = String::from("------< VRRP Topology >------\n");
    for i in instances {
        let (st, fsm) = (i.status, &i.spec.fsm);
        let _ = writeln!(s, " VRRP Instance = {}", st.name);
        let _ = writeln!(s, "   VRRP Version = {}", version_number(fsm.version));
        if st.family == AddressFamily::Ipv6 {
            let _ = writeln!(s, "   Using Native IPv6");
        }
        let _ = writeln!(s, "   State = {}", st.state);
        if st.state == State::Backup {
            if let Some(m) = st.master_address {
                let _ = writeln!(s, "   Master router = {m}");
            }
        }
        let _ = writeln!(s, "   Wantstate = {}", st.state);
        let (secs, usecs) = epoch(i.last_transition);
        let _ = writeln!(
            s,
            "   Last transition = {secs}.{usecs:06} ({})",
            ctime_us(secs, usecs)
        );
        let _ = writeln!(s, "   Interface = {}", st.iface);
        if let Some(src) = i.spec.unicast_src {
            let _ = writeln!(s, "   Using src_ip = {src}");
        } else {
            let _ = writeln!(s, "   Using src_ip = {}", fsm.primary_address);
        }
        if fsm.unicast_peers.is_empty() {
            let group = match st.family {
                AddressFamily::Ipv4 => "224.0.0.18",
                AddressFamily::Ipv6 => "ff02::12",
            };
            let _ = writeln!(s, "   Multicast address {group}");
        }
        let _ = writeln!(s, "   Virtual Router ID = {}", st.vrid);
        let _ = writeln!(s, "   Priority = {}", st.base_priority);
        let _ = writeln!(s, "   Effective priority = {}", st.effective_priority);
        let _ = writeln!(s, "   Total priority = {}", st.effective_priority);
        let adv = fsm.advert_interval;
        if fsm.version == Version::V2 {
            let _ = writeln!(s, "   Advert interval = {} sec", adv.as_secs());
        } else {
            let _ = writeln!(s, "   Advert interval = {} milli-sec", adv.as_millis());
        }
        let on = |b: bool| if b { "enabled" } else { "disabled" };
        let _ = writeln!(s, "   Accept = {}", on(accepts(fsm)));
        let _ = writeln!(s, "   Preempt = {}", on(fsm.preempt));
        if !fsm.preempt_delay.is_zero() {
            let _ = writeln!(
                s,
                "   Preempt delay = {} secs",
                fsm.preempt_delay.as_secs_f64()
            );
        }
        let _ = writeln!(s, "   Virtual IP ({}):", fsm.vips.len());
        for vip in &fsm.vips {
            let _ = writeln!(s, "     {}", vip_line(i, vip));
        }
        if !fsm.unicast_peers.is_empty() {
            let _ = writeln!(s, "   Unicast Peer :");
            for p in &fsm.unicast_peers {
                let _ = writeln!(s, "     {p}");
            }
        }
    }
    s
}

/// The stats dump, keepalived's `vrrp_print_stats` layout. Counters this daemon keeps in
/// another class are shown under keepalived's nearest one; classes it has no source for
/// (length, TTL, type: the codec drops those before the state machine) are 0.
pub(crate) fn stats(instances: &[DumpInstance<'_>]) -> String {
    let mut s = String::new();
    for i in instances {
        let c = &i.status.counters;
        let _ = write!(
            s,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: 0\n    \
             TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: {}\n    Address List: {}\n  \
             Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: {}\n  \
             Priority Zero:\n    Received: {}\n    Sent: {}\n",
            i.status.name,
            c.adverts_received,
            c.adverts_sent,
            c.become_master,
            c.release_master,
            c.interval_errors,
            c.address_list_errors,
            c.auth_errors,
            c.priority_zero_received,
            c.priority_zero_sent,
        );
    }
    s
}

/// A JSON value as keepalived's writer prints it.
enum Json {
    Uint(u64),
    Bool(bool),
    /// `%g`-like: `5`, `0.1`.
    Float(f64),
    /// `%f`: six decimals (`last_transition`).
    Fixed6(f64),
    Str(String),
    Strs(Vec<String>),
}

/// A JSON string with keepalived's escapes (its writer also escapes `/`).
fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string().replace('/', "\\/")
}

/// An object with its keys in the order given (keepalived's), not sorted.
fn json_object(fields: &[(&str, Json)]) -> String {
    let values = fields.iter().map(|(k, v)| {
        let v = match v {
            Json::Uint(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Float(f) => f.to_string(),
            Json::Fixed6(f) => format!("{f:.6}"),
            Json::Str(s) => json_str(s),
            Json::Strs(l) => format!(
                "[{}]",
                l.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",")
            ),
        };
        format!("\"{k}\":{v}")
    });
    format!("{{{}}}", values.collect::<Vec<_>>().join(","))
}

/// keepalived's `auth_type` numbers.
fn auth_number(auth: &vrrp_proto::Auth) -> u64 {
    match auth {
        vrrp_proto::Auth::None => 0,
        vrrp_proto::Auth::SimplePassword(_) => 1,
        vrrp_proto::Auth::IpAh => 2,
    }
}

/// The JSON dump: an array of `{"data": {...}, "stats": {...}}`, keepalived 2.2.7's keys in
/// its order.
pub(crate) fn json(instances: &[DumpInstance<'_>]) -> String {
    use Json::{Bool, Fixed6, Float, Str, Strs, Uint};
    let all: Vec<String> = instances
        .iter()
        .map(|i| {
            let (st, fsm, c) = (i.status, &i.spec.fsm, &i.status.counters);
            let (secs, usecs) = epoch(i.last_transition);
            let adver_int = fsm.advert_interval.as_secs_f64();
            let vmac = i
                .spec
                .vmac
                .as_ref()
                .map(|v| v.name.clone())
                .unwrap_or_default();
            let mut data = vec![
                ("iname", Str(st.name.clone())),
                ("dont_track_primary", Uint(0)),
                ("skip_check_adv_addr", Uint(0)),
                ("strict_mode", Uint(u64::from(fsm.strict))),
                ("vmac_ifname", Str(vmac)),
                ("ifp_ifname", Str(st.iface.clone())),
                ("master_priority", Uint(0)),
                (
                    "last_transition",
                    Fixed6(secs as f64 + f64::from(usecs) / 1e6),
                ),
                ("garp_delay", Float(fsm.garp_master_delay.as_secs_f64())),
                ("garp_refresh", Uint(fsm.garp_master_refresh.as_secs())),
                ("garp_rep", Uint(u64::from(fsm.garp_master_repeat))),
                (
                    "garp_refresh_rep",
                    Uint(u64::from(fsm.garp_master_refresh_repeat)),
                ),
                (
                    "garp_lower_prio_delay",
                    Uint(fsm.garp_lower_prio_delay.as_secs()),
                ),
                (
                    "garp_lower_prio_rep",
                    Uint(u64::from(fsm.garp_lower_prio_repeat)),
                ),
                (
                    "lower_prio_no_advert",
                    Uint(u64::from(fsm.lower_prio_no_advert)),
                ),
                (
                    "higher_prio_send_advert",
                    Uint(u64::from(fsm.higher_prio_send_advert)),
                ),
                ("vrid", Uint(u64::from(st.vrid))),
                ("base_priority", Uint(u64::from(st.base_priority))),
                ("effective_priority", Uint(u64::from(st.effective_priority))),
                ("vipset", Bool(st.vips_held)),
                ("promote_secondaries", Bool(false)),
                ("adver_int", Float(adver_int)),
                ("master_adver_int", Float(adver_int)),
                ("accept", Uint(u64::from(accepts(fsm)))),
                ("nopreempt", Bool(!fsm.preempt)),
                ("preempt_delay", Uint(fsm.preempt_delay.as_secs())),
                ("state", Uint(u64::from(state_number(st.state)))),
                ("wantstate", Uint(u64::from(state_number(st.state)))),
                ("version", Uint(u64::from(version_number(fsm.version)))),
                ("smtp_alert", Bool(false)),
                ("notify_deleted", Bool(false)),
                (
                    "vips",
                    Strs(fsm.vips.iter().map(|v| vip_line(i, v)).collect()),
                ),
            ];
            if !i.spec.vips_excluded.is_empty() {
                let evips = i.spec.vips_excluded.iter().map(|v| vip_line(i, v));
                data.push(("evips", Strs(evips.collect())));
            }
            data.push(("auth_type", Uint(auth_number(&fsm.auth))));
            let stats = [
                ("advert_rcvd", c.adverts_received),
                ("advert_sent", c.adverts_sent),
                ("become_master", c.become_master),
                ("release_master", c.release_master),
                ("packet_len_err", 0),
                ("advert_interval_err", c.interval_errors),
                ("ip_ttl_err", 0),
                ("invalid_type_rcvd", 0),
                ("addr_list_err", c.address_list_errors),
                ("invalid_authtype", 0),
                ("authtype_mismatch", 0),
                ("auth_failure", c.auth_errors),
                ("pri_zero_rcvd", c.priority_zero_received),
                ("pri_zero_sent", c.priority_zero_sent),
            ]
            .map(|(k, v)| (k, Uint(v)));
            format!(
                "{{\"data\":{},\"stats\":{}}}",
                json_object(&data),
                json_object(&stats)
            )
        })
        .collect();
    format!("[{}]", all.join(","))
}

/// Writes a dump as keepalived does: the file replaced, readable by its owner only.
pub(crate) fn write(path: &Path, text: &str) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_has_keepalived_shape() {
        let s = ctime_us(0, 42);
        // e.g. "Thu Jan  1 00:00:00.000042 1970" in UTC.
        assert_eq!(s.len(), "Thu Jan  1 00:00:00.000042 1970".len(), "{s}");
        assert!(s.contains(".000042 "), "{s}");
    }

    #[test]
    fn json_keeps_keepalived_order_and_escapes() {
        use Json::*;
        let o = json_object(&[
            ("z", Uint(1)),
            ("a", Float(5.0)),
            ("t", Fixed6(1.5)),
            ("v", Strs(vec!["10.0.0.1/24 dev eth0".into()])),
            ("b", Bool(true)),
            ("f", Float(0.1)),
        ]);
        assert_eq!(
            o,
            r#"{"z":1,"a":5,"t":1.500000,"v":["10.0.0.1\/24 dev eth0"],"b":true,"f":0.1}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&o).is_ok());
    }

    #[test]
    fn states_have_keepalived_numbers() {
        assert_eq!(state_number(State::Backup), 1);
        assert_eq!(state_number(State::Master), 2);
        assert_eq!(state_number(State::Fault), 3);
    }
}
