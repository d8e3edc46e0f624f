//! Building the Ethernet frames of a gratuitous ARP and an unsolicited Neighbour
//! Advertisement (pure functions, so they are unit-tested without a network).
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::announce::GarpForm;

/// Broadcast MAC.
pub(crate) const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// All-nodes multicast, ff02::1.
pub(crate) const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Ethernet destination of ff02::1 (RFC 2464 §7: 33:33 + low 32 bits).
pub(crate) const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// Length of a gratuitous ARP frame (Ethernet header + ARP for IPv4 over Ethernet).
pub(crate) const GARP_LEN: usize = 14 + 28;
/// Length of an unsolicited NA frame with the target link-layer address option.
pub(crate) const NA_LEN: usize = 14 + 40 + 32;

/// A gratuitous ARP: sender IP = target IP = `vip`, sender MAC = `mac`, target MAC and
/// Ethernet destination broadcast (keepalived's `send_gratuitous_arp_immediate`).
pub(crate) fn gratuitous_arp(mac: [u8; 6], vip: Ipv4Addr, form: GarpForm) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let arp = &mut f[14..];
    arp[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    arp[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol type: IPv4
    arp[4] = 6;
    arp[5] = 4;
    let op: u16 = match form {
        GarpForm::Request => 1,
        GarpForm::Reply => 2,
    };
    arp[6..8].copy_from_slice(&op.to_be_bytes());
    arp[8..14].copy_from_slice(&mac);
    arp[14..18].copy_from_slice(&vip.octets());
    arp[18..24].copy_from_slice(&BROADCAST_MAC);
    arp[24..28].copy_from_slice(&vip.octets());
    f
}

/// An unsolicited Neighbour Advertisement (RFC 4861 §7.2.6) for `target`: from `src`
/// (keepalived uses the VIP itself) to ff02::1, hop limit 255, Override set, Router
/// set when `router`, Solicited clear, with the target link-layer address option = `mac`.
pub(crate) fn unsolicited_na(
    mac: [u8; 6],
    src: Ipv6Addr,
    target: Ipv6Addr,
    router: bool,
) -> [u8; NA_LEN] {
    let mut f = [0u8; NA_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&32u16.to_be_bytes()); // payload length
    ip[6] = 58; // ICMPv6
    ip[7] = 255; // hop limit: receivers drop ND with anything else
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&ALL_NODES.octets());
    let icmp = &mut f[54..];
    icmp[0] = 136; // Neighbor Advertisement
    icmp[1] = 0;
    icmp[4] = 0x20 | if router { 0x80 } else { 0 }; // O, and R when forwarding
    icmp[8..24].copy_from_slice(&target.octets());
    icmp[24] = 2; // option: target link-layer address
    icmp[25] = 1; // length in units of 8 octets
    icmp[26..32].copy_from_slice(&mac);
    let csum = icmpv6_checksum(&src, &ALL_NODES, icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    f
}

/// ICMPv6 checksum over the IPv6 pseudo-header and `msg` (checksum field zero).
pub(crate) fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_request_layout() {
        let mac = [2, 0, 0, 0, 0, 1];
        let f = gratuitous_arp(mac, Ipv4Addr::new(192, 0, 2, 10), GarpForm::Request);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[28..32], &[192, 0, 2, 10]);
        assert_eq!(&f[32..38], &[0xff; 6]);
        assert_eq!(&f[38..42], &[192, 0, 2, 10]);
        let r = gratuitous_arp(mac, Ipv4Addr::new(192, 0, 2, 10), GarpForm::Reply);
        assert_eq!(&r[20..22], &[0, 2]);
    }

    #[test]
    fn na_checksum_verifies_and_flags_are_set() {
        let mac = [2, 0, 0, 0, 0, 1];
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let f = unsolicited_na(mac, src, "2001:db8::10".parse().unwrap(), false);
        // Re-summing with the checksum in place gives zero.
        assert_eq!(icmpv6_checksum(&src, &ALL_NODES, &f[54..]), 0);
        assert_eq!(f[54 + 4], 0x20);
        assert_eq!(f[14 + 7], 255);
        let r = unsolicited_na(mac, src, "2001:db8::10".parse().unwrap(), true);
        assert_eq!(r[54 + 4], 0xa0);
    }
}
