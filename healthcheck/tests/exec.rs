//! Exec checks with real processes: exit codes, misc_dynamic, hanging and forking scripts.

use std::time::{Duration, Instant};

use healthcheck::*;

const T: Duration = Duration::from_secs(5);

/// Live or zombie processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(i) = stat.rfind(')') else { continue };
        let f: Vec<&str> = stat[i + 1..].split_whitespace().collect();
        if f.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid) {
            out.push(format!("{} {}", e.file_name().to_string_lossy(), f[0]));
        }
    }
    out
}

/// Runs `script` with `sh -c`, writing the shell's pid (= the group id) to a file first.
fn script_check(dir: &std::path::Path, body: &str) -> (ExecCheck, std::path::PathBuf) {
    let pidfile = dir.join(format!("pid-{}", fastrand::u64(..)));
    let script = format!("echo $$ > {}; {}", pidfile.display(), body);
    (ExecCheck::new(["sh", "-c", &script]).unwrap(), pidfile)
}

/// The process group id the script wrote to its pid file.
fn group_of(pidfile: &std::path::Path) -> u32 {
    std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Nothing of the script's group is left: not running, not zombie.
fn assert_nothing_left(pidfile: &std::path::Path) {
    assert_eq!(group_members(group_of(pidfile)), Vec::<String>::new());
}

fn tmpdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "hc-exec-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn exit_status_decides() {
    assert!(ExecCheck::new(["true"]).unwrap().check(T).await.is_ok());
    assert!(matches!(
        ExecCheck::new(["false"]).unwrap().check(T).await,
        Err(CheckError::ExitStatus(1))
    ));
    assert!(matches!(
        ExecCheck::new(["sh", "-c", "exit 7"])
            .unwrap()
            .check(T)
            .await,
        Err(CheckError::ExitStatus(7))
    ));
    assert!(matches!(
        ExecCheck::new(["sh", "-c", "kill -TERM $$"])
            .unwrap()
            .check(T)
            .await,
        Err(CheckError::Signaled(15))
    ));
    assert!(matches!(
        ExecCheck::new(["/nonexistent/program"])
            .unwrap()
            .check(T)
            .await,
        Err(CheckError::Spawn { .. })
    ));
    // No shell: the argument is passed verbatim, not interpreted.
    assert!(ExecCheck::new(["test", "a;b", "=", "a;b"])
        .unwrap()
        .check(T)
        .await
        .is_ok());
    assert!(matches!(
        ExecCheck::new(Vec::<String>::new()),
        Err(ConfigError::EmptyArgv)
    ));
}

#[tokio::test]
async fn misc_dynamic_weights() {
    let dynamic = |code: u8| {
        ExecCheck::new(["sh", "-c", &format!("exit {code}")])
            .unwrap()
            .dynamic(true)
    };
    assert_eq!(dynamic(0).check(T).await.unwrap(), Probe { value: None });
    assert!(matches!(
        dynamic(1).check(T).await,
        Err(CheckError::ExitStatus(1))
    ));
    assert_eq!(dynamic(2).check(T).await.unwrap(), Probe { value: Some(0) });
    assert_eq!(
        dynamic(12).check(T).await.unwrap(),
        Probe { value: Some(10) }
    );
    assert_eq!(
        dynamic(255).check(T).await.unwrap(),
        Probe { value: Some(253) }
    );
}

#[tokio::test]
async fn hanging_forking_script_is_killed_with_its_group_and_reaped() {
    become_subreaper().unwrap();
    let dir = tmpdir();
    // The script forks two background sleepers (one of them a nested subshell) and hangs.
    let (check, pidfile) = script_check(&dir, "sleep 30 & (sleep 31 & sleep 32) & sleep 33");
    let started = Instant::now();
    let err = check.check(Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_nothing_left(&pidfile);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn timed_out_script_gets_sigterm_first_and_may_clean_up() {
    become_subreaper().unwrap();
    let dir = tmpdir();
    let marker = dir.join("terminated");
    // A script that cleans up on SIGTERM, as keepalived's timeout lets it.
    let body = format!(
        "trap 'echo cleaned > {}; exit 3' TERM; sleep 30 & wait",
        marker.display()
    );
    let (check, pidfile) = script_check(&dir, &body);
    let started = Instant::now();
    let err = check.check(Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");
    // It ended on SIGTERM, well inside the 2 s grace: no wait for SIGKILL.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "cleaned");
    assert_nothing_left(&pidfile);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn script_ignoring_sigterm_gets_sigkill_after_the_grace() {
    become_subreaper().unwrap();
    let dir = tmpdir();
    // SIGTERM ignored by the shell and, inherited, by its background sleeper.
    let (check, pidfile) = script_check(
        &dir,
        "trap '' TERM; sleep 30 & while :; do sleep 0.05; done",
    );
    let grace = Duration::from_millis(600);
    let check = check.kill_grace(grace);
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = check.check(timeout).await.unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");
    let took = started.elapsed();
    assert!(
        took >= timeout + grace,
        "SIGKILL came before the grace: {took:?}"
    );
    assert_nothing_left(&pidfile);

    // A zero grace is SIGKILL at once: the same script ends right at the timeout.
    let (check, _) = script_check(&dir, "trap '' TERM; while :; do sleep 0.05; done");
    let started = Instant::now();
    let err = check
        .kill_grace(Duration::ZERO)
        .check(timeout)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");
    assert!(
        started.elapsed() < timeout + grace,
        "{:?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn leftover_background_children_are_cleaned_after_exit() {
    become_subreaper().unwrap();
    let dir = tmpdir();
    let (check, pidfile) = script_check(&dir, "sleep 30 & exit 0");
    check.check(T).await.unwrap();
    assert_nothing_left(&pidfile);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn dropped_probe_kills_the_group() {
    become_subreaper().unwrap();
    let dir = tmpdir();
    let (check, pidfile) = script_check(&dir, "sleep 30 & sleep 31");
    // Cancel the probe from outside (as the monitor does on remove()).
    let r = tokio::time::timeout(Duration::from_millis(400), check.check(T)).await;
    assert!(r.is_err());
    let pgid = group_of(&pidfile);
    // Killing is immediate; reaping finishes in a background task.
    let mut left = group_members(pgid);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = group_members(pgid);
    }
    assert_eq!(
        left,
        Vec::<String>::new(),
        "no process (live or zombie) may remain"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn runs_as_the_configured_user() {
    let as_nobody =
        ExecCheck::new(["sh", "-c", "test \"$(id -u):$(id -g)\" = 65534:65534"]).unwrap();
    assert!(
        as_nobody.clone().check(T).await.is_err(),
        "we are root here"
    );
    as_nobody.user(65534, 65534).check(T).await.unwrap();
}
