//! Statistics counters: RFC 6527 (VRRPv3-MIB), plus RFC 2787's auth counters for VRRPv2.
use crate::error::DecodeError;

/// One statistics counter. Each [`DecodeError`] maps to exactly one ([`DecodeError::counter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// `vrrpv3RouterChecksumErrors` (RFC 6527, global).
    ChecksumErrors,
    /// `vrrpv3RouterVersionErrors` (RFC 6527, global).
    VersionErrors,
    /// `vrrpv3RouterVrIdErrors` (RFC 6527, global).
    VrIdErrors,
    /// `vrrpv3StatisticsRcvdAdvertisements`.
    RcvdAdvertisements,
    /// `vrrpv3StatisticsAdvIntervalErrors`.
    AdvIntervalErrors,
    /// `vrrpv3StatisticsIpTtlErrors`.
    IpTtlErrors,
    /// `vrrpv3StatisticsRcvdPriZeroPackets`.
    RcvdPriZeroPackets,
    /// `vrrpv3StatisticsSentPriZeroPackets`.
    SentPriZeroPackets,
    /// `vrrpv3StatisticsRcvdInvalidTypePackets`.
    RcvdInvalidTypePackets,
    /// `vrrpv3StatisticsAddressListErrors`.
    AddressListErrors,
    /// `vrrpv3StatisticsPacketLengthErrors`.
    PacketLengthErrors,
    /// `vrrpv3StatisticsMasterTransitions`.
    MasterTransitions,
    /// `vrrpStatsInvalidAuthType` (RFC 2787; VRRPv3 has no auth).
    InvalidAuthType,
    /// `vrrpStatsAuthTypeMismatch` (RFC 2787).
    AuthTypeMismatch,
    /// `vrrpStatsAuthFailures` (RFC 2787).
    AuthFailures,
    /// keepalived's `auth_ext_*` counters for the `auth_hmac` trailer (no MIB object).
    AuthTrailerErrors,
    /// IPv4 header errors a raw socket can still deliver (no VRRP MIB object; the kernel counts
    /// most of them as `ipInHdrErrors` before VRRP sees them).
    IpHeaderErrors,
}

impl Counter {
    /// The MIB object name, or `None` for the two counters no MIB defines.
    pub const fn mib_object(self) -> Option<&'static str> {
        Some(match self {
            Counter::ChecksumErrors => "vrrpv3RouterChecksumErrors",
            Counter::VersionErrors => "vrrpv3RouterVersionErrors",
            Counter::VrIdErrors => "vrrpv3RouterVrIdErrors",
            Counter::RcvdAdvertisements => "vrrpv3StatisticsRcvdAdvertisements",
            Counter::AdvIntervalErrors => "vrrpv3StatisticsAdvIntervalErrors",
            Counter::IpTtlErrors => "vrrpv3StatisticsIpTtlErrors",
            Counter::RcvdPriZeroPackets => "vrrpv3StatisticsRcvdPriZeroPackets",
            Counter::SentPriZeroPackets => "vrrpv3StatisticsSentPriZeroPackets",
            Counter::RcvdInvalidTypePackets => "vrrpv3StatisticsRcvdInvalidTypePackets",
            Counter::AddressListErrors => "vrrpv3StatisticsAddressListErrors",
            Counter::PacketLengthErrors => "vrrpv3StatisticsPacketLengthErrors",
            Counter::MasterTransitions => "vrrpv3StatisticsMasterTransitions",
            Counter::InvalidAuthType => "vrrpStatsInvalidAuthType",
            Counter::AuthTypeMismatch => "vrrpStatsAuthTypeMismatch",
            Counter::AuthFailures => "vrrpStatsAuthFailures",
            Counter::AuthTrailerErrors | Counter::IpHeaderErrors => return None,
        })
    }
}

/// `vrrpv3StatisticsProtoErrReason` (RFC 6527): why the last packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtoErrReason {
    /// `noError(0)`.
    #[default]
    NoError,
    /// `ipTtlError(1)`.
    IpTtlError,
    /// `versionError(2)`.
    VersionError,
    /// `checksumError(3)`.
    ChecksumError,
    /// `vrIdError(4)`.
    VrIdError,
}

/// `vrrpv3StatisticsNewMasterReason` (RFC 6527).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NewMasterReason {
    /// `notMaster(0)`.
    #[default]
    NotMaster,
    /// `priority(1)`: became Master on priority (address owner / startup).
    Priority,
    /// `preempted(2)`: preempted a lower-priority Master.
    Preempted,
    /// `masterNoResponse(3)`: Master_Down_Timer fired.
    MasterNoResponse,
}

impl DecodeError {
    /// The counter this failure increments.
    pub const fn counter(&self) -> Counter {
        match self {
            DecodeError::Ipv4Truncated
            | DecodeError::Ipv4TotalLength
            | DecodeError::Truncated
            | DecodeError::TrailingBytes => Counter::PacketLengthErrors,
            DecodeError::Ipv4Version
            | DecodeError::Ipv4HeaderLength
            | DecodeError::Ipv4Protocol
            | DecodeError::Ipv4HeaderChecksum
            | DecodeError::Ipv4Fragment => Counter::IpHeaderErrors,
            DecodeError::IpTtl { .. } => Counter::IpTtlErrors,
            DecodeError::Version { .. } | DecodeError::V2OverIpv6 => Counter::VersionErrors,
            DecodeError::InvalidType { .. } => Counter::RcvdInvalidTypePackets,
            DecodeError::Checksum => Counter::ChecksumErrors,
            DecodeError::InvalidVrid => Counter::VrIdErrors,
            DecodeError::InvalidInterval => Counter::AdvIntervalErrors,
            DecodeError::EmptyAddressList => Counter::AddressListErrors,
            DecodeError::InvalidAuthType { .. } => Counter::InvalidAuthType,
            DecodeError::AuthTypeMismatch => Counter::AuthTypeMismatch,
            DecodeError::AuthFailure
            | DecodeError::IpAhIcv
            | DecodeError::IpAhSpi
            | DecodeError::IpAhReplay => Counter::AuthFailures,
            DecodeError::IpAhMalformed => Counter::PacketLengthErrors,
            DecodeError::AuthTrailerMissing
            | DecodeError::AuthTrailerMalformed
            | DecodeError::AuthTrailerUnknownKey
            | DecodeError::AuthTrailerBadHmac => Counter::AuthTrailerErrors,
        }
    }

    /// The `vrrpv3StatisticsProtoErrReason` value this failure sets, if any.
    pub const fn proto_err_reason(&self) -> Option<ProtoErrReason> {
        match self {
            DecodeError::IpTtl { .. } => Some(ProtoErrReason::IpTtlError),
            DecodeError::Version { .. } | DecodeError::V2OverIpv6 => {
                Some(ProtoErrReason::VersionError)
            }
            DecodeError::Checksum => Some(ProtoErrReason::ChecksumError),
            DecodeError::InvalidVrid => Some(ProtoErrReason::VrIdError),
            _ => None,
        }
    }
}

/// The statistics of one virtual router (RFC 6527 `vrrpv3StatisticsTable`, with the three
/// global `vrrpv3Router*Errors` counted here too, and RFC 2787's auth counters).
///
/// ```
/// use vrrp_proto::{Counters, DecodeError};
/// let mut c = Counters::default();
/// c.record(&DecodeError::Checksum);
/// c.record(&DecodeError::IpTtl { ttl: 64 });
/// assert_eq!((c.checksum_errors, c.ip_ttl_errors), (1, 1));
/// assert_eq!(c.proto_err_reason, vrrp_proto::ProtoErrReason::IpTtlError);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Counters {
    /// `vrrpv3RouterChecksumErrors`.
    pub checksum_errors: u64,
    /// `vrrpv3RouterVersionErrors`.
    pub version_errors: u64,
    /// `vrrpv3RouterVrIdErrors`.
    pub vrid_errors: u64,
    /// `vrrpv3StatisticsRcvdAdvertisements`.
    pub rcvd_advertisements: u64,
    /// `vrrpv3StatisticsAdvIntervalErrors`.
    pub adv_interval_errors: u64,
    /// `vrrpv3StatisticsIpTtlErrors`.
    pub ip_ttl_errors: u64,
    /// `vrrpv3StatisticsRcvdPriZeroPackets`.
    pub rcvd_pri_zero_packets: u64,
    /// `vrrpv3StatisticsSentPriZeroPackets`.
    pub sent_pri_zero_packets: u64,
    /// `vrrpv3StatisticsRcvdInvalidTypePackets`.
    pub rcvd_invalid_type_packets: u64,
    /// `vrrpv3StatisticsAddressListErrors`.
    pub address_list_errors: u64,
    /// `vrrpv3StatisticsPacketLengthErrors`.
    pub packet_length_errors: u64,
    /// `vrrpv3StatisticsMasterTransitions`.
    pub master_transitions: u64,
    /// `vrrpv3StatisticsNewMasterReason`.
    pub new_master_reason: NewMasterReason,
    /// `vrrpv3StatisticsProtoErrReason`.
    pub proto_err_reason: ProtoErrReason,
    /// `vrrpStatsInvalidAuthType` (RFC 2787).
    pub invalid_auth_type: u64,
    /// `vrrpStatsAuthTypeMismatch` (RFC 2787).
    pub auth_type_mismatch: u64,
    /// `vrrpStatsAuthFailures` (RFC 2787).
    pub auth_failures: u64,
    /// `auth_hmac` trailer failures (keepalived `auth_ext_*`).
    pub auth_trailer_errors: u64,
    /// IPv4 header errors seen on the raw socket.
    pub ip_header_errors: u64,
}

impl Counters {
    /// A mutable reference to the field of `counter`.
    pub fn get_mut(&mut self, counter: Counter) -> &mut u64 {
        match counter {
            Counter::ChecksumErrors => &mut self.checksum_errors,
            Counter::VersionErrors => &mut self.version_errors,
            Counter::VrIdErrors => &mut self.vrid_errors,
            Counter::RcvdAdvertisements => &mut self.rcvd_advertisements,
            Counter::AdvIntervalErrors => &mut self.adv_interval_errors,
            Counter::IpTtlErrors => &mut self.ip_ttl_errors,
            Counter::RcvdPriZeroPackets => &mut self.rcvd_pri_zero_packets,
            Counter::SentPriZeroPackets => &mut self.sent_pri_zero_packets,
            Counter::RcvdInvalidTypePackets => &mut self.rcvd_invalid_type_packets,
            Counter::AddressListErrors => &mut self.address_list_errors,
            Counter::PacketLengthErrors => &mut self.packet_length_errors,
            Counter::MasterTransitions => &mut self.master_transitions,
            Counter::InvalidAuthType => &mut self.invalid_auth_type,
            Counter::AuthTypeMismatch => &mut self.auth_type_mismatch,
            Counter::AuthFailures => &mut self.auth_failures,
            Counter::AuthTrailerErrors => &mut self.auth_trailer_errors,
            Counter::IpHeaderErrors => &mut self.ip_header_errors,
        }
    }

    /// The value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        *self.clone().get_mut(counter)
    }

    /// Adds one to `counter` (saturating).
    pub fn bump(&mut self, counter: Counter) {
        let c = self.get_mut(counter);
        *c = c.saturating_add(1);
    }

    /// Counts a rejected packet: its counter, and `proto_err_reason` where RFC 6527 has one.
    pub fn record(&mut self, err: &DecodeError) {
        self.bump(err.counter());
        if let Some(r) = err.proto_err_reason() {
            self.proto_err_reason = r;
        }
    }

    /// Counts an accepted advert of `priority` (`RcvdAdvertisements`, and `RcvdPriZeroPackets`
    /// for priority 0).
    pub fn record_received(&mut self, priority: u8) {
        self.bump(Counter::RcvdAdvertisements);
        if priority == 0 {
            self.bump(Counter::RcvdPriZeroPackets);
        }
    }

    /// Counts a sent advert of `priority` (`SentPriZeroPackets` for priority 0).
    pub fn record_sent(&mut self, priority: u8) {
        if priority == 0 {
            self.bump(Counter::SentPriZeroPackets);
        }
    }

    /// Counts a transition to Master and remembers why.
    pub fn record_master_transition(&mut self, reason: NewMasterReason) {
        self.bump(Counter::MasterTransitions);
        self.new_master_reason = reason;
    }
}
