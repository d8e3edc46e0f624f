//! Cost of one event in the VRRP state machine: `handle_advert` (a Backup hearing its Master)
//! and `handle_timeout` (a Master's advert timer), on one instance and on a router of 1,000.
//! Each iteration is one event plus draining the actions it produced.
//!
//! Run: `cargo bench --bench fsm_events`
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vrrp_fsm::{Instance, InstanceConfig, Router, State, VirtualAddress};
use vrrp_proto::{AddressList, Advert};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn vrid(k: usize) -> u8 {
    (k % 255 + 1) as u8
}

fn cfg(k: usize, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(vrid(k), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)));
    c.priority = priority;
    c.vips.push(VirtualAddress::host(VIP));
    c
}

/// The Master's advert for instance `k`. A driver decodes every packet into one reused buffer,
/// so the 1,000-instance benches reuse one too, changing only the VRID.
fn advert(k: usize) -> Advert {
    Advert::v3(vrid(k), 200, 100, AddressList::from_slice(&[VIP]).unwrap())
}

fn bench_handle_advert(c: &mut Criterion) {
    let mut g = c.benchmark_group("handle_advert");

    let mut backup = Instance::new(cfg(0, 100)).unwrap();
    let mut now = Instant::now();
    backup.startup(now);
    while backup.poll_action().is_some() {}
    let adv = advert(0);
    g.bench_function("1 instance", |b| {
        b.iter(|| {
            now += Duration::from_millis(1);
            backup.handle_advert(now, PEER, black_box(&adv)).unwrap();
            while let Some(a) = backup.poll_action() {
                black_box(a);
            }
        })
    });
    assert_eq!(backup.state(), State::Backup);

    let mut router = Router::new();
    let ids: Vec<_> = (0..1000)
        .map(|k| router.add_instance(cfg(k, 100)).unwrap())
        .collect();
    let mut adv = advert(0);
    let mut now = Instant::now();
    router.startup(now);
    while router.poll_action().is_some() {}
    let mut k = 0;
    g.bench_function("1000 instances", |b| {
        b.iter(|| {
            // Round-robin: each instance hears its Master once a second.
            k = (k + 1) % ids.len();
            now += Duration::from_millis(1);
            adv.vrid = vrid(k);
            router
                .handle_advert(now, ids[k], PEER, black_box(&adv))
                .unwrap();
            while let Some(a) = router.poll_action() {
                black_box(a);
            }
        })
    });
    assert!(router.instances().all(|(_, i)| i.state() == State::Backup));
    g.finish();
}

fn bench_handle_timeout(c: &mut Criterion) {
    let mut g = c.benchmark_group("handle_timeout");

    let mut master = Instance::new(cfg(0, 255)).unwrap();
    master.startup(Instant::now());
    while master.poll_action().is_some() {}
    g.bench_function("1 instance", |b| {
        b.iter(|| {
            let now = master.poll_timeout().unwrap();
            master.handle_timeout(black_box(now));
            while let Some(a) = master.poll_action() {
                black_box(a);
            }
        })
    });

    // 1,000 owners started 1 ms apart: their advert timers interleave, one fires per event.
    let mut router = Router::new();
    let t0 = Instant::now();
    for k in 0..1000 {
        router.add_instance(cfg(k, 255)).unwrap();
        router.startup(t0 + Duration::from_millis(k as u64));
    }
    while router.poll_action().is_some() {}
    g.bench_function("1000 instances", |b| {
        b.iter(|| {
            let now = router.poll_timeout().unwrap();
            router.handle_timeout(black_box(now));
            while let Some(a) = router.poll_action() {
                black_box(a);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_handle_advert, bench_handle_timeout);
criterion_main!(benches);
