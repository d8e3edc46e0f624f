//! Notify outputs for the tests: a script that appends its arguments as one line to a log
//! file, the reader of that log, and the reading end of a notify FIFO.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The lines of `path` so far (none while it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes an executable script at `path` that appends its arguments as one line to `log`;
/// returns its path as a string.
pub fn logging_script(path: &Path, log: &Path) -> String {
    std::fs::write(
        path,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// The reading end of a notify FIFO, created by the test before the daemon starts (so the
/// daemon uses it as it is). Opened read-write and non-blocking: never blocks, never EOF.
pub struct FifoReader {
    file: std::fs::File,
    text: String,
}

impl FifoReader {
    pub fn new(path: &Path) -> FifoReader {
        use std::os::unix::fs::OpenOptionsExt;
        let c = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        FifoReader {
            file,
            text: String::new(),
        }
    }

    /// Every line written so far.
    pub fn lines(&mut self) -> Vec<String> {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.file.read(&mut buf) {
            if n == 0 {
                break;
            }
            self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        self.text.lines().map(str::to_string).collect()
    }
}
