//! Property tests: decode(encode(x)) == x for every valid advert, in every mode, with and
//! without a trailer; arbitrary octets never panic any entry point.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp_proto::{
    decode_ipv4, decode_ipv6, AddressFamily, AddressList, Advert, Auth, AuthSequence,
    AuthTrailerSigner, ChecksumMode, DecodeOptions, Ipv4Params, PseudoHeader, Version, VrrpPacket,
};

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::Rfc5798PseudoHeader),
        Just(ChecksumMode::NoPseudoHeader),
        Just(ChecksumMode::LegacyUnicastMcastDst),
    ]
}

fn v4_list() -> impl Strategy<Value = AddressList> {
    prop::collection::vec(any::<[u8; 4]>(), 0..=255).prop_map(|v| {
        let a: Vec<Ipv4Addr> = v.into_iter().map(Ipv4Addr::from).collect();
        AddressList::from_v4(&a).unwrap()
    })
}

fn v6_list() -> impl Strategy<Value = AddressList> {
    prop::collection::vec(any::<[u8; 16]>(), 0..=255).prop_map(|v| {
        let a: Vec<Ipv6Addr> = v.into_iter().map(Ipv6Addr::from).collect();
        AddressList::from_v6(&a).unwrap()
    })
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::SimplePassword)
    ]
}

fn advert() -> impl Strategy<Value = Advert> {
    prop_oneof![
        (1u8..=255, any::<u8>(), 1u8..=255, auth(), v4_list())
            .prop_map(|(vrid, p, i, a, l)| Advert::v2(vrid, p, i, a, l)),
        (1u8..=255, any::<u8>(), 1u16..=4095, v4_list())
            .prop_map(|(vrid, p, i, l)| Advert::v3(vrid, p, i, l)),
        (1u8..=255, any::<u8>(), 1u16..=4095, v6_list())
            .prop_map(|(vrid, p, i, l)| Advert::v3(vrid, p, i, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_encode_roundtrip(
        a in advert(),
        m in mode(),
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
        signed in any::<bool>(),
        seq in any::<u64>(),
        key in prop::collection::vec(any::<u8>(), 32..=64),
    ) {
        let signer = AuthTrailerSigner { key: &key, key_id: 1, sequence: AuthSequence::from_u64(seq) };
        let signer = signed.then_some(&signer);
        let mut buf = vec![0u8; 20 + 8 + 255 * 16 + 8 + 28];
        let opts = DecodeOptions { checksum_modes: m.into(), ..DecodeOptions::default() };
        let rx = match a.addresses.family() {
            AddressFamily::Ipv4 => {
                let s = Ipv4Addr::new(src[0], src[1], src[2], src[3]);
                let d = Ipv4Addr::new(dst[0], dst[1], dst[2], dst[3]);
                let n = a.encode_ipv4(&mut buf, &Ipv4Params::new(s, d), m, signer).unwrap();
                prop_assert_eq!(n, 20 + a.payload_len(signed));
                decode_ipv4(&buf[..n], &opts).unwrap()
            }
            AddressFamily::Ipv6 => {
                let (s, d) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
                let n = a.encode_payload(&mut buf, &PseudoHeader::v6(s, d), m, signer).unwrap();
                decode_ipv6(&buf[..n], s, d, 255, &opts).unwrap()
            }
        };
        prop_assert_eq!(rx.to_advert(), a.clone());
        let want = if a.version == Version::V2 { ChecksumMode::NoPseudoHeader } else { m };
        prop_assert_eq!(rx.checksum_mode(), want);
        prop_assert_eq!(rx.auth_trailer().is_some(), signed);
        if signed {
            prop_assert!(rx.verify_auth_trailer(|_| Some(&key[..])).is_ok());
        }
        // The borrowed view and the owned copy agree.
        let owned: Vec<IpAddr> = a.addresses.iter().collect();
        prop_assert_eq!(rx.addresses().collect::<Vec<_>>(), owned);
    }

    #[test]
    fn arbitrary_ipv4_packets_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_ipv4(&data, &DecodeOptions::default());
        let _ = decode_ipv4(&data, &DecodeOptions::unicast());
        vrrp_proto::fuzzing::vrrp_ipv4_packet(&data);
        vrrp_proto::fuzzing::vrrp_roundtrip(&data);
    }

    #[test]
    fn arbitrary_ipv6_payloads_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_ipv6(&data, Ipv6Addr::LOCALHOST, vrrp_proto::VRRP_MCAST_V6, 255, &DecodeOptions::default());
        vrrp_proto::fuzzing::vrrp_ipv6_payload(&data);
        for fam in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
            if let Ok(p) = VrrpPacket::new_checked(&data[..], fam) {
                let _ = (p.version(), p.checksum(), p.addresses().count(), p.message(), p.trailing());
                if p.version() == 2 { let _ = p.v2_auth_data(); }
            }
        }
    }

    /// Mostly-valid packets with one octet changed: gets past the IPv4 checks far more often
    /// than random bytes, so the VRRP checks are exercised.
    #[test]
    fn mutated_valid_packets_never_panic(a in advert(), at in any::<usize>(), val in any::<u8>()) {
        let mut buf = vec![0u8; 20 + 8 + 255 * 16 + 8];
        if a.addresses.family() == AddressFamily::Ipv4 {
            let n = a.encode_ipv4(&mut buf, &Ipv4Params::multicast([10, 0, 0, 1].into()), ChecksumMode::Rfc5798PseudoHeader, None).unwrap();
            buf.truncate(n);
            let i = at % n;
            buf[i] = val;
            vrrp_proto::fuzzing::vrrp_ipv4_packet(&buf);
        }
    }
}
