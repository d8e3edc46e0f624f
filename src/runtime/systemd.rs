//! systemd's service protocol without libsystemd: `READY=1`, `STOPPING=1` and `WATCHDOG=1`
//! datagrams to `$NOTIFY_SOCKET` (`sd_notify(3)`), and the watchdog interval from
//! `$WATCHDOG_USEC` / `$WATCHDOG_PID`.
//!
//! ```no_run
//! use hakit::runtime::systemd::SystemdNotifier;
//! if let Some(systemd) = SystemdNotifier::from_env() {
//!     systemd.ready().ok();
//! }
//! ```

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The service manager's notification socket, as `$NOTIFY_SOCKET` names it.
#[derive(Debug)]
pub struct SystemdNotifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl SystemdNotifier {
    /// The notifier of `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket), or
    /// `None` when the daemon was not started by a service manager that wants notifications.
    pub fn from_env() -> Option<SystemdNotifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        match SystemdNotifier::new(path.to_str()?) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET {path:?}: {e}");
                None
            }
        }
    }

    /// A notifier writing to `socket` (a path, or `@name` for an abstract socket).
    pub fn new(socket: &str) -> io::Result<SystemdNotifier> {
        let addr = match socket.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
            None if socket.starts_with('/') => SocketAddr::from_pathname(socket)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "neither an absolute path nor @abstract",
                ))
            }
        };
        Ok(SystemdNotifier {
            socket: UnixDatagram::unbound()?,
            addr,
        })
    }

    /// Sends one notification (`KEY=VALUE` lines).
    pub fn notify(&self, state: &str) -> io::Result<()> {
        self.socket.send_to_addr(state.as_bytes(), &self.addr)?;
        Ok(())
    }

    /// `READY=1`: every instance has started.
    pub fn ready(&self) -> io::Result<()> {
        self.notify(&format!("READY=1\nMAINPID={}", std::process::id()))
    }

    /// `STOPPING=1`: the shutdown has begun.
    pub fn stopping(&self) -> io::Result<()> {
        self.notify("STOPPING=1")
    }

    /// `WATCHDOG=1`: the daemon is alive.
    pub fn watchdog(&self) -> io::Result<()> {
        self.notify("WATCHDOG=1")
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` (as `sd_watchdog_enabled(3)`
/// advises), if it is set and `$WATCHDOG_PID` is unset or this process.
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

fn watchdog_interval_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != me {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_is_half_the_interval_for_this_process_only() {
        assert_eq!(
            watchdog_interval_from(Some("2000000"), None, 7),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            watchdog_interval_from(Some("2000000"), Some("7"), 7),
            Some(Duration::from_secs(1))
        );
        assert_eq!(watchdog_interval_from(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_from(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval_from(None, None, 7), None);
    }

    #[test]
    fn a_datagram_reaches_the_socket() {
        let dir = std::env::temp_dir().join(format!("hakit-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let rx = UnixDatagram::bind(&dir).unwrap();
        let n = SystemdNotifier::new(dir.to_str().unwrap()).unwrap();
        n.stopping().unwrap();
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"STOPPING=1");
        let _ = std::fs::remove_file(&dir);
        assert!(SystemdNotifier::new("relative").is_err());
    }
}
