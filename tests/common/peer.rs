//! One VRRP node as the tests see it, whichever implementation runs it: our minimal_failover
//! example or real keepalived. Starting, asking for mastership, stopping (hard or graceful),
//! and the PIDs whose CPU and memory a benchmark reads.

use std::time::Duration;

use super::cluster::{spawn_node, Scenario};
use super::keepalived::{KaInstance, Keepalived};
use super::process::{Daemon, TempDir};
use super::topology::Topology;

/// Which implementation a [`Peer`] runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PeerKind {
    /// minimal_failover (our example daemon).
    Mf,
    /// keepalived (parent + VRRP child).
    Ka,
}

/// A running VRRP node: our daemon or keepalived.
pub enum Peer {
    /// minimal_failover (our example daemon).
    Mf(Daemon),
    /// keepalived (parent + VRRP child).
    Ka(Keepalived),
}

/// keepalived's configuration for node `i` of `sc` at `prio` (unicast peers when `sc.unicast`).
pub fn ka_instance(sc: &Scenario, topo: &Topology, i: usize, prio: u8) -> KaInstance {
    KaInstance {
        iface: "eth0".into(),
        vrid: sc.vrid,
        priority: prio,
        version: sc.version,
        advert_int: sc.advert_int,
        vips: vec![sc.fam.vip_cidr()],
        auth_pass: sc.auth_pass.clone(),
        auth_ah: sc.auth_ah,
        unicast_src: sc.unicast.then(|| sc.addr_of(topo, i)),
        unicast_peers: if sc.unicast {
            (0..topo.nodes.len())
                .filter(|&j| j != i)
                .map(|j| sc.addr_of(topo, j))
                .collect()
        } else {
            vec![]
        },
        nopreempt: false,
    }
}

impl Peer {
    /// Starts node `i` of `sc` at `prio`. `gen` tells apart keepalived restarts on the same
    /// node (config, pid and log files are named after it).
    pub fn start(
        kind: PeerKind,
        sc: &Scenario,
        topo: &Topology,
        dir: &TempDir,
        i: usize,
        prio: u8,
        gen: u32,
    ) -> Peer {
        match kind {
            PeerKind::Mf => Peer::Mf(spawn_node(topo, dir, i, &sc.args(topo, i, prio, &[]))),
            PeerKind::Ka => Peer::Ka(Keepalived::start(
                &format!("ka{i}g{gen}"),
                &topo.nodes[i].ns.name,
                &ka_instance(sc, topo, i, prio),
                &dir.0,
            )),
        }
    }

    /// Which implementation this is.
    pub fn kind(&self) -> PeerKind {
        match self {
            Peer::Mf(_) => PeerKind::Mf,
            Peer::Ka(_) => PeerKind::Ka,
        }
    }

    /// Every process doing the node's work (keepalived: the parent and its VRRP child).
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Peer::Mf(d) => vec![d.pid()],
            Peer::Ka(k) => {
                let mut v = vec![k.daemon.pid()];
                v.extend(k.vrrp_pid());
                v
            }
        }
    }

    /// True when the node says it is Master now.
    pub fn is_master(&self) -> bool {
        match self {
            Peer::Mf(d) => d.state() == "Master",
            Peer::Ka(k) => k.is_master(),
        }
    }

    /// True when the node has been Master at some point.
    pub fn ever_master(&self) -> bool {
        match self {
            Peer::Mf(d) => d.transitions().iter().any(|(_, t)| t.to == "Master"),
            Peer::Ka(k) => k.entered("MASTER") > 0,
        }
    }

    /// SIGKILL: the node vanishes without a priority-0 advert.
    pub fn kill_hard(&mut self) {
        match self {
            Peer::Mf(d) => d.kill(),
            Peer::Ka(k) => k.kill_hard(),
        }
    }

    /// SIGTERM and wait for the exit (a Master sends a priority-0 advert first). Returns the
    /// exit code (keepalived: the parent's), `None` when it did not exit in time or died of a
    /// signal.
    pub fn stop(&mut self) -> Option<i32> {
        match self {
            Peer::Mf(d) => {
                d.signal(libc::SIGTERM);
                d.wait_exit(Duration::from_secs(5)).and_then(|s| s.code())
            }
            Peer::Ka(k) => k.stop(),
        }
    }

    /// The node's log so far (stderr).
    pub fn log(&self) -> String {
        match self {
            Peer::Mf(d) => d.log_text(),
            Peer::Ka(k) => k.log(),
        }
    }
}
