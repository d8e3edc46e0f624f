//! A minimal level-triggered `epoll` set: what the VRRP loop waits in.
//!
//! The loop's descriptors (advert sockets, the event queue) are few and
//! fixed, so a plain `epoll_wait` costs less per wake-up than a general reactor: no task
//! scheduling, no waker, no readiness bookkeeping (measured on a Master at 10 ms adverts).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// An `epoll` instance; each descriptor is registered for input with a `u64` token.
pub struct Epoll {
    fd: OwnedFd,
    ready: Vec<libc::epoll_event>,
    /// The kernel has `epoll_pwait2`.
    pwait2: bool,
}

impl Epoll {
    /// A new, empty set.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 has no memory preconditions; we check the result.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Epoll {
            fd,
            ready: vec![libc::epoll_event { events: 0, u64: 0 }; 16],
            pwait2: true,
        })
    }

    /// Watches `fd` for input (level-triggered), reported with `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both descriptors are open; `ev` is a valid epoll_event the kernel copies.
        let rc = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits until a descriptor is ready (at most `timeout`; `None`: no limit, zero: just
    /// look) and returns the tokens of the ready ones. A signal interrupting the wait
    /// returns no token.
    ///
    /// `epoll_pwait2` (Linux 5.11) takes the timeout in nanoseconds, so the wait itself is
    /// the loop's timer; on older kernels `epoll_wait` rounds it up to milliseconds (the
    /// precise finish of a Master_Down_Timer polls anyway).
    pub fn wait(
        &mut self,
        timeout: Option<Duration>,
    ) -> io::Result<impl Iterator<Item = u64> + '_> {
        let n = if self.pwait2 {
            let ts = timeout.map(|t| libc::timespec {
                tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: t.subsec_nanos() as libc::c_long,
            });
            let ts_ptr = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `ready` is a valid, writable array of `ready.len()` epoll_events;
            // `ts_ptr` is null or points to a timespec alive for the call; no signal mask.
            let n = unsafe {
                libc::epoll_pwait2(
                    self.fd.as_raw_fd(),
                    self.ready.as_mut_ptr(),
                    self.ready.len() as i32,
                    ts_ptr,
                    std::ptr::null(),
                )
            };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
                self.pwait2 = false;
                return self.wait(timeout);
            }
            n
        } else {
            let ms = match timeout {
                None => -1,
                // Rounded up: a wait never ends before its timeout.
                Some(t) => t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
            };
            // SAFETY: `ready` is a valid, writable array of `ready.len()` epoll_events.
            unsafe {
                libc::epoll_wait(
                    self.fd.as_raw_fd(),
                    self.ready.as_mut_ptr(),
                    self.ready.len() as i32,
                    ms,
                )
            }
        };
        let n = if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
            0
        } else {
            n as usize
        };
        Ok(self.ready[..n].iter().map(|e| e.u64))
    }
}
