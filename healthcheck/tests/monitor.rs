//! The scheduler against real servers: both filtering models, retries, flapping, value
//! changes, bounded concurrency, removal.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use healthcheck::*;
use tokio::sync::mpsc::Receiver;

async fn next(rx: &mut Receiver<StateChange>) -> StateChange {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no state change within 10 s")
        .unwrap()
}

fn http(srv: &HttpServer) -> HttpCheck {
    HttpCheck::new(srv.addr, vec![HttpUrl::new("/")])
}

#[tokio::test]
async fn script_policy_follows_keepalived_rise_fall_counter() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b""))).await;
    // Probe:     1   2  3  4   5  6   7  8 ...
    srv.script(&[true, false, false, false, true, true, false, true]);
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    monitor
        .add(
            CheckSpec::new(CheckId(1), http(&srv))
                .interval(Duration::from_millis(20))
                .policy(Policy::Script {
                    rise: 2,
                    fall: 3,
                    init_fail: false,
                })
                .weight(TrackWeight::new(-20)),
        )
        .unwrap();
    let up = next(&mut rx).await;
    assert_eq!(
        (up.previous, up.state.health, up.probe_seq),
        (Health::Unknown, Health::Up, 1)
    );
    assert_eq!(up.state.priority_delta(), 0);
    let down = next(&mut rx).await;
    assert_eq!((down.state.health, down.probe_seq), (Health::Down, 4));
    assert_eq!(down.state.priority_delta(), -20);
    assert!(matches!(
        down.error.as_deref(),
        Some(CheckError::HttpStatus { got: 503, .. })
    ));
    let up = next(&mut rx).await;
    assert_eq!((up.state.health, up.probe_seq), (Health::Up, 6));
    // Probe 7 fails but fall = 3: no change follows.
    assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_err());
}

#[tokio::test]
async fn script_policy_init_fail() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b""))).await;
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    let policy = Policy::Script {
        rise: 3,
        fall: 1,
        init_fail: true,
    };
    assert_eq!(policy.initial_health(), Health::Down);
    monitor
        .add(
            CheckSpec::new(CheckId(1), http(&srv))
                .interval(Duration::from_millis(10))
                .policy(policy),
        )
        .unwrap();
    let up = next(&mut rx).await;
    assert_eq!(
        (up.previous, up.state.health, up.probe_seq),
        (Health::Down, Health::Up, 3)
    );
    assert_eq!(
        monitor.state(CheckId(1)).map(|s| s.health),
        Some(Health::Up)
    );
    assert_eq!(monitor.states().len(), 1);
    monitor.remove(CheckId(1));
    assert_eq!(monitor.state(CheckId(1)), None);
}

#[tokio::test]
async fn checker_policy_retries_quickly_then_goes_down_and_up_on_first_success() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b""))).await;
    srv.script(&[true, false, false, false, false, true]);
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    monitor
        .add(
            CheckSpec::new(CheckId(9), http(&srv))
                .interval(Duration::from_millis(300))
                .policy(Policy::Checker {
                    retry: 2,
                    delay_before_retry: Duration::from_millis(10),
                    alpha: false,
                })
                .weight(TrackWeight::new(0)),
        )
        .unwrap();
    let down = next(&mut rx).await;
    assert_eq!(
        (down.previous, down.state.health, down.probe_seq),
        (Health::Up, Health::Down, 4)
    );
    assert!(down.state.is_fault());
    let up = next(&mut rx).await;
    assert_eq!((up.state.health, up.probe_seq), (Health::Up, 6));
    // Probes 3 and 4 were retries (delay_before_retry), probe 2 and 5 waited an interval.
    let t = srv.accepted.lock().unwrap().clone();
    let gap = |i: usize| t[i] - t[i - 1];
    assert!(
        gap(2) < gap(1) / 4 && gap(3) < gap(1) / 4,
        "{:?}",
        (gap(1), gap(2), gap(3))
    );
    assert!(
        gap(4) > gap(2) * 4,
        "after going down the normal interval applies"
    );
}

#[tokio::test]
async fn flapping_tcp_server_is_followed() {
    let srv = FlappingTcp::start().await;
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    monitor
        .add(
            CheckSpec::new(CheckId(3), TcpCheck::new(srv.addr))
                .interval(Duration::from_millis(20))
                .timeout(Duration::from_millis(500))
                .policy(Policy::Checker {
                    retry: 0,
                    delay_before_retry: Duration::from_millis(10),
                    alpha: true,
                })
                .weight(TrackWeight::new(10)),
        )
        .unwrap();
    for _ in 0..3 {
        let up = next(&mut rx).await;
        assert_eq!(up.state.health, Health::Up);
        assert_eq!(up.state.priority_delta(), 10);
        srv.set_up(false).await;
        let down = next(&mut rx).await;
        assert_eq!(down.state.health, Health::Down);
        assert_eq!(down.state.priority_delta(), 0);
        srv.set_up(true).await;
    }
}

#[tokio::test]
async fn file_value_changes_are_events() {
    let path = std::env::temp_dir().join(format!(
        "hc-mon-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::write(&path, "2").unwrap();
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    monitor
        .add(
            CheckSpec::new(CheckId(5), FileCheck::new(&path))
                .interval(Duration::from_millis(10))
                .weight(TrackWeight::new(-10).scaled_by_value()),
        )
        .unwrap();
    let first = next(&mut rx).await;
    assert_eq!(
        (first.state.health, first.state.value),
        (Health::Up, Some(2))
    );
    assert_eq!(first.state.priority_delta(), -20);
    std::fs::write(&path, "30").unwrap();
    let second = next(&mut rx).await;
    assert_eq!(
        (second.previous, second.state.health, second.state.value),
        (Health::Up, Health::Up, Some(30))
    );
    assert!(second.state.is_fault(), "-300 <= -254 is FAULT");
    std::fs::remove_file(&path).unwrap();
}

/// keepalived's track_file reacts to the file through inotify, not at a poll: with a
/// one-hour interval every change below is seen only through the watch on the directory
/// (a write, a rename over the file, a deletion, a re-creation), each within seconds.
#[tokio::test]
async fn tracked_file_changes_are_seen_at_once_through_inotify() {
    let dir = std::env::temp_dir().join(format!(
        "hc-inotify-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("weight");
    std::fs::write(&path, "2").unwrap();
    let (monitor, mut rx) = Monitor::new(MonitorConfig::default());
    let stats = monitor.stats();
    monitor
        .add(
            CheckSpec::new(CheckId(6), FileCheck::new(&path))
                .interval(Duration::from_secs(3600))
                .policy(Policy::Script {
                    rise: 1,
                    fall: 1,
                    init_fail: false,
                })
                .weight(TrackWeight::new(-10).scaled_by_value()),
        )
        .unwrap();
    let value = |c: &StateChange| (c.state.health, c.state.value);
    assert_eq!(value(&next(&mut rx).await), (Health::Up, Some(2)));

    // Another file in the same directory is no reason to probe.
    std::fs::write(dir.join("other"), "9").unwrap();
    // Written in place.
    std::fs::write(&path, "30").unwrap();
    assert_eq!(value(&next(&mut rx).await), (Health::Up, Some(30)));
    // Renamed over, as `mv` does.
    std::fs::write(dir.join("weight.tmp"), "-4").unwrap();
    std::fs::rename(dir.join("weight.tmp"), &path).unwrap();
    assert_eq!(value(&next(&mut rx).await), (Health::Up, Some(-4)));
    // Deleted: the probe fails (the last value stays with it), then created again.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(value(&next(&mut rx).await), (Health::Down, Some(-4)));
    std::fs::write(&path, "5").unwrap();
    assert_eq!(value(&next(&mut rx).await), (Health::Up, Some(5)));

    let probes = stats.probes.load(std::sync::atomic::Ordering::Relaxed);
    let hinted = stats
        .hinted_probes
        .load(std::sync::atomic::Ordering::Relaxed);
    // The first probe at start, then one per change of the file: the other file, the
    // temporary one and the re-creation's IN_CREATE brought none.
    assert_eq!((probes, hinted), (5, 4));
    drop(monitor);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn concurrency_is_bounded_and_remove_stops_probing() {
    let srv = HttpServer::start(Reply::Slow(Duration::from_millis(100), ok_response(b""))).await;
    let (monitor, _rx) = Monitor::new(MonitorConfig {
        max_concurrent: 4,
        channel_capacity: 16,
    });
    for i in 0..40 {
        monitor
            .add(
                CheckSpec::new(CheckId(i), http(&srv))
                    .interval(Duration::from_millis(5))
                    .warmup(Duration::from_millis(50))
                    .policy(Policy::checker()),
            )
            .unwrap();
    }
    assert_eq!(monitor.len(), 40);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let max = srv.max_open.load(Ordering::SeqCst);
    assert!((1..=4).contains(&max), "max concurrent probes {max}");
    for i in 0..40 {
        assert!(monitor.remove(CheckId(i)));
    }
    assert!(monitor.is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = srv.accepted.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        srv.accepted.lock().unwrap().len(),
        n,
        "no probe after remove()"
    );
    let (probes, _, _, _) = monitor.stats().snapshot();
    assert!(probes >= 8, "{probes}");
}

#[tokio::test]
async fn bad_specs_are_refused() {
    let (monitor, _rx) = Monitor::new(MonitorConfig::default());
    let tcp = || TcpCheck::new("127.0.0.1:1".parse().unwrap());
    assert_eq!(
        monitor.add(CheckSpec::new(CheckId(1), tcp()).interval(Duration::ZERO)),
        Err(ConfigError::ZeroInterval)
    );
    assert_eq!(
        monitor.add(CheckSpec::new(CheckId(1), tcp()).timeout(Duration::ZERO)),
        Err(ConfigError::ZeroTimeout)
    );
    assert_eq!(
        monitor.add(CheckSpec::new(CheckId(1), tcp()).policy(Policy::Script {
            rise: 0,
            fall: 1,
            init_fail: false
        })),
        Err(ConfigError::ZeroRiseFall)
    );
    assert!(monitor.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_checks_all_run_without_failures() {
    let srv = FlappingTcp::start().await;
    let (monitor, mut rx) = Monitor::new(MonitorConfig {
        max_concurrent: 256,
        channel_capacity: 64,
    });
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    for i in 0..2000 {
        monitor
            .add(
                CheckSpec::new(CheckId(i), TcpCheck::new(srv.addr).reset_on_close(true))
                    .interval(Duration::from_millis(200))
                    .timeout(Duration::from_secs(5))
                    .warmup(Duration::from_millis(200))
                    .jitter(Duration::from_millis(10))
                    .policy(Policy::checker()),
            )
            .unwrap();
    }
    let stats = monitor.stats();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while stats.probes.load(Ordering::Relaxed) < 6000 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (probes, failures, timeouts, changes) = stats.snapshot();
    assert_eq!((failures, timeouts, changes), (0, 0, 0), "probes={probes}");
}

#[test]
fn add_outside_a_runtime_is_an_error() {
    let (monitor, _rx) = Monitor::new(MonitorConfig::default());
    let spec = CheckSpec::new(CheckId(1), TcpCheck::new("127.0.0.1:1".parse().unwrap()));
    assert_eq!(monitor.add(spec), Err(ConfigError::NoRuntime));
}
