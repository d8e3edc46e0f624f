//! One daemon per instance: a second copy started with the same instances must not touch the
//! network (its start-up clean-up would delete the running Master's VIPs).
//!
//! keepalived refuses a second start by its pid file and a look in /proc, which also refuses
//! a restart while a killed daemon's PID lingers. Here each instance (network namespace,
//! interface, family, VRID) has a lock file held with `flock` for the daemon's life: the
//! kernel drops the lock when the holder dies, however it dies, so a restart is never
//! blocked, and a second copy is refused before it changes anything, told which PID runs it.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::runtime::spec::InstanceSpec;

/// Where the lock files go unless the configuration says otherwise.
pub const DEFAULT_LOCK_DIR: &str = "/run/hakit";

/// Why an instance lock could not be taken.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("instance {instance} ({what}) is already run by PID {pid} (lock {path})")]
    Held {
        /// The instance's name.
        instance: String,
        /// Its interface, family and VRID.
        what: String,
        /// The holder, as it wrote itself in the file.
        pid: String,
        /// The lock file.
        path: String,
    },
    /// The lock file could not be opened or locked.
    #[error("lock {path}: {message}")]
    Io {
        /// The lock file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// The locks of the running instances, released (and their files removed) when dropped.
#[derive(Debug)]
pub(crate) struct InstanceLock {
    file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock of `inst` in `dir` (created if missing) or says who holds it.
    pub fn take(dir: &Path, inst: &InstanceSpec) -> Result<InstanceLock, LockError> {
        let io = |path: &Path, e: std::io::Error| LockError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(lock_name(inst));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(LockError::Held {
                    instance: inst.name.clone(),
                    what: format!(
                        "{}, {:?}, VRID {}",
                        inst.iface, inst.fsm.family, inst.fsm.vrid
                    ),
                    pid: pid.trim().to_string(),
                    path: path.display().to_string(),
                });
            }
            return Err(io(&path, e));
        }
        let mine = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(mine.as_bytes()))
            .map_err(|e| io(&path, e))?;
        Ok(InstanceLock { file, path })
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        // Removed while still held, so no other holder's file is ever removed.
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

/// The lock file of an instance: its network namespace (the same interface name and VRID in
/// another namespace is another router; the calling thread's, which a program may have moved),
/// interface, family and VRID.
fn lock_name(inst: &InstanceSpec) -> String {
    let netns = std::fs::read_link("/proc/thread-self/ns/net")
        .ok()
        .and_then(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("net:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "0".into());
    let family = match inst.fsm.family {
        vrrp_proto::AddressFamily::Ipv4 => "ipv4",
        vrrp_proto::AddressFamily::Ipv6 => "ipv6",
    };
    format!(
        "vrrp-{netns}-{}-{family}-{}.lock",
        inst.iface, inst.fsm.vrid
    )
}
