//! `track_file` / `FILE_CHECK`: a number in a file.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use super::file_watch::FileWatch;
use crate::change_watch::ChangeWatch;
use crate::checker::{with_timeout, Checker, Probe};
use crate::error::CheckError;

/// Reads a signed integer from a file; reports it as [`Probe::value`]. Pair it with
/// [`TrackWeight::scaled_by_value`](crate::TrackWeight::scaled_by_value) for keepalived's
/// `value × weight` contribution. A missing or non-numeric file is a failed probe.
///
/// Under a [`Monitor`](crate::Monitor) the file's directory is watched with inotify, as
/// keepalived does: a write (at close), a rename over the file or its deletion is probed at
/// once, and the interval remains as a fallback (where inotify cannot watch the directory,
/// it is all there is).
///
/// ```
/// use healthcheck::FileCheck;
/// let check = FileCheck::new("/run/app/weight");
/// ```
#[derive(Debug, Clone)]
pub struct FileCheck {
    path: PathBuf,
}

/// Only the start of the file is read: it should hold one number.
const MAX_READ: u64 = 4096;

impl FileCheck {
    /// Track `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheck { path: path.into() }
    }
}

/// Parses the first whitespace-separated token as an integer.
pub(crate) fn parse_value(text: &str) -> Option<i64> {
    text.split_whitespace().next()?.parse().ok()
}

#[async_trait]
impl Checker for FileCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let fail = |reason: String| CheckError::File {
            path: self.path.display().to_string(),
            reason,
        };
        with_timeout(timeout, async {
            let file = tokio::fs::File::open(&self.path)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let mut text = String::new();
            file.take(MAX_READ)
                .read_to_string(&mut text)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let value = parse_value(&text).ok_or_else(|| fail("no number".into()))?;
            Ok(Probe { value: Some(value) })
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn change_watch(&self) -> Option<Box<dyn ChangeWatch>> {
        match FileWatch::new(&self.path) {
            Ok(w) => Some(Box::new(w)),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), "no inotify watch, probing at the interval only: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse() {
        assert_eq!(super::parse_value(" 42\n"), Some(42));
        assert_eq!(super::parse_value("-7 trailing"), Some(-7));
        assert_eq!(super::parse_value(""), None);
        assert_eq!(super::parse_value("abc"), None);
    }
}
