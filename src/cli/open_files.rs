//! The open-file limit a daemon with many instances needs: each instance holds six
//! descriptors (two advert sockets, their eBPF wake program and its map, a GARP/NA socket,
//! its lock file), so a thousand instances do not fit under the usual soft limit of 1,024. keepalived raises its own
//! limit the same way at start-up.
//!
//! `getrlimit`/`setrlimit` are two libc calls on a struct this module owns.
#![allow(unsafe_code)]

use tracing::{info, warn};

/// Descriptors each instance holds (six), with room for a VMAC's or a reload's extra ones.
const PER_INSTANCE: u64 = 8;
/// Descriptors of the daemon itself (runtime, netlink, epoll, metrics, log, notify FIFO).
const BASE: u64 = 64;

/// The soft limit to set for `instances` when the current one (`soft`, at most `hard`) is
/// too low: what they need, capped at the hard limit; `None` when nothing is to change.
pub(crate) fn wanted_soft_limit(soft: u64, hard: u64, instances: usize) -> Option<u64> {
    let need = BASE + PER_INSTANCE * instances as u64;
    (soft < need && soft < hard).then(|| need.min(hard))
}

/// Raises `RLIMIT_NOFILE`'s soft limit so `instances` fit, logging what it did; a hard limit
/// too low for them is logged as a warning (the instances past it fail to open, by name).
pub(crate) fn raise_for(instances: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the `rlimit` we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        warn!(
            "getrlimit(RLIMIT_NOFILE): {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    let (soft, hard) = (lim.rlim_cur, lim.rlim_max);
    let need = BASE + PER_INSTANCE * instances as u64;
    if hard < need {
        warn!(
            instances,
            need, hard, "the hard open-file limit is too low for every instance"
        );
    }
    let Some(to) = wanted_soft_limit(soft, hard, instances) else {
        return;
    };
    lim.rlim_cur = to;
    // SAFETY: setrlimit reads the `rlimit` we own; raising the soft limit up to the hard one
    // needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        warn!(
            "setrlimit(RLIMIT_NOFILE, {to}): {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    info!(instances, from = soft, to, "open-file limit raised");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_to_the_need_and_never_past_the_hard_limit() {
        assert_eq!(wanted_soft_limit(1024, 524_288, 10), None);
        assert_eq!(wanted_soft_limit(1024, 524_288, 1000), Some(8064));
        assert_eq!(wanted_soft_limit(1024, 2048, 1000), Some(2048));
        assert_eq!(wanted_soft_limit(2048, 2048, 1000), None);
        assert_eq!(wanted_soft_limit(8192, 524_288, 1000), None);
        assert_eq!(wanted_soft_limit(1024, 524_288, 100), None);
    }
}
