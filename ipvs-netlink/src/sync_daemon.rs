//! Connection synchronisation daemons (ipvsadm `--start-daemon`, keepalived `lvs_sync_daemon`).

use std::net::IpAddr;

use crate::constants::*;
use crate::error::{Error, Result};
use crate::nla::DaemonAttr;

/// Role of a sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends connection updates.
    Master,
    /// Receives them.
    Backup,
}

impl SyncState {
    pub(crate) fn raw(self) -> u32 {
        match self {
            SyncState::Master => IP_VS_STATE_MASTER,
            SyncState::Backup => IP_VS_STATE_BACKUP,
        }
    }
}

/// A sync daemon's configuration. Optional fields left `None` take the kernel defaults
/// (group 224.0.0.81, port 8848, ttl 1, maxlen from the MTU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub interface: String,
    /// Sync id 0–255 (only messages with the same id are accepted).
    pub sync_id: u32,
    /// Maximum message length (Linux ≥ 4.3).
    pub max_len: Option<u16>,
    /// Multicast group (Linux ≥ 4.3).
    pub group: Option<IpAddr>,
    /// UDP port (Linux ≥ 4.3).
    pub port: Option<u16>,
    /// Multicast TTL (Linux ≥ 4.3).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with kernel defaults.
    pub fn new(state: SyncState, interface: impl Into<String>, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    pub(crate) fn to_attrs(&self) -> Result<Vec<DaemonAttr>> {
        if self.interface.is_empty() || self.interface.len() >= IP_VS_IFNAME_MAXLEN {
            return Err(Error::InvalidRequest(format!(
                "interface name {:?} must be 1..{} bytes",
                self.interface,
                IP_VS_IFNAME_MAXLEN - 1
            )));
        }
        let mut v = vec![
            DaemonAttr::State(self.state.raw()),
            DaemonAttr::MulticastInterface(self.interface.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        if let Some(m) = self.max_len {
            v.push(DaemonAttr::SyncMaxLen(m));
        }
        match self.group {
            Some(IpAddr::V4(g)) => v.push(DaemonAttr::MulticastGroup(g)),
            Some(IpAddr::V6(g)) => v.push(DaemonAttr::MulticastGroup6(g)),
            None => {}
        }
        if let Some(p) = self.port {
            v.push(DaemonAttr::MulticastPort(p));
        }
        if let Some(t) = self.ttl {
            v.push(DaemonAttr::MulticastTtl(t));
        }
        Ok(v)
    }

    pub(crate) fn from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon> {
        let mut d = SyncDaemon::new(SyncState::Master, "", 0);
        let mut state = None;
        for a in attrs {
            match a {
                DaemonAttr::State(s) => state = Some(*s),
                DaemonAttr::MulticastInterface(s) => d.interface = s.clone(),
                DaemonAttr::SyncId(v) => d.sync_id = *v,
                DaemonAttr::SyncMaxLen(v) => d.max_len = Some(*v),
                DaemonAttr::MulticastGroup(g) => d.group = Some(IpAddr::V4(*g)),
                DaemonAttr::MulticastGroup6(g) => d.group = Some(IpAddr::V6(*g)),
                DaemonAttr::MulticastPort(v) => d.port = Some(*v),
                DaemonAttr::MulticastTtl(v) => d.ttl = Some(*v),
                DaemonAttr::Other(_) => {}
            }
        }
        d.state = match state {
            Some(IP_VS_STATE_MASTER) => SyncState::Master,
            Some(IP_VS_STATE_BACKUP) => SyncState::Backup,
            other => return Err(Error::Decode(format!("sync daemon with state {other:?}"))),
        };
        Ok(d)
    }
}
