//! The runtime's public API driven in-process (root): a `hakit::Daemon` started inside a test
//! namespace, with the kernel's rtnetlink and a real advert socket. Start removes a stale VIP;
//! events and `status` follow the state machine; `set_tracker` moves the priority and puts the
//! instance in FAULT and back; `reload` applies a new priority and refuses a new version;
//! `shutdown` removes the VIP and ends the event stream with `Stopped`.
mod common;

use std::time::Duration;

use common::topology::{in_netns, Topology, VIP4};
use hakit::fsm::{State, StateChangeReason, TrackerState};
use hakit::{Config, Daemon, DaemonError, Event, Events, VrrpInstance};

fn web(priority: u8) -> VrrpInstance {
    VrrpInstance::new("web", "eth0", 60, priority)
        .vrrp_version(3)
        .advert_int(0.1)
        .vip(format!("{VIP4}/24"))
        .track_external("db", 0)
        .track_external("lag", -30)
}

/// The next event matching `want`, skipping others; panics after 5 s.
async fn next(events: &mut Events, what: &str, want: impl Fn(&Event) -> bool) -> Event {
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(ev) = events.recv().await {
            if want(&ev) {
                return Some(ev);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(ev)) => ev,
        other => panic!("no {what}: {other:?}"),
    }
}

fn entered(to: State) -> impl Fn(&Event) -> bool {
    move |ev| matches!(ev, Event::StateChanged { to: t, .. } if *t == to)
}

fn holds_vip(ns: &str) -> bool {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout).contains(&format!("{VIP4}/24"))
}

#[test]
fn daemon_api_start_events_status_trackers_reload_shutdown() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let ns = topo.nodes[0].ns.name.clone();
    // A crashed earlier run's VIP.
    topo.nodes[0]
        .ns
        .ip(&["addr", "add", &format!("{VIP4}/24"), "dev", "eth0"])
        .unwrap();
    let inside = ns.clone();
    in_netns(&ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let ns = inside;
            let mut daemon = Daemon::start(Config::new().instance(web(150)))
                .await
                .expect("start");
            let mut events = daemon.events();
            let first = next(&mut events, "Backup", entered(State::Backup)).await;
            assert!(
                matches!(&first, Event::StateChanged { reason: StateChangeReason::Startup, instance, vrid: 60, .. } if instance == "web"),
                "{first:?}"
            );
            assert!(!holds_vip(&ns), "the stale VIP survived the start");
            next(&mut events, "Master", entered(State::Master)).await;
            assert!(holds_vip(&ns));
            let st = daemon.instance("web").await.unwrap().expect("web");
            assert_eq!(
                (st.state, st.base_priority, st.effective_priority, st.vips_held),
                (State::Master, 150, 150, true)
            );
            assert!(st.counters.adverts_sent > 0 && st.counters.become_master == 1);
            assert_eq!(st.trackers.len(), 2);

            // A weight tracker down: 150 - 30.
            daemon.set_tracker("web", "lag", TrackerState::Down).unwrap();
            let ev = next(&mut events, "priority change", |e| {
                matches!(e, Event::PriorityChanged { .. })
            })
            .await;
            assert!(
                matches!(ev, Event::PriorityChanged { from: 150, to: 120, .. }),
                "{ev:?}"
            );
            // A weight-0 tracker down: FAULT, the VIP goes; up again: Master again.
            daemon.set_tracker("web", "db", TrackerState::Down).unwrap();
            let ev = next(&mut events, "Fault", entered(State::Fault)).await;
            assert!(
                matches!(ev, Event::StateChanged { reason: StateChangeReason::Fault(_), .. }),
                "{ev:?}"
            );
            assert!(!holds_vip(&ns), "a FAULT instance kept its VIP");
            daemon.set_tracker("web", "db", TrackerState::Up).unwrap();
            next(&mut events, "Master again", entered(State::Master)).await;
            assert!(holds_vip(&ns));

            for (inst, tracker) in [("nope", "db"), ("web", "nope")] {
                let e = daemon
                    .set_tracker(inst, tracker, TrackerState::Up)
                    .unwrap_err();
                assert!(matches!(e, DaemonError::NotFound(_)), "{e}");
            }

            // Reload: a new base priority applies live; a new version is refused.
            daemon
                .reload(Config::new().instance(web(200)))
                .await
                .expect("reload");
            let st = daemon.instance("web").await.unwrap().unwrap();
            assert_eq!((st.state, st.base_priority, st.effective_priority), (State::Master, 200, 170));
            let e = daemon
                .reload(Config::new().instance(web(200).vrrp_version(2).advert_int(1.0)))
                .await
                .unwrap_err();
            assert!(matches!(e, DaemonError::Reload(_)), "{e}");
            let e = daemon
                .reload(Config::new().instance(web(0)))
                .await
                .unwrap_err();
            assert!(matches!(e, DaemonError::Config(_)), "{e}");
            assert_eq!(daemon.instance("web").await.unwrap().unwrap().base_priority, 200);

            daemon.shutdown().await.expect("shutdown");
            assert!(!holds_vip(&ns), "the VIP stayed after shutdown");
            let mut last = None;
            while let Some(ev) = events.recv().await {
                last = Some(ev);
            }
            assert_eq!(last, Some(Event::Stopped { error: None }));
        });
    });
}

/// keepalived's `script_user`: notify scripts run as that user; with
/// `enable_script_security`, a script others could change is refused, naming its field.
#[test]
fn scripts_run_as_script_user_and_insecure_ones_are_refused() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let topo = Topology::new(1);
    let ns = topo.nodes[0].ns.name.clone();
    let dir = std::env::temp_dir().join(format!("{}-scripts", topo.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Where nobody may write its answer; the script itself is root's and 0755.
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let script = dir.join("whoami.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nid -u > {}/uid\n", out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = |script: &std::path::Path, secure: bool| {
        let mut c = Config::new().instance(web(150).notify(script.display().to_string()));
        c.script_user = Some("nobody nogroup".into());
        c.enable_script_security = secure;
        c
    };
    let good = config(&script, true);
    let uid_file = out.join("uid");
    let inside = uid_file.clone();
    in_netns(&ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut daemon = Daemon::start(good).await.expect("start");
            let mut events = daemon.events();
            next(&mut events, "Master", entered(State::Master)).await;
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !inside.exists() && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            daemon.shutdown().await.expect("shutdown");
        });
    });
    let uid = std::fs::read_to_string(&uid_file).expect("the notify script ran");
    let nobody = common::topology::run("id", &["-u", "nobody"]).unwrap();
    assert_eq!(uid.trim(), nobody.trim());

    // The same script made writable by everyone: refused with enable_script_security.
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o757)).unwrap();
    let e = config(&script, true).validate().unwrap_err();
    assert_eq!(e.field, "instance[0].notify", "{e}");
    assert!(e.message.contains("writable by everyone"), "{e}");
    // Without it the configuration loads, with a warning.
    let spec = config(&script, false).validate().unwrap();
    assert_eq!(spec.warnings.len(), 1, "{:?}", spec.warnings);
    std::fs::remove_dir_all(&dir).ok();
}
