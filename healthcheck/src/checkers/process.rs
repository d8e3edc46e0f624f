//! `track_process`: count running processes by name via `/proc`.

use std::time::Duration;

use async_trait::async_trait;

use crate::checker::{Checker, Probe};
use crate::error::CheckError;

/// How a process is recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessMatch {
    /// `/proc/PID/comm` (the kernel truncates it to 15 bytes; the name is truncated the
    /// same way before comparing): keepalived's `process NAME` without `param_match`
    /// (`read_procs` in its `track_process.c` compares the comm field of `/proc/PID/stat`).
    Comm(String),
    /// Basename of `argv[0]` from `/proc/PID/cmdline` (what `pgrep -f`-style scripts often
    /// mean; not a keepalived mode).
    Argv0(String),
    /// The full argv must be equal (keepalived `param_match exact`).
    Argv(Vec<String>),
}

/// Up while the number of matching processes is within `min..=max` (keepalived
/// `quorum` / `quorum_max`, default 1..=unbounded).
///
/// ```
/// use healthcheck::{ProcessCheck, ProcessMatch};
/// let check = ProcessCheck::new(ProcessMatch::Argv0("haproxy".into())).count(2, u32::MAX);
/// ```
#[derive(Debug, Clone)]
pub struct ProcessCheck {
    matcher: ProcessMatch,
    min: u32,
    max: u32,
}

impl ProcessCheck {
    /// At least one matching process.
    pub fn new(matcher: ProcessMatch) -> Self {
        ProcessCheck {
            matcher,
            min: 1,
            max: u32::MAX,
        }
    }

    /// Required count range.
    pub fn count(mut self, min: u32, max: u32) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    fn name(&self) -> String {
        match &self.matcher {
            ProcessMatch::Comm(n) | ProcessMatch::Argv0(n) => n.clone(),
            ProcessMatch::Argv(a) => a.join(" "),
        }
    }

    fn matches(&self, pid: &str) -> bool {
        match &self.matcher {
            ProcessMatch::Comm(name) => {
                let want = &name.as_bytes()[..name.len().min(15)];
                std::fs::read(format!("/proc/{pid}/comm"))
                    .map(|c| c.strip_suffix(b"\n").unwrap_or(&c) == want)
                    .unwrap_or(false)
            }
            ProcessMatch::Argv0(name) => read_argv(pid)
                .and_then(|a| a.into_iter().next())
                .map(|a0| a0.rsplit('/').next() == Some(name.as_str()))
                .unwrap_or(false),
            ProcessMatch::Argv(want) => read_argv(pid).is_some_and(|a| &a == want),
        }
    }

    /// Counts matching processes now (blocking `/proc` scan).
    pub fn count_now(&self) -> u32 {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let mut n = 0u32;
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if !is_zombie(pid) && self.matches(pid) {
                n = n.saturating_add(1);
            }
        }
        n
    }
}

fn is_zombie(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next().map(|t| t == "Z"))
        })
        .unwrap_or(true)
}

fn read_argv(pid: &str) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None; // kernel thread
    }
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

#[async_trait]
impl Checker for ProcessCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let this = self.clone();
        // /proc reads are blocking file I/O: keep them off the async workers.
        let scan = tokio::task::spawn_blocking(move || this.count_now());
        let found = match tokio::time::timeout(timeout, scan).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                return Err(CheckError::io(
                    "scan /proc",
                    std::io::Error::other(e.to_string()),
                ))
            }
            Err(_) => return Err(CheckError::Timeout(timeout)),
        };
        if (self.min..=self.max).contains(&found) {
            Ok(Probe::OK)
        } else {
            Err(CheckError::ProcessCount {
                name: self.name(),
                found,
                min: self.min,
                max: self.max,
            })
        }
    }

    fn kind(&self) -> &'static str {
        "process"
    }
}
