//! track_file and track_process against real files and processes.

use std::time::Duration;

use healthcheck::*;

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn file_values() {
    let path = std::env::temp_dir().join(format!(
        "hc-track-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let check = FileCheck::new(&path);
    assert!(matches!(check.check(T).await, Err(CheckError::File { .. })));
    std::fs::write(&path, "-12\n").unwrap();
    assert_eq!(check.check(T).await.unwrap(), Probe { value: Some(-12) });
    std::fs::write(&path, "not a number").unwrap();
    assert!(matches!(check.check(T).await, Err(CheckError::File { .. })));
    // A huge file is only read up to its start.
    std::fs::write(&path, format!("7 {}", "x".repeat(1 << 20))).unwrap();
    assert_eq!(check.check(T).await.unwrap(), Probe { value: Some(7) });
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn process_presence_and_count() {
    let marker = format!(
        "{}.{}",
        3000 + fastrand::u32(..1000),
        fastrand::u32(..1_000_000)
    );
    let mut child = std::process::Command::new("sleep")
        .arg(&marker)
        .spawn()
        .unwrap();
    let exact = ProcessCheck::new(ProcessMatch::Argv(vec!["sleep".into(), marker.clone()]));
    // Polled: `spawn` returns once exec has released the parent, before the new image's
    // argv is in place, so for a moment /proc/PID/cmdline reads empty (one CI run hit it).
    // The test still requires the process to be found, within T.
    let deadline = std::time::Instant::now() + T;
    while let Err(e) = exact.check(T).await {
        assert!(std::time::Instant::now() < deadline, "{e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ProcessCheck::new(ProcessMatch::Comm("sleep".into()))
        .check(T)
        .await
        .unwrap();
    ProcessCheck::new(ProcessMatch::Argv0("sleep".into()))
        .check(T)
        .await
        .unwrap();
    let err = exact.clone().count(2, 5).check(T).await.unwrap_err();
    assert!(
        matches!(err, CheckError::ProcessCount { found: 1, .. }),
        "{err}"
    );
    assert!(exact.clone().count(0, 0).check(T).await.is_err());

    child.kill().unwrap();
    child.wait().unwrap();
    let err = exact.check(T).await.unwrap_err();
    assert!(
        matches!(err, CheckError::ProcessCount { found: 0, .. }),
        "{err}"
    );
    assert!(exact.clone().count(0, 0).check(T).await.is_ok());
}
