//! Sending: write an [`Advert`] into a caller's buffer, with or without an IPv4 header.
use crate::address_list::AddressFamily;
use crate::advert::{Advert, Auth, Version};
use crate::auth_trailer::{AuthTrailer, AuthTrailerSigner, AUTH_EXT_HMAC_SHA256, AUTH_TRAILER_LEN};
use crate::checksum::{self, add_c, ChecksumMode, PseudoHeader, PseudoSums, IPPROTO_VRRP};
use crate::error::EncodeError;
use crate::ip_ah::{emit_ip_ah, IP_AH_LEN};
use crate::ipv4::{emit_ipv4_header, Ipv4Params, IPPROTO_AH, IPV4_HEADER_LEN};
use crate::packet::{field, VrrpPacket, V3_MAX_ADVER_INT_MAX};

impl Advert {
    /// Octets of the VRRP message: 8 + addresses (+ 8 auth octets for v2).
    #[inline]
    pub fn buffer_len(&self) -> usize {
        let auth = match self.version {
            Version::V2 => field::V2_AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        field::HEADER_LEN + self.addresses.wire_len() + auth
    }

    /// Checks that the advert can be put on the wire as it is (an [`Auth::IpAh`] advert only
    /// by [`Advert::encode_ipv4_ah`]).
    #[inline]
    pub fn check_encodable(&self) -> Result<(), EncodeError> {
        self.check_encodable_for(false)
    }

    #[inline(always)]
    fn check_encodable_for(&self, ip_ah: bool) -> Result<(), EncodeError> {
        match self.version {
            Version::V2 => self.check_version::<false>(ip_ah),
            Version::V3 => self.check_version::<true>(ip_ah),
        }
    }

    /// The checks of [`Advert::check_encodable`] for VRRPv3 (`V3`) or VRRPv2, as a straight
    /// line per version (the encoder runs them on its hot path).
    #[inline(always)]
    fn check_version<const V3: bool>(&self, ip_ah: bool) -> Result<(), EncodeError> {
        if self.vrid == 0 {
            return Err(EncodeError::InvalidVrid);
        }
        if V3 {
            if self.max_adver_int == 0 || self.max_adver_int > V3_MAX_ADVER_INT_MAX {
                return Err(EncodeError::IntervalOutOfRange);
            }
            if self.auth != Auth::None {
                return Err(EncodeError::AuthOnV3);
            }
        } else {
            if self.max_adver_int == 0 || self.max_adver_int > 255 {
                return Err(EncodeError::IntervalOutOfRange);
            }
            if self.addresses.family() == AddressFamily::Ipv6 {
                return Err(EncodeError::V2WithIpv6);
            }
            if (self.auth == Auth::IpAh) != ip_ah {
                return Err(EncodeError::IpAhNeedsHeader);
            }
        }
        Ok(())
    }

    /// Writes the message into the first [`Advert::buffer_len`] octets of `packet` and fills
    /// the checksum for `pseudo` under `mode` (v2 ignores `mode`).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut VrrpPacket<T>,
        pseudo: &PseudoHeader,
        mode: ChecksumMode,
    ) -> Result<(), EncodeError> {
        let len = self.buffer_len();
        let buf = packet.as_bytes_mut_prefix(len)?;
        self.emit_message(buf, pseudo, mode)
    }

    /// Writes the message and its checksum. The checksum is summed from the advert's own
    /// fields, never read back from `buf`: reading octets just written with narrow stores as
    /// wide words stalls store-to-load forwarding, which tripled the cost of encoding.
    #[inline(always)]
    fn emit_message(
        &self,
        buf: &mut [u8],
        pseudo: &PseudoHeader,
        mode: ChecksumMode,
    ) -> Result<(), EncodeError> {
        let src_family = AddressFamily::of(&pseudo.src);
        if src_family != AddressFamily::of(&pseudo.dst) {
            return Err(EncodeError::FamilyMismatch);
        }
        self.emit_message_with(buf, src_family, &PseudoSums::of(pseudo), mode, false)
    }

    #[inline(always)]
    fn emit_message_with(
        &self,
        buf: &mut [u8],
        ip_family: AddressFamily,
        sums: &PseudoSums,
        mode: ChecksumMode,
        ip_ah: bool,
    ) -> Result<(), EncodeError> {
        // Each version runs its own straight-line copy (v2 ignores `mode`).
        match self.version {
            Version::V3 => self.emit_version::<true>(buf, ip_family, sums, mode, ip_ah),
            Version::V2 => self.emit_version::<false>(
                buf,
                ip_family,
                sums,
                ChecksumMode::NoPseudoHeader,
                ip_ah,
            ),
        }
    }

    /// [`Advert::emit_message_with`] for VRRPv3 (`V3`) or VRRPv2: the checks of
    /// [`Advert::check_encodable`], then the family and the buffer.
    #[inline(always)]
    fn emit_version<const V3: bool>(
        &self,
        buf: &mut [u8],
        ip_family: AddressFamily,
        sums: &PseudoSums,
        mode: ChecksumMode,
        ip_ah: bool,
    ) -> Result<(), EncodeError> {
        self.check_version::<V3>(ip_ah)?;
        let family = self.addresses.family();
        if ip_family != family {
            return Err(if !V3 && ip_family == AddressFamily::Ipv6 {
                EncodeError::V2WithIpv6
            } else {
                EncodeError::FamilyMismatch
            });
        }
        let addrs = self.addresses.as_wire_bytes();
        let auth_len = if V3 { 0 } else { field::V2_AUTH_DATA_LEN };
        let len = field::HEADER_LEN + addrs.len() + auth_len;
        let Some(out) = buf.get_mut(..len) else {
            return Err(EncodeError::BufferTooSmall { needed: len });
        };
        let (hdr_out, rest) = out.split_at_mut(field::HEADER_LEN);
        let (addr_out, auth_out) = rest.split_at_mut(addrs.len());
        // The addresses: copied and summed in one dispatch on their length (one IPv4 or one
        // IPv6 address as fixed-size moves and words).
        let mut acc = match (
            <&mut [u8; 4]>::try_from(&mut *addr_out),
            <&[u8; 4]>::try_from(addrs),
        ) {
            (Ok(d), Ok(a)) => {
                *d = *a;
                checksum::sum4(a)
            }
            _ => match (
                <&mut [u8; 16]>::try_from(&mut *addr_out),
                <&[u8; 16]>::try_from(addrs),
            ) {
                (Ok(d), Ok(a)) => {
                    *d = *a;
                    checksum::sum16(a)
                }
                // Any other IPv4 list (at most 1,020 octets): copied and summed in one pass
                // over whole words, with no call to `memcpy`.
                _ if family == AddressFamily::Ipv4 => checksum::copy_sum_x4(addr_out, addrs),
                _ => {
                    // IPv6 lists (up to 4,080 octets): summed, then copied by `memcpy`, whose
                    // wide moves win over long lists. Summed before the copy: loads behind a
                    // run of stores can stall on addresses that look alike (the two buffers
                    // 4 KiB apart).
                    let acc = checksum::sum(addrs);
                    addr_out.copy_from_slice(addrs);
                    acc
                }
            },
        };
        let (b4, b5) = if V3 {
            let [b4, b5] = (self.max_adver_int & V3_MAX_ADVER_INT_MAX).to_be_bytes();
            (b4, b5)
        } else {
            let (auth_type, data) = match self.auth {
                Auth::SimplePassword(pw) => (1u8, pw),
                Auth::IpAh => (2, [0; 8]),
                Auth::None => (0, [0; 8]),
            };
            acc = add_c(acc, u64::from_ne_bytes(data));
            auth_out.copy_from_slice(&data);
            (auth_type, self.max_adver_int as u8)
        };
        // The fixed header is built in a register, summed as one native word (see
        // `checksum::sum`) and stored at once with its checksum.
        let version = if V3 { 0x31 } else { 0x21 };
        let count = self.addresses.len() as u8;
        let hdr = u64::from_ne_bytes([version, self.vrid, self.priority, count, b4, b5, 0, 0]);
        let c = !checksum::fold(add_c(add_c(hdr, acc), sums.sum(len, mode)));
        let [c0, c1] = c.to_ne_bytes();
        let hdr = hdr | u64::from_ne_bytes([0, 0, 0, 0, 0, 0, c0, c1]);
        hdr_out.copy_from_slice(&hdr.to_ne_bytes());
        Ok(())
    }

    /// Octets [`Advert::encode_payload`] writes: the message, plus 28 with a trailer.
    pub fn payload_len(&self, with_trailer: bool) -> usize {
        self.buffer_len() + if with_trailer { AUTH_TRAILER_LEN } else { 0 }
    }

    /// Writes the VRRP payload (what follows the IP header; what an IPv6 raw socket sends)
    /// into `buf`, optionally followed by a signed keepalived `auth_hmac` trailer. Returns the
    /// octets written.
    ///
    /// For IPv6 the checksum covers the trailer too, as the kernel's `IPV6_CHECKSUM` does;
    /// for IPv4 it covers only the message, as keepalived computes it.
    ///
    /// ```
    /// use vrrp_proto::{AddressList, Advert, ChecksumMode, PseudoHeader};
    /// let advert = Advert::v3(51, 150, 100, AddressList::from_v6(&["fd00:99::100".parse().unwrap()]).unwrap());
    /// let ph = PseudoHeader::v6("fe80::99:ff:fe00:1".parse().unwrap(), "ff02::12".parse().unwrap());
    /// let mut buf = [0u8; 64];
    /// let n = advert.encode_payload(&mut buf, &ph, ChecksumMode::Rfc5798PseudoHeader, None).unwrap();
    /// assert_eq!(&buf[..8], &[0x31, 0x33, 0x96, 0x01, 0x00, 0x64, 0x3c, 0x15]);
    /// assert_eq!(n, 24);
    /// ```
    #[inline(always)]
    pub fn encode_payload(
        &self,
        buf: &mut [u8],
        pseudo: &PseudoHeader,
        mode: ChecksumMode,
        trailer: Option<&AuthTrailerSigner<'_>>,
    ) -> Result<usize, EncodeError> {
        // The common case inline in the caller (a call, its spills and a result through
        // memory were a third of encoding one IPv6 address); the signed one out of line.
        let Some(signer) = trailer else {
            let msg_len = self.buffer_len();
            let Some(out) = buf.get_mut(..msg_len) else {
                return Err(EncodeError::BufferTooSmall { needed: msg_len });
            };
            self.emit_message(out, pseudo, mode)?;
            return Ok(msg_len);
        };
        self.encode_payload_signed(buf, pseudo, mode, signer)
    }

    /// [`Advert::encode_payload`] with an `auth_hmac` trailer.
    #[inline(never)]
    fn encode_payload_signed(
        &self,
        buf: &mut [u8],
        pseudo: &PseudoHeader,
        mode: ChecksumMode,
        signer: &AuthTrailerSigner<'_>,
    ) -> Result<usize, EncodeError> {
        let msg_len = self.buffer_len();
        let total = self.payload_len(true);
        if buf.len() < total {
            return Err(EncodeError::BufferTooSmall { needed: total });
        }
        let out = &mut buf[..total];
        // Checksum over the message first (IPv4 leaves the trailer out).
        self.emit_message(&mut out[..msg_len], pseudo, mode)?;
        let mut t = AuthTrailer {
            ext_type: AUTH_EXT_HMAC_SHA256,
            key_id: signer.key_id,
            reserved: 0,
            sequence: signer.sequence,
            hmac: [0; 16],
        };
        // The HMAC reads the checksum field as zero, so it does not matter that the IPv6
        // checksum is recomputed below.
        t.sign(signer.key, pseudo.src, &out[..msg_len]);
        t.emit(&mut out[msg_len..]);
        if self.addresses.family() == AddressFamily::Ipv6 {
            let mut p = VrrpPacket::new_unchecked(&mut *out, AddressFamily::Ipv6);
            p.fill_checksum(pseudo, mode);
        }
        Ok(total)
    }

    /// Writes a whole IPv4 packet for an `IP_HDRINCL` raw socket: a 20-octet header (TOS and TTL
    /// from `ip`, protocol 112, no DF, header checksum) and the payload as
    /// [`Advert::encode_payload`] writes it. Returns the octets written.
    ///
    /// ```
    /// use vrrp_proto::{AddressList, Advert, ChecksumMode, Ipv4Params};
    /// let advert = Advert::v3(51, 200, 50, AddressList::from_v4(&[[10, 99, 0, 100].into()]).unwrap());
    /// let mut ip = Ipv4Params::multicast([10, 99, 0, 1].into());
    /// ip.identification = 3;
    /// let mut buf = [0u8; 64];
    /// let n = advert.encode_ipv4(&mut buf, &ip, ChecksumMode::Rfc5798PseudoHeader, None).unwrap();
    /// assert_eq!(n, 32);
    /// assert_eq!(&buf[20..28], &[0x31, 0x33, 0xc8, 0x01, 0x00, 0x32, 0x10, 0xdf]);
    /// ```
    #[inline(always)]
    pub fn encode_ipv4(
        &self,
        buf: &mut [u8],
        ip: &Ipv4Params,
        mode: ChecksumMode,
        trailer: Option<&AuthTrailerSigner<'_>>,
    ) -> Result<usize, EncodeError> {
        let total = IPV4_HEADER_LEN + self.payload_len(trailer.is_some());
        if buf.len() < total {
            return Err(EncodeError::BufferTooSmall { needed: total });
        }
        let n = match trailer {
            None => {
                // The common case, kept free of `IpAddr`s: the pseudo-header is summed from
                // the two 32-bit addresses.
                let sums = PseudoSums::v4(&ip.src.octets(), &ip.dst.octets());
                self.emit_message_with(
                    &mut buf[IPV4_HEADER_LEN..],
                    AddressFamily::Ipv4,
                    &sums,
                    mode,
                    false,
                )?;
                self.buffer_len()
            }
            Some(_) => {
                let pseudo = PseudoHeader::v4(ip.src, ip.dst);
                self.encode_payload(&mut buf[IPV4_HEADER_LEN..], &pseudo, mode, trailer)?
            }
        };
        emit_ipv4_header(buf, ip, IPPROTO_VRRP, n);
        Ok(IPV4_HEADER_LEN + n)
    }

    /// Writes a whole IPv4 packet for an `IP_HDRINCL` raw socket carrying a VRRPv2
    /// [`Auth::IpAh`] advert as keepalived's `auth_type AH` does: the IPv4 header (protocol
    /// 51), the 24-octet AH (SPI = `ip.src`, `sequence`, HMAC-MD5-96 ICV keyed with `key`, the
    /// zero-padded password) and the message with auth type 2. `ip.identification` must not
    /// be 0 (the ICV covers it, and a kernel fills a zero one in). `unicast`: leave the TTL out
    /// of the ICV, as keepalived does with unicast peers. Returns the octets written.
    ///
    /// ```
    /// use vrrp_proto::{AddressList, Advert, Auth, Ipv4Params, IP_AH_LEN};
    /// let advert = Advert::v2(51, 200, 1, Auth::IpAh, AddressList::from_v4(&[[10, 0, 0, 100].into()]).unwrap());
    /// let mut ip = Ipv4Params::multicast([10, 0, 0, 1].into());
    /// ip.identification = 1;
    /// let mut buf = [0u8; 128];
    /// let n = advert.encode_ipv4_ah(&mut buf, &ip, b"secret\0\0", 1, false).unwrap();
    /// assert_eq!(n, 20 + IP_AH_LEN + 20);
    /// assert_eq!(buf[9], 51); // protocol AH
    /// assert_eq!(&buf[20..24], &[112, 4, 0, 0]); // next header VRRP, payload length 4
    /// ```
    pub fn encode_ipv4_ah(
        &self,
        buf: &mut [u8],
        ip: &Ipv4Params,
        key: &[u8; 8],
        sequence: u32,
        unicast: bool,
    ) -> Result<usize, EncodeError> {
        if self.version != Version::V2 || self.auth != Auth::IpAh {
            return Err(EncodeError::IpAhNeedsHeader);
        }
        if ip.identification == 0 {
            return Err(EncodeError::IpAhNeedsIdentification);
        }
        let msg_len = self.buffer_len();
        let total = IPV4_HEADER_LEN + IP_AH_LEN + msg_len;
        if buf.len() < total {
            return Err(EncodeError::BufferTooSmall { needed: total });
        }
        let sums = PseudoSums::v4(&ip.src.octets(), &ip.dst.octets());
        let (head, message) = buf[..total].split_at_mut(IPV4_HEADER_LEN + IP_AH_LEN);
        self.emit_message_with(
            message,
            AddressFamily::Ipv4,
            &sums,
            ChecksumMode::NoPseudoHeader,
            true,
        )?;
        emit_ipv4_header(head, ip, IPPROTO_AH, IP_AH_LEN + msg_len);
        let (header, ah) = head.split_at_mut(IPV4_HEADER_LEN);
        emit_ip_ah(ah, header, message, key, sequence, unicast);
        Ok(total)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    fn as_bytes_mut_prefix(&mut self, len: usize) -> Result<&mut [u8], EncodeError> {
        let b = self.buffer_mut();
        if b.len() < len {
            return Err(EncodeError::BufferTooSmall { needed: len });
        }
        Ok(&mut b[..len])
    }
}
