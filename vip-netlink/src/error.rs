//! Typed errors of the drivers.
use std::io;

/// Everything a driver of this crate can fail with.
///
/// Each variant names the operation that failed so logs read without a backtrace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named interface does not exist (in this network namespace).
    #[error("no such interface: {0}")]
    NoSuchInterface(String),
    /// The interface exists but has no usable address of the needed family
    /// (keepalived's `NO_SOURCE_IP` fault).
    #[error("interface {interface} has no usable {family} source address")]
    NoSourceAddress {
        /// Interface name.
        interface: String,
        /// "IPv4", "IPv6 link-local", ...
        family: &'static str,
    },
    /// The caller lacks `CAP_NET_ADMIN` / `CAP_NET_RAW`.
    #[error("permission denied: {op} (needs CAP_NET_ADMIN/CAP_NET_RAW)")]
    PermissionDenied {
        /// What was being attempted.
        op: &'static str,
    },
    /// The configuration is inconsistent (mixed address families, bad prefix, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A socket or file operation failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being attempted.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel answered a netlink request with an error.
    #[error("{op}: netlink error {errno}: {message}")]
    Netlink {
        /// What was being attempted.
        op: &'static str,
        /// Positive errno from the kernel's `NLMSG_ERROR`.
        errno: i32,
        /// Human-readable rendering of the errno.
        message: String,
    },
    /// The netlink connection closed or returned something unexpected.
    #[error("{op}: netlink protocol: {message}")]
    NetlinkProtocol {
        /// What was being attempted.
        op: &'static str,
        /// Details.
        message: String,
    },
    /// An advert could not be encoded (buffer, address family, interval out of range...).
    #[error("encode advert: {0}")]
    Encode(String),
    /// The driver's socket or stream has been closed.
    #[error("closed")]
    Closed,
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wrap an I/O error, mapping `EPERM`/`EACCES` to [`Error::PermissionDenied`] and
    /// `ENODEV`/`ENXIO` to [`Error::NoSuchInterface`] when the interface is known.
    pub(crate) fn io(op: &'static str, source: io::Error) -> Self {
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => Error::PermissionDenied { op },
            _ => Error::Io { op, source },
        }
    }

    /// Map a positive errno returned by netlink.
    pub(crate) fn netlink(op: &'static str, errno: i32, interface: Option<&str>) -> Self {
        match errno {
            libc::EPERM | libc::EACCES => Error::PermissionDenied { op },
            libc::ENODEV | libc::ENXIO if interface.is_some() => {
                Error::NoSuchInterface(interface.unwrap_or_default().to_string())
            }
            _ => Error::Netlink {
                op,
                errno,
                message: io::Error::from_raw_os_error(errno).to_string(),
            },
        }
    }

    /// Map an `rtnetlink` crate error.
    pub(crate) fn rtnetlink(
        op: &'static str,
        e: rtnetlink::Error,
        interface: Option<&str>,
    ) -> Self {
        match e {
            rtnetlink::Error::NetlinkError(msg) => {
                Error::netlink(op, errno_of(msg.raw_code()), interface)
            }
            other => Error::NetlinkProtocol {
                op,
                message: other.to_string(),
            },
        }
    }
}

/// The positive errno of a netlink error code (the kernel sends it negated). `i32::MIN`, which
/// no kernel sends but a forged or corrupt reply can hold, has no positive twin: it saturates to
/// `i32::MAX` (an unknown errno, so an error) instead of overflowing.
pub(crate) fn errno_of(code: i32) -> i32 {
    code.saturating_abs()
}
