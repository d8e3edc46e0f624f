//! Per-namespace sysctls under `/proc/sys/net`: the file belongs to the network namespace of
//! the thread that opens it, so a thread that entered a namespace sees that namespace's.

use std::os::unix::fs::MetadataExt;

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

/// The calling thread's network namespace (device and inode of its `ns/net` file): the key
/// of per-namespace bookkeeping.
pub(crate) fn current_netns() -> Result<(u64, u64)> {
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("network namespace of this thread", e))?;
    Ok((m.dev(), m.ino()))
}

/// The interfaces with an IPv4 configuration in this namespace, plus `default` (not
/// `all`), as named under `ipv4/conf`.
pub(crate) fn ipv4_conf_names() -> Result<Vec<String>> {
    let dir =
        std::fs::read_dir("/proc/sys/net/ipv4/conf").map_err(|e| Error::io("list ipv4/conf", e))?;
    Ok(dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "all")
        .collect())
}
