//! Steady state allocates nothing: a counting global allocator watches `handle_advert`,
//! `handle_timeout`, `set_tracker` and `poll_action` on one instance and on a router of 1,000.
//!
//! (The lib itself is `#![forbid(unsafe_code)]`; implementing `GlobalAlloc` needs `unsafe`, so
//! this test binary has it, delegating straight to the system allocator.)
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_fsm::{
    Instance, InstanceConfig, Router, State, TrackerConfig, TrackerId, TrackerKind, TrackerState,
    VirtualAddress,
};
use vrrp_proto::{AddressList, Advert};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // try_with: the thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the bookkeeping touches only const-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(|n| n.get())
}

fn cfg(vrid: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(vrid, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)));
    c.priority = priority;
    c.garp_master_refresh = Duration::from_secs(7);
    c.vips.push(VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
        192, 0, 2, vrid,
    ))));
    c.trackers
        .push(TrackerConfig::new(TrackerId(1), TrackerKind::Script, -20));
    c
}

fn advert(vrid: u8, priority: u8) -> Advert {
    Advert::v3(
        vrid,
        priority,
        100,
        AddressList::from_slice(&[IpAddr::V4(Ipv4Addr::new(192, 0, 2, vrid))]).unwrap(),
    )
}

#[test]
fn steady_state_never_allocates() {
    // The counter works.
    assert_eq!(
        allocations_in(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(8)))),
        1
    );

    let peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    let lower_peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let t0 = Instant::now();

    // One Backup hearing its Master, with tracker flaps moving its priority.
    let mut backup = Instance::new(cfg(1, 100)).unwrap();
    backup.startup(t0);
    while backup.poll_action().is_some() {}
    let from_master = advert(1, 200);
    let mut now = t0;
    let n = allocations_in(|| {
        for k in 0..10_000u32 {
            now += Duration::from_secs(1);
            backup.handle_advert(now, peer, &from_master).unwrap();
            if k % 10 == 0 {
                let s = if k % 20 == 0 {
                    TrackerState::Down
                } else {
                    TrackerState::Up
                };
                backup.set_tracker(now, TrackerId(1), s).unwrap();
            }
            backup.handle_timeout(now);
            while backup.poll_action().is_some() {}
        }
    });
    assert_eq!(backup.state(), State::Backup);
    assert_eq!(n, 0, "Backup path allocated");

    // One Master: adverts, GARP bursts and refreshes, answering a lower priority.
    let mut master = Instance::new(cfg(1, 200)).unwrap();
    master.startup(t0);
    let mut now = master.poll_timeout().unwrap();
    master.handle_timeout(now);
    while master.poll_action().is_some() {}
    let lower = advert(1, 50);
    let n = allocations_in(|| {
        for k in 0..10_000u32 {
            now = master.poll_timeout().unwrap();
            master.handle_timeout(now);
            if k % 3 == 0 {
                master.handle_advert(now, lower_peer, &lower).unwrap();
            }
            while master.poll_action().is_some() {}
        }
    });
    assert_eq!(master.state(), State::Master);
    assert_eq!(n, 0, "Master path allocated");

    // A router of 1,000: 500 Masters and 500 Backups.
    let mut router = Router::new();
    let mut ids = Vec::new();
    for k in 0..1000u32 {
        let vrid = (k % 255 + 1) as u8;
        ids.push(
            router
                .add_instance(cfg(vrid, if k % 2 == 0 { 200 } else { 100 }))
                .unwrap(),
        );
    }
    router.startup(t0);
    let adverts: Vec<Advert> = (0..1000u32)
        .map(|k| advert((k % 255 + 1) as u8, 150))
        .collect();
    // Warm up: the priority-200 ones time out first and become Master; the others keep hearing.
    let mut now = t0;
    for _ in 0..10 {
        now += Duration::from_secs(1);
        for (k, id) in ids.iter().enumerate().filter(|(k, _)| k % 2 == 1) {
            router.handle_advert(now, *id, peer, &adverts[k]).unwrap();
        }
        router.handle_timeout(now);
        while router.poll_action().is_some() {}
    }
    let masters = router
        .instances()
        .filter(|(_, i)| i.state() == State::Master)
        .count();
    assert_eq!(masters, 500);
    let n = allocations_in(|| {
        for round in 0..20u32 {
            now += Duration::from_secs(1);
            for (k, id) in ids.iter().enumerate() {
                if k % 2 == 1 || round % 5 == 0 {
                    router.handle_advert(now, *id, peer, &adverts[k]).unwrap();
                }
            }
            router.handle_timeout(now);
            while router.poll_action().is_some() {}
        }
    });
    assert_eq!(n, 0, "Router path allocated");
}
