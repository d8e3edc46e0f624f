//! A notify script for the tests: an executable that appends its arguments as one line to a
//! log file, and the reader of that log.

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
