//! keepalived's inotify on a `track_file`: the file's directory is watched, so writing the
//! file, renaming another over it or deleting it is seen at once, whether or not the file
//! exists yet.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use async_trait::async_trait;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::change_watch::ChangeWatch;

/// What changes a tracked file's value: written and closed, renamed over (the atomic
/// `mv tmp file`), renamed away, deleted; or the directory itself moved or deleted. Not
/// `IN_CREATE`: the new file is still empty then, its `IN_CLOSE_WRITE` follows.
const EVENTS: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

/// The fixed part of `struct inotify_event`: wd, mask, cookie, len (four 32-bit fields).
const EVENT_HEADER: usize = 16;

/// An inotify watch on the directory of one file.
#[derive(Debug)]
pub(crate) struct FileWatch {
    fd: AsyncFd<OwnedFd>,
    name: OsString,
    /// The directory's watch is gone (`IN_IGNORED`): no hint will come again.
    dead: bool,
    buf: Vec<u8>,
}

impl FileWatch {
    /// Watches `path`'s directory for changes to `path`. Needs a tokio runtime with I/O.
    pub(crate) fn new(path: &Path) -> std::io::Result<FileWatch> {
        // AsyncFd would panic without a reactor: refuse instead.
        tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("the path names no file"))?
            .to_os_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let dir = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::other("the path holds a NUL byte"))?;
        // SAFETY: inotify_init1 takes flags only; a non-negative result is a new descriptor
        // that nothing else owns.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else (see above).
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is a live inotify descriptor and `dir` a NUL-terminated path that
        // outlives the call.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), dir.as_ptr(), EVENTS) };
        if wd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the AsyncFd owns the descriptor and deregisters it before closing it; it
        // is never closed or replaced while registered.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(FileWatch {
            fd,
            name,
            dead: false,
            buf: vec![0; 4096],
        })
    }
}

/// Reads the events waiting on `fd` into `buf`: whether one concerns the file `name`, and
/// whether the watch is gone. `Err(WouldBlock)`: none waiting.
fn read_events(fd: RawFd, buf: &mut [u8], name: &OsString) -> std::io::Result<(bool, bool)> {
    // SAFETY: `buf` is a writable buffer of `buf.len()` bytes; `fd` is the caller's live
    // inotify descriptor.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(scan_events(&buf[..n as usize], name))
}

/// Whether `events` (as read from inotify) concern the file `name` or the directory itself,
/// and whether the watch is gone (`IN_IGNORED`). A truncated record ends the scan.
fn scan_events(mut events: &[u8], name: &OsString) -> (bool, bool) {
    let (mut hit, mut dead) = (false, false);
    let field = |b: &[u8], at: usize| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    while events.len() >= EVENT_HEADER {
        let mask = field(events, 4);
        let len = field(events, 12) as usize;
        let Some(raw_name) = EVENT_HEADER
            .checked_add(len)
            .and_then(|end| events.get(EVENT_HEADER..end))
        else {
            break;
        };
        // The name is NUL-padded to an alignment boundary.
        let end = raw_name.iter().position(|&b| b == 0).unwrap_or(len);
        if mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0
            || raw_name[..end] == *name.as_bytes()
        {
            hit = true;
        }
        if mask & libc::IN_IGNORED != 0 {
            dead = true;
        }
        events = &events[EVENT_HEADER + raw_name.len()..];
    }
    (hit, dead)
}

#[async_trait]
impl ChangeWatch for FileWatch {
    async fn changed(&mut self) {
        loop {
            if self.dead {
                return std::future::pending().await;
            }
            let mut guard = match self.fd.readable().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::debug!("inotify watch failed, interval only: {e}");
                    self.dead = true;
                    continue;
                }
            };
            let fd = self.fd.get_ref().as_raw_fd();
            match read_events(fd, &mut self.buf, &self.name) {
                Ok((hit, dead)) => {
                    self.dead |= dead;
                    if hit {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => {
                    tracing::debug!("reading inotify events failed, interval only: {e}");
                    self.dead = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(mask: u32, name: &str, pad_to: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&1i32.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&(pad_to as u32).to_ne_bytes());
        let mut n = name.as_bytes().to_vec();
        n.resize(pad_to, 0);
        v.extend_from_slice(&n);
        v
    }

    #[test]
    fn events_for_other_files_are_no_hint() {
        let me = OsString::from("weight");
        let mut evs = event(libc::IN_CLOSE_WRITE, "other", 16);
        assert_eq!(scan_events(&evs, &me), (false, false));
        evs.extend(event(libc::IN_MOVED_TO, "weight", 16));
        assert_eq!(scan_events(&evs, &me), (true, false));
        // A prefix of the name is another file.
        assert_eq!(
            scan_events(&event(libc::IN_DELETE, "weigh", 16), &me),
            (false, false)
        );
        assert_eq!(
            scan_events(&event(libc::IN_DELETE_SELF, "", 0), &me),
            (true, false)
        );
        assert_eq!(
            scan_events(&event(libc::IN_IGNORED, "", 0), &me),
            (false, true)
        );
    }

    #[test]
    fn truncated_records_end_the_scan_without_panicking() {
        let me = OsString::from("weight");
        let evs = event(libc::IN_CLOSE_WRITE, "weight", 16);
        for cut in 0..evs.len() {
            assert_eq!(scan_events(&evs[..cut], &me), (false, false), "cut {cut}");
        }
        // A length field far past the buffer.
        let mut bad = event(libc::IN_CLOSE_WRITE, "weight", 16);
        bad[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(scan_events(&bad, &me), (false, false));
    }
}
