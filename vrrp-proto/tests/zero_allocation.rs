//! Parsing and emitting never touch the heap: a counting global allocator sees no allocation
//! during decode + validate + to_advert, encode (with and without IPv4 header and trailer),
//! the incremental priority update, and rejecting bad input.
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use vrrp_proto::{
    decode_ipv4, decode_ipv6, AddressFamily, AddressList, Advert, AuthSequence, AuthTrailerSigner,
    ChecksumMode, DecodeOptions, Ipv4Params, PseudoHeader, VrrpPacket,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

// One test function only, so no other test thread allocates while we count.
#[test]
fn decode_and_encode_do_not_allocate() {
    let v4: Vec<Ipv4Addr> = (0..16).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let v6: Vec<std::net::Ipv6Addr> = (0..16)
        .map(|i| std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
        .collect();
    let a4 = Advert::v3(51, 200, 100, AddressList::from_v4(&v4).unwrap());
    let a6 = Advert::v3(51, 200, 100, AddressList::from_v6(&v6).unwrap());
    let key = [7u8; 32];
    let mut buf = [0u8; 1024];
    let mut buf6 = [0u8; 1024];
    let src6: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
    let ph6 = PseudoHeader::v6(src6, vrrp_proto::VRRP_MCAST_V6);
    let ip = Ipv4Params::multicast(Ipv4Addr::new(10, 0, 0, 1));
    let mut sink = 0usize;

    let n = allocations_during(|| {
        let signer = AuthTrailerSigner {
            key: &key,
            key_id: 1,
            sequence: AuthSequence::from_u64(1),
        };
        for mode in ChecksumMode::ALL {
            let n = a4.encode_ipv4(&mut buf, &ip, mode, None).unwrap();
            let rx = decode_ipv4(&buf[..n], &DecodeOptions::default()).unwrap();
            sink += rx.addresses().count() + rx.to_advert().addresses.len();
            let n = a4.encode_ipv4(&mut buf, &ip, mode, Some(&signer)).unwrap();
            let rx = decode_ipv4(&buf[..n], &DecodeOptions::default()).unwrap();
            sink += usize::from(rx.verify_auth_trailer(|_| Some(&key[..])).is_ok());
            let m = a6.encode_payload(&mut buf6, &ph6, mode, None).unwrap();
            let rx = decode_ipv6(
                &buf6[..m],
                src6,
                vrrp_proto::VRRP_MCAST_V6,
                255,
                &DecodeOptions::default(),
            )
            .unwrap();
            sink += rx.to_advert().addresses.len();
        }
        let n = a4
            .encode_ipv4(&mut buf, &ip, ChecksumMode::Rfc5798PseudoHeader, None)
            .unwrap();
        let mut p = VrrpPacket::new_checked(&mut buf[20..n], AddressFamily::Ipv4).unwrap();
        p.update_priority(0);
        // Rejections allocate nothing either.
        buf[22] ^= 1;
        sink += usize::from(decode_ipv4(&buf[..n], &DecodeOptions::default()).is_err());
        sink += usize::from(decode_ipv4(&buf[..7], &DecodeOptions::default()).is_err());
    });
    assert_eq!(n, 0, "heap allocations during decode/encode");
    assert!(sink > 0);
}
