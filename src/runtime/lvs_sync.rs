//! keepalived's `lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group
//! ADDR]`: the kernel's IPVS connection
//! synchronisation daemon, tied to a VRRP instance. While the instance is Master this node
//! runs the master sync daemon (it sends its connection table); otherwise the backup one (it
//! receives the Master's), so established connections survive a director failover. Switched
//! on each transition, stopped at shutdown. Feature `ipvs`.
//!
//! ```
//! use hakit::Config;
//! let config = Config::from_toml(
//!     "[[instance]]\nname = 'web'\niface = 'lo'\nvrid = 51\npriority = 100\n\
//!      vips = ['192.0.2.1/32']\n\
//!      [lvs_sync_daemon]\niface = 'lo'\ninstance = 'web'\nid = 7\n",
//! )
//! .unwrap();
//! let spec = config.validate().unwrap();
//! assert_eq!(spec.lvs_sync_daemon.unwrap().sync_id, 7);
//! let bad = Config::from_toml(
//!     "[[instance]]\nname = 'web'\niface = 'lo'\nvrid = 51\npriority = 100\n\
//!      vips = ['192.0.2.1/32']\n\
//!      [lvs_sync_daemon]\niface = 'lo'\ninstance = 'db'\n",
//! )
//! .unwrap()
//! .validate()
//! .unwrap_err();
//! assert_eq!(bad.field, "lvs_sync_daemon.instance");
//! ```

use std::net::IpAddr;

use ipvs_netlink::{IpvsHandle, SyncDaemon, SyncState};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};
use tracing::{info, warn};
use vrrp_fsm::State;

use crate::runtime::config::ConfigError;
use crate::runtime::events::Event;
use crate::runtime::spec::InstanceSpec;
use crate::runtime::state_board::{hear, Heard, StateBoard};

/// `[lvs_sync_daemon]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LvsSyncDaemonConfig {
    /// The interface the sync messages go out and come in on (multicast).
    pub iface: String,
    /// The VRRP instance (by name) whose state decides master or backup.
    pub instance: String,
    /// The sync id, 0 to 255: only messages with the same id are accepted. Default, as
    /// keepalived's: the instance's VRID (so a keepalived director and a hakit one agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// The largest sync message in bytes, 1 to 65507 (default: from the interface's MTU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u32>,
    /// The UDP port, 1 to 65535 (default 8848).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// The multicast TTL, 1 to 255 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// The multicast group, IPv4 or IPv6 (default 224.0.0.81).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
}

/// `[lvs_sync_daemon]` validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncSpec {
    /// The interface.
    pub iface: String,
    /// The instance's name.
    pub instance: String,
    /// The sync id.
    pub sync_id: u32,
    /// The largest sync message (`None`: the kernel's choice, from the MTU).
    pub max_len: Option<u16>,
    /// The UDP port (`None`: 8848).
    pub port: Option<u16>,
    /// The multicast TTL (`None`: 1).
    pub ttl: Option<u8>,
    /// The multicast group (`None`: 224.0.0.81).
    pub group: Option<IpAddr>,
}

impl LvsSyncSpec {
    /// The daemon to run while the instance is in `state` (master only while Master).
    pub fn daemon_for(&self, state: State) -> SyncDaemon {
        let role = if state == State::Master {
            SyncState::Master
        } else {
            SyncState::Backup
        };
        SyncDaemon {
            max_len: self.max_len,
            port: self.port,
            ttl: self.ttl,
            group: self.group,
            ..SyncDaemon::new(role, self.iface.clone(), self.sync_id)
        }
    }
}

/// Whether the kernel's `running` daemon is `want`: a setting `want` leaves to the kernel
/// (`None`) matches whatever the kernel chose.
fn runs_as_wanted(running: &SyncDaemon, want: &SyncDaemon) -> bool {
    fn same<T: PartialEq>(running: Option<T>, want: Option<T>) -> bool {
        want.is_none() || running == want
    }
    running.state == want.state
        && running.interface == want.interface
        && running.sync_id == want.sync_id
        && same(running.max_len, want.max_len)
        && same(running.port, want.port)
        && same(running.ttl, want.ttl)
        && same(running.group, want.group)
}

/// `value` of `lvs_sync_daemon.KEY` in `min..=max`, as a `T`.
fn in_range<T: TryFrom<u32>>(
    key: &str,
    value: Option<u32>,
    min: u32,
    max: u32,
) -> Result<Option<T>, ConfigError> {
    let Some(v) = value else { return Ok(None) };
    match T::try_from(v) {
        Ok(t) if (min..=max).contains(&v) => Ok(Some(t)),
        _ => Err(ConfigError::new(
            format!("lvs_sync_daemon.{key}"),
            format!("{v} is out of range {min} to {max}"),
        )),
    }
}

/// Validates `[lvs_sync_daemon]` against the instances (fields `lvs_sync_daemon.KEY`).
pub fn validate(
    raw: Option<&LvsSyncDaemonConfig>,
    instances: &[InstanceSpec],
) -> Result<Option<LvsSyncSpec>, ConfigError> {
    let Some(c) = raw else { return Ok(None) };
    if c.iface.is_empty() || c.iface.len() > 15 {
        return Err(ConfigError::new(
            "lvs_sync_daemon.iface",
            format!("{:?} is not an interface name (1 to 15 bytes)", c.iface),
        ));
    }
    let Some(instance) = instances.iter().find(|i| i.name == c.instance) else {
        return Err(ConfigError::new(
            "lvs_sync_daemon.instance",
            format!("no instance is named {:?}", c.instance),
        ));
    };
    let sync_id = match c.id {
        Some(id) if id > 255 => {
            return Err(ConfigError::new(
                "lvs_sync_daemon.id",
                format!("{id} is out of range 0 to 255"),
            ))
        }
        Some(id) => id,
        None => u32::from(instance.fsm.vrid),
    };
    if let Some(g) = c.group {
        if !g.is_multicast() {
            return Err(ConfigError::new(
                "lvs_sync_daemon.group",
                format!("{g} is not a multicast address"),
            ));
        }
    }
    Ok(Some(LvsSyncSpec {
        iface: c.iface.clone(),
        instance: c.instance.clone(),
        sync_id,
        // The largest UDP payload of an IPv4 datagram.
        max_len: in_range("maxlen", c.maxlen, 1, 65507)?,
        port: in_range("port", c.port, 1, 65535)?,
        ttl: in_range("ttl", c.ttl, 1, 255)?,
        group: c.group,
    }))
}

/// Runs the sync daemon for the instance's state; [`LvsSync::stop`] stops it.
#[derive(Debug)]
pub struct LvsSync {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Makes the kernel run `want` (and no daemon of the other role).
fn switch(ipvs: &mut IpvsHandle, want: &SyncDaemon) {
    let running = match ipvs.sync_daemons() {
        Ok(r) => r,
        Err(e) => return warn!("lvs_sync_daemon: cannot read the sync daemons: {e}"),
    };
    for d in &running {
        if d.state != want.state {
            match ipvs.stop_sync_daemon(d.state) {
                Ok(()) => info!("lvs_sync_daemon: {:?} stopped", d.state),
                Err(e) => warn!("lvs_sync_daemon: cannot stop {:?}: {e}", d.state),
            }
        }
    }
    if running.iter().any(|d| runs_as_wanted(d, want)) {
        return;
    }
    if running.iter().any(|d| d.state == want.state) {
        let _ = ipvs.stop_sync_daemon(want.state);
    }
    match ipvs.start_sync_daemon(want) {
        Ok(()) => info!(
            "lvs_sync_daemon: {:?} on {} id {}",
            want.state, want.interface, want.sync_id
        ),
        Err(e) => warn!("lvs_sync_daemon: cannot start {:?}: {e}", want.state),
    }
}

/// [`switch`] on a blocking thread: stopping a kernel sync thread waits for it to end (tens
/// of milliseconds), which would stall every task of a current-thread runtime (the checks).
/// `None` only if the switch panicked.
async fn switch_off_the_runtime(mut ipvs: IpvsHandle, want: SyncDaemon) -> Option<IpvsHandle> {
    tokio::task::spawn_blocking(move || {
        switch(&mut ipvs, &want);
        ipvs
    })
    .await
    .inspect_err(|e| warn!("lvs_sync_daemon: switching failed: {e}; no more switches"))
    .ok()
}

impl LvsSync {
    /// Starts the backup sync daemon and follows the instance's transitions in `events`.
    pub fn start(
        spec: Option<&LvsSyncSpec>,
        events: broadcast::Receiver<Event>,
    ) -> Result<Option<LvsSync>, crate::runtime::daemon::DaemonError> {
        Self::start_following(spec, events, StateBoard::default())
    }

    /// [`start`](Self::start) for the daemon: after skipped events, the instance's state is
    /// re-read from `board`.
    pub(crate) fn start_following(
        spec: Option<&LvsSyncSpec>,
        mut events: broadcast::Receiver<Event>,
        board: StateBoard,
    ) -> Result<Option<LvsSync>, crate::runtime::daemon::DaemonError> {
        let Some(spec) = spec.cloned() else {
            return Ok(None);
        };
        let mut ipvs = IpvsHandle::new().map_err(|e| {
            crate::runtime::daemon::DaemonError::Other(format!("lvs_sync_daemon: IPVS: {e}"))
        })?;
        switch(&mut ipvs, &spec.daemon_for(State::Backup));
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            // The state the sync daemon's role was last set for.
            let mut role = State::Backup;
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    heard = hear(&mut events, &board, "lvs_sync_daemon") => {
                        let to = match heard {
                            Heard::Event(Event::StateChanged { instance, to, .. })
                                if instance == spec.instance => Some(to),
                            // A switch only when the role the state calls for changed.
                            Heard::Resync(states) => states
                                .into_iter()
                                .find(|(i, _)| *i == spec.instance)
                                .map(|(_, to)| to)
                                .filter(|&to| spec.daemon_for(to) != spec.daemon_for(role)),
                            Heard::Event(_) => None,
                            Heard::Closed => break,
                        };
                        if let Some(to) = to {
                            role = to;
                            match switch_off_the_runtime(ipvs, spec.daemon_for(to)).await {
                                Some(back) => ipvs = back,
                                None => return,
                            }
                        }
                    }
                }
            }
            for role in [SyncState::Master, SyncState::Backup] {
                if ipvs
                    .sync_daemons()
                    .is_ok_and(|r| r.iter().any(|d| d.state == role))
                {
                    if let Err(e) = ipvs.stop_sync_daemon(role) {
                        warn!("lvs_sync_daemon: cannot stop {role:?}: {e}");
                    }
                }
            }
        });
        Ok(Some(LvsSync {
            stop: Some(stop_tx),
            task: Some(task),
        }))
    }

    /// Stops the sync daemons (both roles).
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for LvsSync {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTANCE: &str = "[[instance]]\nname = 'web'\niface = 'lo'\nvrid = 51\n\
                            priority = 100\nvips = ['192.0.2.1/32']\n";

    fn field_of(section: &str) -> String {
        crate::Config::from_toml(&format!("{INSTANCE}[lvs_sync_daemon]\n{section}"))
            .unwrap()
            .validate()
            .unwrap_err()
            .field
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(
            field_of("iface = 'lo'\ninstance = 'db'"),
            "lvs_sync_daemon.instance"
        );
        assert_eq!(
            field_of("iface = 'lo'\ninstance = 'web'\nid = 256"),
            "lvs_sync_daemon.id"
        );
        assert_eq!(
            field_of("iface = 'an-interface-name-too-long'\ninstance = 'web'"),
            "lvs_sync_daemon.iface"
        );
        for (line, field) in [
            ("maxlen = 0", "lvs_sync_daemon.maxlen"),
            ("maxlen = 65508", "lvs_sync_daemon.maxlen"),
            ("port = 0", "lvs_sync_daemon.port"),
            ("port = 65536", "lvs_sync_daemon.port"),
            ("ttl = 0", "lvs_sync_daemon.ttl"),
            ("ttl = 256", "lvs_sync_daemon.ttl"),
            ("group = '192.0.2.7'", "lvs_sync_daemon.group"),
            ("group = '2001:db8::7'", "lvs_sync_daemon.group"),
        ] {
            assert_eq!(
                field_of(&format!("iface = 'lo'\ninstance = 'web'\n{line}")),
                field,
                "{line}"
            );
        }
    }

    #[test]
    fn the_sync_id_defaults_to_the_instances_vrid_as_in_keepalived() {
        let spec = |section: &str| {
            crate::Config::from_toml(&format!("{INSTANCE}[lvs_sync_daemon]\n{section}"))
                .unwrap()
                .validate()
                .unwrap()
                .lvs_sync_daemon
                .unwrap()
        };
        assert_eq!(spec("iface = 'lo'\ninstance = 'web'").sync_id, 51);
        assert_eq!(spec("iface = 'lo'\ninstance = 'web'\nid = 0").sync_id, 0);
    }

    #[test]
    fn every_setting_reaches_the_daemon() {
        let spec = crate::Config::from_toml(&format!(
            "{INSTANCE}[lvs_sync_daemon]\niface = 'eth1'\ninstance = 'web'\nid = 4\n\
             maxlen = 1400\nport = 8849\nttl = 2\ngroup = 'ff02::81'\n"
        ))
        .unwrap()
        .validate()
        .unwrap()
        .lvs_sync_daemon
        .unwrap();
        let d = spec.daemon_for(State::Master);
        assert_eq!(
            (d.state, d.interface.as_str(), d.sync_id),
            (SyncState::Master, "eth1", 4)
        );
        assert_eq!(
            (d.max_len, d.port, d.ttl, d.group),
            (
                Some(1400),
                Some(8849),
                Some(2),
                Some("ff02::81".parse().unwrap())
            )
        );
    }

    #[test]
    fn a_running_daemon_matches_what_is_left_to_the_kernel() {
        let want = SyncDaemon::new(SyncState::Backup, "eth0", 5);
        // What the kernel reports for it: its own maxlen, group, port and ttl.
        let running = SyncDaemon {
            max_len: Some(1472),
            group: Some("224.0.0.81".parse().unwrap()),
            port: Some(8848),
            ttl: Some(1),
            ..want.clone()
        };
        assert!(runs_as_wanted(&running, &want));
        let other_port = SyncDaemon {
            port: Some(8849),
            ..want.clone()
        };
        assert!(!runs_as_wanted(&running, &other_port));
        assert!(runs_as_wanted(
            &running,
            &SyncDaemon {
                port: Some(8848),
                ..want.clone()
            }
        ));
        let master = SyncDaemon::new(SyncState::Master, "eth0", 5);
        assert!(!runs_as_wanted(&running, &master));
        let other_id = SyncDaemon::new(SyncState::Backup, "eth0", 6);
        assert!(!runs_as_wanted(&running, &other_id));
    }

    #[test]
    fn master_only_while_master() {
        let spec = LvsSyncSpec {
            iface: "eth0".into(),
            instance: "web".into(),
            sync_id: 3,
            max_len: None,
            port: None,
            ttl: None,
            group: None,
        };
        assert_eq!(spec.daemon_for(State::Master).state, SyncState::Master);
        for s in [State::Init, State::Backup, State::Fault] {
            let d = spec.daemon_for(s);
            assert_eq!(
                (d.state, d.interface.as_str(), d.sync_id),
                (SyncState::Backup, "eth0", 3)
            );
        }
    }
}
