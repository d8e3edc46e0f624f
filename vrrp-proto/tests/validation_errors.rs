//! One test per validation failure: each bad packet is rejected with its own variant, and that
//! variant increments exactly one counter.
use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_proto::{
    checksum, decode_ipv4, decode_ipv4_ah, decode_ipv6, AddressFamily, AddressList, Advert, Auth,
    AuthSequence, AuthTrailerSigner, ChecksumMode, Counter, Counters, DecodeError, DecodeOptions,
    IpAhSequence, Ipv4Params, ProtoErrReason, PseudoHeader, Version, VrrpPacket,
};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn v3() -> Advert {
    Advert::v3(
        51,
        200,
        100,
        AddressList::from_v4(&[Ipv4Addr::new(10, 99, 0, 100)]).unwrap(),
    )
}

fn v2(auth: Auth) -> Advert {
    Advert::v2(
        51,
        150,
        1,
        auth,
        AddressList::from_v4(&[Ipv4Addr::new(10, 99, 0, 100)]).unwrap(),
    )
}

fn encode(a: &Advert) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let n = a
        .encode_ipv4(
            &mut buf,
            &Ipv4Params::multicast(SRC),
            ChecksumMode::Rfc5798PseudoHeader,
            None,
        )
        .unwrap();
    buf.truncate(n);
    buf
}

/// Recomputes total length, the IPv4 header checksum and the VRRP checksum after a mutation,
/// so only the mutated field is wrong.
fn fix(pkt: &mut [u8]) {
    let total = pkt.len() as u16;
    pkt[2..4].copy_from_slice(&total.to_be_bytes());
    pkt[10] = 0;
    pkt[11] = 0;
    let c = checksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    let ph = PseudoHeader::v4(SRC, vrrp_proto::VRRP_MCAST_V4);
    let mut p = VrrpPacket::new_unchecked(&mut pkt[20..], AddressFamily::Ipv4);
    if p.as_bytes().len() >= 8 && p.message_len() <= p.as_bytes().len() {
        p.fill_checksum(&ph, ChecksumMode::Rfc5798PseudoHeader);
    }
}

fn ip_fix(pkt: &mut [u8]) {
    pkt[10] = 0;
    pkt[11] = 0;
    let c = checksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

fn err(pkt: &[u8]) -> DecodeError {
    decode_ipv4(pkt, &DecodeOptions::default()).unwrap_err()
}

#[test]
fn baseline_packets_are_valid() {
    assert!(decode_ipv4(&encode(&v3()), &DecodeOptions::default()).is_ok());
    let mut p = encode(&v3());
    fix(&mut p);
    assert!(decode_ipv4(&p, &DecodeOptions::default()).is_ok());
    assert!(decode_ipv4(&encode(&v2(Auth::None)), &DecodeOptions::default()).is_ok());
}

#[test]
fn ipv4_truncated() {
    assert_eq!(err(&encode(&v3())[..19]), DecodeError::Ipv4Truncated);
    // IHL says 24 octets of header but only 22 arrived.
    let mut p = encode(&v3())[..22].to_vec();
    p[0] = 0x46;
    assert_eq!(err(&p), DecodeError::Ipv4Truncated);
}

#[test]
fn ipv4_version() {
    let mut p = encode(&v3());
    p[0] = 0x65;
    assert_eq!(err(&p), DecodeError::Ipv4Version);
}

#[test]
fn ipv4_header_length() {
    let mut p = encode(&v3());
    p[0] = 0x44;
    assert_eq!(err(&p), DecodeError::Ipv4HeaderLength);
}

#[test]
fn ipv4_total_length() {
    let mut p = encode(&v3());
    let t = p.len() as u16 + 1;
    p[2..4].copy_from_slice(&t.to_be_bytes());
    ip_fix(&mut p);
    assert_eq!(err(&p), DecodeError::Ipv4TotalLength);
}

#[test]
fn ipv4_protocol() {
    let mut p = encode(&v3());
    p[9] = 17;
    ip_fix(&mut p);
    assert_eq!(err(&p), DecodeError::Ipv4Protocol);
}

#[test]
fn ipv4_header_checksum() {
    let mut p = encode(&v3());
    p[10] ^= 0x01;
    assert_eq!(err(&p), DecodeError::Ipv4HeaderChecksum);
}

#[test]
fn ipv4_fragment() {
    let mut p = encode(&v3());
    p[6] = 0x20; // more fragments
    ip_fix(&mut p);
    assert_eq!(err(&p), DecodeError::Ipv4Fragment);
}

#[test]
fn ip_ttl() {
    let mut p = encode(&v3());
    p[8] = 64;
    ip_fix(&mut p);
    assert_eq!(err(&p), DecodeError::IpTtl { ttl: 64 });
    // Unicast peers: keepalived skips the TTL check.
    assert!(decode_ipv4(&p, &DecodeOptions::unicast()).is_ok());
    let src = "fe80::1".parse().unwrap();
    let six = encode6();
    assert_eq!(
        decode_ipv6(
            &six,
            src,
            vrrp_proto::VRRP_MCAST_V6,
            1,
            &DecodeOptions::default()
        )
        .unwrap_err(),
        DecodeError::IpTtl { ttl: 1 }
    );
}

fn encode6() -> Vec<u8> {
    let src: Ipv6Addr = "fe80::1".parse().unwrap();
    let a = Advert::v3(
        7,
        100,
        100,
        AddressList::from_v6(&["2001:db8::7".parse().unwrap()]).unwrap(),
    );
    let mut buf = vec![0u8; 256];
    let n = a
        .encode_payload(
            &mut buf,
            &PseudoHeader::v6(src, vrrp_proto::VRRP_MCAST_V6),
            ChecksumMode::Rfc5798PseudoHeader,
            None,
        )
        .unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn truncated() {
    // Count says 2 addresses, only 1 present.
    let mut p = encode(&v3());
    p[23] = 2;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::Truncated);
    // Shorter than the fixed header.
    let mut p = encode(&v3())[..26].to_vec();
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::Truncated);
}

#[test]
fn trailing_bytes() {
    let mut p = encode(&v3());
    p.extend_from_slice(&[0, 0, 0]);
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::TrailingBytes);
}

#[test]
fn version() {
    let mut p = encode(&v3());
    p[20] = 0x41;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::Version { version: 4 });
    // A v3 router receiving v2 (RFC 5798 §7.1: must match the configured version).
    let p = encode(&v2(Auth::None));
    let opts = DecodeOptions {
        version: Some(Version::V3),
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4(&p, &opts).unwrap_err(),
        DecodeError::Version { version: 2 }
    );
}

#[test]
fn v2_over_ipv6() {
    let mut six = encode6();
    six[0] = 0x21;
    let src = "fe80::1".parse().unwrap();
    assert_eq!(
        decode_ipv6(
            &six,
            src,
            vrrp_proto::VRRP_MCAST_V6,
            255,
            &DecodeOptions::default()
        )
        .unwrap_err(),
        DecodeError::V2OverIpv6
    );
}

#[test]
fn invalid_type() {
    let mut p = encode(&v3());
    p[20] = 0x32;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::InvalidType { msg_type: 2 });
}

#[test]
fn checksum_error() {
    let mut p = encode(&v3());
    p[22] ^= 0x10; // priority changed, checksum not
    assert_eq!(err(&p), DecodeError::Checksum);
    // IPv6 too.
    let mut six = encode6();
    six[2] ^= 0x10;
    let src = "fe80::1".parse().unwrap();
    assert_eq!(
        decode_ipv6(
            &six,
            src,
            vrrp_proto::VRRP_MCAST_V6,
            255,
            &DecodeOptions::default()
        )
        .unwrap_err(),
        DecodeError::Checksum
    );
}

#[test]
fn invalid_vrid() {
    let mut p = encode(&v3());
    p[21] = 0;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::InvalidVrid);
}

#[test]
fn invalid_interval() {
    let mut p = encode(&v3());
    p[24] = 0;
    p[25] = 0;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::InvalidInterval);
    let mut p = encode(&v2(Auth::None));
    p[25] = 0;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::InvalidInterval);
}

#[test]
fn empty_address_list() {
    let p = encode(&Advert::v3(1, 100, 100, AddressList::new_v4()));
    assert!(decode_ipv4(&p, &DecodeOptions::default()).is_ok());
    let strict = DecodeOptions {
        require_addresses: true,
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4(&p, &strict).unwrap_err(),
        DecodeError::EmptyAddressList
    );
}

#[test]
fn invalid_auth_type() {
    let mut p = encode(&v2(Auth::None));
    p[24] = 3;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::InvalidAuthType { auth_type: 3 });
}

const AH_KEY: &[u8; 8] = b"secret\0\0";

fn ah_packet(unicast: bool) -> Vec<u8> {
    let mut ip = Ipv4Params::multicast(SRC);
    ip.identification = 9;
    let mut buf = vec![0u8; 2048];
    let n = v2(Auth::IpAh)
        .encode_ipv4_ah(&mut buf, &ip, AH_KEY, 5, unicast)
        .unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn ip_ah_round_trip_and_what_it_covers() {
    let p = ah_packet(false);
    let (rx, ah) = decode_ipv4_ah(&p, AH_KEY, &DecodeOptions::default()).unwrap();
    assert_eq!(rx.to_advert(), v2(Auth::IpAh));
    assert_eq!((ah.spi, ah.sequence), (SRC.to_bits(), 5));
    // The mutable fields (TOS, TTL in unicast mode) may change on the way: the ICV holds.
    let mut q = ah_packet(true);
    q[1] = 0;
    q[8] = 64;
    ip_fix(&mut q);
    assert!(decode_ipv4_ah(&q, AH_KEY, &DecodeOptions::unicast()).is_ok());
    // In multicast mode the TTL is covered (and checked).
    let mut q = ah_packet(false);
    q[8] = 254;
    ip_fix(&mut q);
    let opts = DecodeOptions {
        check_ttl: false,
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4_ah(&q, AH_KEY, &opts).unwrap_err(),
        DecodeError::IpAhIcv
    );
    // The identification is covered.
    let mut q = ah_packet(false);
    q[5] ^= 1;
    ip_fix(&mut q);
    assert_eq!(
        decode_ipv4_ah(&q, AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhIcv
    );
}

#[test]
fn ip_ah_icv_with_another_key() {
    assert_eq!(
        decode_ipv4_ah(&ah_packet(false), b"Secret\0\0", &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhIcv
    );
    // A changed priority fails the ICV, which is checked before anything it covers.
    let mut p = ah_packet(false);
    p[20 + 24 + 2] = 255;
    assert_eq!(
        decode_ipv4_ah(&p, AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhIcv
    );
}

#[test]
fn ip_ah_malformed_and_spi() {
    let mut p = ah_packet(false);
    p[20] = 6; // next header TCP
    assert_eq!(
        decode_ipv4_ah(&p, AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhMalformed
    );
    let mut p = ah_packet(false);
    p.truncate(40);
    p[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip_fix(&mut p);
    assert_eq!(
        decode_ipv4_ah(&p, AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhMalformed
    );
    // An SPI other than the source fails (the SPI is covered by the ICV too: re-sign it).
    let mut p = ah_packet(false);
    p[24..28].copy_from_slice(&[10, 99, 0, 2]);
    let spi_sign = |p: &mut Vec<u8>| {
        // Recompute the ICV over the packet with the new SPI, as a sender with that SPI would.
        use hmac::{Hmac, Mac};
        let mut h = p[..20].to_vec();
        h[1] = 0;
        h[6] = 0;
        h[7] = 0;
        h[10] = 0;
        h[11] = 0;
        let mut ah = p[20..44].to_vec();
        ah[12..].fill(0);
        let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(AH_KEY).unwrap();
        mac.update(&h);
        mac.update(&ah);
        mac.update(&p[44..]);
        let icv = mac.finalize().into_bytes();
        p[32..44].copy_from_slice(&icv[..12]);
    };
    spi_sign(&mut p);
    assert_eq!(
        decode_ipv4_ah(&p, AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::IpAhSpi
    );
}

#[test]
fn ip_ah_replay() {
    let mut seq = IpAhSequence::default();
    assert_eq!(seq.accept(5), Ok(()));
    assert_eq!(seq.accept(5), Err(DecodeError::IpAhReplay));
    assert_eq!(seq.accept(4), Err(DecodeError::IpAhReplay));
    assert_eq!(seq.next_to_send(), 6);
    assert_eq!(seq.accept(6), Err(DecodeError::IpAhReplay));
}

#[test]
fn ip_ah_where_none_is_configured_and_none_where_ah_is() {
    // An AH packet given to the plain decoder: keepalived's "Received AH header but auth
    // type not AH".
    assert_eq!(
        decode_ipv4(&ah_packet(false), &DecodeOptions::default()).unwrap_err(),
        DecodeError::AuthTypeMismatch
    );
    // A plain packet given to the AH decoder: "No AH header but auth type is AH".
    assert_eq!(
        decode_ipv4_ah(&encode(&v2(Auth::None)), AH_KEY, &DecodeOptions::default()).unwrap_err(),
        DecodeError::AuthTypeMismatch
    );
    // VRRP auth type 2 without an AH in front.
    let mut p = encode(&v2(Auth::None));
    p[24] = 2;
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::AuthTypeMismatch);
    // The plain encoders refuse an AH advert, and the AH one needs an identification.
    let mut buf = [0u8; 128];
    assert_eq!(
        v2(Auth::IpAh).encode_ipv4(
            &mut buf,
            &Ipv4Params::multicast(SRC),
            ChecksumMode::NoPseudoHeader,
            None
        ),
        Err(vrrp_proto::EncodeError::IpAhNeedsHeader)
    );
    assert_eq!(
        v2(Auth::IpAh).encode_ipv4_ah(&mut buf, &Ipv4Params::multicast(SRC), AH_KEY, 1, false),
        Err(vrrp_proto::EncodeError::IpAhNeedsIdentification)
    );
}

#[test]
fn auth_type_mismatch() {
    let p = encode(&v2(Auth::None));
    let opts = DecodeOptions {
        v2_auth: Some(Auth::SimplePassword(*b"secret\0\0")),
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4(&p, &opts).unwrap_err(),
        DecodeError::AuthTypeMismatch
    );
}

#[test]
fn auth_failure() {
    let p = encode(&v2(Auth::SimplePassword(*b"secret\0\0")));
    let good = DecodeOptions {
        v2_auth: Some(Auth::SimplePassword(*b"secret\0\0")),
        ..DecodeOptions::default()
    };
    assert!(decode_ipv4(&p, &good).is_ok());
    let bad = DecodeOptions {
        v2_auth: Some(Auth::SimplePassword(*b"secreT\0\0")),
        ..DecodeOptions::default()
    };
    assert_eq!(decode_ipv4(&p, &bad).unwrap_err(), DecodeError::AuthFailure);
}

fn signed() -> Vec<u8> {
    let signer = AuthTrailerSigner {
        key: KEY,
        key_id: 3,
        sequence: AuthSequence {
            seconds: 1_700_000_000,
            subseconds: 0x4000,
            counter: 1,
        },
    };
    let mut buf = vec![0u8; 256];
    let n = v3()
        .encode_ipv4(
            &mut buf,
            &Ipv4Params::multicast(SRC),
            ChecksumMode::Rfc5798PseudoHeader,
            Some(&signer),
        )
        .unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn auth_trailer_missing() {
    let opts = DecodeOptions {
        require_auth_trailer: true,
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_ipv4(&encode(&v3()), &opts).unwrap_err(),
        DecodeError::AuthTrailerMissing
    );
    assert!(decode_ipv4(&signed(), &opts).is_ok());
    let plain = encode(&v3());
    let rx = decode_ipv4(&plain, &DecodeOptions::default()).unwrap();
    assert_eq!(
        rx.verify_auth_trailer(|_| Some(KEY)).unwrap_err(),
        DecodeError::AuthTrailerMissing
    );
}

#[test]
fn auth_trailer_malformed() {
    let mut p = signed();
    let at = p.len() - 28;
    p[at] = 9; // unknown ext type
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::AuthTrailerMalformed);
    let mut p = signed();
    p[at + 3] = 1; // reserved not zero
    fix(&mut p);
    assert_eq!(err(&p), DecodeError::AuthTrailerMalformed);
}

#[test]
fn auth_trailer_unknown_key() {
    let p = signed();
    let rx = decode_ipv4(&p, &DecodeOptions::default()).unwrap();
    let t = rx.auth_trailer().unwrap();
    assert_eq!(t.key_id, 3);
    assert_eq!(t.sequence.seconds, 1_700_000_000);
    let keys = |id: u8| (id == 4).then_some(KEY);
    assert_eq!(
        rx.verify_auth_trailer(keys).unwrap_err(),
        DecodeError::AuthTrailerUnknownKey
    );
}

#[test]
fn auth_trailer_bad_hmac() {
    let p = signed();
    let rx = decode_ipv4(&p, &DecodeOptions::default()).unwrap();
    assert!(rx.verify_auth_trailer(|_| Some(KEY)).is_ok());
    assert_eq!(
        rx.verify_auth_trailer(|_| Some(&b"another key, also 32 octets long"[..]))
            .unwrap_err(),
        DecodeError::AuthTrailerBadHmac
    );
    // A tampered priority with a repaired checksum still fails the HMAC.
    let mut p = signed();
    p[22] = 255;
    fix(&mut p);
    let rx = decode_ipv4(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(
        rx.verify_auth_trailer(|_| Some(KEY)).unwrap_err(),
        DecodeError::AuthTrailerBadHmac
    );
}

#[test]
fn every_error_bumps_exactly_one_counter() {
    for e in DecodeError::ALL {
        let mut c = Counters::default();
        c.record(&e);
        assert_eq!(c.get(e.counter()), 1, "{e:?}");
        let all = [
            Counter::ChecksumErrors,
            Counter::VersionErrors,
            Counter::VrIdErrors,
            Counter::RcvdAdvertisements,
            Counter::AdvIntervalErrors,
            Counter::IpTtlErrors,
            Counter::RcvdPriZeroPackets,
            Counter::SentPriZeroPackets,
            Counter::RcvdInvalidTypePackets,
            Counter::AddressListErrors,
            Counter::PacketLengthErrors,
            Counter::MasterTransitions,
            Counter::InvalidAuthType,
            Counter::AuthTypeMismatch,
            Counter::AuthFailures,
            Counter::AuthTrailerErrors,
            Counter::IpHeaderErrors,
        ];
        let total: u64 = all.iter().map(|&k| c.get(k)).sum();
        assert_eq!(total, 1, "{e:?}");
        assert!(
            !e.name().is_empty()
                && e.name()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit())
        );
    }
    let mut c = Counters::default();
    c.record(&DecodeError::InvalidVrid);
    assert_eq!(c.proto_err_reason, ProtoErrReason::VrIdError);
    c.record_received(0);
    assert_eq!((c.rcvd_advertisements, c.rcvd_pri_zero_packets), (1, 1));
}
