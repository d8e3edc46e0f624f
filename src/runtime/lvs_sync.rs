//! keepalived's `lvs_sync_daemon IFACE INSTANCE [id N]`: the kernel's IPVS connection
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

use ipvs_netlink::{IpvsHandle, SyncDaemon, SyncState};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};
use tracing::{info, warn};
use vrrp_fsm::State;

use crate::runtime::config::ConfigError;
use crate::runtime::events::Event;
use crate::runtime::spec::InstanceSpec;

/// `[lvs_sync_daemon]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LvsSyncDaemonConfig {
    /// The interface the sync messages go out and come in on (multicast).
    pub iface: String,
    /// The VRRP instance (by name) whose state decides master or backup.
    pub instance: String,
    /// The sync id, 0 to 255 (default 0): only messages with the same id are accepted.
    #[serde(default)]
    pub id: u32,
    /// The largest sync message, 1 to 65507 bytes (default: the kernel's, from the MTU).
    #[serde(default)]
    pub maxlen: Option<u32>,
    /// The UDP port, 1 to 65535 (default: the kernel's, 8848).
    #[serde(default)]
    pub port: Option<u32>,
    /// The multicast TTL, 1 to 255 (default: the kernel's, 1).
    #[serde(default)]
    pub ttl: Option<u32>,
    /// The multicast group (default: the kernel's, 224.0.0.81), of the instance's family.
    #[serde(default)]
    pub group: Option<std::net::IpAddr>,
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
    /// The largest message.
    pub max_len: Option<u16>,
    /// The UDP port.
    pub port: Option<u16>,
    /// The multicast TTL.
    pub ttl: Option<u8>,
    /// The multicast group.
    pub group: Option<std::net::IpAddr>,
}

impl LvsSyncSpec {
    /// The daemon to run while the instance is in `state` (master only while Master).
    pub fn daemon_for(&self, state: State) -> SyncDaemon {
        let role = if state == State::Master {
            SyncState::Master
        } else {
            SyncState::Backup
        };
        let mut d = SyncDaemon::new(role, self.iface.clone(), self.sync_id);
        d.max_len = self.max_len;
        d.port = self.port;
        d.ttl = self.ttl;
        d.group = self.group;
        d
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
    if !instances.iter().any(|i| i.name == c.instance) {
        return Err(ConfigError::new(
            "lvs_sync_daemon.instance",
            format!("no instance is named {:?}", c.instance),
        ));
    }
    if c.id > 255 {
        return Err(ConfigError::new(
            "lvs_sync_daemon.id",
            format!("{} is out of range 0 to 255", c.id),
        ));
    }
    let range = |field: &str, v: Option<u32>, max: u32| match v {
        Some(n) if n == 0 || n > max => Err(ConfigError::new(
            format!("lvs_sync_daemon.{field}"),
            format!("{n} is out of range 1 to {max}"),
        )),
        other => Ok(other),
    };
    let max_len = range("maxlen", c.maxlen, 65507)?.map(|n| n as u16);
    let port = range("port", c.port, 65535)?.map(|n| n as u16);
    let ttl = range("ttl", c.ttl, 255)?.map(|n| n as u8);
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
        sync_id: c.id,
        max_len,
        port,
        ttl,
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
    // The kernel reports what it runs with its defaults filled in: compare what was asked.
    if running.iter().any(|d| {
        d.state == want.state
            && d.interface == want.interface
            && d.sync_id == want.sync_id
            && want.max_len.is_none_or(|m| d.max_len == Some(m))
            && want.port.is_none_or(|p| d.port == Some(p))
            && want.ttl.is_none_or(|t| d.ttl == Some(t))
            && want.group.is_none_or(|g| d.group == Some(g))
    }) {
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

impl LvsSync {
    /// Starts the backup sync daemon and follows the instance's transitions in `events`.
    pub fn start(
        spec: Option<&LvsSyncSpec>,
        mut events: broadcast::Receiver<Event>,
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
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    ev = events.recv() => match ev {
                        Ok(Event::StateChanged { instance, to, .. }) if instance == spec.instance => {
                            switch(&mut ipvs, &spec.daemon_for(to));
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
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
        for (extra, field) in [
            ("maxlen = 0", "maxlen"),
            ("maxlen = 65508", "maxlen"),
            ("port = 70000", "port"),
            ("ttl = 256", "ttl"),
            ("group = '192.0.2.1'", "group"),
        ] {
            assert_eq!(
                field_of(&format!("iface = 'lo'\ninstance = 'web'\n{extra}")),
                format!("lvs_sync_daemon.{field}"),
                "{extra}"
            );
        }
    }

    #[test]
    fn master_only_while_master() {
        let spec = LvsSyncSpec {
            iface: "eth0".into(),
            instance: "web".into(),
            sync_id: 3,
            max_len: Some(1400),
            port: None,
            ttl: Some(2),
            group: None,
        };
        assert_eq!(spec.daemon_for(State::Master).state, SyncState::Master);
        for s in [State::Init, State::Backup, State::Fault] {
            let d = spec.daemon_for(s);
            assert_eq!(
                (d.state, d.interface.as_str(), d.sync_id, d.max_len, d.ttl),
                (SyncState::Backup, "eth0", 3, Some(1400), Some(2))
            );
        }
    }
}
