//! A one-shot timer on a `timerfd`, driven by tokio's reactor.
//!
//! tokio's own timer wheel has 1 ms granularity and fires up to 1 ms late, which alone would
//! use the whole failover budget (goal: within 0.5 ms of Master_Down_Interval). A timerfd is
//! a kernel hrtimer: it wakes the epoll loop within microseconds of the deadline, with no
//! spinning, so an idle Backup costs nothing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// A re-armable one-shot monotonic timer.
pub struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
    armed: Option<Instant>,
}

impl PreciseTimer {
    /// Creates the timer (needs a tokio runtime with I/O enabled).
    pub fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create has no memory preconditions; we check the result.
        let raw = unsafe {
            libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own exclusively.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // Our own sleeps (none on the hot path) should not be coalesced either.
        // SAFETY: prctl(PR_SET_TIMERSLACK) takes plain integers.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and the same
        // until the AsyncFd is dropped; nothing else closes it.
        let fd = unsafe { AsyncFd::register(owned)? };
        Ok(PreciseTimer { fd, armed: None })
    }

    /// Arms the timer for `deadline` (or disarms it with `None`).
    pub fn set(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        if self.armed == deadline {
            return Ok(());
        }
        let value = match deadline {
            None => Duration::ZERO,
            // A zero it_value disarms, so an overdue deadline becomes 1 ns.
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1)),
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: value.as_secs() as libc::time_t,
                tv_nsec: value.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: valid fd, valid pointer to an initialised itimerspec, null old-value pointer.
        let rc = unsafe {
            libc::timerfd_settime(self.fd.get_ref().as_raw_fd(), 0, &spec, std::ptr::null_mut())
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed = deadline;
        Ok(())
    }

    /// Waits until the armed deadline passes (forever when disarmed). Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            // SAFETY: reading 8 bytes into an 8-byte stack buffer from our own fd.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n == 8 {
                self.armed = None;
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(e);
        }
    }
}
