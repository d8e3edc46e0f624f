//! `minimal_failover --demo` (the README's main job) runs end to end and cleans up after itself.
mod common;

use std::process::Command;

use common::process::example_binary;

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
    let left = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        !left.lines().any(|l| l.starts_with("hkdemo")),
        "namespaces left behind: {left}"
    );
}
