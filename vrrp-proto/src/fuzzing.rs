//! Fuzz entry points, shared by the cargo-fuzz targets in `fuzz/` and by the stable test that
//! replays `fuzz/corpus/*` and `fuzz/artifacts/*`. Each function panics only when an invariant
//! of the codec breaks (that is the bug a fuzzer reports); bad input alone never panics.
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{
    decode_ipv4, decode_ipv4_ah, decode_ipv6, AddressFamily, AddressList, Advert, Auth,
    AuthSequence, AuthTrailerSigner, ChecksumMode, DecodeOptions, Ipv4Params, PseudoHeader,
    ReceivedAdvert, Version, IPV4_HEADER_LEN,
};

const KEY: &[u8] = b"fuzzing key, thirty-two octets!!";

/// The AH key the fuzz targets use (keepalived's `auth_pass secret`, as in the corpus seeds).
const AH_KEY: &[u8; 8] = b"secret\0\0";

/// Target `vrrp_ipv4_packet`: `data` is a whole IPv4 packet, decoded as plain VRRP and as
/// VRRPv2 under an IP AH.
pub fn vrrp_ipv4_packet(data: &[u8]) {
    for opts in [DecodeOptions::default(), DecodeOptions::unicast()] {
        if let Ok(rx) = decode_ipv4(data, &opts) {
            check_reencode(&rx, &opts);
        }
        if let Ok((rx, ah)) = decode_ipv4_ah(data, AH_KEY, &opts) {
            check_reencode_ah(data, &rx, ah.sequence, &opts);
        }
    }
}

/// An AH advert that verified re-encodes, from its own header fields, to one that verifies
/// again with the same advert and sequence number.
fn check_reencode_ah(data: &[u8], rx: &ReceivedAdvert<'_>, sequence: u32, opts: &DecodeOptions) {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (rx.src(), rx.dst()) else {
        panic!("an AH advert decoded with a non-IPv4 address");
    };
    let mut ip = Ipv4Params::new(src, dst);
    ip.identification = u16::from_be_bytes([data[4], data[5]]);
    ip.ttl = data[8];
    ip.tos = data[1];
    if ip.identification == 0 {
        return;
    }
    let advert = rx.to_advert();
    let mut buf = [0u8; 4200];
    let n = advert
        .encode_ipv4_ah(&mut buf, &ip, AH_KEY, sequence, !opts.check_ttl)
        .expect("a decoded AH advert re-encodes");
    let (again, ah) =
        decode_ipv4_ah(&buf[..n], AH_KEY, opts).expect("the re-encoded AH advert decodes");
    assert_eq!(again.to_advert(), advert);
    assert_eq!(ah.sequence, sequence);
}

/// Target `vrrp_ipv6_payload`: `data` is 16 octets of source, 16 of destination, 1 of hop
/// limit, then the VRRP payload.
pub fn vrrp_ipv6_payload(data: &[u8]) {
    if data.len() < 33 {
        return;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&data[..16]).unwrap_or([0; 16]));
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&data[16..32]).unwrap_or([0; 16]));
    let hop = data[32];
    for opts in [DecodeOptions::default(), DecodeOptions::unicast()] {
        if let Ok(rx) = decode_ipv6(&data[33..], src, dst, hop, &opts) {
            check_reencode(&rx, &opts);
        }
    }
}

/// Target `vrrp_roundtrip`: the first octet picks how the rest is read. Even: as an IPv4
/// packet, decoded then re-encoded. Odd: as a description of an [`Advert`] that is built,
/// encoded (with or without a signed trailer) and decoded back, which must give it back.
pub fn vrrp_roundtrip(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel & 1 == 0 {
        vrrp_ipv4_packet(rest);
        return;
    }
    let Some(advert) = advert_from_bytes(rest) else {
        return;
    };
    let mode = ChecksumMode::ALL[usize::from(sel >> 1) % 3];
    let signer = AuthTrailerSigner {
        key: KEY,
        key_id: sel,
        sequence: AuthSequence::from_u64(u64::from(sel) << 40),
    };
    let signer = (sel & 0x80 != 0).then_some(&signer);
    let mut buf = [0u8; 20 + 8 + 255 * 16 + 28];
    let opts = DecodeOptions {
        checksum_modes: mode.into(),
        ..DecodeOptions::default()
    };
    let rx = match advert.addresses.family() {
        AddressFamily::Ipv4 => {
            let ip = Ipv4Params::new(Ipv4Addr::new(192, 0, 2, sel), Ipv4Addr::new(224, 0, 0, 18));
            let n = advert.encode_ipv4(&mut buf, &ip, mode, signer);
            let n = n.unwrap_or_else(|e| panic!("valid advert failed to encode: {e}"));
            decode_ipv4(&buf[..n], &opts)
        }
        AddressFamily::Ipv6 => {
            let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(sel));
            let dst = crate::VRRP_MCAST_V6;
            let ph = PseudoHeader::v6(src, dst);
            let n = advert.encode_payload(&mut buf, &ph, mode, signer);
            let n = n.unwrap_or_else(|e| panic!("valid advert failed to encode: {e}"));
            decode_ipv6(&buf[..n], src, dst, 255, &opts)
        }
    };
    let rx = rx.unwrap_or_else(|e| panic!("encoded advert failed to decode: {e}"));
    assert_eq!(rx.to_advert(), advert);
    let expect_mode = if advert.version == Version::V2 {
        ChecksumMode::NoPseudoHeader
    } else {
        mode
    };
    assert_eq!(rx.checksum_mode(), expect_mode);
    if signer.is_some() {
        let t = rx.verify_auth_trailer(|_| Some(KEY));
        assert!(t.is_ok(), "own trailer does not verify");
    }
}

/// Builds a valid advert from fuzz bytes, or `None` if there are too few.
fn advert_from_bytes(d: &[u8]) -> Option<Advert> {
    if d.len() < 6 {
        return None;
    }
    let v6 = d[0] & 1 != 0;
    let version = if v6 || d[0] & 2 != 0 {
        Version::V3
    } else {
        Version::V2
    };
    let vrid = d[1].max(1);
    let priority = d[2];
    let interval = u16::from_be_bytes([d[3], d[4]]);
    let body = &d[5..];
    let mut addresses = if v6 {
        AddressList::new_v6()
    } else {
        AddressList::new_v4()
    };
    let w = if v6 { 16 } else { 4 };
    for chunk in body.chunks_exact(w).take(255) {
        let a = if v6 {
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(chunk).ok()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(chunk).ok()?))
        };
        addresses.push(a).ok()?;
    }
    Some(match version {
        Version::V2 => {
            let auth = if d[0] & 4 != 0 {
                let mut pw = [0u8; 8];
                for (i, b) in body.iter().take(8).enumerate() {
                    pw[i] = *b;
                }
                Auth::SimplePassword(pw)
            } else {
                Auth::None
            };
            Advert::v2(vrid, priority, (interval as u8).max(1), auth, addresses)
        }
        Version::V3 => Advert::v3(vrid, priority, (interval & 0x0fff).max(1), addresses),
    })
}

/// Re-encodes an accepted packet with what was learned from it; the result must decode to the
/// same advert under the same checksum mode, and the message octets must match the input's
/// (except where the input had freedom: reserved bits, the ±0 checksum, v2 auth data when the
/// auth type is 0).
fn check_reencode(rx: &ReceivedAdvert<'_>, opts: &DecodeOptions) {
    let advert = rx.to_advert();
    let mode = rx.checksum_mode();
    let mut buf = [0u8; 20 + 8 + 255 * 16 + 8];
    let (again, msg) = match (rx.src(), rx.dst()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let mut ip = Ipv4Params::new(src, dst);
            ip.ttl = rx.ttl();
            let n = advert.encode_ipv4(&mut buf, &ip, mode, None);
            let n = n.unwrap_or_else(|e| panic!("decoded advert failed to encode: {e}"));
            let again = decode_ipv4(&buf[..n], opts);
            (again, &buf[IPV4_HEADER_LEN..n])
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let ph = PseudoHeader::v6(src, dst);
            let n = advert.encode_payload(&mut buf, &ph, mode, None);
            let n = n.unwrap_or_else(|e| panic!("decoded advert failed to encode: {e}"));
            let again = decode_ipv6(&buf[..n], src, dst, rx.ttl(), opts);
            (again, &buf[..n])
        }
        _ => panic!("source and destination of different families"),
    };
    let again = again.unwrap_or_else(|e| panic!("re-encoded advert failed to decode: {e}"));
    assert_eq!(again.to_advert(), advert);
    let orig = rx.packet().message();
    assert_eq!(orig.len(), msg.len());
    // Octets 0..4 and the addresses are copied verbatim.
    assert_eq!(orig[..4], msg[..4]);
    assert_eq!(rx.address_bytes(), again.address_bytes());
    let p = rx.packet();
    if p.version() == 2 || p.v3_reserved() == 0 {
        assert_eq!(orig[4..6], msg[4..6]);
    }
    if let Auth::SimplePassword(_) = advert.auth {
        assert_eq!(orig[orig.len() - 8..], msg[msg.len() - 8..]);
    }
}
