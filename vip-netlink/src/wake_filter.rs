//! Which received adverts wake the reader of an [`AdvertSocket`](crate::AdvertSocket), as
//! classic BPF socket filters.
//!
//! A Backup has nothing to do when its Master's advert arrives except restart the
//! Master_Down_Timer, and that can be done later from the kernel's receive timestamp. So a
//! Backup can sleep through a healthy Master's adverts and read them all when its timer is
//! due ([`WakeOn::PriorityZero`]): one wake-up per Master_Down_Interval instead of one per
//! advert. What cannot wait still wakes it at once: a priority-0 advert (the Master is
//! leaving; the takeover is due after Skew_Time only) and adverts of other VRIDs (counted
//! and dropped, so they never pile up in the receive queue).
use libc::sock_filter;

/// When the reader of an advert socket is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WakeOn {
    /// Every received advert wakes the reader (what a Master, or any generic receiver,
    /// wants).
    #[default]
    EveryAdvert,
    /// Only a priority-0 advert of our VRID, or an advert of another VRID, wakes the reader;
    /// the others wait in the socket until the caller reads them (on its next timer, with
    /// [`AdvertSocket::try_recv_with`](crate::AdvertSocket::try_recv_with)), each with its
    /// kernel receive time. For a Backup. Without a VRID set on the socket, only priority 0
    /// is recognised and every other advert waits.
    PriorityZero,
}

// Classic BPF opcodes (linux/filter.h).
const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
const LD_B_IND: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_IND) as u16;
const LDX_B_MSH: u16 = (libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Keep the whole datagram.
const ACCEPT: u32 = u32::MAX;
/// Do not queue it on this socket.
const DROP: u32 = 0;

fn op(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The program in socket2's opaque form, for `Socket::attach_filter` (the filters are built
/// as `libc::sock_filter` so the tests can run them).
pub(crate) fn for_socket2(prog: &[sock_filter]) -> Vec<socket2::SockFilter> {
    prog.iter()
        .map(|i| socket2::SockFilter::new(i.code, i.jt, i.jf, i.k))
        .collect()
}

/// Queues nothing.
pub(crate) fn drop_all() -> Vec<sock_filter> {
    vec![op(RET_K, 0, 0, DROP)]
}

/// Accepts a priority-0 advert of `vrid` and any advert of another VRID (any priority-0
/// advert when `vrid` is `None`). `ipv4_header`: an IPv4 raw socket sees the IP header
/// first (its length is read from the IHL field); an IPv6 one sees the VRRP message at 0.
/// `skip`: octets between that and the VRRP message (24 under keepalived's IP AH).
pub(crate) fn urgent_only(vrid: Option<u8>, ipv4_header: bool, skip: u32) -> Vec<sock_filter> {
    let mut p = Vec::with_capacity(7);
    // Offsets of the VRID and priority octets, relative to X (the IPv4 header length) or 0.
    let load = if ipv4_header {
        p.push(op(LDX_B_MSH, 0, 0, 0)); // X = 4 * (pkt[0] & 0xf)
        LD_B_IND
    } else {
        LD_B_ABS
    };
    if let Some(v) = vrid {
        p.push(op(load, 0, 0, skip + 1)); // A = VRID
        p.push(op(JEQ_K, 0, 4, u32::from(v))); // another VRID: the last ACCEPT
    }
    p.push(op(load, 0, 0, skip + 2)); // A = priority
    p.push(op(JEQ_K, 0, 1, 0)); // priority 0: accept; else drop
    p.push(op(RET_K, 0, 0, ACCEPT));
    p.push(op(RET_K, 0, 0, DROP));
    if vrid.is_some() {
        p.push(op(RET_K, 0, 0, ACCEPT));
    }
    p
}

/// Where a conditional jump of [`priority_floor`] goes.
#[derive(Clone, Copy)]
enum To {
    Next,
    Accept,
    Drop,
}

/// For the queue a sleeping Backup reads later: drops adverts of `vrid` whose priority is
/// above 0 and below `floor` unless they come from `master` (the Master it knows). A
/// preempting Backup discards lower priorities anyway (RFC 5798 6.4.2), so a flood of them
/// can no longer fill the queue and push out its Master's adverts, while a live
/// lower-priority Master it is about to preempt is still heard. Everything else is kept.
/// `ipv4_header` and `skip` as for [`urgent_only`]; the source is read from the network
/// header (`SKF_NET_OFF`), which an IPv6 raw socket does not otherwise see.
pub(crate) fn priority_floor(
    vrid: Option<u8>,
    ipv4_header: bool,
    skip: u32,
    floor: u8,
    master: Option<std::net::IpAddr>,
) -> Vec<sock_filter> {
    let mut p: Vec<(u16, To, To, u32)> = Vec::with_capacity(16);
    let load = if ipv4_header {
        p.push((LDX_B_MSH, To::Next, To::Next, 0));
        LD_B_IND
    } else {
        LD_B_ABS
    };
    p.push((load, To::Next, To::Next, skip + 2)); // A = priority
    p.push((JEQ_K, To::Accept, To::Next, 0));
    p.push((JGE_K, To::Accept, To::Next, u32::from(floor)));
    if let Some(v) = vrid {
        p.push((load, To::Next, To::Next, skip + 1)); // A = VRID
        p.push((JEQ_K, To::Next, To::Accept, u32::from(v)));
    }
    // The network header's source address: IPv4 at octet 12, IPv6 at 8.
    let net = libc::SKF_NET_OFF as u32;
    let words: Vec<u32> = match master {
        Some(std::net::IpAddr::V4(a)) => vec![u32::from(a)],
        Some(std::net::IpAddr::V6(a)) => a
            .octets()
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        None => Vec::new(),
    };
    let first = if words.len() == 1 { 12 } else { 8 };
    for (k, w) in words.iter().enumerate() {
        p.push((
            LD_W_ABS,
            To::Next,
            To::Next,
            net.wrapping_add(first + 4 * k as u32),
        ));
        let last = k + 1 == words.len();
        p.push((
            JEQ_K,
            if last { To::Accept } else { To::Next },
            To::Drop,
            *w,
        ));
    }
    p.push((RET_K, To::Next, To::Next, DROP));
    let drop_at = p.len() - 1;
    let accept_at = p.len();
    p.push((RET_K, To::Next, To::Next, ACCEPT));
    p.iter()
        .enumerate()
        .map(|(i, &(code, jt, jf, k))| {
            let off = |t: To| -> u8 {
                let target = match t {
                    To::Next => i + 1,
                    To::Accept => accept_at,
                    To::Drop => drop_at,
                };
                (target - i - 1) as u8
            };
            op(code, off(jt), off(jf), k)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for the opcodes used above, to check the programs' logic; the
    /// kernel running them is checked by the namespace tests.
    fn run(prog: &[sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_B_ABS => match pkt.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                LD_B_IND => match pkt.get((x + i.k) as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                LDX_B_MSH => x = 4 * u32::from(pkt[i.k as usize] & 0xf),
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JGE_K => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                LD_W_ABS => {
                    // The network header (SKF_NET_OFF) is the packet itself in these tests.
                    let at = i.k.wrapping_sub(libc::SKF_NET_OFF as u32) as usize;
                    match pkt.get(at..at + 4) {
                        Some(b) => a = u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                        None => return 0,
                    }
                }
                RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn v4(vrid: u8, prio: u8) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[20] = 0x31;
        p[21] = vrid;
        p[22] = prio;
        p
    }

    #[test]
    fn urgent_filter_wakes_for_priority_zero_and_other_vrids_only() {
        let prog = urgent_only(Some(51), true, 0);
        assert_eq!(run(&prog, &v4(51, 0)), ACCEPT);
        assert_eq!(run(&prog, &v4(51, 100)), DROP);
        assert_eq!(run(&prog, &v4(51, 255)), DROP);
        assert_eq!(run(&prog, &v4(52, 100)), ACCEPT);
        assert_eq!(run(&prog, &v4(52, 0)), ACCEPT);
        // IPv4 options move the VRRP header: the IHL is honoured.
        let mut opt = vec![0u8; 32];
        opt[0] = 0x46;
        opt[25] = 51;
        opt[26] = 100;
        assert_eq!(run(&prog, &opt), DROP);
        opt[26] = 0;
        assert_eq!(run(&prog, &opt), ACCEPT);
        // Under an IP AH the VRRP message starts 24 octets later.
        let ah = urgent_only(Some(51), true, 24);
        let mut p = vec![0u8; 52];
        p[0] = 0x45;
        p[45] = 51;
        p[46] = 100;
        assert_eq!(run(&ah, &p), DROP);
        p[46] = 0;
        assert_eq!(run(&ah, &p), ACCEPT);
        p[45] = 52;
        p[46] = 100;
        assert_eq!(run(&ah, &p), ACCEPT);
        // Too short to hold the fields: the kernel (and this model) drops it.
        assert_eq!(run(&prog, &[0x45]), DROP);
    }

    #[test]
    fn the_priority_floor_drops_lower_priorities_but_the_known_master_s() {
        let src = |mut p: Vec<u8>, a: [u8; 4]| {
            p[12..16].copy_from_slice(&a);
            p
        };
        let master = std::net::IpAddr::from([10, 0, 0, 9]);
        let f = priority_floor(Some(51), true, 0, 100, Some(master));
        let from = |prio, vrid, a| run(&f, &src(v4(vrid, prio), a));
        assert_eq!(from(50, 51, [10, 0, 0, 66]), DROP);
        assert_eq!(from(99, 51, [10, 0, 0, 66]), DROP);
        assert_eq!(from(50, 51, [10, 0, 0, 9]), ACCEPT);
        assert_eq!(from(100, 51, [10, 0, 0, 66]), ACCEPT);
        assert_eq!(from(200, 51, [10, 0, 0, 66]), ACCEPT);
        assert_eq!(from(0, 51, [10, 0, 0, 66]), ACCEPT);
        assert_eq!(from(50, 52, [10, 0, 0, 66]), ACCEPT);
        let f = priority_floor(None, true, 0, 100, None);
        assert_eq!(run(&f, &v4(7, 50)), DROP);
        assert_eq!(run(&f, &v4(7, 0)), ACCEPT);
        assert_eq!(run(&f, &v4(7, 100)), ACCEPT);
        // IPv6: the VRRP message at 0 for the program's byte loads; the source words are
        // read from the network header, here the same buffer (see `run`).
        let m6: std::net::IpAddr = "fe80::9".parse().unwrap();
        let f = priority_floor(Some(51), false, 0, 100, Some(m6));
        let mut pkt = vec![0u8; 40];
        pkt[0] = 0x31;
        pkt[1] = 51;
        pkt[2] = 50;
        assert_eq!(run(&f, &pkt), DROP);
        pkt[8..24].copy_from_slice(&"fe80::9".parse::<std::net::Ipv6Addr>().unwrap().octets());
        assert_eq!(run(&f, &pkt), ACCEPT);
    }

    #[test]
    fn ipv6_and_vrid_less_programs() {
        let prog = urgent_only(Some(7), false, 0);
        assert_eq!(run(&prog, &[0x31, 7, 0, 1]), ACCEPT);
        assert_eq!(run(&prog, &[0x31, 7, 9, 1]), DROP);
        assert_eq!(run(&prog, &[0x31, 8, 9, 1]), ACCEPT);
        let any = urgent_only(None, false, 0);
        assert_eq!(run(&any, &[0x31, 8, 9, 1]), DROP);
        assert_eq!(run(&any, &[0x31, 8, 0, 1]), ACCEPT);
        assert_eq!(run(&drop_all(), &[1]), DROP);
    }

    /// keepalived's `auth_hmac` trailer follows the message: 28 octets the programs never
    /// read, so a signed advert wakes (or not) exactly as an unsigned one.
    #[test]
    fn signed_adverts_wake_as_unsigned_ones() {
        use vrrp_proto::{
            AddressList, Advert, AuthSequence, AuthTrailerSigner, ChecksumMode, Ipv4Params,
            PseudoHeader,
        };
        let key = [0x42u8; 32];
        let signer = AuthTrailerSigner {
            key: &key,
            key_id: 1,
            sequence: AuthSequence::default(),
        };
        let ip = Ipv4Params::new("10.0.0.1".parse().unwrap(), vrrp_proto::VRRP_MCAST_V4);
        let v6 = PseudoHeader::v6("fe80::1".parse().unwrap(), vrrp_proto::VRRP_MCAST_V6);
        let prog4 = urgent_only(Some(51), true, 0);
        let prog6 = urgent_only(Some(51), false, 0);
        for prio in [0u8, 100] {
            let want = if prio == 0 { ACCEPT } else { DROP };
            let vips = AddressList::from_v4(&["10.0.0.100".parse().unwrap()]).unwrap();
            let advert = Advert::v3(51, prio, 100, vips);
            let mut buf = [0u8; 256];
            let n = advert
                .encode_ipv4(
                    &mut buf,
                    &ip,
                    ChecksumMode::Rfc5798PseudoHeader,
                    Some(&signer),
                )
                .unwrap();
            assert_eq!(n, 20 + 8 + 4 + 28);
            assert_eq!(run(&prog4, &buf[..n]), want);
            let vips = AddressList::from_v6(&["fd00::100".parse().unwrap()]).unwrap();
            let advert = Advert::v3(51, prio, 100, vips);
            let n = advert
                .encode_payload(
                    &mut buf,
                    &v6,
                    ChecksumMode::Rfc5798PseudoHeader,
                    Some(&signer),
                )
                .unwrap();
            assert_eq!(n, 8 + 16 + 28);
            assert_eq!(run(&prog6, &buf[..n]), want);
        }
    }
}
