//! minimal_failover nodes on a [`Topology`]: argument building, spawning, RFC timer bounds.

use std::net::IpAddr;
use std::time::Duration;

use super::process::{example_binary, wait_until, Daemon, TempDir};
use super::topology::{Topology, VIP4, VIP6};

/// Address family of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fam {
    /// IPv4 (VIP 10.200.0.100/24).
    V4,
    /// IPv6 (VIP fd00:200::100/64).
    V6,
}

impl Fam {
    /// The VIP without prefix.
    pub fn vip(self) -> &'static str {
        match self {
            Fam::V4 => VIP4,
            Fam::V6 => VIP6,
        }
    }
    /// The VIP as an address.
    pub fn vip_addr(self) -> IpAddr {
        self.vip().parse().unwrap()
    }
    /// The VIP with prefix.
    pub fn vip_cidr(self) -> String {
        match self {
            Fam::V4 => format!("{VIP4}/24"),
            Fam::V6 => format!("{VIP6}/64"),
        }
    }
}

/// What every node of a scenario shares.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// VRID.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Advert interval, seconds.
    pub advert_int: f64,
    /// Family.
    pub fam: Fam,
    /// v2 password.
    pub auth_pass: Option<String>,
    /// With `auth_pass`: keepalived's `auth_type AH` instead of PASS.
    pub auth_ah: bool,
    /// Unicast mode (each node lists the others as peers).
    pub unicast: bool,
}

impl Scenario {
    /// VRRPv3, 100 ms adverts, IPv4 multicast, VRID 51.
    pub fn v3_fast(fam: Fam) -> Scenario {
        Scenario {
            vrid: 51,
            version: 3,
            advert_int: 0.1,
            fam,
            auth_pass: None,
            auth_ah: false,
            unicast: false,
        }
    }

    /// The advert interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.advert_int)
    }

    /// RFC Skew_Time for `priority` (v2: (256-p)/256 s; v3: scaled by the interval).
    pub fn skew(&self, priority: u8) -> Duration {
        let p = 256 - u32::from(priority);
        if self.version == 2 {
            Duration::from_secs_f64(f64::from(p) / 256.0)
        } else {
            self.interval() * p / 256
        }
    }

    /// RFC Master_Down_Interval for `priority`.
    pub fn master_down(&self, priority: u8) -> Duration {
        self.interval() * 3 + self.skew(priority)
    }

    /// The node's address of the scenario's family (unicast source / peer).
    pub fn addr_of(&self, topo: &Topology, i: usize) -> String {
        match self.fam {
            Fam::V4 => topo.nodes[i].ipv4.to_string(),
            Fam::V6 => topo.nodes[i].link_local().to_string(),
        }
    }

    /// minimal_failover arguments for node `i` at `priority`, plus `extra`.
    pub fn args(&self, topo: &Topology, i: usize, priority: u8, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--iface".into(),
            "eth0".into(),
            "--vrid".into(),
            self.vrid.to_string(),
            "--priority".into(),
            priority.to_string(),
            "--vip".into(),
            self.fam.vip_cidr(),
            "--vrrp-version".into(),
            self.version.to_string(),
            "--advert-int".into(),
            self.advert_int.to_string(),
        ];
        if let Some(p) = &self.auth_pass {
            a.extend(["--auth-pass".into(), p.clone()]);
            if self.auth_ah {
                a.extend(["--auth-type".into(), "AH".into()]);
            }
        }
        if self.unicast {
            a.extend(["--unicast-src".into(), self.addr_of(topo, i)]);
            for j in 0..topo.nodes.len() {
                if j != i {
                    a.extend(["--unicast-peer".into(), self.addr_of(topo, j)]);
                }
            }
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }
}

/// Starts minimal_failover on node `i`.
pub fn spawn_node(topo: &Topology, dir: &TempDir, i: usize, args: &[String]) -> Daemon {
    let log = dir.join(&format!("mf{i}-{}.log", unique()));
    Daemon::spawn(
        &format!("mf{i}"),
        &topo.nodes[i].ns.name,
        &example_binary(),
        args,
        &log,
    )
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// Waits until exactly node `master` holds `vip` and reports Master, and every other running
/// daemon reports Backup. Panics with the logs otherwise.
pub fn wait_single_master(
    topo: &Topology,
    daemons: &[(usize, &Daemon)],
    master: usize,
    vip: &str,
    timeout: Duration,
) {
    // Only live nodes count: a SIGKILLed Master leaves its VIP configured behind it.
    let live_holders = || -> Vec<usize> {
        daemons
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| topo.nodes[*i].has_addr(vip))
            .collect()
    };
    let ok = wait_until(timeout, || {
        live_holders() == vec![master]
            && daemons.iter().all(|(i, d)| {
                let want = if *i == master { "Master" } else { "Backup" };
                d.state() == want
            })
    });
    if !ok {
        let mut msg = format!(
            "expected node {master} as the only Master holding {vip}; live holders {:?}\n",
            live_holders()
        );
        for (i, d) in daemons {
            msg += &format!(
                "--- node {i} state {} stdout {:?}\nstderr:\n{}\n",
                d.state(),
                d.lines(),
                d.log_text()
            );
        }
        panic!("{msg}");
    }
}
