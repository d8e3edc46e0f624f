//! Checksum modes (RFC 5798, RFC 9568 / `v3_checksum_as_v2`, keepalived's old unicast form),
//! auto-detection on receive, the RFC 1624 incremental update, and the `auth_hmac` trailer.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_proto::{
    checksum, decode_ipv4, decode_ipv6, AddressFamily, AddressList, Advert, AuthSequence,
    AuthTrailer, AuthTrailerSigner, ChecksumMode, ChecksumModes, DecodeError, DecodeOptions,
    Ipv4Params, PseudoHeader, VrrpPacket, AUTH_EXT_HMAC_SHA256,
};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn advert() -> Advert {
    Advert::v3(
        51,
        200,
        100,
        AddressList::from_v4(&[Ipv4Addr::new(10, 99, 0, 100)]).unwrap(),
    )
}

fn unicast(mode: ChecksumMode) -> Vec<u8> {
    let mut buf = vec![0u8; 128];
    let n = advert()
        .encode_ipv4(&mut buf, &Ipv4Params::new(SRC, PEER), mode, None)
        .unwrap();
    buf.truncate(n);
    buf
}

/// Independent computation from the RFC text: sum of an explicit pseudo-header and message.
fn rfc5798_ok(src: Ipv4Addr, dst: Ipv4Addr, msg: &[u8]) -> bool {
    let mut b = Vec::new();
    b.extend_from_slice(&src.octets());
    b.extend_from_slice(&dst.octets());
    b.extend_from_slice(&[0, 112]);
    b.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    b.extend_from_slice(msg);
    checksum(&b) == 0
}

#[test]
fn each_mode_is_computed_as_documented() {
    let p = unicast(ChecksumMode::Rfc5798PseudoHeader);
    assert!(rfc5798_ok(SRC, PEER, &p[20..]));
    let p = unicast(ChecksumMode::NoPseudoHeader);
    assert_eq!(checksum(&p[20..]), 0);
    let p = unicast(ChecksumMode::LegacyUnicastMcastDst);
    assert!(rfc5798_ok(SRC, Ipv4Addr::new(224, 0, 0, 18), &p[20..]));
    assert!(!rfc5798_ok(SRC, PEER, &p[20..]));
}

#[test]
fn decoder_reports_the_mode_that_matched() {
    for mode in ChecksumMode::ALL {
        let p = unicast(mode);
        let rx = decode_ipv4(&p, &DecodeOptions::default()).unwrap();
        assert_eq!(rx.checksum_mode(), mode);
    }
}

#[test]
fn accepted_set_is_enforced() {
    let p = unicast(ChecksumMode::LegacyUnicastMcastDst);
    let strict = DecodeOptions {
        checksum_modes: ChecksumModes::ALL.without(ChecksumMode::LegacyUnicastMcastDst),
        ..DecodeOptions::default()
    };
    assert_eq!(decode_ipv4(&p, &strict).unwrap_err(), DecodeError::Checksum);
    let p = unicast(ChecksumMode::NoPseudoHeader);
    let rfc_only = DecodeOptions {
        checksum_modes: ChecksumMode::Rfc5798PseudoHeader.into(),
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4(&p, &rfc_only).unwrap_err(),
        DecodeError::Checksum
    );
    let none = DecodeOptions {
        checksum_modes: ChecksumModes::NONE,
        ..DecodeOptions::default()
    };
    assert_eq!(decode_ipv4(&p, &none).unwrap_err(), DecodeError::Checksum);
}

#[test]
fn v2_ignores_the_mode() {
    let a = Advert::v2(
        1,
        100,
        1,
        vrrp_proto::Auth::None,
        AddressList::from_v4(&[PEER]).unwrap(),
    );
    let mut buf = [0u8; 64];
    let n = a
        .encode_ipv4(
            &mut buf,
            &Ipv4Params::multicast(SRC),
            ChecksumMode::Rfc5798PseudoHeader,
            None,
        )
        .unwrap();
    assert_eq!(checksum(&buf[20..n]), 0);
    let opts = DecodeOptions {
        checksum_modes: ChecksumModes::NONE,
        ..DecodeOptions::default()
    };
    let rx = decode_ipv4(&buf[..n], &opts).unwrap();
    assert_eq!(rx.checksum_mode(), ChecksumMode::NoPseudoHeader);
}

#[test]
fn incremental_priority_update_matches_full_recompute_in_every_mode() {
    let ph = PseudoHeader::v4(SRC, PEER);
    for mode in ChecksumMode::ALL {
        let mut p = unicast(mode);
        for prio in [0u8, 1, 100, 254, 255, 7] {
            let mut view = VrrpPacket::new_checked(&mut p[20..], AddressFamily::Ipv4).unwrap();
            view.update_priority(prio);
            let incr = view.checksum();
            assert_eq!(view.verify_checksum(&ph, mode.into()), Some(mode));
            let mut full = p[20..].to_vec();
            let mut fv = VrrpPacket::new_checked(&mut full[..], AddressFamily::Ipv4).unwrap();
            fv.fill_checksum(&ph, mode);
            // Equal, or the two encodings of one's-complement zero.
            let full_c = fv.checksum();
            assert!(
                incr == full_c || (incr ^ full_c) == 0xffff,
                "{mode:?} {prio}"
            );
            let rx = decode_ipv4(&p, &DecodeOptions::default()).unwrap();
            assert_eq!(rx.priority(), prio);
            assert_eq!(rx.checksum_mode(), mode);
        }
    }
}

#[test]
fn hmac_matches_an_independent_computation_ipv4() {
    // Expected value computed outside Rust (Python hmac/hashlib) from the layout of
    // keepalived's vrrp_auth_hmac.c: pseudo(4, ver, vrid, 0, src padded to 16) || message with
    // checksum zeroed || trailer prefix || 16 zero octets.
    let msg = [0x31, 51, 200, 1, 0x00, 0x64, 0xde, 0xad, 10, 99, 0, 100];
    let t = AuthTrailer {
        ext_type: AUTH_EXT_HMAC_SHA256,
        key_id: 3,
        reserved: 0,
        sequence: AuthSequence {
            seconds: 1_700_000_000,
            subseconds: 0x4000,
            counter: 1,
        },
        hmac: [0; 16],
    };
    let mac = t.compute_hmac(KEY, IpAddr::V4(SRC), &msg);
    assert_eq!(hex(&mac), "56f520c1495494d97f2afa311fb8470c");
}

#[test]
fn hmac_matches_an_independent_computation_ipv6() {
    let mut msg = vec![0x31, 7, 100, 1, 0x00, 0x64, 0, 0];
    msg.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
    let t = AuthTrailer {
        ext_type: AUTH_EXT_HMAC_SHA256,
        key_id: 9,
        reserved: 0,
        sequence: AuthSequence::from_u64(0x0102_0304_0506_0708),
        hmac: [0; 16],
    };
    let mac = t.compute_hmac(KEY, "fe80::1".parse().unwrap(), &msg);
    assert_eq!(hex(&mac), "7d89020f5fd983ad56b09e63e27f747f");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn ipv6_checksum_covers_the_trailer_ipv4_does_not() {
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let dst = vrrp_proto::VRRP_MCAST_V6;
    let a = Advert::v3(
        7,
        100,
        100,
        AddressList::from_v6(&["2001:db8::7".parse().unwrap()]).unwrap(),
    );
    let signer = AuthTrailerSigner {
        key: KEY,
        key_id: 9,
        sequence: AuthSequence::from_u64(42),
    };
    let mut buf = [0u8; 128];
    let n = a
        .encode_payload(
            &mut buf,
            &PseudoHeader::v6(src, dst),
            ChecksumMode::Rfc5798PseudoHeader,
            Some(&signer),
        )
        .unwrap();
    assert_eq!(n, 24 + 28);
    // What the kernel's IPV6_CHECKSUM verifies: pseudo-header over the whole payload.
    let mut b = Vec::new();
    b.extend_from_slice(&src.octets());
    b.extend_from_slice(&dst.octets());
    b.extend_from_slice(&(n as u32).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 112]);
    b.extend_from_slice(&buf[..n]);
    assert_eq!(checksum(&b), 0);
    let rx = decode_ipv6(&buf[..n], src, dst, 255, &DecodeOptions::default()).unwrap();
    let t = rx
        .verify_auth_trailer(|id| (id == 9).then_some(KEY))
        .unwrap();
    assert_eq!(t.sequence.as_u64(), 42);

    let signer4 = AuthTrailerSigner {
        key: KEY,
        key_id: 1,
        sequence: AuthSequence::from_u64(43),
    };
    let mut buf4 = [0u8; 128];
    let n4 = advert()
        .encode_ipv4(
            &mut buf4,
            &Ipv4Params::multicast(SRC),
            ChecksumMode::Rfc5798PseudoHeader,
            Some(&signer4),
        )
        .unwrap();
    assert_eq!(n4, 20 + 12 + 28);
    assert!(rfc5798_ok(SRC, Ipv4Addr::new(224, 0, 0, 18), &buf4[20..32]));
    let rx = decode_ipv4(&buf4[..n4], &DecodeOptions::default()).unwrap();
    assert_eq!(rx.packet().message().len(), 12);
    assert!(rx.verify_auth_trailer(|_| Some(KEY)).is_ok());
}

#[test]
fn one_signed_advert_verifies_at_every_unicast_peer() {
    // The HMAC excludes the destination, so keepalived copies one signed advert to each peer.
    let signer = AuthTrailerSigner {
        key: KEY,
        key_id: 1,
        sequence: AuthSequence::from_u64(7),
    };
    for peer in [PEER, Ipv4Addr::new(10, 99, 0, 3)] {
        let mut buf = [0u8; 128];
        let n = advert()
            .encode_ipv4(
                &mut buf,
                &Ipv4Params::new(SRC, peer),
                ChecksumMode::Rfc5798PseudoHeader,
                Some(&signer),
            )
            .unwrap();
        let rx = decode_ipv4(&buf[..n], &DecodeOptions::unicast()).unwrap();
        assert!(rx.verify_auth_trailer(|_| Some(KEY)).is_ok());
    }
}

#[test]
fn encode_rejects_what_cannot_go_on_the_wire() {
    use vrrp_proto::EncodeError;
    let mut buf = [0u8; 16];
    let ip = Ipv4Params::multicast(SRC);
    assert_eq!(
        advert().encode_ipv4(&mut buf, &ip, ChecksumMode::NoPseudoHeader, None),
        Err(EncodeError::BufferTooSmall { needed: 32 })
    );
    let mut big = [0u8; 64];
    let mut a = advert();
    a.vrid = 0;
    assert_eq!(
        a.encode_ipv4(&mut big, &ip, ChecksumMode::NoPseudoHeader, None),
        Err(EncodeError::InvalidVrid)
    );
    let mut a = advert();
    a.max_adver_int = 4096;
    assert_eq!(
        a.encode_ipv4(&mut big, &ip, ChecksumMode::NoPseudoHeader, None),
        Err(EncodeError::IntervalOutOfRange)
    );
    let six = Advert::v3(
        1,
        1,
        1,
        AddressList::from_v6(&[Ipv6Addr::LOCALHOST]).unwrap(),
    );
    assert_eq!(
        six.encode_ipv4(&mut big, &ip, ChecksumMode::NoPseudoHeader, None),
        Err(EncodeError::FamilyMismatch)
    );
    let mut a = advert();
    a.auth = vrrp_proto::Auth::SimplePassword([0; 8]);
    assert_eq!(
        a.encode_ipv4(&mut big, &ip, ChecksumMode::NoPseudoHeader, None),
        Err(EncodeError::AuthOnV3)
    );
}
