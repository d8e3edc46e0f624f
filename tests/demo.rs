//! `minimal_failover --demo` (the README's main job) runs end to end and cleans up after itself.
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::process::{example_binary, signal, wait_until};

/// The demo's namespaces (`hkdemo<pid>-…`) still present.
fn namespaces_of(pid: u32) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&format!("hkdemo{pid}-")))
        .map(str::to_string)
        .collect()
}

#[test]
fn demo_shows_both_failovers_and_cleans_up() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let out = Command::new(example_binary())
        .arg("--demo")
        .output()
        .expect("running --demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pid = stdout
        .split("namespaces hkdemo")
        .nth(1)
        .and_then(|rest| rest.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "node A: Backup -> Master (master_down_timer)",
        "SIGKILL node A",
        "node B: Backup -> Master (master_down_timer)",
        "node A: Backup -> Master (preempted)",
        "node B: Backup -> Master (master_priority_zero)",
        "hard failover",
        "graceful failover",
        "cleaned up",
    ] {
        assert!(
            stdout.contains(needle),
            "--demo output lacks {needle:?}:\n{stdout}"
        );
    }
    let pid = pid.expect("the demo names its namespaces when it cleans up");
    assert_eq!(namespaces_of(pid), Vec::<String>::new());
}

/// A closed terminal (SIGHUP), like Ctrl-C, stops the demo and removes its namespaces.
#[test]
fn demo_cleans_up_on_sighup() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let child = Command::new(example_binary())
        .arg("--demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running --demo");
    let pid = child.id();
    assert!(wait_until(Duration::from_secs(10), || !namespaces_of(pid).is_empty()));
    signal(pid, libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(namespaces_of(pid), Vec::<String>::new());
}
