//! [`Daemon::reload`](crate::Daemon::reload) (keepalived's SIGHUP): a new configuration into the running daemon, keeping every instance's
//! state, as keepalived's reload does (a Master stays Master, a Backup keeps its timer).
//!
//! Instances are matched as keepalived matches them: by interface, VRID and address family,
//! so a renamed instance keeps running under its new name. Then, as keepalived does:
//! - an instance the file no longer has is shut down (a Master sends priority 0 and removes
//!   its VIPs) and its notify scripts get FAULT;
//! - a new instance starts as at start-up (Backup, Master after its Master_Down_Interval);
//! - a kept instance takes what `vrrp_fsm::Instance::reconfigure` applies live: priority,
//!   advert interval, VIPs, preempt / nopreempt / preempt_delay, GARP settings, the VRRPv2
//!   password, unicast peers (its advert socket is reopened), `auth_hmac` (keys, active_key,
//!   mode, anti_replay, time_window, or the block added or removed: keepalived rebuilds it on
//!   reload; here the socket takes it from its next advert and keeps its send sequence and
//!   the peers' replay marks, so a key rotation neither flaps nor opens a replay window), its
//!   track scripts, tracked
//!   interfaces, files and processes (a tracker that stays keeps its state and its check
//!   runs on; a new one starts as at start-up; weights may change), virtual_routes and
//!   virtual_rules (a Master holding its VIPs swaps them at once); notify scripts and
//!   notify_priority_changes (the groups' scripts too) apply from the next event.
//! - `[[announce]]` tables are added, withdrawn or moved to their new form, the unchanged
//!   ones left alone (see [`route_announcer`](crate::runtime::route_announcer#reload)).
//!
//! What a kept instance set up at start stays, so a file that changes its version, advert
//! source, use_vmac, unicast_ttl, auth_type AH or its password is refused as a whole. So is
//! one that changes an existing sync group's members or puts a kept instance in a new group (a new
//! group may only gather new instances), and one that changes notify_fifo. A group the file
//! no longer has is dissolved: its members run on alone (or go, if the file drops them too).
//! The log names the instance and the field, and the running configuration stays. So does a
//! file that fails validation (the same messages as at start). `log_format` keeps its value
//! from the start.
//! Started from flags, there is no file: SIGHUP is logged and changes nothing. Either way
//! SIGHUP never stops the daemon (its default action would, and leave the VIPs behind).

use crate::runtime::spec::{DaemonSpec, InstanceSpec, SyncGroupSpec};

/// How a reloaded file maps onto the running instances. Running instances live in slots
/// (their `vrrp_fsm::InstanceId` index, never reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadPlan {
    /// For each instance of the file, in its order: the running slot it continues, or
    /// `None` for a new instance.
    pub slots: Vec<Option<usize>>,
    /// The running slots the file no longer has.
    pub removed: Vec<usize>,
}

impl ReloadPlan {
    /// The indexes (into the file's instances) of the new instances.
    pub fn added(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i)
    }
}

/// A planned reload on its way to the VRRP loop, which answers with each file instance's
/// slot, or why nothing changed.
#[derive(Debug)]
pub struct ReloadRequest {
    pub spec: DaemonSpec,
    pub plan: ReloadPlan,
    pub reply: tokio::sync::oneshot::Sender<Result<Vec<usize>, String>>,
}

/// keepalived's identity of an instance across a reload.
fn same_router(a: &InstanceSpec, b: &InstanceSpec) -> bool {
    a.iface == b.iface && a.fsm.vrid == b.fsm.vrid && a.fsm.family == b.fsm.family
}

/// Maps `new` onto the `running` slots (`None`: removed earlier) and their sync groups
/// (members as slots); `Err` names the instance and the field that would need a restart.
pub fn plan_reload(
    running: &[Option<InstanceSpec>],
    running_groups: &[SyncGroupSpec],
    running_fifo: Option<&std::path::Path>,
    new: &DaemonSpec,
) -> Result<ReloadPlan, String> {
    let mut slots: Vec<Option<usize>> = Vec::with_capacity(new.instances.len());
    for spec in &new.instances {
        let slot = running
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| same_router(r, spec)));
        if slot.is_some() && slots.contains(&slot) {
            return Err(format!(
                "instance {:?}: a second instance with vrid {} on {}",
                spec.name, spec.fsm.vrid, spec.iface
            ));
        }
        if let Some(slot) = slot {
            check_kept(running[slot].as_ref().expect("matched"), spec)?;
        }
        slots.push(slot);
    }
    let removed: Vec<usize> = (0..running.len())
        .filter(|&s| running[s].is_some() && !slots.contains(&Some(s)))
        .collect();
    if running_fifo != new.notify_fifo.as_deref() {
        return Err("notify_fifo".into());
    }
    // A running group keeps its name and members (as slots); a new one gathers new instances.
    // A running group the file drops is dissolved: its members run on alone or go too.
    for old in running_groups {
        let Some(group) = new.sync_groups.iter().find(|g| g.name == old.name) else {
            continue;
        };
        let members: Vec<Option<usize>> = group.members.iter().map(|&m| slots[m]).collect();
        if !old.members.iter().map(|&m| Some(m)).eq(members) {
            return Err(format!(
                "sync_group {:?}: its members (a running group keeps them)",
                old.name
            ));
        }
    }
    for group in &new.sync_groups {
        let running = running_groups.iter().any(|g| g.name == group.name);
        if !running && group.members.iter().any(|&m| slots[m].is_some()) {
            return Err(format!(
                "sync_group {:?}: a new group may only gather new instances",
                group.name
            ));
        }
    }
    Ok(ReloadPlan { slots, removed })
}

/// What a kept instance opened at start must stay as it is.
fn check_kept(old: &InstanceSpec, new: &InstanceSpec) -> Result<(), String> {
    let name = &new.name;
    if old.fsm.version != new.fsm.version {
        return Err(format!("instance {name:?}: vrrp_version"));
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::spec::from_toml;
    use std::net::IpAddr;

    fn spec(text: &str) -> DaemonSpec {
        let src = |_: &str, sample: IpAddr| -> Result<IpAddr, String> {
            Ok(match sample {
                IpAddr::V4(_) => "10.0.0.1".parse().unwrap(),
                IpAddr::V6(_) => "fe80::1".parse().unwrap(),
            })
        };
        from_toml(text, &src).unwrap()
    }

    const BASE: &str = "[[instance]]\nname = \"a\"\niface = \"eth0\"\nvrid = 1\npriority = 100\n\
        vips = [\"10.0.0.100/24\"]\n\
        track_script = [{ cmd = \"/bin/true\", weight = -10, interval = 1.0, fall = 2, rise = 2 }]\n\
        track_ifaces = [\"eth1:-20\"]\n\
        track_file = [{ path = \"/run/maint\", weight = -1 }]\n\
        track_process = [{ process = \"haproxy\", weight = -50 }]\n\
        [[instance]]\nname = \"b\"\niface = \"eth0\"\nvrid = 2\npriority = 100\nvips = [\"10.0.0.101/24\"]\n\
        [[sync_group]]\nname = \"G\"\ninstances = [\"a\", \"b\"]\n";

    /// The running side of `text`: every instance in its slot, groups as slots.
    fn running(text: &str) -> (Vec<Option<InstanceSpec>>, Vec<SyncGroupSpec>) {
        let d = spec(text);
        (d.instances.into_iter().map(Some).collect(), d.sync_groups)
    }

    fn plan(old: &str, new: &str) -> Result<ReloadPlan, String> {
        let (slots, groups) = running(old);
        plan_reload(&slots, &groups, None, &spec(new))
    }

    #[test]
    fn auth_hmac_may_be_added_rotated_and_removed_by_a_reload() {
        let key = |id: u8, active: u8| {
            format!(
                "[instance.auth_hmac]\nkeys = {{ {id} = 'abcdefghijklmnopqrstuvwxyz012345' }}\n\
                 active_key = {active}\n"
            )
        };
        // The block belongs to the first instance: put it right after it.
        let with = |block: &str| {
            BASE.replacen(
                "[[instance]]\nname = \"b\"",
                &format!("{block}[[instance]]\nname = \"b\""),
                1,
            )
        };
        let kept = Ok(ReloadPlan {
            slots: vec![Some(0), Some(1)],
            removed: vec![],
        });
        assert_eq!(plan(BASE, &with(&key(1, 1))), kept);
        assert_eq!(plan(&with(&key(1, 1)), &with(&key(2, 2))), kept);
        assert_eq!(plan(&with(&key(2, 2)), BASE), kept);
    }

    #[test]
    fn live_fields_weights_and_trackers_may_change() {
        let text = BASE
            .replacen("priority = 100", "priority = 150", 1)
            .replace("\"10.0.0.100/24\"", "\"10.0.0.100/24\", \"10.0.0.102/24\"")
            .replace("weight = -10", "weight = -30")
            .replace("eth1:-20", "eth1:-40")
            .replace("weight = -1 }", "weight = -2 }")
            .replace("weight = -50 }", "weight = -60 }")
            .replace("interval = 1.0", "interval = 2.0")
            .replace("eth1:-20", "eth2:-20")
            .replace("/run/maint", "/run/other")
            .replace("\"haproxy\"", "\"nginx\"")
            + "notify_master = \"/bin/true\"\n";
        let kept = ReloadPlan {
            slots: vec![Some(0), Some(1)],
            removed: vec![],
        };
        assert_eq!(plan(BASE, &text), Ok(kept.clone()));
        // keepalived matches by interface, VRID and family: a new name is the same instance.
        let renamed = BASE
            .replace("name = \"b\"", "name = \"c\"")
            .replace("[\"a\", \"b\"]", "[\"a\", \"c\"]");
        assert_eq!(plan(BASE, &renamed), Ok(kept));
    }

    #[test]
    fn instances_come_and_go_outside_running_groups() {
        let solo = |name: &str, vrid: u8| {
            format!(
                "[[instance]]\nname = \"{name}\"\niface = \"eth0\"\nvrid = {vrid}\npriority = 100\n\
                 vips = [\"10.0.0.{vrid}/24\"]\n"
            )
        };
        let old = BASE.to_string() + &solo("x", 10) + &solo("y", 11);
        // y goes, z comes (before x in the file), and a new group gathers two new ones.
        let new = solo("z", 12)
            + BASE
            + &solo("x", 10)
            + &solo("w", 13)
            + "[[sync_group]]\nname = \"H\"\ninstances = [\"z\", \"w\"]\n";
        let p = plan(&old, &new).unwrap();
        let d = spec(&new);
        let names: Vec<&str> = d.instances.iter().map(|i| i.name.as_str()).collect();
        let slot_of = |n: &str| p.slots[names.iter().position(|x| *x == n).unwrap()];
        assert_eq!(
            (
                slot_of("a"),
                slot_of("b"),
                slot_of("x"),
                slot_of("z"),
                slot_of("w")
            ),
            (Some(0), Some(1), Some(2), None, None)
        );
        assert_eq!(p.removed, vec![3]);
        assert_eq!(p.added().count(), 2);
    }

    #[test]
    fn what_was_opened_at_start_cannot_change() {
        let cases = [
            (
                "instances = [\"a\", \"b\"]",
                "instances = [\"a\"]",
                "sync_group \"G\": its members",
            ),
            // b on another interface is another instance: the group would gather a new one.
            ("vrid = 2", "vrid = 3", "sync_group \"G\": its members"),
            ("vrid = 1\n", "vrid = 1\nunicast_ttl = 9\nunicast_src = \"10.0.0.1\"\nunicast_peers = [\"10.0.0.2\"]\n", "unicast_ttl"),
        ];
        for (from, to, what) in cases {
            let err = plan(BASE, &BASE.replacen(from, to, 1)).unwrap_err();
            assert!(err.contains(what), "{what}: {err}");
        }
        // A group dropped from the file is dissolved, its members kept; a new group may not
        // take a running instance.
        let no_group = &BASE[..BASE.find("[[sync_group]]").unwrap()];
        let kept = plan(BASE, no_group).unwrap();
        assert_eq!((kept.slots, kept.removed), (vec![Some(0), Some(1)], vec![]));
        let err = plan(no_group, BASE).unwrap_err();
        assert!(err.contains("only gather new instances"), "{err}");
        let (slots, groups) = running(BASE);
        let fifo = std::path::Path::new("/run/fifo");
        let err = plan_reload(&slots, &groups, Some(fifo), &spec(BASE)).unwrap_err();
        assert_eq!(err, "notify_fifo");
    }
}
