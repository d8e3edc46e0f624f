//! keepalived's `notify_fifo`: every announced transition as one line written to a FIFO, in
//! the order they happened, for a reader that would rather not be forked per transition:
//!
//! ```text
//! INSTANCE "VI_51" MASTER 200
//! GROUP "G" MASTER 0
//! ```
//!
//! The format is keepalived 2.2.7's, as read from its FIFO here (the name in double quotes,
//! priority 0 for a group, STOP at shutdown). A missing FIFO is created (mode 0600) and
//! removed again at exit; an existing one is used as it is. The FIFO is opened read-write and
//! non-blocking, as keepalived opens it, so the daemon never waits for a reader: with nobody
//! reading, lines pile up in the pipe, and once it is full a line is dropped and logged.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tracing::warn;

/// An open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    file: File,
    path: PathBuf,
    /// This run created it: removed on drop.
    created: bool,
}

impl NotifyFifo {
    /// Opens `path`, creating the FIFO if it does not exist; anything else there is an error.
    pub fn open(path: &Path) -> io::Result<NotifyFifo> {
        let created = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_fifo() => false,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a FIFO", path.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let c = CString::new(path.as_os_str().as_bytes())
                    .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
                if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                true
            }
            Err(e) => return Err(e),
        };
        // No symbolic link (swapped in after the check above), and ours alone: another user
        // able to write it could forge transitions to whoever reads it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a FIFO", path.display()),
            ));
        }
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to uid {} with mode {:o}: it must be ours and writable by us alone",
                    path.display(),
                    meta.uid(),
                    meta.mode() & 0o777
                ),
            ));
        }
        Ok(NotifyFifo {
            file,
            path: path.to_path_buf(),
            created,
        })
    }

    /// Writes one line: `SUBJECT "name" STATE priority`.
    pub fn write(&mut self, subject: &str, name: &str, state: &str, priority: u8) {
        let line = format!("{subject} \"{name}\" {state} {priority}\n");
        // One write of at most PIPE_BUF octets is atomic: readers never see half a line.
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            warn!(fifo = %self.path.display(), line = line.trim_end(), "notify FIFO: line dropped: {e}");
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_are_keepalived_s_and_a_fifo_it_created_goes_at_drop() {
        let dir = std::env::temp_dir().join(format!("mf-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.fifo");
        let mut fifo = NotifyFifo::open(&path).unwrap();
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        fifo.write("INSTANCE", "VI_51", "MASTER", 200);
        fifo.write("GROUP", "G", "MASTER", 0);
        let mut got = String::new();
        reader.read_to_string(&mut got).ok();
        assert_eq!(got, "INSTANCE \"VI_51\" MASTER 200\nGROUP \"G\" MASTER 0\n");
        drop(fifo);
        assert!(!path.exists(), "the FIFO this run created is removed");
        // A regular file in the way is refused, and left alone.
        std::fs::write(&path, "x").unwrap();
        assert!(NotifyFifo::open(&path).is_err());
        assert!(path.exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
