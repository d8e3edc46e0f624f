//! Per-namespace sysctls under `/proc/sys/net`: the file belongs to the network namespace of
//! the thread that opens it, so a thread that entered a namespace sees that namespace's.

use crate::error::{Error, Result};

/// Writes one sysctl, e.g. `write("ipv4/conf/eth0/arp_ignore", "1")`.
pub(crate) fn write(path: &str, value: &str) -> Result<()> {
    std::fs::write(format!("/proc/sys/net/{path}"), value).map_err(|e| Error::io("write sysctl", e))
}

/// Reads one sysctl, trimmed.
pub(crate) fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(format!("/proc/sys/net/{path}"))
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("read sysctl", e))
}
