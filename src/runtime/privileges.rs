//! Fewer privileges than root: a daemon that parses packets from the network keeps only the
//! capabilities its work needs, and `no_new_privs` so nothing it starts can gain more.
//!
//! Capabilities are per thread in Linux and new threads inherit them, so a program calls
//! [`drop_unneeded`] first thing, before it starts a runtime or a [`Daemon`](crate::Daemon):
//! every thread after it has the smaller set. Scripts run as root get at most the same set
//! (the bounding set is inherited), so a notify script can still add addresses and routes.
#![allow(unsafe_code)]

use std::io;

/// The capabilities kept: what the engine and its scripts' users need.
///
/// | capability | why |
/// | --- | --- |
/// | `CAP_NET_ADMIN` | VIPs, routes, rules, VMACs, socket options |
/// | `CAP_NET_RAW` | the advert and GARP/NA sockets (reopened when an interface returns) |
/// | `CAP_BPF` | the Backup's eBPF wake-up filter on a reopened socket |
/// | `CAP_NET_BIND_SERVICE` | a metrics port below 1024, if configured |
/// | `CAP_SETUID`, `CAP_SETGID` | scripts as `script_user` |
/// | `CAP_KILL` | ending a timed-out script group of another user |
/// | `CAP_DAC_READ_SEARCH` | `track_file`s and scripts of other users, as root reads them |
pub const KEPT: &[u32] = &[
    CAP_KILL,
    CAP_SETGID,
    CAP_SETUID,
    CAP_NET_BIND_SERVICE,
    CAP_NET_ADMIN,
    CAP_NET_RAW,
    CAP_BPF,
    CAP_DAC_READ_SEARCH,
];

const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_KILL: u32 = 5;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const CAP_BPF: u32 = 39;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drops every capability but [`KEPT`] from the calling thread's bounding, permitted,
/// effective and inheritable sets, and sets `no_new_privs`. Call it before starting any
/// thread (see the module docs). Returns the capabilities dropped from the effective set.
pub fn drop_unneeded() -> io::Result<Vec<u32>> {
    let keep_mask: u64 = KEPT.iter().fold(0, |m, &c| m | (1u64 << c));
    for cap in 0..64u32 {
        if keep_mask & (1u64 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            // EINVAL: beyond the kernel's last capability; the loop is done.
            if e.raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(e);
        }
    }
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget fills two CapData for version 3; both pointers are valid.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = u64::from(data[0].effective) | (u64::from(data[1].effective) << 32);
    for (k, d) in data.iter_mut().enumerate() {
        let mask = (keep_mask >> (32 * k)) as u32;
        d.effective &= mask;
        d.permitted &= mask;
        d.inheritable &= mask;
    }
    // SAFETY: capset reads the header and two CapData; both pointers are valid.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((0..64)
        .filter(|&c| before & (1u64 << c) != 0 && keep_mask & (1u64 << c) == 0)
        .collect())
}
