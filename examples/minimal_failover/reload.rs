//! SIGHUP: reload the `--config` file into the running daemon, keeping every instance's
//! state, as keepalived's reload does (a Master stays Master, a Backup keeps its timer).
//!
//! What a reload may change is what `vrrp_fsm::Instance::reconfigure` applies live: priority,
//! advert interval, VIPs, preempt / nopreempt / preempt_delay, GARP settings, the VRRPv2
//! password, unicast peers (the instance's advert socket is reopened) and the weights of
//! track scripts, tracked interfaces, files and processes; notify scripts (the groups' too)
//! apply from the next transition. The rest of what the daemon set up at start (link
//! watches, checks, VMACs, sync groups, the instances themselves) stays, so a file that adds,
//! removes, renames or reorders instances, or changes an interface, advert source, VRID,
//! version, a track script's command or timing, a tracked interface, file or process,
//! use_vmac, auth_type AH or its password, or a sync group's members, is refused as a whole:
//! the log names the instance and the field, and the running configuration stays. So does a
//! file that fails validation (the same messages as at start). `log_format` keeps its value
//! from the start.
//! Started from flags, there is no file: SIGHUP is logged and changes nothing. Either way
//! SIGHUP never stops the daemon (its default action would, and leave the VIPs behind).

use crate::config::{DaemonSpec, InstanceSpec, SyncGroupSpec, TrackProcess};

/// Two lists of equal length whose items agree pairwise under `eq`.
fn same_by<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| eq(a, b))
}

/// Checks that `new` keeps what the running daemon opened at start; `Err` names the instance
/// and the field that would need a restart.
pub fn check_same_shape<'a>(
    running: impl ExactSizeIterator<Item = &'a InstanceSpec>,
    running_groups: &[SyncGroupSpec],
    running_fifo: Option<&std::path::Path>,
    new: &DaemonSpec,
) -> Result<(), String> {
    if running.len() != new.instances.len() {
        return Err(format!(
            "the file has {} instances, the daemon runs {}",
            new.instances.len(),
            running.len()
        ));
    }
    for (old, new) in running.zip(&new.instances) {
        let name = &old.name;
        if old.name != new.name {
            return Err(format!(
                "instance {name:?} is now {:?} (instances cannot be renamed, added, removed or reordered)",
                new.name
            ));
        }
        if old.iface != new.iface {
            return Err(format!("instance {name:?}: iface"));
        }
        if old.vmac != new.vmac {
            return Err(format!("instance {name:?}: use_vmac"));
        }
        // The AH key lives in the advert socket with its anti-replay counter, which a new
        // socket would restart below what the peers have seen.
        if old.ip_ah != new.ip_ah {
            return Err(format!("instance {name:?}: auth_type AH or its password"));
        }
        if old.unicast_ttl != new.unicast_ttl {
            return Err(format!("instance {name:?}: unicast_ttl"));
        }
        if old.unicast_src != new.unicast_src {
            return Err(format!("instance {name:?}: unicast_src"));
        }
        // Only a weight may change: everything else of each tracker was set up at start.
        let trackers = [
            (
                "track_script",
                same_by(&old.track_scripts, &new.track_scripts, |a, b| {
                    a.argv == b.argv
                        && a.interval == b.interval
                        && a.fall == b.fall
                        && a.rise == b.rise
                }),
            ),
            (
                "track_process",
                same_by(&old.track_processes, &new.track_processes, |a, b| {
                    TrackProcess {
                        weight: b.weight,
                        ..a.clone()
                    } == *b
                }),
            ),
            (
                "track_file",
                same_by(&old.track_files, &new.track_files, |a, b| a.path == b.path),
            ),
            (
                "track_ifaces",
                same_by(&old.track_ifaces, &new.track_ifaces, |a, b| {
                    a.iface == b.iface
                }),
            ),
        ];
        if let Some((what, _)) = trackers.iter().find(|(_, same)| !same) {
            return Err(format!(
                "instance {name:?}: {what} (only a weight can change)"
            ));
        }
    }
    if running_fifo != new.notify_fifo.as_deref() {
        return Err("notify_fifo".into());
    }
    // A group's notify scripts may change; its name and members may not.
    let groups_same = same_by(running_groups, &new.sync_groups, |a, b| {
        a.name == b.name && a.members == b.members
    });
    if !groups_same {
        return Err("sync_group".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::LogFormat;
    use crate::config::from_toml;
    use std::net::IpAddr;

    fn spec(text: &str) -> DaemonSpec {
        let src = |_: &str, sample: IpAddr| -> Result<IpAddr, String> {
            Ok(match sample {
                IpAddr::V4(_) => "10.0.0.1".parse().unwrap(),
                IpAddr::V6(_) => "fe80::1".parse().unwrap(),
            })
        };
        from_toml(text, LogFormat::Text, &src).unwrap()
    }

    const BASE: &str = "[[instance]]\nname = \"a\"\niface = \"eth0\"\nvrid = 1\npriority = 100\n\
        vips = [\"10.0.0.100/24\"]\n\
        track_script = [{ cmd = \"/bin/true\", weight = -10, interval = 1.0, fall = 2, rise = 2 }]\n\
        track_ifaces = [\"eth1:-20\"]\n\
        track_file = [{ path = \"/run/maint\", weight = -1 }]\n\
        track_process = [{ process = \"haproxy\", weight = -50 }]\n\
        [[instance]]\nname = \"b\"\niface = \"eth0\"\nvrid = 2\npriority = 100\nvips = [\"10.0.0.101/24\"]\n\
        [[sync_group]]\nname = \"G\"\ninstances = [\"a\", \"b\"]\n";

    #[test]
    fn live_fields_and_weights_may_change() {
        let old = spec(BASE);
        let text = BASE
            .replacen("priority = 100", "priority = 150", 1)
            .replace("\"10.0.0.100/24\"", "\"10.0.0.100/24\", \"10.0.0.102/24\"")
            .replace("weight = -10", "weight = -30")
            .replace("eth1:-20", "eth1:-40")
            .replace("weight = -1 }", "weight = -2 }")
            .replace("weight = -50 }", "weight = -60 }")
            + "notify_master = \"/bin/true\"\n";
        let new = spec(&text);
        assert_eq!(
            check_same_shape(old.instances.iter(), &old.sync_groups, None, &new),
            Ok(())
        );
    }

    #[test]
    fn what_was_opened_at_start_cannot_change() {
        let old = spec(BASE);
        let cases = [
            ("name = \"b\"", "name = \"c\"", "renamed"),
            ("iface = \"eth0\"", "iface = \"eth9\"", "iface"),
            ("interval = 1.0", "interval = 2.0", "track_script"),
            ("/bin/true", "/bin/false", "track_script"),
            ("eth1:-20", "eth2:-20", "track_ifaces"),
            ("/run/maint", "/run/other", "track_file"),
            ("\"haproxy\"", "\"nginx\"", "track_process"),
            (
                "instances = [\"a\", \"b\"]",
                "instances = [\"a\"]",
                "sync_group",
            ),
        ];
        for (from, to, what) in cases {
            let mut text = BASE.replacen(from, to, 1);
            if what == "renamed" {
                text = text.replace("[\"a\", \"b\"]", "[\"a\", \"c\"]");
            }
            let new = spec(&text);
            let err =
                check_same_shape(old.instances.iter(), &old.sync_groups, None, &new).unwrap_err();
            let expected = if what == "renamed" { "is now" } else { what };
            assert!(err.contains(expected), "{what}: {err}");
        }
        let one = spec(&BASE[..BASE.find("[[instance]]\nname = \"b\"").unwrap()]);
        let err = check_same_shape(old.instances.iter(), &old.sync_groups, None, &one).unwrap_err();
        assert!(err.contains("1 instances"), "{err}");
    }
}
