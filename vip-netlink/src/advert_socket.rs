//! The raw IP socket (protocol 112) that sends and receives VRRP adverts on one interface.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tracing::{debug, trace};
use vrrp_proto::{
    decode_ipv4, decode_ipv4_ah, decode_ipv6, AddressFamily, Advert, AuthTrailerSigner,
    ChecksumMode, Counter, DecodeError, DecodeOptions, IpAhSequence, Ipv4Params, PseudoHeader,
    Version, IPPROTO_AH, IP_AH_LEN,
};

use crate::advert_stats::{AdvertCounters, AdvertStats};
use crate::ancillary_io::{recv_batch, send_v4, send_v6, set_int, Received, RECV_BATCH};
use crate::auth_hmac::{AuthHmac, AuthHmacRefusal, AuthHmacState, AuthHmacStats, TrailerToSign};
use crate::error::{Error, Result};
use crate::interface::Interface;
use crate::receive_buffer;
use crate::socket_readiness::SocketReadiness;
use crate::wake_filter::{self, WakeOn};
use crate::wake_program::WakeProgram;

/// Receive batches one non-blocking read call may go through before it returns, after its
/// socket polled readable ([`AdvertSocket::try_recv_ready_with`]): 32 batches of up to eight
/// datagrams. Datagrams that fail validation are dropped (and counted) without returning, so
/// a junk flood would otherwise keep the caller here.
const MAX_BATCHES_READY: usize = 32;

/// The same for the adverts a sleeping Backup reads before its timer decides
/// ([`AdvertSocket::try_recv_with`]): enough for a full default receive buffer, so no valid
/// advert is left behind a flood of junk when it counts.
const MAX_BATCHES_QUEUED: usize = 512;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = vrrp_proto::IPPROTO_VRRP as i32;
/// The IPv4 VRRP multicast group, 224.0.0.18.
pub const VRRP_GROUP_V4: Ipv4Addr = vrrp_proto::VRRP_MCAST_V4;
/// The IPv6 VRRP multicast group, ff02::12.
pub const VRRP_GROUP_V6: Ipv6Addr = vrrp_proto::VRRP_MCAST_V6;

/// The longest valid advert of a family as a raw socket hands it over, the size of each
/// receive slot and of the send buffer: an instance's buffers are sized to what it can
/// meet, not to a page-multiple guess (a daemon runs a thousand of them). IPv4 comes with its
/// IP header (at most 60 octets with options) and possibly an IP AH header; IPv6 without its
/// header. Either way: the VRRP header, v2 authentication data, 255 addresses and
/// keepalived's `auth_hmac` trailer. Anything longer is counted as a length error.
fn slot_len(family: AddressFamily) -> usize {
    use vrrp_proto::{AUTH_TRAILER_LEN, IP_AH_LEN, MAX_ADDRESSES};
    let vrrp = |addr_len: usize| {
        vrrp_proto::field::HEADER_LEN
            + vrrp_proto::field::V2_AUTH_DATA_LEN
            + MAX_ADDRESSES * addr_len
            + AUTH_TRAILER_LEN
    };
    match family {
        AddressFamily::Ipv4 => 60 + IP_AH_LEN + vrrp(4),
        AddressFamily::Ipv6 => IP_AH_LEN + vrrp(16),
    }
}

/// How to open an [`AdvertSocket`]. Built with [`AdvertSocketConfig::multicast`] and
/// refined with the `with_*` methods so new options never break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertSocketConfig {
    pub(crate) interface: String,
    pub(crate) family: AddressFamily,
    pub(crate) version: Version,
    pub(crate) source: Option<IpAddr>,
    pub(crate) peers: Vec<IpAddr>,
    pub(crate) ttl: u8,
    pub(crate) vrid: Option<u8>,
    pub(crate) checksum_mode: ChecksumMode,
    pub(crate) decode: DecodeOptions,
    pub(crate) ip_ah: Option<[u8; 8]>,
    pub(crate) auth_hmac: Option<AuthHmac>,
}

impl AdvertSocketConfig {
    /// Multicast adverts (224.0.0.18 / ff02::12) of `version` and `family` on `interface`,
    /// TTL / hop limit 255.
    ///
    /// ```
    /// use vip_netlink::{AdvertSocketConfig, AddressFamily};
    /// use vrrp_proto::Version;
    /// let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3).with_vrid(51);
    /// assert!(!cfg.is_unicast());
    /// ```
    pub fn multicast(
        interface: impl Into<String>,
        family: AddressFamily,
        version: Version,
    ) -> Self {
        AdvertSocketConfig {
            interface: interface.into(),
            family,
            version,
            source: None,
            peers: Vec::new(),
            ttl: 255,
            vrid: None,
            checksum_mode: ChecksumMode::Rfc5798PseudoHeader,
            decode: DecodeOptions::default(),
            ip_ah: None,
            auth_hmac: None,
        }
    }

    /// Checksum of sent VRRPv3 adverts: RFC 5798 pseudo-header (default, keepalived's
    /// default) or [`ChecksumMode::NoPseudoHeader`] (RFC 9568 / `v3_checksum_as_v2`).
    pub fn with_checksum_mode(mut self, mode: ChecksumMode) -> Self {
        self.checksum_mode = mode;
        self
    }

    /// What the receive path accepts (checksum modes, v2 auth, required trailer, ...).
    /// `version` and `check_ttl` are always taken from this configuration: the configured
    /// version, and the TTL check on unless unicast.
    pub fn with_decode_options(mut self, opts: DecodeOptions) -> Self {
        self.decode = opts;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.version == Version::V2 && self.family == AddressFamily::Ipv6 {
            return Err(Error::InvalidConfig("VRRPv2 is IPv4 only".into()));
        }
        if self.ip_ah.is_some()
            && (self.version != Version::V2 || self.family != AddressFamily::Ipv4)
        {
            return Err(Error::InvalidConfig(
                "IP AH authentication is VRRPv2 over IPv4 only".into(),
            ));
        }
        if self.ip_ah.is_some() && self.auth_hmac.is_some() {
            return Err(Error::InvalidConfig(
                "auth_hmac and IP AH authentication exclude each other".into(),
            ));
        }
        let fam = |a: &IpAddr| AddressFamily::of(a) == self.family;
        if self.source.as_ref().is_some_and(|s| !fam(s)) {
            return Err(Error::InvalidConfig(
                "source address of the wrong family".into(),
            ));
        }
        if !self.peers.iter().all(fam) {
            return Err(Error::InvalidConfig(
                "unicast peer of the wrong family".into(),
            ));
        }
        Ok(())
    }

    /// Unicast mode (keepalived's `unicast_peer`): every advert is sent to each peer and
    /// adverts are accepted only from them. The TTL check is skipped as keepalived does.
    /// An empty list means multicast.
    pub fn with_unicast_peers(mut self, peers: impl IntoIterator<Item = IpAddr>) -> Self {
        self.peers = peers.into_iter().collect();
        self
    }

    /// Source address of sent adverts (keepalived's `unicast_src_ip`). Default: the
    /// interface's primary IPv4 address, or its IPv6 link-local address.
    pub fn with_source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// TTL / hop limit of sent adverts (keepalived's `unicast_ttl`); 255 by default and
    /// always 255 for multicast, which RFC 5798 §5.1.1.3 requires.
    pub fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = ttl;
        self
    }

    /// VRRPv2 auth type 2, keepalived's `auth_type AH`: adverts travel under an IP
    /// Authentication Header keyed with `key` (the password, zero padded to 8 octets). The
    /// socket is then a raw `IPPROTO_AH` socket; it sends [`Auth::IpAh`](vrrp_proto::Auth)
    /// adverts with [`Advert::encode_ipv4_ah`] and accepts only AH packets whose ICV and SPI
    /// verify and whose sequence number is above the last one sent or accepted (keepalived's
    /// anti-replay counter, [`vrrp_proto::IpAhSequence`]).
    ///
    /// ```
    /// use vip_netlink::{AdvertSocketConfig, AddressFamily};
    /// use vrrp_proto::Version;
    /// let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V2)
    ///     .with_ip_ah(*b"secret\0\0");
    /// assert!(cfg.ip_ah().is_some());
    /// ```
    pub fn with_ip_ah(mut self, key: [u8; 8]) -> Self {
        self.ip_ah = Some(key);
        self
    }

    /// The IP AH key, when adverts travel under an AH.
    pub fn ip_ah(&self) -> Option<&[u8; 8]> {
        self.ip_ah.as_ref()
    }

    /// keepalived 2.4's `auth_hmac`: adverts carry a 28-octet HMAC-SHA256 trailer signed
    /// with the active key (none in `receive-only` mode), and received adverts are verified
    /// as keepalived does (see [`AuthHmac`] and [`AuthHmacRefusal`]); refusals are counted in
    /// [`AdvertStats::auth_hmac`]. Works for both versions, both families, multicast and
    /// unicast. Exclusive with [`with_ip_ah`](Self::with_ip_ah).
    ///
    /// ```
    /// use vip_netlink::{AdvertSocketConfig, AddressFamily, AuthHmac, AuthHmacKey};
    /// use vrrp_proto::Version;
    /// let key = AuthHmacKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
    /// let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv6, Version::V3)
    ///     .with_auth_hmac(AuthHmac::new([(1, key)], 1, 5).unwrap());
    /// assert_eq!(cfg.auth_hmac().map(|a| a.active_key()), Some(1));
    /// ```
    pub fn with_auth_hmac(mut self, auth: AuthHmac) -> Self {
        self.auth_hmac = Some(auth);
        self
    }

    /// The `auth_hmac` block, when adverts carry a trailer.
    pub fn auth_hmac(&self) -> Option<&AuthHmac> {
        self.auth_hmac.as_ref()
    }

    /// Octets of IP AH between the IPv4 header and the VRRP message.
    fn ah_len(&self) -> u32 {
        if self.ip_ah.is_some() {
            IP_AH_LEN as u32
        } else {
            0
        }
    }

    /// Only hand adverts of this VRID to the caller; others are counted in
    /// `vrid_errors`. Default: all VRIDs (the caller dispatches).
    pub fn with_vrid(mut self, vrid: u8) -> Self {
        self.vrid = Some(vrid);
        self
    }

    /// True when unicast peers are configured.
    pub fn is_unicast(&self) -> bool {
        !self.peers.is_empty()
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The address family.
    pub fn family(&self) -> AddressFamily {
        self.family
    }

    /// The VRRP version expected on receive and used on send.
    pub fn version(&self) -> Version {
        self.version
    }
}

/// One valid advert as it came in, owned: the decoded [`Advert`] plus what the kernel said
/// about its datagram (source, destination, interface index, hop limit, arrival time).
///
/// [`vrrp_proto::ReceivedAdvert`] is the codec's zero-copy view of the advert alone, borrowing
/// the packet; [`InboundAdvertRef`] pairs that view with the same datagram facts, and
/// [`InboundAdvertRef::to_owned`] turns it into this type. Returned by
/// [`AdvertTransport::recv`] and [`AdvertSocket::recv_advert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAdvert {
    /// The decoded advert.
    pub advert: Advert,
    /// IP source of the packet (the sender's primary or link-local address).
    pub source: IpAddr,
    /// IP destination (the multicast group, or our address in unicast mode).
    pub destination: IpAddr,
    /// Interface index it arrived on.
    pub ifindex: u32,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub hop_limit: u8,
    /// When the kernel received the packet (`SO_TIMESTAMPNS`, moved onto the monotonic
    /// clock), or when it was read if the kernel gave no timestamp. Pass it as `now` to the
    /// state machine so the Master_Down_Timer starts from the arrival, not from the read.
    pub received_at: Instant,
}

/// One valid advert as it came in, borrowed from the socket's receive buffer: the codec's
/// zero-copy [`vrrp_proto::ReceivedAdvert`] view plus what the kernel said about the datagram
/// (source, destination, interface index, hop limit, arrival time), as in [`InboundAdvert`].
/// Given to the closure of [`AdvertSocket::recv_with`]; [`to_owned`](Self::to_owned) copies it
/// into an owned [`InboundAdvert`].
#[derive(Debug, Clone, Copy)]
pub struct InboundAdvertRef<'a> {
    /// The decoded and validated advert, read in place (`vrrp_proto::AdvertFields`).
    pub advert: vrrp_proto::ReceivedAdvert<'a>,
    /// IP source of the packet (the sender's primary or link-local address).
    pub source: IpAddr,
    /// IP destination (the multicast group, or our address in unicast mode).
    pub destination: IpAddr,
    /// Interface index it arrived on.
    pub ifindex: u32,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub hop_limit: u8,
    /// When the kernel received the packet (see [`InboundAdvert::received_at`]).
    pub received_at: Instant,
}

impl InboundAdvertRef<'_> {
    /// Copies it into an owned [`InboundAdvert`] (builds the owned [`Advert`]).
    pub fn to_owned(&self) -> InboundAdvert {
        InboundAdvert {
            advert: self.advert.to_advert(),
            source: self.source,
            destination: self.destination,
            ifindex: self.ifindex,
            hop_limit: self.hop_limit,
            received_at: self.received_at,
        }
    }
}

/// Sending and receiving adverts, so a daemon can run on another runtime or a simulated
/// network. [`AdvertSocket`] is the tokio implementation.
#[async_trait]
pub trait AdvertTransport: Send + Sync {
    /// Send one advert: to the multicast group, or one copy to each unicast peer.
    /// Returns the number of datagrams sent.
    async fn send(&self, advert: &Advert) -> Result<usize>;
    /// Wait for the next valid advert. Malformed or unwanted packets are counted in
    /// [`AdvertStats`] and skipped, never returned.
    async fn recv(&self) -> Result<InboundAdvert>;
    /// The receive counters so far.
    fn stats(&self) -> AdvertStats;
}

/// A raw IPv4 or IPv6 socket for protocol 112 bound to one interface (tokio).
///
/// Choices (and the keepalived behaviour they mirror):
/// * IPv4 is sent with `IP_HDRINCL` and a header built by `vrrp-proto` (TOS 0xc0, TTL 255 or
///   `unicast_ttl`, the source we choose), as keepalived does; received packets arrive with
///   their IPv4 header and go whole to [`vrrp_proto::decode_ipv4`].
/// * IPv6 checksums are computed and verified **in user space** by `vrrp-proto` instead of
///   the kernel's `IPV6_CHECKSUM`, so a bad checksum is counted (`checksum_errors`) rather
///   than silently dropped by the kernel. The source (link-local) and interface go in an
///   `IPV6_PKTINFO` control message; destination and hop limit come back through
///   `IPV6_RECVPKTINFO` / `IPV6_RECVHOPLIMIT` and go to [`vrrp_proto::decode_ipv6`].
/// * One socket per interface and family, bound with `SO_BINDTODEVICE`, never bound to an
///   address (a raw socket bound to an address only receives packets sent to that address).
/// * Multicast: joins 224.0.0.18 / ff02::12 on the interface, multicast loop off.
/// * Unicast (`unicast_peer`): no group join, one copy per peer with the checksum computed
///   for that peer's destination, TTL not checked on receive, only configured peers accepted.
///
/// ```no_run
/// # async fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{AdvertSocket, AdvertSocketConfig, AdvertTransport, AddressFamily};
/// use vrrp_proto::{AddressList, Advert, Version};
///
/// let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3).with_vrid(51);
/// let sock = AdvertSocket::open(cfg)?;
/// let vips = AddressList::from_v4(&["192.0.2.10".parse().unwrap()]).unwrap();
/// sock.send(&Advert::v3(51, 150, 100, vips)).await?;
/// let rx = sock.recv().await?;
/// println!("{} says priority {}", rx.source, rx.advert.priority);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AdvertSocket {
    config: AdvertSocketConfig,
    interface: Interface,
    source: std::sync::RwLock<Option<IpAddr>>,
    counters: AdvertCounters,
    ip_id: AtomicU16,
    /// keepalived's IP AH sequence counter, shared by sends and receives.
    ah_sequence: Mutex<IpAhSequence>,
    /// `auth_hmac`'s keys, send sequence, replay marks and refusal counters.
    auth_hmac: Mutex<Option<AuthHmacState>>,
    rx: Mutex<RxQueue>,
    /// The [`WakeOn`] in force (`true`: [`WakeOn::PriorityZero`]); changed under `switch`.
    sleeps_through: std::sync::atomic::AtomicBool,
    /// See [`AdvertSocket::set_priority_floor`].
    priority_floor: Mutex<(u8, Option<IpAddr>)>,
    switch: Mutex<()>,
    /// Adverts waiting for a sleeping reader; also sends. Never watched by the reader's
    /// `epoll`: the kernel frees every sent datagram with a write-space wake-up on its
    /// socket's wait queue, which costs a locked walk of the queue when a reader waits there.
    queue: Socket,
    /// The socket whose readiness wakes the reader.
    io: SocketReadiness,
    /// The eBPF wake filter, if the kernel let us load it (see [`AdvertSocket::set_wake_after`]).
    wake_program: Option<WakeProgram>,
    /// The kernel refused to attach `wake_program`: the classic filter is used instead.
    ebpf_refused: std::sync::atomic::AtomicBool,
}

/// Datagrams read by the last `recvmmsg` and not yet handed out.
#[derive(Debug)]
struct RxQueue {
    /// The datagrams of the last batch read, back to back, each only as long as it is: the
    /// read itself goes through the thread's [`RECEIVE_SCRATCH`]. Most sockets read one
    /// advert per interval, and with a thousand instances room for a batch of the longest
    /// possible adverts each was most of the daemon's memory.
    bufs: Vec<u8>,
    /// The longest valid datagram of the family ([`slot_len`]).
    slot: usize,
    /// How many datagrams the next read asks for: one until a read fills that, then
    /// [`RECV_BATCH`].
    batch: usize,
    /// Each datagram of the batch and where it starts in `bufs`.
    info: Vec<(Received, usize)>,
    count: usize,
    next: usize,
    /// The queue socket may hold adverts (set on a wake-up switch, cleared at `EAGAIN`).
    queue_pending: bool,
    /// The queue socket was found empty (a short batch, or `EAGAIN`) during the drain under
    /// way: it is not read again until that drain ends (`Ok(None)`), so a drain that also
    /// reads the wake socket wastes no read on the queue socket's `EAGAIN`.
    queue_short: bool,
    /// The same for the wake socket, read by [`AdvertSocket::try_recv_ready_with`].
    wake_short: bool,
    /// Kernel receive times of the last datagrams handled, to recognise the second copy of
    /// one that both sockets queued.
    recent: [u64; RECENT],
    recent_next: usize,
    /// Both clocks as read right after the last batch.
    clock: Option<ClockPair>,
}

/// How many receive times [`RxQueue::recent`] remembers.
const RECENT: usize = 32;

thread_local! {
    /// Where a thread's reads land before each datagram is copied, at its own length, into
    /// its socket's [`RxQueue`]: room for a batch of the longest adverts once per thread, not
    /// once per socket (an advert is tens of octets; the copy costs less than the cache
    /// misses of a thousand separate buffers).
    static RECEIVE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Where a thread encodes an advert to send, for the same reason: the encoding lives
    /// only until the send returns.
    static SEND_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl RxQueue {
    fn new(slot: usize) -> Self {
        RxQueue {
            bufs: Vec::new(),
            slot,
            batch: 1,
            info: Vec::new(),
            count: 0,
            next: 0,
            queue_pending: false,
            queue_short: false,
            wake_short: false,
            recent: [0; RECENT],
            recent_next: 0,
            clock: None,
        }
    }

    /// True if the datagram received at `t` was handled already (the copy from the other
    /// socket); otherwise remembers it.
    fn seen(&mut self, t: Option<Duration>) -> bool {
        let Some(t) = t else { return false };
        // Nanoseconds since the epoch fit 64 bits until 2554; zero is never a kernel time.
        let t = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1);
        if self.recent.contains(&t) {
            return true;
        }
        self.recent[self.recent_next] = t;
        self.recent_next = (self.recent_next + 1) % RECENT;
        false
    }

    /// Reads the next batch from `fd` into the buffers. Returns how many datagrams were read
    /// and whether they filled the batch (then more may be waiting); a filled batch of one
    /// makes the next read ask for [`RECV_BATCH`].
    fn fill(&mut self, fd: RawFd) -> std::io::Result<(usize, bool)> {
        let batch = self.batch;
        let slot = self.slot;
        let mut got = [Received::default(); RECV_BATCH];
        let n = RECEIVE_SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let need = slot * batch;
            if scratch.len() < need {
                scratch.resize(need, 0);
            }
            let n = recv_batch(fd, &mut scratch[..need], slot, &mut got)?;
            self.bufs.clear();
            self.info.clear();
            for (i, info) in got.iter().enumerate().take(n) {
                self.info.push((*info, self.bufs.len()));
                self.bufs
                    .extend_from_slice(&scratch[i * slot..i * slot + info.len]);
            }
            Ok::<_, std::io::Error>(n)
        })?;
        let full = n == batch;
        if full {
            self.batch = RECV_BATCH;
        }
        self.count = n;
        self.next = 0;
        self.clock = Some(ClockPair::now(self.clock.as_ref()));
        Ok((n, full))
    }

    /// Reads the next batch waiting in the queue socket `fd`; `Ok(0)` when it was empty.
    /// Either way `queue_pending` then says whether more may be waiting (a full batch).
    fn fill_from_queue(&mut self, fd: RawFd) -> std::io::Result<usize> {
        match self.fill(fd) {
            Ok((n, full)) => {
                self.queue_pending = full;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.queue_pending = false;
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
}

/// The two clocks read together when a batch is read: the kernel timestamps datagrams on
/// `CLOCK_REALTIME`, the state machine runs on the monotonic clock.
#[derive(Debug, Clone, Copy)]
struct ClockPair {
    mono: Instant,
    wall: Duration,
    /// The wall clock was stepped since the previous pair: its timestamps cannot be mapped.
    stepped: bool,
    /// There was a previous pair to check for a step against.
    checked: bool,
}

/// The monotonic and wall clocks read as one instant: a thread preempted between the two
/// reads (a loaded machine) would pair them milliseconds apart and look like a step of the
/// wall clock, so a read that took long is tried again (the tightest of a few is kept).
fn read_together() -> (Instant, Duration) {
    // (how long the read took, the monotonic middle of it, the wall reading inside it)
    let read = || {
        let before = Instant::now();
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let took = Instant::now().saturating_duration_since(before);
        (took, before + took / 2, wall)
    };
    let mut best = read();
    for _ in 1..4 {
        if best.0 < Duration::from_micros(20) {
            break;
        }
        let again = read();
        if again.0 < best.0 {
            best = again;
        }
    }
    (best.1, best.2)
}

impl ClockPair {
    /// Reads both clocks; `prev` (the pair of the previous read) tells a step of the wall
    /// clock (beyond what NTP slewing can do) from the time that passed.
    fn now(prev: Option<&ClockPair>) -> ClockPair {
        let (mono, wall) = read_together();
        let stepped = match prev {
            None => false,
            Some(p) => {
                let mono_d = mono.saturating_duration_since(p.mono);
                let drift = if wall >= p.wall {
                    (wall - p.wall).abs_diff(mono_d)
                } else {
                    (p.wall - wall) + mono_d
                };
                // Slewing moves the wall clock by at most 0.05 %.
                drift > Duration::from_millis(2) + mono_d / 1000
            }
        };
        ClockPair {
            mono,
            wall,
            stepped,
            checked: prev.is_some(),
        }
    }

    /// The kernel's receive time moved onto the monotonic clock. Falls back to the read
    /// time when the timestamp is missing, in the future, older than `max_age`, or the wall
    /// clock was stepped: a later arrival only delays a takeover, an earlier one could
    /// cause a false one.
    fn arrival(&self, kernel_time: Option<Duration>, max_age: Duration) -> Instant {
        let Some(kt) = kernel_time else {
            return self.mono;
        };
        if self.stepped {
            return self.mono;
        }
        // Without a previous pair a step cannot be ruled out: trust only a recent stamp.
        let max_age = if self.checked {
            max_age
        } else {
            max_age.min(Duration::from_secs(1))
        };
        match self.wall.checked_sub(kt) {
            Some(age) if age <= max_age => self.mono.checked_sub(age).unwrap_or(self.mono),
            _ => self.mono,
        }
    }
}

/// The oldest a queued advert can plausibly be: a Backup sleeping through adverts reads
/// them at its Master_Down_Timer, at most 3 × 255 s + 1 s later (VRRPv2's longest interval).
const MAX_QUEUED_AGE: Duration = Duration::from_secs(3 * 255 + 1);

impl AdvertSocket {
    /// Open the socket: needs `CAP_NET_RAW` and a tokio runtime. Fails with
    /// [`Error::NoSuchInterface`] if the interface is missing; a missing source address is
    /// not an error here (it is looked up again at each send until found).
    pub fn open(config: AdvertSocketConfig) -> Result<Self> {
        Self::open_with(config, true)
    }

    /// Open the socket for the caller's own event loop, without a runtime: it is never
    /// registered with tokio's reactor. Put its descriptor ([`AsRawFd`]) in your `epoll`
    /// set, read with [`try_recv_ready_with`](Self::try_recv_ready_with) when it polls
    /// readable (and [`try_recv_with`](Self::try_recv_with) for adverts slept through), send
    /// with [`try_send_advert`](Self::try_send_advert). The async methods still work, except
    /// that waiting (for an advert, or for room to send) fails instead.
    ///
    /// ```no_run
    /// # fn f() -> vip_netlink::Result<()> {
    /// use std::os::fd::AsRawFd;
    /// use vip_netlink::{AdvertSocket, AdvertSocketConfig, AddressFamily};
    /// use vrrp_proto::Version;
    /// let cfg = AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3).with_vrid(51);
    /// let sock = AdvertSocket::open_polled(cfg)?;
    /// let fd = sock.as_raw_fd(); // into epoll_ctl(EPOLL_CTL_ADD, fd, EPOLLIN)
    /// // ... epoll_wait reported `fd` readable:
    /// while let Some(prio) = sock.try_recv_ready_with(|rx| rx.advert.priority())? {
    ///     println!("advert with priority {prio}");
    /// }
    /// # let _ = fd; Ok(()) }
    /// ```
    pub fn open_polled(config: AdvertSocketConfig) -> Result<Self> {
        Self::open_with(config, false)
    }

    fn open_with(config: AdvertSocketConfig, reactor: bool) -> Result<Self> {
        config.validate()?;
        let interface = Interface::by_name(&config.interface)?;
        // Two sockets see every advert: the readiness of `wake` (in the reactor) decides when
        // the reader wakes, `queue` (never in the reactor) holds the adverts a sleeping Backup
        // reads later. Only one of them queues a given advert, switched by `set_wake_on`.
        // Sends go out through `queue`, the socket nobody waits on (see the field).
        let wake = open_raw(&config, &interface)?;
        let queue = open_raw(&config, &interface)?;
        queue
            .attach_filter(&wake_filter::for_socket2(&wake_filter::drop_all()))
            .map_err(|e| Error::io("SO_ATTACH_FILTER", e))?;
        // Readable interest only: with EPOLLOUT the reactor would wake once more after every
        // sent advert when the kernel frees its buffer. Sends are tried directly and wait for
        // writability (on a separate registration) only on EAGAIN.
        let io = SocketReadiness::new(wake, Interest::READABLE, reactor)
            .map_err(|e| Error::io("register raw VRRP socket", e))?;
        let source = match config.source {
            Some(s) => Some(s),
            None => interface.source_address(config.family).ok(),
        };
        let wake_program = match WakeProgram::load(
            config.vrid,
            config.family == AddressFamily::Ipv4,
            config.ah_len(),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                debug!(interface = %config.interface, "no eBPF wake filter, a Backup wakes by its timer only: {e}");
                None
            }
        };
        debug!(interface = %config.interface, family = ?config.family, ?source,
               unicast = config.is_unicast(), "advert socket open");
        let auth_hmac = config
            .auth_hmac
            .clone()
            .map(|a| AuthHmacState::new(a, config.peers.len()));
        let slot = slot_len(config.family);
        Ok(AdvertSocket {
            config,
            interface,
            source: std::sync::RwLock::new(source),
            counters: AdvertCounters::default(),
            ip_id: AtomicU16::new(0),
            ah_sequence: Mutex::new(IpAhSequence::default()),
            auth_hmac: Mutex::new(auth_hmac),
            rx: Mutex::new(RxQueue::new(slot)),
            sleeps_through: std::sync::atomic::AtomicBool::new(false),
            priority_floor: Mutex::new((0, None)),
            switch: Mutex::new(()),
            queue,
            io,
            wake_program,
            ebpf_refused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Datagrams the kernel dropped so far on this advert's sockets (wake and queue) because
    /// their receive buffer was full, counted now, even behind a queue still full (see
    /// [`receive_buffer::drops_now`](crate::receive_buffer::drops_now)). A reader that
    /// slept through adverts compares it with its last reading: a rise means adverts were
    /// lost unread, perhaps its Master's.
    pub fn receive_buffer_drops(&self) -> Result<u64> {
        let mut total = 0u64;
        for fd in [self.io.as_raw_fd(), self.queue.as_raw_fd()] {
            let d = crate::receive_buffer::drops_now(fd)
                .map_err(|e| Error::io("getsockopt SO_MEMINFO", e))?;
            total += u64::from(d);
        }
        Ok(total)
    }

    /// While the reader sleeps through adverts ([`WakeOn::PriorityZero`]), the queue it
    /// reads later drops adverts of its VRID with a priority above 0 and below `floor`,
    /// except those from `master` (0 or 1: keeps everything). A preempting Backup (no
    /// `preempt_delay`) discards lower priorities anyway (RFC 5798 6.4.2) but for the Master
    /// it knows, so a flood of them can no longer fill the queue and push out its Master's
    /// adverts. The caller keeps it at the Backup's effective priority and known Master.
    pub fn set_priority_floor(&self, floor: u8, master: Option<IpAddr>) -> Result<()> {
        let _switching = self.switch.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut current = self
                .priority_floor
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if *current == (floor, master) {
                return Ok(());
            }
            *current = (floor, master);
        }
        if self.wake_on() == WakeOn::PriorityZero {
            self.apply_priority_floor((floor, master))?;
        }
        Ok(())
    }

    /// The queue socket's filter for a floor (none at all for 0 or 1).
    fn apply_priority_floor(&self, (floor, master): (u8, Option<IpAddr>)) -> Result<()> {
        if floor <= 1 {
            return self
                .queue
                .detach_filter()
                .map_err(|e| Error::io("SO_DETACH_FILTER", e));
        }
        let prog = wake_filter::priority_floor(
            self.config.vrid,
            self.config.family == AddressFamily::Ipv4,
            self.config.ah_len(),
            floor,
            master,
        );
        self.queue
            .attach_filter(&wake_filter::for_socket2(&prog))
            .map_err(|e| Error::io("SO_ATTACH_FILTER", e))
    }

    /// Chooses which adverts wake the reader ([`WakeOn`]); a Backup sets
    /// [`WakeOn::PriorityZero`] and reads the rest with [`try_recv_with`](Self::try_recv_with)
    /// when its timer is due. Switching loses no advert (one arriving during the switch may
    /// be queued twice; the copy is recognised by its kernel timestamp and dropped).
    pub fn set_wake_on(&self, wake_on: WakeOn) -> Result<()> {
        let _switching = self.switch.lock().unwrap_or_else(|e| e.into_inner());
        if self.wake_on() == wake_on {
            return Ok(());
        }
        let attach = |s: &Socket, prog: &[libc::sock_filter]| {
            s.attach_filter(&wake_filter::for_socket2(prog))
                .map_err(|e| Error::io("SO_ATTACH_FILTER", e))
        };
        // Accepting everything is no filter at all: the kernel then runs no program per
        // datagram (a Master's advert reaches a Backup's two sockets, in the sender's softirq).
        let accept_all = |s: &Socket| {
            s.detach_filter()
                .map_err(|e| Error::io("SO_DETACH_FILTER", e))
        };
        // Open the new path before closing the old one, so no advert falls between.
        match wake_on {
            WakeOn::PriorityZero => {
                let floor = *self
                    .priority_floor
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                self.apply_priority_floor(floor)?;
                // A refused attach is not tried again at the next switch: the classic filter
                // it fell back to is what this socket gets from then on.
                let ebpf = self.ebpf_program().is_some_and(|p| {
                    p.set_wake_at(None);
                    p.attach(self.io.as_raw_fd())
                        .map_err(|e| {
                            debug!(interface = %self.config.interface, "SO_ATTACH_BPF: {e}; classic filter");
                            self.ebpf_refused.store(true, Ordering::Release);
                        })
                        .is_ok()
                });
                if !ebpf {
                    let prog = wake_filter::urgent_only(
                        self.config.vrid,
                        self.config.family == AddressFamily::Ipv4,
                        self.config.ah_len(),
                    );
                    attach(self.io.socket(), &prog)?;
                }
            }
            WakeOn::EveryAdvert => {
                accept_all(self.io.socket())?;
                attach(&self.queue, &wake_filter::drop_all())?;
                // What the queue still holds is read before the next wake-up's adverts.
                self.rx
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .queue_pending = true;
            }
        }
        self.sleeps_through
            .store(wake_on == WakeOn::PriorityZero, Ordering::Release);
        trace!(interface = %self.config.interface, ?wake_on, "advert wake-up changed");
        Ok(())
    }

    /// While the reader sleeps through adverts ([`WakeOn::PriorityZero`]), also wake it for
    /// the first advert of any priority received at or after `at` (`None`: only the urgent
    /// ones). A Backup that must read its Master's adverts by a deadline anyway sets this a
    /// little before the last advert due before that deadline: woken right behind that
    /// advert, it runs with the receive path warm instead of cold from its timer, for the
    /// same number of wake-ups. Costs no system call (a store into a map shared with the
    /// socket's eBPF filter).
    ///
    /// Returns `false`, and changes nothing, where the kernel refused the eBPF filter this
    /// needs (`CAP_BPF` or `CAP_SYS_ADMIN`, kernel 5.5 or later): the reader then wakes by its
    /// own timer only.
    ///
    /// ```no_run
    /// # fn f(sock: &vip_netlink::AdvertSocket) -> vip_netlink::Result<()> {
    /// use std::time::{Duration, Instant};
    /// use vip_netlink::WakeOn;
    /// sock.set_wake_on(WakeOn::PriorityZero)?;
    /// let warm = sock.set_wake_after(Some(Instant::now() + Duration::from_millis(2500)));
    /// println!("woken by an advert: {warm}");
    /// # Ok(()) }
    /// ```
    pub fn set_wake_after(&self, at: Option<Instant>) -> bool {
        match self.ebpf_program() {
            Some(p) => {
                p.set_wake_at(at);
                true
            }
            None => false,
        }
    }

    /// The eBPF wake filter, unless it could not be loaded or the kernel refused to attach it.
    fn ebpf_program(&self) -> Option<&WakeProgram> {
        self.wake_program
            .as_ref()
            .filter(|_| !self.ebpf_refused.load(Ordering::Acquire))
    }

    /// The current [`WakeOn`].
    pub fn wake_on(&self) -> WakeOn {
        if self.sleeps_through.load(Ordering::Acquire) {
            WakeOn::PriorityZero
        } else {
            WakeOn::EveryAdvert
        }
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &AdvertSocketConfig {
        &self.config
    }

    /// The receive buffers in force on the instance's two sockets (the one that wakes the
    /// reader, the one a sleeping Backup reads later), octets as the kernel reports them:
    /// sized for bursts at open (see [`crate::receive_buffer`]).
    pub fn receive_buffers(&self) -> Result<[usize; 2]> {
        let get = |fd| receive_buffer::receive_buffer(fd).map_err(|e| Error::io("SO_RCVBUF", e));
        Ok([get(self.as_raw_fd())?, get(self.queue.as_raw_fd())?])
    }

    /// The interface it is bound to.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// The source address used for sending, if known.
    pub fn source(&self) -> Option<IpAddr> {
        *self.source.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-resolve the source address from the interface (after an address change), unless
    /// one was configured. Returns the new source, or [`Error::NoSourceAddress`]
    /// (keepalived's `NO_SOURCE_IP` fault).
    pub fn refresh_source(&self) -> Result<IpAddr> {
        if let Some(s) = self.config.source {
            return Ok(s);
        }
        let found = self.interface.source_address(self.config.family);
        let mut g = self.source.write().unwrap_or_else(|e| e.into_inner());
        *g = found.as_ref().ok().copied();
        found
    }

    /// Where adverts go: each unicast peer, or the multicast group (no allocation).
    fn destinations(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let group = match self.config.family {
            AddressFamily::Ipv4 => IpAddr::V4(VRRP_GROUP_V4),
            AddressFamily::Ipv6 => IpAddr::V6(VRRP_GROUP_V6),
        };
        let multicast = (!self.config.is_unicast()).then_some(group);
        self.config.peers.iter().copied().chain(multicast)
    }

    /// [`AdvertTransport::send`] without the boxed future: what a hot loop should call.
    /// Encodes into the socket's own buffer and sends at once; waits only if the kernel's
    /// send buffer is full.
    pub async fn send_advert(&self, advert: &Advert) -> Result<usize> {
        let src = self.send_source()?;
        let ah = self.next_ah_sequence();
        let trailer = self.next_trailer();
        let mut sent = 0;
        for dst in self.destinations() {
            if let Some(packet) = self.start_send(advert, src, dst, ah, trailer.as_ref())? {
                self.send_one(&packet, src, dst).await?;
            }
            sent += 1;
        }
        trace!(
            vrid = advert.vrid,
            priority = advert.priority,
            sent,
            "advert sent"
        );
        Ok(sent)
    }

    /// Sends the advert now, without waiting: the send of an event loop that polls this
    /// socket itself ([`open_polled`](Self::open_polled)). A full kernel send buffer fails
    /// that destination with an `Io` error (`WouldBlock`) after the others were tried: the
    /// advert is lost, as keepalived's is, and the next one follows one interval later.
    /// Returns how many copies were sent (one per unicast peer, or one multicast).
    ///
    /// ```no_run
    /// # fn f(sock: &vip_netlink::AdvertSocket, advert: &vrrp_proto::Advert) -> vip_netlink::Result<()> {
    /// sock.try_send_advert(advert)?;
    /// # Ok(()) }
    /// ```
    pub fn try_send_advert(&self, advert: &Advert) -> Result<usize> {
        let src = self.send_source()?;
        let ah = self.next_ah_sequence();
        let trailer = self.next_trailer();
        let mut sent = 0;
        let mut blocked = None;
        for dst in self.destinations() {
            match self.start_send(advert, src, dst, ah, trailer.as_ref())? {
                None => sent += 1,
                Some(_) => blocked = Some(dst),
            }
        }
        if let Some(dst) = blocked {
            debug!(%dst, "advert not sent: the socket's send buffer is full");
            return Err(send_would_block());
        }
        trace!(
            vrid = advert.vrid,
            priority = advert.priority,
            sent,
            "advert sent"
        );
        Ok(sent)
    }

    /// With IP AH: the sequence number of the advert about to be sent (one per advert, the
    /// same to every unicast peer, as keepalived's).
    fn next_ah_sequence(&self) -> Option<u32> {
        self.config.ip_ah.as_ref()?;
        let mut seq = self.ah_sequence.lock().unwrap_or_else(|e| e.into_inner());
        Some(seq.next_to_send())
    }

    /// With `auth_hmac` (and not `receive-only`): the key and sequence of the advert about to
    /// be sent, one per advert, the same in every unicast copy (keepalived signs once).
    fn next_trailer(&self) -> Option<TrailerToSign> {
        let mut g = self.auth_hmac.lock().unwrap_or_else(|e| e.into_inner());
        g.as_mut()?.next_to_sign()
    }

    /// The `auth_hmac` block in force, if any.
    pub fn auth_hmac(&self) -> Option<AuthHmac> {
        let g = self.auth_hmac.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(|s| s.config().clone())
    }

    /// Replaces the `auth_hmac` block of an open socket (a reload: new keys, another
    /// `active_key`, mode, window or anti-replay rule, or `auth_hmac` turned on or off),
    /// from the next advert sent or received. The send sequence and the senders' replay
    /// marks stay, so keys rotate with no gap and no replay window.
    pub fn set_auth_hmac(&self, auth: Option<AuthHmac>) {
        let mut g = self.auth_hmac.lock().unwrap_or_else(|e| e.into_inner());
        match (g.as_mut(), auth) {
            (Some(state), Some(auth)) => state.reconfigure(auth),
            (_, auth) => *g = auth.map(|a| AuthHmacState::new(a, self.config.peers.len())),
        }
    }

    /// The `auth_hmac` refusals so far (also in [`AdvertStats::auth_hmac`]).
    pub fn auth_hmac_stats(&self) -> AuthHmacStats {
        let g = self.auth_hmac.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(|s| s.stats()).unwrap_or_default()
    }

    /// The source address of a send: the known one, or looked up now.
    fn send_source(&self) -> Result<IpAddr> {
        match self.source() {
            Some(s) => Ok(s),
            None => self.refresh_source(),
        }
    }

    /// Encodes into the socket's own buffer and sends at once (no buffer per send); returns
    /// a copy of the packet only when the send would block.
    fn start_send(
        &self,
        advert: &Advert,
        src: IpAddr,
        dst: IpAddr,
        ah: Option<u32>,
        trailer: Option<&TrailerToSign>,
    ) -> Result<Option<Vec<u8>>> {
        SEND_SCRATCH.with(|tx| {
            let mut tx = tx.borrow_mut();
            let len = slot_len(self.config.family);
            if tx.len() < len {
                tx.resize(len, 0);
            }
            let n = self.encode(advert, src, dst, ah, trailer, &mut tx[..len])?;
            match self.try_send(&tx[..n], src, dst) {
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Some(tx[..n].to_vec())),
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                    Err(Error::NoSuchInterface(self.config.interface.clone()))
                }
                Err(e) => Err(Error::io("send advert", e)),
            }
        })
    }

    /// Encode the advert for one destination.
    fn encode(
        &self,
        advert: &Advert,
        src: IpAddr,
        dst: IpAddr,
        ah: Option<u32>,
        trailer: Option<&TrailerToSign>,
        buf: &mut [u8],
    ) -> Result<usize> {
        let mode = self.config.checksum_mode;
        let signer = trailer.map(|t| AuthTrailerSigner {
            key: t.key.as_bytes(),
            key_id: t.key_id,
            sequence: t.sequence,
        });
        let signer = signer.as_ref();
        let r = match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut ip = Ipv4Params::new(src, dst);
                ip.identification = self.ip_id.fetch_add(1, Ordering::Relaxed);
                if self.config.is_unicast() {
                    ip.ttl = self.config.ttl;
                }
                match (&self.config.ip_ah, ah) {
                    (Some(key), Some(seq)) => {
                        // The ICV covers the identification: 0 would be replaced by the kernel.
                        if ip.identification == 0 {
                            ip.identification = self.ip_id.fetch_add(1, Ordering::Relaxed);
                        }
                        advert.encode_ipv4_ah(buf, &ip, key, seq, self.config.is_unicast())
                    }
                    _ => advert.encode_ipv4(buf, &ip, mode, signer),
                }
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                advert.encode_payload(buf, &PseudoHeader::v6(src, dst), mode, signer)
            }
            _ => return Err(Error::InvalidConfig("mixed address families".into())),
        };
        r.map_err(|e| Error::Encode(e.to_string()))
    }

    fn try_send(&self, packet: &[u8], src: IpAddr, dst: IpAddr) -> std::io::Result<usize> {
        let fd = self.queue.as_raw_fd();
        match (src, dst) {
            (_, IpAddr::V4(d)) => send_v4(fd, packet, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => send_v6(fd, packet, s, d, self.interface.index()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::InvalidInput)),
        }
    }

    async fn send_one(&self, packet: &[u8], src: IpAddr, dst: IpAddr) -> Result<()> {
        loop {
            match self.try_send(packet, src, dst) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.wait_writable().await?
                }
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                    return Err(Error::NoSuchInterface(self.config.interface.clone()))
                }
                Err(e) => return Err(Error::io("send advert", e)),
            }
        }
    }

    /// The rare full send buffer: wait for room on a short-lived writable-only registration
    /// of a duplicate descriptor, so the steady state never watches EPOLLOUT.
    async fn wait_writable(&self) -> Result<()> {
        if self.io.registration().is_none() {
            return Err(send_would_block());
        }
        let dup = self
            .queue
            .try_clone()
            .map_err(|e| Error::io("dup raw VRRP socket", e))?;
        // SAFETY: `dup` owns its own descriptor and the `AsyncFd` keeps it until dropped at
        // the end of this function; nothing else closes or replaces it.
        let w = unsafe { AsyncFd::register_with_interest(dup, Interest::WRITABLE) }
            .map_err(|e| Error::io("register raw VRRP socket", e.into()))?;
        let mut g = w
            .writable()
            .await
            .map_err(|e| Error::io("raw socket writable", e))?;
        g.clear_ready();
        Ok(())
    }

    /// Hands the next datagram already read and valid to `f`, borrowed from the queue;
    /// `Err(f)` gives `f` back when the queue holds none.
    fn next_queued<R, F>(&self, f: F) -> std::result::Result<R, F>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        let mut q = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        let q = &mut *q;
        while q.next < q.count {
            let i = q.next;
            q.next += 1;
            let (info, at) = q.info[i];
            if q.seen(info.kernel_time) {
                continue;
            }
            let buf = &q.bufs[at..at + info.len];
            let clock = q.clock.unwrap_or_else(|| ClockPair::now(None));
            if let Some(rx) = self.accept(buf, &info, &clock) {
                return Ok(f(&rx));
            }
        }
        Err(f)
    }

    /// Polls for the next valid advert and hands it to `f` **borrowed from the socket's
    /// receive buffer**: nothing is copied, and `f` can feed it straight to
    /// `vrrp_fsm::Router::handle_advert`, which takes the zero-copy view. This is the
    /// receive call of a hot loop; [`recv_advert`](Self::recv_advert) returns an owned copy.
    ///
    /// One `recvmmsg` per wake-up reads up to eight datagrams; when fewer came back the queue
    /// is empty, so the readiness is cleared there and then and no `recvmsg` is wasted on
    /// `EAGAIN`. Datagrams read and not yet handed out stay queued in the socket, so
    /// abandoning a poll loses nothing. `f` runs with the receive queue locked: it must not
    /// receive from this socket itself.
    ///
    /// ```no_run
    /// # async fn f(sock: &vip_netlink::AdvertSocket) -> vip_netlink::Result<()> {
    /// let mut f = Some(|rx: &vip_netlink::InboundAdvertRef<'_>| rx.advert.priority());
    /// let priority = std::future::poll_fn(|cx| sock.poll_recv_with(cx, &mut f)).await?;
    /// # Ok(()) }
    /// ```
    pub fn poll_recv_with<R, F>(
        &self,
        cx: &mut std::task::Context<'_>,
        f: &mut Option<F>,
    ) -> std::task::Poll<Result<R>>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        use std::task::Poll;
        loop {
            let Some(g) = f.take() else {
                return Poll::Ready(Err(Error::InvalidConfig(
                    "poll_recv_with polled again after it returned".into(),
                )));
            };
            match self.next_queued(g) {
                Ok(r) => return Poll::Ready(Ok(r)),
                Err(g) => *f = Some(g),
            }
            {
                // Adverts a sleeping reader left in the queue socket come first: they are
                // older than whatever woke it.
                let mut q = self.rx.lock().unwrap_or_else(|e| e.into_inner());
                if q.queue_pending {
                    match q.fill_from_queue(self.queue.as_raw_fd()) {
                        Ok(0) => {}
                        Ok(_) => continue,
                        Err(e) => return Poll::Ready(Err(Error::io("receive advert", e))),
                    }
                }
            }
            let Some(registration) = self.io.registration() else {
                return Poll::Ready(Err(Error::InvalidConfig(
                    "this advert socket is polled by its caller: use try_recv_ready_with".into(),
                )));
            };
            let mut guard = match registration.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(guard)) => guard,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(Error::io("raw socket readable", e)))
                }
            };
            let res = {
                let mut q = self.rx.lock().unwrap_or_else(|e| e.into_inner());
                if self.wake_on() == WakeOn::PriorityZero {
                    // Woken while sleeping through adverts: those queued before the one that
                    // woke us go first. Only once the queue is empty, right now, the rest.
                    match q.fill_from_queue(self.queue.as_raw_fd()) {
                        Ok(0) => {}
                        Ok(_) => continue,
                        Err(e) => return Poll::Ready(Err(Error::io("receive advert", e))),
                    }
                }
                q.fill(self.io.as_raw_fd())
            };
            match res {
                Ok((_, full)) => {
                    if !full {
                        guard.clear_ready();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Poll::Ready(Err(Error::io("receive advert", e))),
            }
        }
    }

    /// Hands the next advert already received to `f` without waiting: one read but not yet
    /// handed out, or one waiting in the socket because the reader sleeps through adverts
    /// ([`WakeOn::PriorityZero`]). `Ok(None)` when there is none. A Backup calls this until
    /// `None` before firing its timers, so every advert that arrived before the deadline
    /// counts, with its kernel receive time.
    ///
    /// ```no_run
    /// # fn f(sock: &vip_netlink::AdvertSocket) -> vip_netlink::Result<()> {
    /// while let Some(prio) = sock.try_recv_with(|rx| rx.advert.priority())? {
    ///     println!("an advert with priority {prio} arrived meanwhile");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_recv_with<R, F>(&self, f: F) -> Result<Option<R>>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        self.recv_now(f, false)
    }

    /// Hands the next advert to `f`, reading the socket without waiting: what an event loop
    /// calls when the socket's descriptor ([`AsRawFd`]) polled readable, until `Ok(None)`.
    /// Adverts slept through (see [`WakeOn`]) come first, then those that woke the reader;
    /// one `recvmmsg` reads up to eight, and a short batch means the socket is empty, so
    /// draining costs no read wasted on `EAGAIN`. Works in both modes; made for
    /// [`open_polled`](Self::open_polled).
    ///
    /// ```no_run
    /// # fn f(sock: &vip_netlink::AdvertSocket) -> vip_netlink::Result<()> {
    /// while let Some(from) = sock.try_recv_ready_with(|rx| rx.source)? {
    ///     println!("advert from {from}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_recv_ready_with<R, F>(&self, f: F) -> Result<Option<R>>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        self.recv_now(f, true)
    }

    /// The next advert without waiting: already read, then queued in the queue socket
    /// (slept through, or left from before a wake-up switch), then, with `wake_socket`, in
    /// the wake socket. A short batch marks a socket empty, so no read is wasted on `EAGAIN`.
    fn recv_now<R, F>(&self, f: F, wake_socket: bool) -> Result<Option<R>>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        let mut f = f;
        let batches = if wake_socket {
            MAX_BATCHES_READY
        } else {
            MAX_BATCHES_QUEUED
        };
        for _ in 0..batches {
            match self.next_queued(f) {
                Ok(r) => return Ok(Some(r)),
                Err(g) => f = g,
            }
            let mut q = self.rx.lock().unwrap_or_else(|e| e.into_inner());
            if !q.queue_short && (q.queue_pending || self.wake_on() == WakeOn::PriorityZero) {
                match q.fill_from_queue(self.queue.as_raw_fd()) {
                    Ok(0) => q.queue_short = true,
                    Ok(_) => {
                        q.queue_short = !q.queue_pending;
                        continue;
                    }
                    Err(e) => return Err(Error::io("receive advert", e)),
                }
            }
            // The drain ends here unless the wake socket has more: the next one starts over.
            let end = |q: &mut RxQueue| {
                q.queue_short = false;
                q.wake_short = false;
                Ok(None)
            };
            if !wake_socket || q.wake_short {
                return end(&mut q);
            }
            match q.fill(self.io.as_raw_fd()) {
                Ok((0, _)) => return end(&mut q),
                Ok((_, full)) => q.wake_short = !full,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return end(&mut q),
                Err(e) => return Err(Error::io("receive advert", e)),
            }
        }
        // Budget spent on invalid datagrams: the socket stays readable, the caller's next
        // turn reads on (after its timers and sends).
        Ok(None)
    }

    /// Waits for the next valid advert and hands it to `f`, borrowed (see
    /// [`poll_recv_with`](Self::poll_recv_with)). Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(sock: &vip_netlink::AdvertSocket) -> vip_netlink::Result<()> {
    /// let (src, prio) = sock.recv_with(|rx| (rx.source, rx.advert.priority())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn recv_with<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&InboundAdvertRef<'_>) -> R,
    {
        let mut f = Some(f);
        std::future::poll_fn(|cx| self.poll_recv_with(cx, &mut f)).await
    }

    /// [`AdvertTransport::recv`] without the boxed future: the next valid advert, copied into
    /// an owned [`InboundAdvert`]. Cancel-safe.
    pub async fn recv_advert(&self) -> Result<InboundAdvert> {
        self.recv_with(|rx| rx.to_owned()).await
    }

    /// Validate one datagram; `None` if it was dropped (and counted).
    fn accept<'b>(
        &self,
        buf: &'b [u8],
        info: &Received,
        clock: &ClockPair,
    ) -> Option<InboundAdvertRef<'b>> {
        let c = &self.counters;
        if info.truncated {
            c.bump(Counter::PacketLengthErrors);
            return None;
        }
        let unicast = self.config.is_unicast();
        let mut opts = self.config.decode;
        opts.version = Some(self.config.version);
        opts.check_ttl = !unicast;
        let mut auth = self.auth_hmac.lock().unwrap_or_else(|e| e.into_inner());
        // The mode decides on a missing trailer below, with a counted refusal.
        if auth.is_some() {
            opts.require_auth_trailer = false;
        }
        let mut ah_sequence = None;
        let decoded = match self.config.family {
            AddressFamily::Ipv4 => match &self.config.ip_ah {
                None => decode_ipv4(buf, &opts),
                Some(key) => {
                    // Another instance's adverts share this IPPROTO_AH socket: sort them out
                    // by VRID before the ICV, whose key they do not use (keepalived looks the
                    // instance up first too).
                    let at = usize::from(buf.first().map_or(0, |b| b & 0x0f)) * 4 + IP_AH_LEN;
                    if let (Some(want), Some(&got)) = (self.config.vrid, buf.get(at + 1)) {
                        if want != got {
                            c.bump(Counter::VrIdErrors);
                            return None;
                        }
                    }
                    decode_ipv4_ah(buf, key, &opts).map(|(rx, ah)| {
                        ah_sequence = Some(ah.sequence);
                        rx
                    })
                }
            },
            AddressFamily::Ipv6 => {
                let (Some(IpAddr::V6(src)), Some(IpAddr::V6(dst)), Some(hl)) =
                    (info.src, info.dst, info.hop_limit)
                else {
                    c.bump(Counter::IpHeaderErrors);
                    return None;
                };
                decode_ipv6(buf, src, dst, hl, &opts)
            }
        };
        let rx = match decoded {
            Ok(rx) => rx,
            Err(e) => {
                c.decode_error(&e);
                if let (Some(state), DecodeError::AuthTrailerMalformed) = (auth.as_mut(), &e) {
                    state.count(AuthHmacRefusal::Malformed);
                }
                debug!(interface = %self.config.interface, src = ?info.src, error = %e,
                       "advert dropped");
                return None;
            }
        };
        let (src, dst) = (rx.src(), rx.dst());
        // RFC 5798 §7.1 / keepalived: the cast type must match the mode.
        if dst.is_multicast() == unicast {
            c.bump(Counter::AddressListErrors);
            debug!(%src, %dst, unicast, "advert dropped: wrong cast type");
            return None;
        }
        if self.config.vrid.is_some_and(|v| v != rx.vrid()) {
            c.bump(Counter::VrIdErrors);
            trace!(%src, vrid = rx.vrid(), "advert for another VRID dropped");
            return None;
        }
        if unicast && !self.config.peers.contains(&src) {
            c.unknown_peer();
            debug!(%src, "unicast advert from an unknown peer dropped");
            return None;
        }
        if let Some(state) = auth.as_mut() {
            let checked = state.check(rx.auth_trailer(), src, |_, key| {
                rx.verify_auth_trailer(|_| Some(key)).is_ok()
            });
            if let Err(e) = checked {
                c.bump(Counter::AuthTrailerErrors);
                debug!(interface = %self.config.interface, %src, error = %e,
                       "advert refused by auth_hmac");
                return None;
            }
        }
        drop(auth);
        if let Some(seq) = ah_sequence {
            let mut last = self.ah_sequence.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = last.accept(seq) {
                c.decode_error(&e);
                debug!(%src, seq, last = last.last(), "IP AH advert dropped: replayed sequence number");
                return None;
            }
        }
        c.received(rx.priority());
        Some(InboundAdvertRef {
            advert: rx,
            source: src,
            destination: dst,
            ifindex: info.ifindex.unwrap_or(self.interface.index()),
            hop_limit: rx.ttl(),
            received_at: clock.arrival(info.kernel_time, MAX_QUEUED_AGE),
        })
    }
}

/// A send that found the kernel's send buffer full and could not wait for room.
fn send_would_block() -> Error {
    Error::io(
        "send advert",
        std::io::Error::from(std::io::ErrorKind::WouldBlock),
    )
}

/// One raw VRRP socket bound to the interface, joined, timestamping, non-blocking.
fn open_raw(config: &AdvertSocketConfig, interface: &Interface) -> Result<Socket> {
    let ifindex = interface.index();
    let domain = match config.family {
        AddressFamily::Ipv4 => Domain::IPV4,
        AddressFamily::Ipv6 => Domain::IPV6,
    };
    // Under keepalived's IP AH the IPv4 protocol is AH (51), VRRP being its next header.
    let protocol = match config.ip_ah {
        Some(_) => i32::from(IPPROTO_AH),
        None => IPPROTO_VRRP,
    };
    let sock = Socket::new(domain, Type::RAW, Some(Protocol::from(protocol)))
        .map_err(|e| Error::io("open raw VRRP socket", e))?;
    sock.bind_device(Some(config.interface.as_bytes()))
        .map_err(|e| Error::io("SO_BINDTODEVICE", e))?;
    let fd = sock.as_raw_fd();
    let opt = |op, r: std::io::Result<()>| r.map_err(|e| Error::io(op, e));
    match config.family {
        AddressFamily::Ipv4 => {
            opt("IP_HDRINCL", sock.set_header_included_v4(true))?;
            // No IP_PKTINFO: the received IPv4 header carries both addresses and the
            // socket is bound to one interface, so the control message would only cost.
            opt("IP_MULTICAST_LOOP", sock.set_multicast_loop_v4(false))?;
            if !config.is_unicast() {
                opt(
                    "IP_ADD_MEMBERSHIP 224.0.0.18",
                    sock.join_multicast_v4_n(
                        &VRRP_GROUP_V4,
                        &InterfaceIndexOrAddress::Index(ifindex),
                    ),
                )?;
            }
        }
        AddressFamily::Ipv6 => {
            let v6 = libc::IPPROTO_IPV6;
            opt(
                "IPV6_RECVPKTINFO",
                set_int(fd, v6, libc::IPV6_RECVPKTINFO, 1),
            )?;
            opt(
                "IPV6_RECVHOPLIMIT",
                set_int(fd, v6, libc::IPV6_RECVHOPLIMIT, 1),
            )?;
            opt("IPV6_MULTICAST_LOOP", sock.set_multicast_loop_v6(false))?;
            opt("IPV6_MULTICAST_HOPS", sock.set_multicast_hops_v6(255))?;
            opt(
                "IPV6_UNICAST_HOPS",
                sock.set_unicast_hops_v6(u32::from(config.ttl)),
            )?;
            opt("IPV6_MULTICAST_IF", sock.set_multicast_if_v6(ifindex))?;
            if !config.is_unicast() {
                opt(
                    "IPV6_JOIN_GROUP ff02::12",
                    sock.join_multicast_v6(&VRRP_GROUP_V6, ifindex),
                )?;
            }
        }
    }
    // Sized for bursts, and overflows counted (see `receive_buffer`). A buffer the kernel
    // will not grow is not fatal: the default one works, with less margin.
    match receive_buffer::size_receive_buffer(fd, receive_buffer::ADVERT_RECEIVE_BUFFER) {
        Ok(size) => trace!(interface = %config.interface, size, "advert socket receive buffer"),
        Err(e) => debug!(interface = %config.interface, "advert socket receive buffer: {e}"),
    }
    // Kernel receive time of each advert, so the down timer starts at the arrival.
    opt(
        "SO_TIMESTAMPNS",
        set_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1),
    )?;
    opt("O_NONBLOCK", sock.set_nonblocking(true))?;
    Ok(sock)
}

/// The descriptor that polls readable when an advert should wake the reader (every advert,
/// or only urgent ones while it sleeps through its Master's: [`WakeOn`]).
impl AsRawFd for AdvertSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[async_trait]
impl AdvertTransport for AdvertSocket {
    async fn send(&self, advert: &Advert) -> Result<usize> {
        self.send_advert(advert).await
    }

    async fn recv(&self) -> Result<InboundAdvert> {
        self.recv_advert().await
    }

    fn stats(&self) -> AdvertStats {
        let mut stats = self.counters.snapshot();
        stats.auth_hmac = self.auth_hmac_stats();
        stats.receive_queue_drops = self
            .receive_buffer_drops()
            .unwrap_or(stats.receive_queue_drops);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_time_moves_onto_the_monotonic_clock() {
        let first = ClockPair::now(None);
        let pair = ClockPair::now(Some(&first));
        assert!(!pair.stepped);
        // 5 ms before the reads, give or take the time between them.
        let at = pair.arrival(Some(pair.wall - Duration::from_millis(5)), MAX_QUEUED_AGE);
        let back = pair.mono - at;
        assert!(back >= Duration::from_millis(4), "{back:?}");
        assert!(back <= Duration::from_millis(50), "{back:?}");
        // A Backup reading its queue at the down timer: minutes old is still mapped...
        let at = pair.arrival(Some(pair.wall - Duration::from_secs(300)), MAX_QUEUED_AGE);
        assert_eq!(pair.mono - at, Duration::from_secs(300));
        // ...but not without a previous pair to rule out a step.
        let at = first.arrival(Some(first.wall - Duration::from_secs(300)), MAX_QUEUED_AGE);
        assert_eq!(at, first.mono);
    }

    #[test]
    fn missing_future_stale_or_stepped_kernel_time_falls_back_to_the_read_time() {
        let first = ClockPair::now(None);
        let pair = ClockPair::now(Some(&first));
        for kt in [
            None,
            Some(pair.wall + Duration::from_secs(10)),
            Some(pair.wall - MAX_QUEUED_AGE - Duration::from_secs(1)),
        ] {
            assert_eq!(pair.arrival(kt, MAX_QUEUED_AGE), pair.mono, "{kt:?}");
        }
        // The wall clock jumped 10 s forward between two reads 1 ms apart: a step.
        let stepped_prev = ClockPair {
            mono: pair.mono - Duration::from_millis(1),
            wall: pair.wall - Duration::from_secs(10),
            stepped: false,
            checked: true,
        };
        let now = ClockPair::now(Some(&stepped_prev));
        assert!(now.stepped);
        let kt = Some(now.wall - Duration::from_millis(500));
        assert_eq!(now.arrival(kt, MAX_QUEUED_AGE), now.mono);
        // Slewing-sized drift over a long sleep is not a step.
        let slewed_prev = ClockPair {
            mono: pair.mono - Duration::from_secs(100),
            wall: pair.wall - Duration::from_secs(100) + Duration::from_millis(40),
            stepped: false,
            checked: true,
        };
        assert!(!ClockPair::now(Some(&slewed_prev)).stepped);
    }
}
