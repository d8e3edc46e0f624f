//! vrrp-proto codec speed: decode+validate and encode, against the bare Internet checksum of
//! the same octets as the baseline.
//!
//! Run: `cargo bench --bench advert_codec`; medians are in
//! `target/criterion/<group>/<function>/new/estimates.json` (vrrp-proto/README.md has a table).
//!
//! `decode_validate` is the zero-copy path (`decode_*` returns a `ReceivedAdvert` borrowing
//! the packet); `decode_copy_into` adds copying into a reused `Advert`; `decode_to_owned`
//! builds a fresh `Advert` (and drops it).
//!
//! No routine returns a large value: criterion 0.5's `iter` passes the routine's result
//! through its own `black_box`, a `read_volatile` that the compiler lowers to one load per
//! octet, which costs far more than building an `Advert`. Results are kept alive with
//! `std::hint::black_box(&value)` inside the routine instead.
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use hakit::proto::{
    checksum, decode_ipv4, decode_ipv6, AddressList, Advert, Auth, ChecksumMode, DecodeOptions,
    Ipv4Params, PseudoHeader, VRRP_MCAST_V6,
};

const SRC4: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

fn src6() -> Ipv6Addr {
    "fe80::99:ff:fe00:1".parse().unwrap()
}

fn v4_list(n: u8) -> AddressList {
    let a: Vec<Ipv4Addr> = (0..n).map(|i| Ipv4Addr::new(10, 99, 0, 100 + i)).collect();
    AddressList::from_v4(&a).unwrap()
}

fn v6_list(n: u16) -> AddressList {
    let a: Vec<Ipv6Addr> = (0..n)
        .map(|i| Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 0x100 + i))
        .collect();
    AddressList::from_v6(&a).unwrap()
}

enum Case {
    V4(Advert),
    V6(Advert),
}

fn bench_case(c: &mut Criterion, name: &str, case: Case) {
    let mut group = c.benchmark_group(name);
    let opts = DecodeOptions::default();
    let mode = ChecksumMode::Rfc5798PseudoHeader;
    let mut out = [0u8; 1024];
    match case {
        Case::V4(advert) => {
            let ip = Ipv4Params::multicast(SRC4);
            let n = advert.encode_ipv4(&mut out, &ip, mode, None).unwrap();
            let wire = out[..n].to_vec();
            assert!(decode_ipv4(&wire, &opts).is_ok());
            group.bench_function("checksum", |b| b.iter(|| checksum(black_box(&wire))));
            group.bench_function("decode_validate", |b| {
                b.iter(|| {
                    let rx = decode_ipv4(black_box(&wire), &opts).unwrap();
                    black_box((rx.priority(), rx.checksum_mode()));
                })
            });
            group.bench_function("decode_to_owned", |b| {
                b.iter(|| {
                    let advert = decode_ipv4(black_box(&wire), &opts).unwrap().to_advert();
                    black_box(&advert);
                })
            });
            let mut reused = advert.clone();
            group.bench_function("decode_copy_into", |b| {
                b.iter(|| {
                    decode_ipv4(black_box(&wire), &opts)
                        .unwrap()
                        .copy_into(&mut reused);
                    black_box(&reused);
                })
            });
            group.bench_function("encode", |b| {
                b.iter(|| {
                    black_box(&advert)
                        .encode_ipv4(black_box(&mut out), &ip, mode, None)
                        .unwrap()
                })
            });
        }
        Case::V6(advert) => {
            let dst = VRRP_MCAST_V6;
            let ph = PseudoHeader::v6(src6(), dst);
            let n = advert.encode_payload(&mut out, &ph, mode, None).unwrap();
            let wire = out[..n].to_vec();
            let src = src6();
            assert!(decode_ipv6(&wire, src, dst, 255, &opts).is_ok());
            group.bench_function("checksum", |b| b.iter(|| checksum(black_box(&wire))));
            group.bench_function("decode_validate", |b| {
                b.iter(|| {
                    let rx = decode_ipv6(black_box(&wire), src, dst, 255, &opts).unwrap();
                    black_box((rx.priority(), rx.checksum_mode()));
                })
            });
            group.bench_function("decode_to_owned", |b| {
                b.iter(|| {
                    let advert = decode_ipv6(black_box(&wire), src, dst, 255, &opts)
                        .unwrap()
                        .to_advert();
                    black_box(&advert);
                })
            });
            let mut reused = advert.clone();
            group.bench_function("decode_copy_into", |b| {
                b.iter(|| {
                    decode_ipv6(black_box(&wire), src, dst, 255, &opts)
                        .unwrap()
                        .copy_into(&mut reused);
                    black_box(&reused);
                })
            });
            group.bench_function("encode", |b| {
                b.iter(|| {
                    black_box(&advert)
                        .encode_payload(black_box(&mut out), &ph, mode, None)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

fn codec(c: &mut Criterion) {
    let pw = Auth::SimplePassword(*b"secret\0\0");
    bench_case(
        c,
        "v2_ipv4_1",
        Case::V4(Advert::v2(51, 150, 1, pw, v4_list(1))),
    );
    bench_case(
        c,
        "v3_ipv4_1",
        Case::V4(Advert::v3(51, 200, 100, v4_list(1))),
    );
    bench_case(
        c,
        "v3_ipv4_16",
        Case::V4(Advert::v3(51, 200, 100, v4_list(16))),
    );
    bench_case(
        c,
        "v3_ipv6_1",
        Case::V6(Advert::v3(51, 200, 100, v6_list(1))),
    );
    bench_case(
        c,
        "v3_ipv6_16",
        Case::V6(Advert::v3(51, 200, 100, v6_list(16))),
    );
}

criterion_group!(benches, codec);
criterion_main!(benches);
