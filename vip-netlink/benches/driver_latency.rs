//! Named harness: latency of the drivers across two network namespaces on a bridge (root).
//!
//! `cargo bench -p vip-netlink --bench driver_latency` prints medians of
//! * advert ping-pong through two `AdvertSocket`s (send, raw receive, vrrp-proto validation,
//!   decode), against the same ping-pong through plain UDP sockets as a baseline (ratio);
//! * VIP add and remove over rtnetlink;
//! * one gratuitous ARP.
//!
//! Under `cargo test` (no `--bench` argument) it runs a few iterations as a smoke test.
#[path = "../tests/common/mod.rs"]
mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Lan;
use vip_netlink::{
    AddressFamily, AdvertSocket, AdvertSocketConfig, AdvertTransport, Announce, Announcer, Vip,
    VipManager, VipOps,
};
use vrrp_proto::{AddressList, Advert, Version};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn advert() -> Advert {
    Advert::v3(
        51,
        150,
        100,
        AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 100)]).unwrap(),
    )
}

/// Round trips of adverts: node 0 sends, node 1 echoes, node 0 waits for the echo.
fn advert_ping_pong(lan: &Lan, n: usize) -> Vec<Duration> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let echo = lan.nodes[1].spawn(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        ready_tx.send(()).unwrap();
        for _ in 0..n {
            let rx = sock.recv().await.unwrap();
            sock.send(&rx.advert).await.unwrap();
        }
    });
    ready_rx.recv().unwrap();
    let times = lan.nodes[0].run(move || async move {
        let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3);
        let sock = AdvertSocket::open(cfg).unwrap();
        let a = advert();
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            sock.send(&a).await.unwrap();
            sock.recv().await.unwrap();
            times.push(t.elapsed());
        }
        times
    });
    echo.join().unwrap();
    times
}

/// The same round trip with plain UDP sockets and a 40-octet payload.
fn udp_ping_pong(lan: &Lan, n: usize) -> Vec<Duration> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let echo = lan.nodes[1].spawn(move || async move {
        let s = tokio::net::UdpSocket::bind("10.0.0.2:9999").await.unwrap();
        ready_tx.send(()).unwrap();
        let mut buf = [0u8; 64];
        for _ in 0..n {
            let (len, from) = s.recv_from(&mut buf).await.unwrap();
            s.send_to(&buf[..len], from).await.unwrap();
        }
    });
    ready_rx.recv().unwrap();
    let times = lan.nodes[0].run(move || async move {
        let s = tokio::net::UdpSocket::bind("10.0.0.1:0").await.unwrap();
        let to: SocketAddr = "10.0.0.2:9999".parse().unwrap();
        let payload = [0u8; 40];
        let mut buf = [0u8; 64];
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            s.send_to(&payload, to).await.unwrap();
            s.recv_from(&mut buf).await.unwrap();
            times.push(t.elapsed());
        }
        times
    });
    echo.join().unwrap();
    times
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 5000 } else { 20 };
    let lan = Lan::new(2);

    let adv = median(advert_ping_pong(&lan, n));
    let udp = median(udp_ping_pong(&lan, n));
    let (add, del, garp) = lan.nodes[0].run(move || async move {
        let m = VipManager::new().unwrap();
        let a = Announcer::new("eth0").unwrap();
        let vip = Vip::new("eth0", "10.0.0.100".parse().unwrap(), 24).unwrap();
        let (mut add, mut del, mut garp) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let t = Instant::now();
            m.add(&vip).await.unwrap();
            add.push(t.elapsed());
            let t = Instant::now();
            m.remove(&vip).await.unwrap();
            del.push(t.elapsed());
            let t = Instant::now();
            a.announce(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)))
                .await
                .unwrap();
            garp.push(t.elapsed());
        }
        (median(add), median(del), median(garp))
    });
    println!("driver_latency ({n} iterations, medians)");
    println!("  advert round trip (AdvertSocket <-> AdvertSocket): {adv:?}");
    println!("  UDP round trip baseline:                           {udp:?}");
    println!(
        "  ratio advert / UDP:                                {:.2}",
        adv.as_secs_f64() / udp.as_secs_f64()
    );
    println!("  VIP add (rtnetlink):                               {add:?}");
    println!("  VIP remove (rtnetlink):                            {del:?}");
    println!("  gratuitous ARP send:                               {garp:?}");
}
