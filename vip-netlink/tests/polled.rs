//! The drivers' polled mode: an advert socket, an announcer and the VIP manager used from a
//! plain thread with no tokio runtime, the advert socket's descriptor waited on with
//! `poll(2)` as a caller's own event loop would. Real sockets in namespaces on a bridge.
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use common::{Capture, Lan, Netns};
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertTransport, Announcer, Change, Error,
    Vip, VipManager, WakeOn,
};
use vrrp_proto::{AddressList, Advert, Version};

fn advert(family: AddressFamily, priority: u8) -> Advert {
    let vips = match family {
        AddressFamily::Ipv4 => AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100)]).unwrap(),
        AddressFamily::Ipv6 => AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap(),
    };
    Advert::v3(51, priority, 100, vips)
}

/// Whether `fd` polls readable within `ms`.
fn readable_within(fd: i32, ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n == 1 && pfd.revents & libc::POLLIN != 0
}

/// Node 0 sends `prios` from a polled socket, 2 ms apart, after `go`.
fn send_polled(lan: &Lan, family: AddressFamily, prios: Vec<u8>) {
    lan.nodes[0].run_plain(move || {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3);
        let sock = AdvertSocket::open_polled(cfg).unwrap();
        for p in prios {
            assert_eq!(sock.try_send_advert(&advert(family, p)).unwrap(), 1);
            std::thread::sleep(Duration::from_millis(2));
        }
    });
}

fn polled_socket_in_a_plain_poll_loop(family: AddressFamily) {
    let lan = Lan::new(2);
    let (step_tx, step_rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let receiver = lan.nodes[1].spawn_plain(move || {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3).with_vrid(51);
        let sock = AdvertSocket::open_polled(cfg).unwrap();
        let fd = sock.as_raw_fd();
        // Waiting is the caller's job here: the async receive says so instead of hanging.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(sock.recv_advert()).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
        // The kernel turns receive timestamps on lazily (a deferred work item, when the first
        // socket asks for them): until then a datagram is stamped when it is read.
        std::thread::sleep(Duration::from_millis(200));
        ready_tx.send(()).unwrap();

        // Every advert wakes the poll; one drain hands them all over, in order.
        step_rx.recv().unwrap();
        assert!(readable_within(fd, 5000), "no advert polled readable");
        std::thread::sleep(Duration::from_millis(50));
        let mut got = Vec::new();
        while let Some(x) = sock
            .try_recv_ready_with(|rx| (rx.advert.priority(), rx.source, rx.received_at))
            .unwrap()
        {
            got.push(x);
        }
        let prios: Vec<u8> = got.iter().map(|g| g.0).collect();
        assert_eq!(prios, vec![100, 101, 102]);
        let src: IpAddr = match family {
            AddressFamily::Ipv4 => "10.0.0.1".parse().unwrap(),
            AddressFamily::Ipv6 => got[0].1,
        };
        assert!(got.iter().all(|g| g.1 == src));
        // Kernel arrival times, in order.
        assert!(got.windows(2).all(|w| w[0].2 < w[1].2), "arrival order");
        assert!(!readable_within(fd, 0), "drained socket still readable");
        assert_eq!(sock.stats().counters.rcvd_advertisements, 3);

        // Sleeping through adverts: ordinary ones leave the descriptor quiet and wait in
        // the socket; priority 0 makes it readable.
        sock.set_wake_on(WakeOn::PriorityZero).unwrap();
        ready_tx.send(()).unwrap();
        step_rx.recv().unwrap();
        assert!(!readable_within(fd, 300), "woken by an ordinary advert");
        let mut slept = Vec::new();
        while let Some(p) = sock.try_recv_with(|rx| rx.advert.priority()).unwrap() {
            slept.push(p);
        }
        assert_eq!(slept, vec![110, 111]);
        ready_tx.send(()).unwrap();
        step_rx.recv().unwrap();
        assert!(
            readable_within(fd, 5000),
            "priority 0 did not wake the poll"
        );
        let mut urgent = Vec::new();
        while let Some(p) = sock.try_recv_ready_with(|rx| rx.advert.priority()).unwrap() {
            urgent.push(p);
        }
        assert_eq!(urgent, vec![0]);
    });
    ready_rx.recv().unwrap();
    send_polled(&lan, family, vec![100, 101, 102]);
    step_tx.send(()).unwrap();
    ready_rx.recv().unwrap();
    send_polled(&lan, family, vec![110, 111]);
    step_tx.send(()).unwrap();
    ready_rx.recv().unwrap();
    send_polled(&lan, family, vec![0]);
    step_tx.send(()).unwrap();
    if let Err(p) = receiver.join() {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn polled_advert_socket_ipv4() {
    polled_socket_in_a_plain_poll_loop(AddressFamily::Ipv4);
}

#[test]
fn polled_advert_socket_ipv6() {
    polled_socket_in_a_plain_poll_loop(AddressFamily::Ipv6);
}

#[test]
fn polled_announcer_sends_a_gratuitous_arp_without_a_runtime() {
    let lan = Lan::new(2);
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let watcher = lan.nodes[1].spawn_plain(move || {
        let cap = Capture::open("eth0");
        ready_tx.send(()).unwrap();
        cap.find(|f| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[38..42] == [10, 0, 0, 100])
    });
    ready_rx.recv().unwrap();
    lan.nodes[0].run_plain(|| {
        let a = Announcer::new_polled("eth0").unwrap();
        a.try_announce("10.0.0.100".parse().unwrap()).unwrap();
        // The send-only socket never polls readable.
        assert!(!readable_within(a.as_raw_fd(), 0));
    });
    let frame = watcher
        .join()
        .unwrap()
        .expect("no gratuitous ARP on the wire");
    assert_eq!(&frame[0..6], &[0xff; 6], "broadcast");
}

#[test]
fn vip_manager_adds_and_removes_from_a_thread_without_a_runtime() {
    let ns = Netns::new("vipnow");
    ns.exec("ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up");
    let vips = ns.run(|| async { VipManager::new().unwrap() });
    let changes = ns
        .spawn_plain(move || {
            assert!(tokio::runtime::Handle::try_current().is_err());
            let v4 = Vip::new("d0", "192.0.2.10".parse().unwrap(), 24).unwrap();
            let v6 = Vip::new("d0", "2001:db8::10".parse().unwrap(), 64).unwrap();
            let mut out = Vec::new();
            for v in [&v4, &v6] {
                out.push(vips.add_now(v).unwrap());
                out.push(vips.add_now(v).unwrap());
            }
            let listed = std::process::Command::new("ip")
                .args(["addr", "show", "dev", "d0"])
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&listed.stdout).to_string();
            for v in [&v4, &v6] {
                out.push(vips.remove_now(v).unwrap());
                out.push(vips.remove_now(v).unwrap());
            }
            let missing = Vip::new("nosuch0", "192.0.2.11".parse().unwrap(), 24).unwrap();
            let err = vips.add_now(&missing).unwrap_err();
            (out, listed, err)
        })
        .join()
        .unwrap();
    let (out, listed, err) = changes;
    use Change::{Applied, Unchanged};
    assert_eq!(
        out,
        vec![Applied, Unchanged, Applied, Unchanged, Applied, Unchanged, Applied, Unchanged]
    );
    assert!(listed.contains("192.0.2.10/24"), "{listed}");
    assert!(listed.contains("2001:db8::10/64"), "{listed}");
    assert!(!ns.exec("ip addr show dev d0").contains("192.0.2.10"));
    assert!(matches!(err, Error::NoSuchInterface(_)), "{err}");
}

/// Sending never touches the descriptor the caller waits on: the kernel frees each sent
/// datagram with a write-space wake-up of its socket's waiters, and a Master at 10 ms
/// adverts would pay that walk of its `epoll` wait queue per advert. Watched edge-triggered
/// for output, the readiness descriptor sees no new edge however many adverts go out.
fn sends_leave_the_readiness_descriptor_alone(family: AddressFamily) {
    let lan = Lan::new(2);
    lan.nodes[0].run_plain(move || {
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3).with_vrid(51);
        let sock = AdvertSocket::open_polled(cfg).unwrap();
        // SAFETY: epoll_create1 has no memory preconditions; the result is checked.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(ep >= 0);
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLOUT | libc::EPOLLET) as u32,
            u64: 1,
        };
        // SAFETY: both descriptors are open; `ev` is a valid epoll_event.
        let rc = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, sock.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0);
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let mut wait = |ms: i32| {
            // SAFETY: `out` is a writable array of 4 epoll_events.
            unsafe { libc::epoll_wait(ep, out.as_mut_ptr(), 4, ms) }
        };
        // The first edge: a fresh socket is writable.
        assert_eq!(wait(1000), 1);
        for p in 0..20u8 {
            assert_eq!(sock.try_send_advert(&advert(family, 100 + p)).unwrap(), 1);
        }
        // Every datagram has long been freed by now: a write-space wake-up would show.
        assert_eq!(
            wait(200),
            0,
            "a send woke the readiness descriptor's waiters"
        );
        // SAFETY: `ep` is ours and closed once.
        unsafe { libc::close(ep) };
    });
}

#[test]
fn sends_leave_the_readiness_descriptor_alone_v4() {
    sends_leave_the_readiness_descriptor_alone(AddressFamily::Ipv4);
}

#[test]
fn sends_leave_the_readiness_descriptor_alone_v6() {
    sends_leave_the_readiness_descriptor_alone(AddressFamily::Ipv6);
}

/// A socket's queue keeps each datagram at its own length (the read lands in a per-thread
/// buffer first): adverts of different lengths, read one by one and then in batches of
/// eight, all come out whole and in order.
fn adverts_of_different_lengths_come_out_whole(family: AddressFamily) {
    let lan = Lan::new(2);
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (step_tx, step_rx) = mpsc::channel::<()>();
    let receiver = lan.nodes[1].spawn_plain(move || {
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3).with_vrid(51);
        let sock = AdvertSocket::open_polled(cfg).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        ready_tx.send(()).unwrap();
        step_rx.recv().unwrap();
        assert!(readable_within(sock.as_raw_fd(), 5000), "nothing arrived");
        std::thread::sleep(Duration::from_millis(100));
        let mut got = Vec::new();
        while let Some(x) = sock
            .try_recv_ready_with(|rx| {
                let addrs: Vec<IpAddr> = rx.advert.addresses().collect();
                (rx.advert.priority(), addrs)
            })
            .unwrap()
        {
            got.push(x);
        }
        assert_eq!(got.len(), 12, "{got:?}");
        // Sent longest first: advert j carries 12 - j addresses.
        for (j, (prio, addrs)) in got.iter().enumerate() {
            let k = 11 - j;
            assert_eq!(*prio, 100 + k as u8);
            assert_eq!(addrs, &addresses(family, k + 1), "advert {j}");
        }
    });
    ready_rx.recv().unwrap();
    lan.nodes[0].run_plain(move || {
        let cfg = AdvertSocketConfig::multicast("eth0", family, Version::V3);
        let sock = AdvertSocket::open_polled(cfg).unwrap();
        // Longest first, so a short one read after a long one shows any leftover octets.
        for k in (0..12).rev() {
            let list = AddressList::from_slice(&addresses(family, k + 1)).unwrap();
            let advert = Advert::v3(51, 100 + k as u8, 100, list);
            assert_eq!(sock.try_send_advert(&advert).unwrap(), 1);
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    step_tx.send(()).unwrap();
    if let Err(p) = receiver.join() {
        std::panic::resume_unwind(p);
    }
}

/// `n` addresses of `family`.
fn addresses(family: AddressFamily, n: usize) -> Vec<IpAddr> {
    (0..n)
        .map(|i| match family {
            AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100 + i as u8)),
            AddressFamily::Ipv6 => IpAddr::V6(format!("fd00::{:x}", 0x100 + i).parse().unwrap()),
        })
        .collect()
}

#[test]
fn adverts_of_different_lengths_come_out_whole_v4() {
    adverts_of_different_lengths_come_out_whole(AddressFamily::Ipv4);
}

#[test]
fn adverts_of_different_lengths_come_out_whole_v6() {
    adverts_of_different_lengths_come_out_whole(AddressFamily::Ipv6);
}
