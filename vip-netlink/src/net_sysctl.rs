//! Per-namespace sysctls under `/proc/sys/net`: the file belongs to the network namespace of
//! the thread that opens it, so a thread that entered a namespace sees that namespace's.

use std::os::fd::AsRawFd;
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

/// A network namespace, as the key of per-namespace bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetnsId {
    /// `SO_NETNS_COOKIE` (Linux 5.14+): never given to another namespace while the system
    /// runs, so a record of a deleted namespace cannot be mistaken for a new one's.
    Cookie(u64),
    /// Device and inode of `ns/net`, on older kernels: the inode of a deleted namespace can
    /// be given to a new one.
    Inode(u64, u64),
}

/// `SO_NETNS_COOKIE` (asm-generic/socket.h; sparc numbers its own).
#[cfg(not(target_arch = "sparc64"))]
const SO_NETNS_COOKIE: libc::c_int = 71;
#[cfg(target_arch = "sparc64")]
const SO_NETNS_COOKIE: libc::c_int = 0x0050;

/// The calling thread's network namespace: its cookie, read from a throw-away socket (a
/// socket belongs to the namespace of the thread that creates it), or where the kernel has
/// no cookies the device and inode of its `ns/net` file.
pub(crate) fn current_netns() -> Result<NetnsId> {
    if let Some(cookie) = netns_cookie() {
        return Ok(NetnsId::Cookie(cookie));
    }
    let m = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| Error::io("network namespace of this thread", e))?;
    Ok(NetnsId::Inode(m.dev(), m.ino()))
}

fn netns_cookie() -> Option<u64> {
    let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM, None).ok()?;
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: `sock` is an open socket for the whole call; `cookie` and `len` are live
    // locals, and `len` gives the kernel the exact size of `cookie`.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    (rc == 0 && len as usize == std::mem::size_of::<u64>()).then_some(cookie)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_sees_one_namespace_id_and_it_is_the_cookie_here() {
        let a = current_netns().unwrap();
        assert_eq!(a, current_netns().unwrap());
        // Linux 5.14+ (this machine and CI) have cookies; older kernels fall back to inodes.
        assert!(matches!(a, NetnsId::Cookie(c) if c != 0), "{a:?}");
    }
}
