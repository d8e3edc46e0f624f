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
