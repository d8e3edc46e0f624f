//! A one-shot timer on a `timerfd`, driven by tokio's reactor, with an optional precise
//! finish.
//!
//! tokio's own timer wheel has 1 ms granularity and fires up to 1 ms late, which alone would
//! use the whole failover budget (goal: within 0.5 ms of Master_Down_Interval). A timerfd is a
//! kernel hrtimer, but waking an idle (virtual) CPU after a long sleep still costs several
//! hundred microseconds here (measured: ~0.07 ms after a 100 ms sleep, ~0.66 ms after a
//! 360 ms one). So for the deadlines that decide a failover (the Master_Down_Timer) the timer
//! is armed [`PRECISE_MARGIN`] early and the last stretch is covered by yielding to the
//! runtime in a loop: the deadline is hit within microseconds, adverts arriving meanwhile are
//! still handled (the other `select!` branches keep being polled), and the cost, at most
//! one margin of busy CPU, is paid only when a Master has actually gone silent. Other
//! deadlines (a Master's own advert timer) just use the timerfd, so an idle daemon never spins.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// What [`PreciseTimer::wait`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The kernel timer of a precise deadline fired, [`PRECISE_MARGIN`] early. The caller
    /// reads whatever it slept through (a Backup's queued adverts) and re-arms; if the
    /// deadline stands, the next `wait` finishes it precisely.
    Early,
    /// The deadline has passed.
    Due,
}

/// How early a precise deadline arms the kernel timer.
pub const PRECISE_MARGIN: Duration = Duration::from_micros(1500);

/// A re-armable one-shot monotonic timer.
pub struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
    deadline: Option<Instant>,
    precise: bool,
    fd_expired: bool,
}

impl PreciseTimer {
    /// Creates the timer (needs a tokio runtime with I/O enabled).
    pub fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create has no memory preconditions; we check the result.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own exclusively.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // Our own sleeps should not be coalesced either.
        // SAFETY: prctl(PR_SET_TIMERSLACK) takes plain integers.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        // SAFETY: the AsyncFd owns the OwnedFd, so the descriptor stays open and the same
        // until the AsyncFd is dropped; nothing else closes it.
        let fd = unsafe { AsyncFd::register(owned)? };
        Ok(PreciseTimer {
            fd,
            deadline: None,
            precise: false,
            fd_expired: false,
        })
    }

    /// Arms the timer for `deadline` (disarms it with `None`); `precise` finishes the wait
    /// by yielding in a loop from [`PRECISE_MARGIN`] before the deadline.
    pub fn set(&mut self, deadline: Option<Instant>, precise: bool) -> io::Result<()> {
        if self.deadline == deadline && self.precise == precise {
            return Ok(());
        }
        self.deadline = deadline;
        self.precise = precise;
        self.fd_expired = false;
        let value = match deadline {
            None => Duration::ZERO,
            Some(d) => {
                let fire = if precise {
                    d.checked_sub(PRECISE_MARGIN).unwrap_or(d)
                } else {
                    d
                };
                // A zero it_value disarms, so an overdue deadline becomes 1 ns.
                fire.saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1))
            }
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
            libc::timerfd_settime(
                self.fd.get_ref().as_raw_fd(),
                0,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits until the armed deadline passes (forever when disarmed), or, for a precise
    /// deadline, until its kernel timer fires early ([`Fired::Early`]). Cancel-safe: dropped
    /// mid-way, the next call resumes where this one was.
    pub async fn wait(&mut self) -> io::Result<Fired> {
        let Some(deadline) = self.deadline else {
            return std::future::pending().await;
        };
        // No read() of the expiry count: every expiry is followed by a re-arm in `set`,
        // which resets the count, so a wake-up whose arming time has passed is the expiry.
        // A readiness left over from an earlier arming is cleared and waited past.
        let fire = if self.precise {
            deadline.checked_sub(PRECISE_MARGIN).unwrap_or(deadline)
        } else {
            deadline
        };
        if !self.fd_expired {
            while !self.fd_expired {
                let mut guard = self.fd.readable().await?;
                guard.clear_ready();
                if Instant::now() >= fire {
                    self.fd_expired = true;
                }
            }
            if self.precise && Instant::now() < deadline {
                return Ok(Fired::Early);
            }
        }
        if self.precise {
            while Instant::now() < deadline {
                tokio::task::yield_now().await;
            }
        }
        self.deadline = None;
        Ok(Fired::Due)
    }
}
