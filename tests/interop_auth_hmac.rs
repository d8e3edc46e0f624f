//! `auth_hmac` against keepalived 2.4.3 (built from ../shared/peers by
//! scripts/peers/keepalived-2.4.3.sh; every test skips, saying so, when it is absent). Node 0
//! runs hakit's `Daemon` in-process (so its `InstanceStatus` counters can be read), node 1
//! keepalived. Proven on the wire, in namespaces:
//! - mixed pairs both ways (v2/IPv4, v3/IPv4, v3/IPv6 multicast, v3/IPv4 unicast): each side
//!   verifies the other's signed adverts (no refusal counted or logged, the lower side stays
//!   Backup) and failover works both ways;
//! - key rotation (a key added everywhere by reload, `active_key` moved on one node then the
//!   other, the old key removed) without a state change on either side;
//! - a wrong key and an unknown key id refused and counted on both sides;
//! - a captured advert replayed (`replay`) and replayed again after the window (`stale`),
//!   refused and counted on both sides;
//! - the three rollout modes sending and accepting as keepalived's do.
mod common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use common::cluster::{Fam, Scenario};
use common::keepalived::{Keepalived, KA_243};
use common::pcap::Capture;
use common::peer::ka_instance;
use common::process::{wait_until, TempDir};
use common::topology::Topology;
use hakit::fsm::State;
use hakit::{AuthHmacConfig, Config, Daemon, InstanceStatus, VrrpInstance};

/// How long a wait for something that must happen may take (a loaded 2-core CI box).
const PATIENCE: Duration = Duration::from_secs(8);
const HIGH: u8 = 200;
const LOW: u8 = 100;
const KEY_A: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_B: &str = "hakit-and-keepalived-share-this-40-octet";
const KEY_WRONG: &str = "hex:ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// keepalived's log lines for each refusal (vrrp.c, `vrrp_auth_ext_verify`).
const KA_MISSING: &str = "missing authentication trailer";
const KA_BAD_HMAC: &str = "invalid authentication HMAC";
const KA_UNKNOWN_KEY: &str = "unknown authentication key id";
const KA_STALE: &str = "stale authentication trailer";
const KA_REPLAY: &str = "replayed authentication trailer";
const KA_ANY: &[&str] = &[
    KA_MISSING,
    KA_BAD_HMAC,
    KA_UNKNOWN_KEY,
    KA_STALE,
    KA_REPLAY,
    "malformed authentication trailer",
];

/// False (with the reason printed) when the test cannot run here.
fn can_run() -> bool {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return false;
    }
    if !Path::new(KA_243).exists() {
        eprintln!(
            "skipped: {KA_243} is absent (scripts/peers/keepalived-2.4.3.sh builds it from \
             keepalived-2.4.3.tar.gz in $HAKIT_PEERS_DIR, ../shared/peers or /work/shared/peers)"
        );
        return false;
    }
    true
}

/// Runs `f` on a thread inside namespace `ns` with a tokio runtime (the daemon's VRRP thread
/// inherits the namespace).
fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        enter(&path);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .expect("the namespace thread panicked")
}

fn enter(path: &str) {
    let file = std::fs::File::open(path).expect("opening the namespace");
    // SAFETY: setns on this thread only, with a namespace descriptor we hold open.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}");
}

/// The `auth_hmac` block both sides run, in each one's words.
#[derive(Clone)]
struct Auth {
    keys: Vec<(u8, &'static str)>,
    active: u8,
    mode: &'static str,
    window: Option<u32>,
}

impl Auth {
    fn one(key: &'static str) -> Auth {
        Auth {
            keys: vec![(1, key)],
            active: 1,
            mode: "enforce",
            window: None,
        }
    }

    fn ours(&self) -> AuthHmacConfig {
        let mut c = AuthHmacConfig::new(self.keys[0].0, self.keys[0].1)
            .active_key(self.active)
            .mode(self.mode);
        for (id, k) in &self.keys[1..] {
            c = c.key(*id, *k);
        }
        if let Some(w) = self.window {
            c = c.time_window(w);
        }
        c
    }

    fn keepalived(&self) -> String {
        let mut s = String::from("  auth_hmac {\n");
        for (id, k) in &self.keys {
            s += &format!("    key {id} {k}\n");
        }
        s += &format!("    active_key {}\n    mode {}\n", self.active, self.mode);
        if let Some(w) = self.window {
            s += &format!("    time_window {w}\n");
        }
        s + "  }\n"
    }
}

/// keepalived.conf for node 1 of `sc` at `prio`, with `auth` (`None`: no `auth_hmac`).
fn ka_config(sc: &Scenario, topo: &Topology, prio: u8, auth: Option<&Auth>) -> String {
    let text = ka_instance(sc, topo, 1, prio).config("ka243");
    let body = text
        .trim_end()
        .strip_suffix('}')
        .expect("an instance block");
    format!(
        "{body}{}}}\n",
        auth.map(Auth::keepalived).unwrap_or_default()
    )
}

/// Our instance for node 0 of `sc` at `prio`.
fn ours(sc: &Scenario, topo: &Topology, prio: u8, auth: Option<&Auth>) -> Config {
    let mut i = VrrpInstance::new("hm", "eth0", sc.vrid, prio)
        .vrrp_version(sc.version)
        .advert_int(sc.advert_int)
        .vip(sc.fam.vip_cidr());
    if sc.unicast {
        i.unicast_src = Some(sc.addr_of(topo, 0));
        i = i.unicast_peer(sc.addr_of(topo, 1));
    }
    if let Some(a) = auth {
        i = i.auth_hmac(a.ours());
    }
    Config::new().instance(i)
}

async fn status(d: &Daemon) -> InstanceStatus {
    d.instance("hm").await.unwrap().expect("instance hm")
}

/// Polls our state until `want` or `timeout`.
async fn wait_state(d: &Daemon, want: State, timeout: Duration) -> bool {
    let end = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < end {
        if status(d).await.state == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Our status once `f` of it is non-zero, or after 3 s.
async fn wait_counted(d: &Daemon, f: fn(&InstanceStatus) -> u64) -> InstanceStatus {
    let end = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let st = status(d).await;
        if f(&st) > 0 || tokio::time::Instant::now() > end {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ka_refusals(ka: &Keepalived) -> Vec<String> {
    ka.log()
        .lines()
        .filter(|l| KA_ANY.iter().any(|k| l.contains(k)))
        .map(str::to_string)
        .collect()
}

fn v3(fam: Fam, vrid: u8) -> Scenario {
    Scenario {
        vrid,
        ..Scenario::v3_fast(fam)
    }
}

/// Settling time: a few Master_Down_Intervals.
fn settle(sc: &Scenario) -> Duration {
    sc.master_down(LOW) * 3
}

/// A mixed pair with `auth_hmac` enforce on both: the high side is Master, the low side
/// verifies its adverts and stays Backup; then the high side stops and the low side takes
/// over. `ours_high` picks which side is high.
fn mixed_pair(sc: Scenario, ours_high: bool) {
    if !can_run() {
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
    let (our_prio, ka_prio) = if ours_high { (HIGH, LOW) } else { (LOW, HIGH) };
    let auth = Auth::one(KEY_A);
    let ka_conf = ka_config(&sc, &topo, ka_prio, Some(&auth));
    let cfg = ours(&sc, &topo, our_prio, Some(&auth));
    let ns = topo.nodes[0].ns.name.clone();
    let ka_ns = topo.nodes[1].ns.name.clone();
    let dir_path = dir.0.clone();
    let vip = sc.fam.vip();
    let holders = move || topo.holders(vip);
    in_netns(&ns, move || {
        Box::pin(async move {
            // The high side first, Master before the low side starts, so the low side
            // never has a reason to be Master, however slowly either starts.
            let (mut ka, d) = if ours_high {
                let d = Daemon::start(cfg).await.expect("start");
                assert!(wait_state(&d, State::Master, PATIENCE).await);
                (
                    Keepalived::start_243("ka243", &ka_ns, &ka_conf, &dir_path),
                    d,
                )
            } else {
                let ka = Keepalived::start_243("ka243", &ka_ns, &ka_conf, &dir_path);
                assert!(wait_until(PATIENCE, || ka.is_master()), "{}", ka.log());
                (ka, Daemon::start(cfg).await.expect("start"))
            };
            let high = if ours_high { 0 } else { 1 };
            assert!(
                wait_until(PATIENCE, || holders() == vec![high]),
                "{sc:?} ours_high={ours_high}: holders {:?}\n{}",
                holders(),
                ka.log()
            );
            tokio::time::sleep(settle(&sc)).await;
            let st = status(&d).await;
            assert_eq!(holders(), vec![high], "{sc:?}: {st:?}\n{}", ka.log());
            assert_eq!(
                st.auth_hmac.total(),
                0,
                "we refused keepalived's adverts: {st:?}"
            );
            assert!(
                ka_refusals(&ka).is_empty(),
                "keepalived refused ours:\n{}",
                ka.log()
            );
            if ours_high {
                assert_eq!(ka.entered("MASTER"), 0, "{}", ka.log());
                assert_eq!(st.state, State::Master);
                // Failover: we stop (priority 0), keepalived takes over.
                let t = std::time::Instant::now();
                d.shutdown().await.expect("shutdown");
                assert!(
                    wait_until(PATIENCE, || ka.is_master() && holders() == vec![1]),
                    "keepalived did not take over\n{}",
                    ka.log()
                );
                eprintln!(
                    "{sc:?}: keepalived holds the VIP {:?} after our stop",
                    t.elapsed()
                );
            } else {
                assert_eq!((st.state, st.counters.become_master), (State::Backup, 0));
                // keepalived stops (priority 0), we take over.
                let t = std::time::Instant::now();
                ka.daemon.signal(libc::SIGTERM);
                assert!(
                    wait_state(&d, State::Master, PATIENCE).await,
                    "we did not take over"
                );
                assert!(wait_until(PATIENCE, || holders() == vec![0]));
                eprintln!(
                    "{sc:?}: we hold the VIP {:?} after keepalived's SIGTERM",
                    t.elapsed()
                );
                ka.stop();
                let st = status(&d).await;
                assert_eq!(st.auth_hmac.total(), 0, "{st:?}");
                assert!(st.counters.priority_zero_received >= 1, "{st:?}");
                d.shutdown().await.expect("shutdown");
            }
            ka.stop();
        })
    });
}

#[test]
fn mixed_pairs_v3_ipv4_multicast_both_ways() {
    mixed_pair(v3(Fam::V4, 71), true);
    mixed_pair(v3(Fam::V4, 71), false);
}

#[test]
fn mixed_pairs_v3_ipv6_multicast_both_ways() {
    mixed_pair(v3(Fam::V6, 72), true);
    mixed_pair(v3(Fam::V6, 72), false);
}

#[test]
fn mixed_pairs_v3_ipv4_unicast_both_ways() {
    let sc = Scenario {
        unicast: true,
        ..v3(Fam::V4, 73)
    };
    mixed_pair(sc.clone(), true);
    mixed_pair(sc, false);
}

#[test]
fn mixed_pairs_v2_ipv4_multicast_both_ways() {
    let sc = Scenario {
        version: 2,
        advert_int: 1.0,
        ..v3(Fam::V4, 74)
    };
    mixed_pair(sc.clone(), true);
    mixed_pair(sc, false);
}

/// keepalived Master, we Backup: a second key is added on both by reload, keepalived signs
/// with it, we move to it and drop the first; then keepalived stops, we take over signing
/// with key 2, and a keepalived restarted low with key 2 only accepts us. No state changes
/// on either side between.
#[test]
fn key_rotation_without_a_flap() {
    if !can_run() {
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
    let sc = v3(Fam::V4, 75);
    let one = Auth::one(KEY_A);
    let both = Auth {
        keys: vec![(1, KEY_A), (2, KEY_B)],
        ..one.clone()
    };
    let both2 = Auth {
        active: 2,
        ..both.clone()
    };
    let only2 = Auth {
        keys: vec![(2, KEY_B)],
        ..both2.clone()
    };
    let ka_conf = |a: &Auth, prio| ka_config(&sc, &topo, prio, Some(a));
    let steps_ka = [ka_conf(&both, HIGH), ka_conf(&both2, HIGH)];
    let ka_low = ka_conf(&only2, LOW);
    let ka_first = ka_conf(&one, HIGH);
    let cfgs = [
        ours(&sc, &topo, LOW, Some(&both)),
        ours(&sc, &topo, LOW, Some(&both2)),
        ours(&sc, &topo, LOW, Some(&only2)),
    ];
    let first = ours(&sc, &topo, LOW, Some(&one));
    let ns = topo.nodes[0].ns.name.clone();
    let ka_ns = topo.nodes[1].ns.name.clone();
    let dir_path = dir.0.clone();
    let vip = sc.fam.vip();
    let holders = move || topo.holders(vip);
    let pause = settle(&sc);
    in_netns(&ns, move || {
        Box::pin(async move {
            let mut ka = Keepalived::start_243("ka243", &ka_ns, &ka_first, &dir_path);
            assert!(wait_until(PATIENCE, || ka.is_master()), "{}", ka.log());
            let d = Daemon::start(first).await.expect("start");
            assert!(wait_until(PATIENCE, || holders() == vec![1] && ka.is_master()));
            tokio::time::sleep(pause).await;
            let settled = |st: &InstanceStatus| (st.state, st.counters.become_master);
            assert_eq!(settled(&status(&d).await), (State::Backup, 0));
            // Key 2 added on both, then keepalived signs with it.
            d.reload(cfgs[0].clone())
                .await
                .expect("reload: key 2 added");
            ka.reload(&steps_ka[0], &dir_path);
            tokio::time::sleep(pause).await;
            ka.reload(&steps_ka[1], &dir_path);
            tokio::time::sleep(pause).await;
            // We sign with key 2 too, then drop key 1: keepalived's adverts still verify.
            d.reload(cfgs[1].clone())
                .await
                .expect("reload: active_key 2");
            tokio::time::sleep(pause).await;
            d.reload(cfgs[2].clone())
                .await
                .expect("reload: key 1 removed");
            tokio::time::sleep(pause).await;
            let st = status(&d).await;
            assert_eq!(settled(&st), (State::Backup, 0), "{st:?}\n{}", ka.log());
            assert_eq!(st.auth_hmac.total(), 0, "{st:?}");
            assert!(st.counters.adverts_received > 0, "{st:?}");
            assert_eq!(ka.entered("MASTER"), 1, "keepalived flapped:\n{}", ka.log());
            assert!(ka.is_master() && holders() == vec![1]);
            assert!(ka_refusals(&ka).is_empty(), "{}", ka.log());
            // keepalived goes; we take over signing with key 2; a keepalived with key 2 only
            // accepts our adverts and stays Backup.
            ka.stop();
            assert!(wait_state(&d, State::Master, PATIENCE).await);
            let mut ka = Keepalived::start_243("ka243b", &ka_ns, &ka_low, &dir_path);
            tokio::time::sleep(pause * 2).await;
            assert_eq!(ka.entered("MASTER"), 0, "{}", ka.log());
            assert!(ka_refusals(&ka).is_empty(), "{}", ka.log());
            assert_eq!(holders(), vec![0]);
            ka.stop();
            d.shutdown().await.expect("shutdown");
        })
    });
}

/// Both enforce with different keys under id 1: each refuses the other's adverts (bad HMAC,
/// counted by us, logged by keepalived) and both end up Master. Then we sign with id 7, which
/// a new keepalived lacks, and lack its id 1: unknown key on both sides. (keepalived's Master
/// restarts its advert timer on every packet it reads, refused ones too, so while our adverts
/// arrive it sends little more than the advert of its takeover: a fresh keepalived per phase.)
#[test]
fn a_wrong_key_is_refused_and_counted_on_both_sides() {
    if !can_run() {
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
    let sc = v3(Fam::V4, 76);
    let ka_conf = ka_config(&sc, &topo, LOW, Some(&Auth::one(KEY_A)));
    let wrong = ours(&sc, &topo, HIGH, Some(&Auth::one(KEY_WRONG)));
    let other_id = ours(
        &sc,
        &topo,
        HIGH,
        Some(&Auth {
            keys: vec![(7, KEY_A)],
            active: 7,
            ..Auth::one(KEY_A)
        }),
    );
    let ns = topo.nodes[0].ns.name.clone();
    let ka_ns = topo.nodes[1].ns.name.clone();
    let dir_path = dir.0.clone();
    let vip = sc.fam.vip();
    let holders = move || topo.holders(vip);
    in_netns(&ns, move || {
        Box::pin(async move {
            let d = Daemon::start(wrong).await.expect("start");
            assert!(wait_state(&d, State::Master, PATIENCE).await);
            let mut ka = Keepalived::start_243("ka243", &ka_ns, &ka_conf, &dir_path);
            assert!(
                wait_until(PATIENCE, || holders() == vec![0, 1]),
                "both should hold the VIP, refusing each other: {:?}\n{}",
                holders(),
                ka.log()
            );
            assert!(ka.log().contains(KA_BAD_HMAC), "{}", ka.log());
            let st = wait_counted(&d, |s| s.auth_hmac.bad_hmac).await;
            assert!(st.auth_hmac.bad_hmac > 0, "{st:?}");
            eprintln!("wrong key: our refusals {:?}", st.auth_hmac);
            ka.stop();

            d.reload(other_id).await.expect("reload: key id 7");
            let mut ka = Keepalived::start_243("ka243b", &ka_ns, &ka_conf, &dir_path);
            let logged = format!("{KA_UNKNOWN_KEY} 7");
            assert!(
                wait_until(PATIENCE, || ka.log().contains(&logged)
                    && holders() == vec![0, 1]),
                "{}",
                ka.log()
            );
            let st = wait_counted(&d, |s| s.auth_hmac.unknown_key).await;
            assert!(st.auth_hmac.unknown_key > 0, "{st:?}\n{}", ka.log());
            eprintln!("unknown key: our refusals {:?}", st.auth_hmac);
            ka.stop();
            d.shutdown().await.expect("shutdown");
        })
    });
}

/// The raw Ethernet frames of VRRP adverts (IPv4 protocol 112) sent from `mac` in a
/// nanosecond pcap file.
fn advert_frames(pcap: &Path, mac: [u8; 6]) -> Vec<Vec<u8>> {
    let data = std::fs::read(pcap).expect("reading the capture");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let len = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let Some(frame) = data.get(at + 16..at + 16 + len) else {
            break;
        };
        at += 16 + len;
        if frame.len() > 34 && frame[6..12] == mac && frame[12..14] == [8, 0] && frame[23] == 112 {
            out.push(frame.to_vec());
        }
    }
    out
}

/// Sends `frame` as it is on `iface` of namespace `ns` (AF_PACKET), from a thread there.
fn replay(ns: &str, iface: &'static str, frame: Vec<u8>) {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        enter(&path);
        let name = std::ffi::CString::new(iface).unwrap();
        // SAFETY: plain socket calls on descriptors this thread owns; the address struct is
        // zeroed and filled before use.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            assert!(fd >= 0, "AF_PACKET socket");
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
            sll.sll_halen = 6;
            sll.sll_addr[..6].copy_from_slice(&frame[..6]);
            let n = libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            libc::close(fd);
            assert_eq!(n, frame.len() as isize, "replaying a captured frame");
        }
    })
    .join()
    .expect("the replay thread panicked");
}

/// A real advert captured with tcpdump, sent again from the observer: within the window it
/// is a replay, after the window it is stale. Both refused and counted, by us (keepalived
/// Master, we Backup) and by keepalived (we Master, keepalived Backup); nobody takes over.
#[test]
fn a_replayed_capture_and_a_stale_timestamp_are_refused_and_counted() {
    if !can_run() {
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
    let sc = v3(Fam::V4, 77);
    let auth = Auth {
        window: Some(2),
        ..Auth::one(KEY_A)
    };
    let ka_high = ka_config(&sc, &topo, HIGH, Some(&auth));
    let ka_low = ka_config(&sc, &topo, LOW, Some(&auth));
    let cfg_low = ours(&sc, &topo, LOW, Some(&auth));
    let cfg_high = ours(&sc, &topo, HIGH, Some(&auth));
    let ns = topo.nodes[0].ns.name.clone();
    let ka_ns = topo.nodes[1].ns.name.clone();
    let obs = topo.observer.name.clone();
    let macs = [topo.nodes[0].mac, topo.nodes[1].mac];
    let dir_path = dir.0.clone();
    let vip = sc.fam.vip();
    let holders = move || topo.holders(vip);
    let pause = settle(&sc);
    in_netns(&ns, move || {
        Box::pin(async move {
            // 1. keepalived Master, we Backup: replay keepalived's advert at us.
            let mut ka = Keepalived::start_243("ka243", &ka_ns, &ka_high, &dir_path);
            assert!(wait_until(PATIENCE, || ka.is_master()), "{}", ka.log());
            let d = Daemon::start(cfg_low).await.expect("start");
            assert!(wait_until(PATIENCE, || holders() == vec![1] && ka.is_master()));
            let pcap = dir_path.join("ka.pcap");
            let cap = Capture::start(&obs, "eth0", &pcap);
            tokio::time::sleep(Duration::from_millis(500)).await;
            cap.stop();
            let frames = advert_frames(&pcap, macs[1]);
            let captured = frames
                .first()
                .cloned()
                .expect("a captured keepalived advert");
            replay(&obs, "eth0", captured.clone());
            tokio::time::sleep(Duration::from_millis(300)).await;
            let st = status(&d).await;
            assert!(st.auth_hmac.replay >= 1, "replay not counted: {st:?}");
            // Past the 2 s window the same capture is stale.
            tokio::time::sleep(Duration::from_secs(4)).await;
            replay(&obs, "eth0", captured);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let st = status(&d).await;
            assert!(st.auth_hmac.stale >= 1, "stale not counted: {st:?}");
            assert_eq!((st.state, st.counters.become_master), (State::Backup, 0));
            eprintln!("replay at us: our refusals {:?}", st.auth_hmac);
            ka.stop();
            d.shutdown().await.expect("shutdown");

            // 2. We Master, keepalived Backup: replay our advert at keepalived.
            let d = Daemon::start(cfg_high).await.expect("start");
            assert!(wait_state(&d, State::Master, PATIENCE).await);
            let mut ka = Keepalived::start_243("ka243b", &ka_ns, &ka_low, &dir_path);
            tokio::time::sleep(pause).await;
            let pcap = dir_path.join("ours.pcap");
            let cap = Capture::start(&obs, "eth0", &pcap);
            tokio::time::sleep(Duration::from_millis(500)).await;
            cap.stop();
            let frames = advert_frames(&pcap, macs[0]);
            let captured = frames.first().cloned().expect("a captured advert of ours");
            replay(&obs, "eth0", captured.clone());
            let replayed = wait_until(Duration::from_secs(2), || ka.log().contains(KA_REPLAY));
            assert!(
                replayed,
                "keepalived did not refuse the replay:\n{}",
                ka.log()
            );
            tokio::time::sleep(Duration::from_secs(4)).await;
            replay(&obs, "eth0", captured);
            let stale = wait_until(Duration::from_secs(2), || ka.log().contains(KA_STALE));
            assert!(
                stale,
                "keepalived did not refuse the stale advert:\n{}",
                ka.log()
            );
            assert_eq!(ka.entered("MASTER"), 0, "{}", ka.log());
            assert_eq!(holders(), vec![0]);
            ka.stop();
            d.shutdown().await.expect("shutdown");
        })
    });
}

/// The rollout modes as keepalived runs them. keepalived Master in `receive-only` (sends no
/// trailer), we Backup in each mode: `enforce` refuses the trailerless adverts (counted as
/// missing) and takes over, the two migration modes accept them. We Master in each mode,
/// keepalived Backup in `enforce`: our `receive-only` adverts carry no trailer and keepalived
/// refuses them (and takes over), our `permissive` and `enforce` ones verify.
#[test]
fn the_three_rollout_modes_behave_as_keepalived() {
    if !can_run() {
        return;
    }
    let sc = v3(Fam::V4, 78);
    for mode in ["enforce", "permissive", "receive-only"] {
        let mode_auth = Auth {
            mode,
            ..Auth::one(KEY_A)
        };
        // We Backup in `mode`, keepalived Master sending no trailer.
        let topo = Topology::new(2);
        let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
        let ka_conf = ka_config(
            &sc,
            &topo,
            HIGH,
            Some(&Auth {
                mode: "receive-only",
                ..Auth::one(KEY_A)
            }),
        );
        let cfg = ours(&sc, &topo, LOW, Some(&mode_auth));
        let ns = topo.nodes[0].ns.name.clone();
        let ka_ns = topo.nodes[1].ns.name.clone();
        let dir_path = dir.0.clone();
        let vip = sc.fam.vip();
        let holders = move || topo.holders(vip);
        let pause = settle(&sc);
        in_netns(&ns, move || {
            Box::pin(async move {
                let mut ka = Keepalived::start_243("ka243", &ka_ns, &ka_conf, &dir_path);
                assert!(wait_until(PATIENCE, || ka.is_master()), "{}", ka.log());
                let d = Daemon::start(cfg).await.expect("start");
                tokio::time::sleep(pause * 2).await;
                let st = status(&d).await;
                if mode == "enforce" {
                    assert_eq!(st.state, State::Master, "{mode}: {st:?}");
                    assert!(st.auth_hmac.missing > 0, "{mode}: {st:?}");
                } else {
                    assert_eq!(st.state, State::Backup, "{mode}: {st:?}");
                    assert_eq!(st.auth_hmac.total(), 0, "{mode}: {st:?}");
                    assert_eq!(holders(), vec![1]);
                }
                ka.stop();
                d.shutdown().await.expect("shutdown");
            })
        });

        // We Master in `mode`, keepalived Backup enforcing.
        let topo = Topology::new(2);
        let dir = TempDir::new(&format!("{}-hmac", topo.prefix));
        let ka_conf = ka_config(&sc, &topo, LOW, Some(&Auth::one(KEY_A)));
        let cfg = ours(&sc, &topo, HIGH, Some(&mode_auth));
        let ns = topo.nodes[0].ns.name.clone();
        let ka_ns = topo.nodes[1].ns.name.clone();
        let dir_path = dir.0.clone();
        let vip = sc.fam.vip();
        let holders = move || topo.holders(vip);
        let pause = settle(&sc);
        in_netns(&ns, move || {
            Box::pin(async move {
                let d = Daemon::start(cfg).await.expect("start");
                assert!(wait_state(&d, State::Master, PATIENCE).await);
                let mut ka = Keepalived::start_243("ka243", &ka_ns, &ka_conf, &dir_path);
                tokio::time::sleep(pause * 2).await;
                if mode == "receive-only" {
                    assert!(ka.log().contains(KA_MISSING), "{mode}:\n{}", ka.log());
                    assert!(ka.is_master(), "{mode}:\n{}", ka.log());
                } else {
                    assert!(ka_refusals(&ka).is_empty(), "{mode}:\n{}", ka.log());
                    assert_eq!(ka.entered("MASTER"), 0, "{mode}:\n{}", ka.log());
                    assert_eq!(holders(), vec![0]);
                }
                ka.stop();
                d.shutdown().await.expect("shutdown");
            })
        });
    }
}
