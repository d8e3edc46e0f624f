//! keepalived's `auth_hmac` trailer (keepalived ≥ 2.4): 28 octets after the VRRP message.
//!
//! Layout: ext type (1 = HMAC-SHA256/128), key id, 2 reserved octets (zero), seconds (u32,
//! UTC seconds since the epoch), sub-seconds (u16, 1/65536 s), counter (u16), HMAC (16 octets),
//! all in network order. The three sequence fields form one 64-bit sequence number that the
//! receiver uses against replay.
//!
//! The HMAC is HMAC-SHA256 truncated to 128 bits over: a 20-octet pseudo-header (4 or 6 for
//! the family, the VRRP version, the VRID, 0, then the source address zero-padded to 16
//! octets), the VRRP message with its checksum field read as zero, the first 12 trailer octets,
//! and 16 zero octets in place of the HMAC. The IP header and the destination are not covered,
//! so one signed advert can be copied to every unicast peer.
use core::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::address_list::AddressFamily;
use crate::packet::field;

/// Length of the trailer.
pub const AUTH_TRAILER_LEN: usize = 28;

/// Ext type of HMAC-SHA256 truncated to 128 bits, the only scheme keepalived defines.
pub const AUTH_EXT_HMAC_SHA256: u8 = 1;

/// Length of the truncated HMAC.
pub const AUTH_HMAC_LEN: usize = 16;

const PREFIX_LEN: usize = AUTH_TRAILER_LEN - AUTH_HMAC_LEN;

/// The anti-replay sequence of a trailer: seconds, sub-seconds and counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AuthSequence {
    /// UTC seconds since the Unix epoch (wraps in 2106).
    pub seconds: u32,
    /// Binary fraction of a second, in 1/65536 s.
    pub subseconds: u16,
    /// Tie breaker within one timestamp.
    pub counter: u16,
}

impl AuthSequence {
    /// The 64-bit sequence: seconds, sub-seconds, counter from high to low.
    pub const fn as_u64(&self) -> u64 {
        ((self.seconds as u64) << 32) | ((self.subseconds as u64) << 16) | self.counter as u64
    }

    /// The inverse of [`AuthSequence::as_u64`].
    pub const fn from_u64(seq: u64) -> Self {
        AuthSequence {
            seconds: (seq >> 32) as u32,
            subseconds: (seq >> 16) as u16,
            counter: seq as u16,
        }
    }

    /// True if `self` comes after `other` in RFC 1982 serial arithmetic over 64 bits, the
    /// order keepalived's replay check uses.
    pub const fn is_after(&self, other: &AuthSequence) -> bool {
        (self.as_u64().wrapping_sub(other.as_u64()) as i64) > 0
    }
}

/// A parsed `auth_hmac` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthTrailer {
    /// Scheme: [`AUTH_EXT_HMAC_SHA256`].
    pub ext_type: u8,
    /// Which of the receiver's keys verifies it.
    pub key_id: u8,
    /// Must be zero.
    pub reserved: u16,
    /// Anti-replay sequence.
    pub sequence: AuthSequence,
    /// HMAC-SHA256 truncated to 128 bits.
    pub hmac: [u8; AUTH_HMAC_LEN],
}

impl AuthTrailer {
    /// Reads a trailer from exactly [`AUTH_TRAILER_LEN`] octets; `None` for another length.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != AUTH_TRAILER_LEN {
            return None;
        }
        let mut hmac = [0u8; AUTH_HMAC_LEN];
        hmac.copy_from_slice(&bytes[PREFIX_LEN..]);
        Some(AuthTrailer {
            ext_type: bytes[0],
            key_id: bytes[1],
            reserved: u16::from_be_bytes([bytes[2], bytes[3]]),
            sequence: AuthSequence {
                seconds: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                subseconds: u16::from_be_bytes([bytes[8], bytes[9]]),
                counter: u16::from_be_bytes([bytes[10], bytes[11]]),
            },
            hmac,
        })
    }

    /// True if the ext type is known and the reserved field zero (keepalived's "malformed" test).
    pub const fn is_well_formed(&self) -> bool {
        self.ext_type == AUTH_EXT_HMAC_SHA256 && self.reserved == 0
    }

    /// Writes the trailer into `out[..28]`. Panics if `out` is shorter.
    pub fn emit(&self, out: &mut [u8]) {
        out[..PREFIX_LEN].copy_from_slice(&self.prefix());
        out[PREFIX_LEN..AUTH_TRAILER_LEN].copy_from_slice(&self.hmac);
    }

    fn prefix(&self) -> [u8; PREFIX_LEN] {
        let mut p = [0u8; PREFIX_LEN];
        p[0] = self.ext_type;
        p[1] = self.key_id;
        p[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        p[4..8].copy_from_slice(&self.sequence.seconds.to_be_bytes());
        p[8..10].copy_from_slice(&self.sequence.subseconds.to_be_bytes());
        p[10..12].copy_from_slice(&self.sequence.counter.to_be_bytes());
        p
    }

    /// The HMAC this trailer's fields (not its `hmac`) should carry for `message` (the VRRP
    /// message without trailer) sent from `src` with `key`.
    pub fn compute_hmac(&self, key: &[u8], src: IpAddr, message: &[u8]) -> [u8; AUTH_HMAC_LEN] {
        let family = match src {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        };
        let version = message.first().map_or(0, |b| b >> 4);
        let vrid = message.get(field::VRID).copied().unwrap_or(0);
        let mut pseudo = [0u8; 20];
        pseudo[0] = match family {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 6,
        };
        pseudo[1] = version;
        pseudo[2] = vrid;
        match src {
            IpAddr::V4(a) => pseudo[4..8].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => pseudo[4..20].copy_from_slice(&a.octets()),
        }
        // HMAC accepts keys of any length (RFC 2104 hashes long ones), so this cannot fail.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => return [0; AUTH_HMAC_LEN],
        };
        mac.update(&pseudo);
        if message.len() >= field::HEADER_LEN {
            mac.update(&message[..field::CHECKSUM.start]);
            mac.update(&[0, 0]);
            mac.update(&message[field::CHECKSUM.end..]);
        } else {
            mac.update(message);
        }
        mac.update(&self.prefix());
        mac.update(&[0u8; AUTH_HMAC_LEN]);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; AUTH_HMAC_LEN];
        out.copy_from_slice(&full[..AUTH_HMAC_LEN]);
        out
    }

    /// Fills `hmac` for `message` sent from `src`.
    pub fn sign(&mut self, key: &[u8], src: IpAddr, message: &[u8]) {
        self.hmac = self.compute_hmac(key, src, message);
    }

    /// True if `hmac` verifies for `message` from `src` under `key` (constant-time compare).
    pub fn verify(&self, key: &[u8], src: IpAddr, message: &[u8]) -> bool {
        ct_eq(&self.compute_hmac(key, src, message), &self.hmac)
    }
}

/// Compares two equal-length octet strings in time independent of where they differ.
pub(crate) fn ct_eq<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    let mut diff = 0u8;
    for i in 0..N {
        diff |= a[i] ^ b[i];
    }
    core::hint::black_box(diff) == 0
}

/// What the sender puts in an `auth_hmac` trailer.
#[derive(Debug, Clone, Copy)]
pub struct AuthTrailerSigner<'k> {
    /// The key (keepalived accepts 32 to 64 octets).
    pub key: &'k [u8],
    /// Key id sent, so receivers pick the matching key during rotation.
    pub key_id: u8,
    /// Sequence for this packet; it must grow from packet to packet.
    pub sequence: AuthSequence,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_order_wraps_like_rfc1982() {
        let a = AuthSequence::from_u64(u64::MAX);
        let b = AuthSequence::from_u64(1);
        assert!(b.is_after(&a));
        assert!(!a.is_after(&b));
        assert_eq!(AuthSequence::from_u64(a.as_u64()), a);
    }

    #[test]
    fn parse_emit_roundtrip_and_hmac_binds_fields() {
        let mut t = AuthTrailer {
            ext_type: AUTH_EXT_HMAC_SHA256,
            key_id: 7,
            reserved: 0,
            sequence: AuthSequence {
                seconds: 0x6543_2100,
                subseconds: 0x8000,
                counter: 3,
            },
            hmac: [0; 16],
        };
        let key = [0x42u8; 32];
        let msg = [0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0xaa, 0xbb, 10, 0, 0, 1];
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        t.sign(&key, src, &msg);
        let mut out = [0u8; 28];
        t.emit(&mut out);
        let back = AuthTrailer::parse(&out).unwrap();
        assert_eq!(back, t);
        assert!(back.verify(&key, src, &msg));
        // The checksum field is not covered (the kernel may rewrite it for IPv6).
        let mut other_csum = msg;
        other_csum[6] = 0;
        assert!(back.verify(&key, src, &other_csum));
        // Priority, source, key and sequence are.
        let mut prio = msg;
        prio[2] = 0xff;
        assert!(!back.verify(&key, src, &prio));
        assert!(!back.verify(&key, "10.0.0.2".parse().unwrap(), &msg));
        assert!(!back.verify(&[0x43; 32], src, &msg));
        let mut seq = back;
        seq.sequence.counter += 1;
        assert!(!seq.verify(&key, src, &msg));
    }
}
