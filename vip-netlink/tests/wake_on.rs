//! `WakeOn::PriorityZero`: a Backup's advert socket sleeps through its Master's adverts and
//! hands them over later with their kernel receive times; a priority-0 advert or another
//! VRID's still wakes it at once. Real sockets in two namespaces, real kernel BPF filters.
mod common;

use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::time::Duration;

use common::Lan;
use vip_netlink::{AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertTransport, WakeOn};
use vrrp_proto::{AddressList, Advert, Auth, Version};

/// What node 0 sends at one step.
type Batch = Vec<(u8, u8)>; // (vrid, priority)

fn advert(vrid: u8, priority: u8) -> Advert {
    let vips = AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100)]).unwrap();
    Advert::v3(vrid, priority, 100, vips)
}

fn send_from(lan: &Lan, family: AddressFamily, batch: Batch) {
    lan.nodes[0].run(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        for (vrid, prio) in batch {
            let a = if family == AddressFamily::Ipv4 {
                advert(vrid, prio)
            } else {
                let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
                Advert::v3(vrid, prio, 100, vips)
            };
            sock.send_advert(&a).await.unwrap();
            // Distinct kernel receive times, in order.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
}

/// The priority of the next advert that wakes the reader within `within`; `None` if none did.
async fn woken_by(sock: &AdvertSocket, within: Duration) -> Option<u8> {
    tokio::time::timeout(within, sock.recv_with(|rx| rx.advert.priority()))
        .await
        .ok()
        .map(|r| r.expect("recv"))
}

/// Lets the receiver and the sender take turns: the receiver calls [`Steps::next`] when it
/// is ready for the next batch, and returns once that batch has been sent.
struct Steps {
    ready: mpsc::Sender<()>,
    sent: mpsc::Receiver<()>,
}

impl Steps {
    fn next(&self) {
        self.ready.send(()).unwrap();
        self.sent.recv().unwrap();
    }
}

/// Node 1 opens a Backup's socket (VRID 51, sleeping through adverts) and runs `receiver`;
/// node 0 sends `batches`, one per [`Steps::next`]. A panic of the receiver is re-raised.
fn sleeping_backup_receives<F, Fut>(family: AddressFamily, batches: Vec<Batch>, receiver: F)
where
    F: FnOnce(AdvertSocket, Steps) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let lan = Lan::new(2);
    let (sent_tx, sent) = mpsc::channel::<()>();
    let (ready, ready_rx) = mpsc::channel::<()>();
    let node = lan.nodes[1].spawn(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3).with_vrid(51);
        let sock = AdvertSocket::open(cfg).unwrap();
        sock.set_wake_on(WakeOn::PriorityZero).unwrap();
        receiver(sock, Steps { ready, sent }).await;
    });
    for batch in batches {
        if ready_rx.recv().is_err() {
            break; // the receiver ended early: its panic is re-raised below
        }
        send_from(&lan, family, batch);
        sent_tx.send(()).unwrap();
    }
    if let Err(p) = node.join() {
        std::panic::resume_unwind(p);
    }
}

fn sleeping_backup_reads_later_and_wakes_for_priority_zero(family: AddressFamily) {
    let batches = vec![
        vec![(51, 100), (51, 101), (51, 102)],
        vec![(51, 0)],
        vec![(51, 110), (52, 100), (51, 0)],
        vec![(51, 120)],
    ];
    sleeping_backup_receives(family, batches, |sock, steps| async move {
        assert_eq!(sock.wake_on(), WakeOn::PriorityZero);

        // Step 1: three ordinary adverts of our VRID do not wake the reader...
        steps.next();
        let woke = woken_by(&sock, Duration::from_millis(300)).await;
        assert!(woke.is_none(), "woken by an ordinary advert: {woke:?}");
        // ...but wait in the socket, in order, with their kernel receive times.
        let mut got = Vec::new();
        while let Some(x) = sock
            .try_recv_with(|rx| (rx.advert.priority(), rx.received_at))
            .unwrap()
        {
            got.push(x);
        }
        let prios: Vec<u8> = got.iter().map(|g| g.0).collect();
        assert_eq!(prios, vec![100, 101, 102]);
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "arrival order");

        // Step 2: a priority-0 advert wakes it, and is handed over exactly once.
        steps.next();
        let p = woken_by(&sock, Duration::from_secs(5))
            .await
            .expect("woken by priority 0");
        assert_eq!(p, 0);
        assert_eq!(sock.try_recv_with(|rx| rx.advert.priority()).unwrap(), None);

        // Step 3: another VRID's advert wakes it and is counted once (not twice: both
        // sockets queue it), an ordinary one before it is handed over first.
        steps.next();
        let mut seen = Vec::new();
        while seen.last() != Some(&0) {
            let p = woken_by(&sock, Duration::from_secs(5))
                .await
                .expect("advert within 5 s");
            seen.push(p);
        }
        assert_eq!(seen, vec![110, 0]);
        assert_eq!(sock.stats().counters.vrid_errors, 1, "{:?}", sock.stats());

        // Step 4: back to waking for every advert.
        sock.set_wake_on(WakeOn::EveryAdvert).unwrap();
        steps.next();
        let p = woken_by(&sock, Duration::from_secs(5))
            .await
            .expect("woken by an ordinary advert");
        assert_eq!(p, 120);
        assert_eq!(sock.try_recv_with(|rx| rx.advert.priority()).unwrap(), None);
    });
}

#[test]
fn ipv4_sleeping_backup_reads_later_and_wakes_for_priority_zero() {
    sleeping_backup_reads_later_and_wakes_for_priority_zero(AddressFamily::Ipv4);
}

#[test]
fn ipv6_sleeping_backup_reads_later_and_wakes_for_priority_zero() {
    sleeping_backup_reads_later_and_wakes_for_priority_zero(AddressFamily::Ipv6);
}

/// `set_wake_after`: while sleeping through adverts, the first ordinary advert received at
/// or after the wake time wakes the reader (the kernel's eBPF filter compares the times);
/// before it, or with no wake time, ordinary adverts wait. Each advert is handed over once.
fn sleeping_backup_wakes_for_the_advert_after_its_wake_time(family: AddressFamily) {
    let batches = vec![vec![(51, 100), (51, 101)], vec![(51, 102)], vec![(51, 103)]];
    sleeping_backup_receives(family, batches, |sock, steps| async move {
        let later = std::time::Instant::now() + Duration::from_secs(60);
        assert!(
            sock.set_wake_after(Some(later)),
            "the eBPF wake filter did not load"
        );

        // Step 1: before the wake time, ordinary adverts wait.
        steps.next();
        let woke = woken_by(&sock, Duration::from_millis(300)).await;
        assert!(woke.is_none(), "woken before the wake time: {woke:?}");
        // Step 2: the wake time has passed: the next advert wakes the reader, and the two
        // slept through come first.
        assert!(sock.set_wake_after(Some(std::time::Instant::now())));
        steps.next();
        let mut got = vec![woken_by(&sock, Duration::from_secs(5))
            .await
            .expect("woken by the advert after the wake time")];
        while let Some(p) = sock.try_recv_with(|rx| rx.advert.priority()).unwrap() {
            got.push(p);
        }
        // Both sockets queued the waking advert: its second copy is not handed over.
        if let Some(p) = woken_by(&sock, Duration::from_millis(300)).await {
            got.push(p);
        }
        assert_eq!(got, vec![100, 101, 102]);
        // Step 3: no wake time: ordinary adverts wait again.
        assert!(sock.set_wake_after(None));
        steps.next();
        let woke = woken_by(&sock, Duration::from_millis(300)).await;
        assert!(woke.is_none(), "woken with no wake time: {woke:?}");
        assert_eq!(
            sock.try_recv_with(|rx| rx.advert.priority()).unwrap(),
            Some(103)
        );
        assert_eq!(sock.stats().counters.vrid_errors, 0, "{:?}", sock.stats());
    });
}

#[test]
fn ipv4_sleeping_backup_wakes_for_the_advert_after_its_wake_time() {
    sleeping_backup_wakes_for_the_advert_after_its_wake_time(AddressFamily::Ipv4);
}

#[test]
fn ipv6_sleeping_backup_wakes_for_the_advert_after_its_wake_time() {
    sleeping_backup_wakes_for_the_advert_after_its_wake_time(AddressFamily::Ipv6);
}

/// keepalived's `auth_type AH`: the VRRP message sits 24 octets further in, behind the AH.
/// The sleeping Backup's kernel filter must read the VRID and priority there: ordinary
/// adverts wait, priority 0 and another VRID wake it. One sender socket throughout, so its AH
/// sequence numbers rise and none is dropped as a replay.
#[test]
fn ipv4_ah_sleeping_backup_reads_later_and_wakes_for_priority_zero() {
    const KEY: [u8; 8] = *b"hakit\0\0\0";
    let v2 = |vrid: u8, prio: u8| {
        let vips = AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100)]).unwrap();
        Advert::v2(vrid, prio, 1, Auth::IpAh, vips)
    };
    let lan = Lan::new(2);
    let (batch_tx, batch_rx) = mpsc::channel::<Batch>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let sender = lan.nodes[0].spawn(move || async move {
        let cfg =
            AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2).with_ip_ah(KEY);
        let sock = AdvertSocket::open(cfg).unwrap();
        while let Ok(batch) = batch_rx.recv() {
            for (vrid, prio) in batch {
                sock.send_advert(&v2(vrid, prio)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            done_tx.send(()).unwrap();
        }
    });
    let (sent_tx, sent) = mpsc::channel::<()>();
    let (ready, ready_rx) = mpsc::channel::<()>();
    let receiver = lan.nodes[1].spawn(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2)
            .with_vrid(51)
            .with_ip_ah(KEY);
        let sock = AdvertSocket::open(cfg).unwrap();
        sock.set_wake_on(WakeOn::PriorityZero).unwrap();
        let steps = Steps { ready, sent };

        steps.next();
        let woke = woken_by(&sock, Duration::from_millis(300)).await;
        assert!(woke.is_none(), "woken by an ordinary advert: {woke:?}");
        let mut prios = Vec::new();
        while let Some(p) = sock.try_recv_with(|rx| rx.advert.priority()).unwrap() {
            prios.push(p);
        }
        assert_eq!(prios, vec![100, 101]);

        steps.next();
        assert_eq!(woken_by(&sock, Duration::from_secs(5)).await, Some(0));

        steps.next();
        let mut seen = Vec::new();
        while seen.last() != Some(&0) {
            seen.push(
                woken_by(&sock, Duration::from_secs(5))
                    .await
                    .expect("advert within 5 s"),
            );
        }
        assert_eq!(seen, vec![110, 0]);
        let c = sock.stats().counters;
        assert_eq!(c.vrid_errors, 1, "{c:?}");
        assert_eq!(c.auth_failures, 0, "no replay or ICV failure: {c:?}");
    });
    let batches: Vec<Batch> = vec![
        vec![(51, 100), (51, 101)],
        vec![(51, 0)],
        vec![(51, 110), (52, 100), (51, 0)],
    ];
    for batch in batches {
        if ready_rx.recv().is_err() {
            break;
        }
        batch_tx.send(batch).unwrap();
        done_rx.recv().unwrap();
        sent_tx.send(()).unwrap();
    }
    drop(batch_tx);
    if let Err(p) = receiver.join() {
        std::panic::resume_unwind(p);
    }
    sender.join().unwrap();
}
