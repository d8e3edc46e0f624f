//! Errors, with the kernel's errno mapped to what it means for the operation that failed.

use std::io;

/// Errors of this crate.
///
/// Kernel errors carry `op`, a human description of the operation that failed (for example
/// `add destination 198.51.100.2:80 to TCP 192.0.2.1:80`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no "IPVS" generic netlink family: `ip_vs` is not loaded or not built.
    #[error("the IPVS generic netlink family is not registered (ip_vs module not loaded or kernel built without IPVS)")]
    FamilyNotFound,
    /// `EEXIST`: the service or destination already exists.
    #[error("{op}: already exists")]
    AlreadyExists {
        /// The operation.
        op: String,
    },
    /// `ESRCH`: the service does not exist.
    #[error("{op}: no such service")]
    ServiceNotFound {
        /// The operation.
        op: String,
    },
    /// `ENOENT` on a destination operation: the destination does not exist.
    #[error("{op}: no such destination")]
    DestinationNotFound {
        /// The operation.
        op: String,
    },
    /// `ENOENT` on a service add or edit: the scheduler (or persistence engine) module does not
    /// exist in this kernel.
    #[error("{op}: unknown scheduler {scheduler:?} or persistence engine")]
    UnknownScheduler {
        /// The operation.
        op: String,
        /// The scheduler that was asked for.
        scheduler: String,
    },
    /// `EINVAL`: the kernel rejected an argument (bad netmask, weight, missing attribute...).
    #[error("{op}: invalid argument")]
    InvalidArgument {
        /// The operation.
        op: String,
    },
    /// `EPERM`: needs `CAP_NET_ADMIN`.
    #[error("{op}: permission denied (needs CAP_NET_ADMIN)")]
    PermissionDenied {
        /// The operation.
        op: String,
    },
    /// `EBUSY` / `EEXIST` on a sync daemon: it is already running.
    #[error("{op}: busy")]
    Busy {
        /// The operation.
        op: String,
    },
    /// Any other kernel errno.
    #[error("{op}: {}", io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// The operation.
        op: String,
        /// Positive errno value.
        errno: i32,
    },
    /// The kernel's answer to this operation was lost: the socket's receive queue overran.
    #[error("{op}: reply lost (netlink receive queue overran), state unknown")]
    ReplyLost {
        /// The operation.
        op: String,
    },
    /// A request this crate refuses to send (for example a name longer than the kernel allows).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A reply could not be decoded.
    #[error("malformed reply: {0}")]
    Decode(String),
    /// Socket error.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
}

/// What kind of operation failed, so that an errno can be given its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    ServiceWrite,
    Service,
    Destination,
    Daemon,
    Other,
}

impl Error {
    /// The kernel errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::AlreadyExists { .. } => Some(libc::EEXIST),
            Error::ServiceNotFound { .. } => Some(libc::ESRCH),
            Error::DestinationNotFound { .. } | Error::UnknownScheduler { .. } => {
                Some(libc::ENOENT)
            }
            Error::InvalidArgument { .. } => Some(libc::EINVAL),
            Error::PermissionDenied { .. } => Some(libc::EPERM),
            Error::Busy { .. } => Some(libc::EBUSY),
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// Maps a positive errno from the kernel to an error for an operation.
    pub(crate) fn from_errno(
        errno: i32,
        kind: OpKind,
        op: String,
        scheduler: Option<&str>,
    ) -> Error {
        match (errno, kind) {
            (libc::EEXIST, OpKind::Daemon) | (libc::EBUSY, _) => Error::Busy { op },
            (libc::EEXIST, _) => Error::AlreadyExists { op },
            (libc::ESRCH, _) => Error::ServiceNotFound { op },
            (libc::ENOENT, OpKind::ServiceWrite) => Error::UnknownScheduler {
                op,
                scheduler: scheduler.unwrap_or_default().to_string(),
            },
            (libc::ENOENT, OpKind::Destination) => Error::DestinationNotFound { op },
            (libc::ENOENT, OpKind::Service) => Error::ServiceNotFound { op },
            (libc::EINVAL, _) => Error::InvalidArgument { op },
            (libc::EPERM, _) => Error::PermissionDenied { op },
            (errno, _) => Error::Kernel { op, errno },
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
