//! `VrrpPacket<T>`: a zero-copy view over the octets of one VRRP message (smoltcp's `Packet`).
use core::net::IpAddr;

use crate::address_list::{addr_at, AddressFamily};
use crate::checksum::{self, ChecksumMode, ChecksumModes, PseudoHeader, PseudoSums};
use crate::error::DecodeError;

/// Field offsets of the VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
pub mod field {
    /// A range of octets.
    pub type Field = core::ops::Range<usize>;
    /// Version (high nibble) and type (low nibble).
    pub const VER_TYPE: usize = 0;
    /// Virtual router id.
    pub const VRID: usize = 1;
    /// Priority.
    pub const PRIORITY: usize = 2;
    /// Count of addresses.
    pub const COUNT: usize = 3;
    /// v2: auth type.
    pub const V2_AUTH_TYPE: usize = 4;
    /// v2: advert interval in seconds.
    pub const V2_ADVER_INT: usize = 5;
    /// v3: 4 reserved bits and the 12-bit max advert interval in centiseconds.
    pub const V3_MAX_ADVER_INT: Field = 4..6;
    /// Checksum.
    pub const CHECKSUM: Field = 6..8;
    /// First address.
    pub const ADDRESSES: usize = 8;
    /// Length of the fixed header.
    pub const HEADER_LEN: usize = 8;
    /// Length of the v2 auth data after the addresses.
    pub const V2_AUTH_DATA_LEN: usize = 8;
}

/// The largest 12-bit VRRPv3 max advert interval (40.95 s).
pub const V3_MAX_ADVER_INT_MAX: u16 = 0x0fff;

/// A read/write view over a VRRP message in a buffer, without copying.
///
/// The buffer holds the VRRP payload (what follows the IP header), possibly followed by a
/// keepalived `auth_hmac` trailer. The address family is not in the message, so the view is
/// told it. Getters on a view made with [`VrrpPacket::new_unchecked`] panic if the buffer is
/// too short; [`VrrpPacket::new_checked`] rules that out.
///
/// ```
/// use vrrp_proto::{AddressFamily, VrrpPacket};
/// let bytes = [0x31, 0x33, 0xc8, 0x01, 0x00, 0x32, 0x10, 0xdf, 10, 99, 0, 100];
/// let pkt = VrrpPacket::new_checked(&bytes[..], AddressFamily::Ipv4).unwrap();
/// assert_eq!((pkt.version(), pkt.vrid(), pkt.priority()), (3, 51, 200));
/// assert_eq!(pkt.v3_max_adver_int(), 50);
/// assert_eq!(pkt.addresses().next(), Some("10.99.0.100".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
    family: AddressFamily,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// A view without any length check.
    pub const fn new_unchecked(buffer: T, family: AddressFamily) -> Self {
        VrrpPacket { buffer, family }
    }

    /// A view whose buffer is long enough for every getter ([`VrrpPacket::check_len`]).
    pub fn new_checked(buffer: T, family: AddressFamily) -> Result<Self, DecodeError> {
        let p = Self::new_unchecked(buffer, family);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`DecodeError::Truncated`] unless the buffer holds the fixed header, the
    /// `count` addresses and (for version 2) the 8 auth octets.
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < field::HEADER_LEN || len < self.message_len() {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The address family the view was made for.
    pub const fn family(&self) -> AddressFamily {
        self.family
    }

    /// The whole buffer.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Length of the VRRP message that the header describes: 8 + count × address length, + 8
    /// for version 2. Needs only the first 4 octets.
    #[inline]
    pub fn message_len(&self) -> usize {
        let b = self.buffer.as_ref();
        if b.len() < field::HEADER_LEN {
            return field::HEADER_LEN;
        }
        let auth = if b[field::VER_TYPE] >> 4 == 2 {
            field::V2_AUTH_DATA_LEN
        } else {
            0
        };
        field::HEADER_LEN + usize::from(b[field::COUNT]) * self.family.addr_len() + auth
    }

    /// The VRRP message: the first [`VrrpPacket::message_len`] octets.
    pub fn message(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.message_len()]
    }

    /// Octets after the message (empty, or a keepalived `auth_hmac` trailer).
    pub fn trailing(&self) -> &[u8] {
        &self.buffer.as_ref()[self.message_len()..]
    }

    /// Version field (2 or 3 when valid).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// Type field (1 = ADVERTISEMENT).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Virtual router id.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// Priority.
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count of addresses.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 auth type (octet 4).
    pub fn v2_auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::V2_AUTH_TYPE]
    }

    /// v2 advert interval in seconds (octet 5).
    pub fn v2_adver_int(&self) -> u8 {
        self.buffer.as_ref()[field::V2_ADVER_INT]
    }

    /// v3 max advert interval in centiseconds (low 12 bits of octets 4..6).
    pub fn v3_max_adver_int(&self) -> u16 {
        self.v3_interval_word() & V3_MAX_ADVER_INT_MAX
    }

    /// v3 reserved bits (high 4 bits of octet 4; zero when sent, ignored when received).
    pub fn v3_reserved(&self) -> u8 {
        (self.v3_interval_word() >> 12) as u8
    }

    fn v3_interval_word(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }

    /// The interval in the unit of the message's version (v2 seconds, v3 centiseconds).
    pub fn adver_int(&self) -> u16 {
        if self.version() == 2 {
            u16::from(self.v2_adver_int())
        } else {
            self.v3_max_adver_int()
        }
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[6], b[7]])
    }

    /// The addresses as wire octets.
    pub fn address_bytes(&self) -> &[u8] {
        let n = usize::from(self.count()) * self.family.addr_len();
        &self.buffer.as_ref()[field::ADDRESSES..field::ADDRESSES + n]
    }

    /// The addresses, read from the buffer on the fly.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let bytes = self.address_bytes();
        let family = self.family;
        (0..usize::from(self.count())).map(move |i| addr_at(family, bytes, i))
    }

    /// v2 auth data: the 8 octets after the addresses.
    pub fn v2_auth_data(&self) -> [u8; 8] {
        let at = field::ADDRESSES + self.address_bytes().len();
        let mut d = [0u8; 8];
        d.copy_from_slice(&self.buffer.as_ref()[at..at + 8]);
        d
    }

    /// The octets the VRRP checksum covers: the message for IPv4 (keepalived computes it before
    /// appending an `auth_hmac` trailer), the whole payload for IPv6 (the kernel computes it
    /// with `IPV6_CHECKSUM` over everything sent).
    pub fn checksum_span(&self) -> &[u8] {
        match self.family {
            AddressFamily::Ipv4 => self.message(),
            AddressFamily::Ipv6 => self.buffer.as_ref(),
        }
    }

    /// The mode under which the checksum verifies, trying the accepted modes in the order of
    /// [`ChecksumMode::ALL`]; `None` if none does. Version 2 is checked over the message alone
    /// and reports [`ChecksumMode::NoPseudoHeader`] whatever `accepted` holds.
    #[inline]
    pub fn verify_checksum(
        &self,
        pseudo: &PseudoHeader,
        accepted: ChecksumModes,
    ) -> Option<ChecksumMode> {
        self.verify_with(&PseudoSums::of(pseudo), accepted)
    }

    #[inline(always)]
    pub(crate) fn verify_with(
        &self,
        sums: &PseudoSums,
        accepted: ChecksumModes,
    ) -> Option<ChecksumMode> {
        let span = self.checksum_span();
        let msg = checksum::sum(span);
        if self.version() == 2 {
            return checksum::verifies(msg).then_some(ChecksumMode::NoPseudoHeader);
        }
        ChecksumMode::ALL.into_iter().find(|&mode| {
            accepted.contains(mode)
                && checksum::verifies(checksum::add_c(msg, sums.sum(span.len(), mode)))
        })
    }

    /// The checksum the message should carry under `mode` (the checksum field is read as 0).
    pub fn compute_checksum(&self, pseudo: &PseudoHeader, mode: ChecksumMode) -> u16 {
        let span = self.checksum_span();
        let mode = if self.version() == 2 {
            ChecksumMode::NoPseudoHeader
        } else {
            mode
        };
        let acc = checksum::add_c(checksum::sum(span), pseudo.sum(span.len(), mode));
        // Subtract the current checksum field by adding its complement (both native words).
        let b = self.buffer.as_ref();
        let field = u16::from_ne_bytes([b[6], b[7]]);
        checksum::ne_to_be16(!checksum::fold(checksum::add_c(acc, u64::from(!field))))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    /// The whole buffer, writable.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version and type.
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    /// Sets the VRID.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Sets the priority without touching the checksum (see [`VrrpPacket::update_priority`]).
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Sets the count of addresses.
    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// Sets the v2 auth type.
    pub fn set_v2_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::V2_AUTH_TYPE] = auth_type;
    }

    /// Sets the v2 advert interval (seconds).
    pub fn set_v2_adver_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::V2_ADVER_INT] = secs;
    }

    /// Sets the v3 max advert interval (centiseconds, 12 bits) and clears the reserved bits.
    pub fn set_v3_max_adver_int(&mut self, centisecs: u16) {
        let w = (centisecs & V3_MAX_ADVER_INT_MAX).to_be_bytes();
        self.buffer.as_mut()[field::V3_MAX_ADVER_INT].copy_from_slice(&w);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    }

    /// The address octets, writable (length from the count field).
    pub fn address_bytes_mut(&mut self) -> &mut [u8] {
        let n = usize::from(self.count()) * self.family.addr_len();
        &mut self.buffer.as_mut()[field::ADDRESSES..field::ADDRESSES + n]
    }

    /// Sets the v2 auth data (after the addresses; set the count first).
    pub fn set_v2_auth_data(&mut self, data: &[u8; 8]) {
        let at = field::ADDRESSES + usize::from(self.count()) * self.family.addr_len();
        self.buffer.as_mut()[at..at + 8].copy_from_slice(data);
    }

    /// Computes and writes the checksum under `mode` (ignored for version 2).
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader, mode: ChecksumMode) {
        self.set_checksum(0);
        let c = self.compute_checksum(pseudo, mode);
        self.set_checksum(c);
    }

    /// Changes the priority and patches the checksum incrementally (RFC 1624), as keepalived
    /// does when only the priority changes. Valid in every checksum mode.
    ///
    /// ```
    /// use vrrp_proto::{AddressFamily, ChecksumMode, PseudoHeader, VrrpPacket};
    /// let mut bytes = [0x31, 0x33, 0xc8, 0x01, 0x00, 0x32, 0x10, 0xdf, 10, 99, 0, 100];
    /// let ph = PseudoHeader::v4([10, 99, 0, 1].into(), [224, 0, 0, 18].into());
    /// let mut pkt = VrrpPacket::new_checked(&mut bytes[..], AddressFamily::Ipv4).unwrap();
    /// pkt.update_priority(0);
    /// assert_eq!(pkt.priority(), 0);
    /// assert_eq!(
    ///     pkt.verify_checksum(&ph, ChecksumMode::Rfc5798PseudoHeader.into()),
    ///     Some(ChecksumMode::Rfc5798PseudoHeader)
    /// );
    /// ```
    pub fn update_priority(&mut self, priority: u8) {
        let count = self.count();
        let old = u16::from_be_bytes([self.priority(), count]);
        let new = u16::from_be_bytes([priority, count]);
        let c = checksum::checksum_update_u16(self.checksum(), old, new);
        self.set_priority(priority);
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for VrrpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}
