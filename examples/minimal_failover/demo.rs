//! `--demo`: placeholder replaced below.
use std::process::ExitCode;
/// Runs the demo.
pub fn run() -> ExitCode {
    ExitCode::from(1)
}
