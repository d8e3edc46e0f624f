//! One write operation on the IPVS table; a slice of them is a batch.

use std::fmt;

use crate::destination::key_attrs;
use crate::error::{Error, OpKind, Result};
use crate::message::{IpvsAttr, IpvsCmd, IpvsMessage};
use crate::nla::DaemonAttr;
use crate::{Destination, DestinationKey, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};

/// A write operation. [`IpvsHandle::execute`](crate::IpvsHandle::execute) pipelines many of
/// them over one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Add a service (`EEXIST` if it exists).
    AddService(Service),
    /// Replace a service's scheduler, flags, timeout, netmask and persistence engine.
    EditService(Service),
    /// Delete a service and its destinations.
    DeleteService(ServiceKey),
    /// Add a destination to a service.
    AddDestination(ServiceKey, Destination),
    /// Replace a destination's forwarding method, weight and thresholds.
    EditDestination(ServiceKey, Destination),
    /// Delete a destination.
    DeleteDestination(ServiceKey, DestinationKey),
    /// Set connection timeouts (0 = unchanged).
    SetTimeouts(Timeouts),
    /// Zero the counters of one service, or of all when `None`.
    Zero(Option<ServiceKey>),
    /// Delete every service.
    Flush,
    /// Start a sync daemon.
    StartSyncDaemon(SyncDaemon),
    /// Stop the sync daemon with this role.
    StopSyncDaemon(SyncState),
}

impl Operation {
    /// The netlink message for this operation.
    pub fn to_message(&self) -> Result<IpvsMessage> {
        use IpvsAttr as A;
        Ok(match self {
            Operation::AddService(s) => {
                IpvsMessage::new(IpvsCmd::NewService, vec![A::Service(s.to_attrs()?)])
            }
            Operation::EditService(s) => {
                IpvsMessage::new(IpvsCmd::SetService, vec![A::Service(s.to_attrs()?)])
            }
            Operation::DeleteService(k) => {
                IpvsMessage::new(IpvsCmd::DelService, vec![A::Service(k.to_attrs())])
            }
            Operation::AddDestination(k, d) => IpvsMessage::new(
                IpvsCmd::NewDest,
                vec![A::Service(k.to_attrs()), A::Destination(d.to_attrs()?)],
            ),
            Operation::EditDestination(k, d) => IpvsMessage::new(
                IpvsCmd::SetDest,
                vec![A::Service(k.to_attrs()), A::Destination(d.to_attrs()?)],
            ),
            Operation::DeleteDestination(k, d) => IpvsMessage::new(
                IpvsCmd::DelDest,
                vec![A::Service(k.to_attrs()), A::Destination(key_attrs(d))],
            ),
            Operation::SetTimeouts(t) => IpvsMessage::new(
                IpvsCmd::SetConfig,
                vec![
                    A::TimeoutTcp(t.tcp),
                    A::TimeoutTcpFin(t.tcp_fin),
                    A::TimeoutUdp(t.udp),
                ],
            ),
            Operation::Zero(None) => IpvsMessage::new(IpvsCmd::Zero, vec![]),
            Operation::Zero(Some(k)) => {
                IpvsMessage::new(IpvsCmd::Zero, vec![A::Service(k.to_attrs())])
            }
            Operation::Flush => IpvsMessage::new(IpvsCmd::Flush, vec![]),
            Operation::StartSyncDaemon(d) => {
                IpvsMessage::new(IpvsCmd::NewDaemon, vec![A::Daemon(d.to_attrs()?)])
            }
            Operation::StopSyncDaemon(s) => IpvsMessage::new(
                IpvsCmd::DelDaemon,
                vec![A::Daemon(vec![DaemonAttr::State(s.raw())])],
            ),
        })
    }

    fn kind(&self) -> OpKind {
        match self {
            Operation::AddService(_) | Operation::EditService(_) => OpKind::ServiceWrite,
            Operation::DeleteService(_) | Operation::Zero(_) => OpKind::Service,
            Operation::AddDestination(..)
            | Operation::EditDestination(..)
            | Operation::DeleteDestination(..) => OpKind::Destination,
            Operation::StartSyncDaemon(_) | Operation::StopSyncDaemon(_) => OpKind::Daemon,
            Operation::SetTimeouts(_) | Operation::Flush => OpKind::Other,
        }
    }

    /// The error for a kernel errno returned to this operation.
    pub(crate) fn error(&self, errno: i32) -> Error {
        let sched = match self {
            Operation::AddService(s) | Operation::EditService(s) => Some(s.scheduler.as_str()),
            _ => None,
        };
        Error::from_errno(errno, self.kind(), self.to_string(), sched)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::AddService(s) => write!(f, "add service {} ({})", s.key, s.scheduler),
            Operation::EditService(s) => write!(f, "edit service {} ({})", s.key, s.scheduler),
            Operation::DeleteService(k) => write!(f, "delete service {k}"),
            Operation::AddDestination(k, d) => {
                write!(f, "add destination {} to {k}", d.key())
            }
            Operation::EditDestination(k, d) => {
                write!(f, "edit destination {} of {k}", d.key())
            }
            Operation::DeleteDestination(k, d) => write!(f, "delete destination {d} of {k}"),
            Operation::SetTimeouts(t) => {
                write!(
                    f,
                    "set timeouts tcp {} tcpfin {} udp {}",
                    t.tcp, t.tcp_fin, t.udp
                )
            }
            Operation::Zero(None) => write!(f, "zero all counters"),
            Operation::Zero(Some(k)) => write!(f, "zero counters of {k}"),
            Operation::Flush => write!(f, "flush"),
            Operation::StartSyncDaemon(d) => {
                write!(f, "start {:?} sync daemon on {}", d.state, d.interface)
            }
            Operation::StopSyncDaemon(s) => write!(f, "stop {s:?} sync daemon"),
        }
    }
}
