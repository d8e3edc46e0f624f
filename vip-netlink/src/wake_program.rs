//! The Backup's wake-up filter as an eBPF socket filter: the classic rule of
//! [`urgent_only`](crate::wake_filter::urgent_only) (a priority-0 advert of our VRID, or any
//! advert of another VRID) plus "the first advert received at or after a time the reader
//! sets".
//!
//! Why: a Backup sleeping through its Master's adverts must wake once per
//! Master_Down_Interval anyway to read them. Woken by its timer, it runs cold (after
//! seconds of sleep nothing of its code or of the kernel's receive path is in cache);
//! woken by an advert it runs right behind the packet, with the receive path warm. Measured
//! here, a pair at 10 ms adverts: ~50 µs per wake-up instead of ~80 to 110 µs, the number of
//! wake-ups unchanged. The time lives in a word of an array map the reader writes through a
//! shared mapping ([`WakeTimeSlot`]), so moving it costs no system call; the program
//! compares it with `bpf_ktime_get_ns()` (CLOCK_MONOTONIC).
//!
//! Loading needs `CAP_BPF` (or `CAP_SYS_ADMIN`); without it the socket keeps the classic
//! filter and only the timer wakes a Backup.
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::wake_time_slot::WakeTimeSlot;

// bpf(2) commands, types and flags (linux/bpf.h).
pub(crate) const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_PROG_LOAD: libc::c_long = 5;
pub(crate) const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
pub(crate) const BPF_F_MMAPABLE: u32 = 1 << 10;
const BPF_PSEUDO_MAP_VALUE: u8 = 2;
const BPF_FUNC_KTIME_GET_NS: i32 = 5;
const SO_ATTACH_BPF: libc::c_int = 50;

// eBPF opcodes.
const MOV64_X: u8 = 0xbf;
const MOV32_K: u8 = 0xb4;
const AND64_K: u8 = 0x57;
const LSH64_K: u8 = 0x67;
const LD_ABS_B: u8 = 0x30;
const LD_IND_B: u8 = 0x50;
const LD_IMM64: u8 = 0x18;
const LDX_MEM_DW: u8 = 0x79;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
const JGE_X: u8 = 0x3d;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

/// "Never": the value that keeps the time rule off.
const NEVER: u64 = u64::MAX;

/// One eBPF instruction as the kernel reads it (`struct bpf_insn`).
#[derive(Clone, Copy)]
#[repr(C)]
struct Insn {
    code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

/// The program; the wake time is the word at `offset` in `map_fd`'s value. Same packet view
/// as the classic filter: an IPv4 raw socket sees the IP header at 0, an IPv6 one the VRRP
/// message.
fn program(
    vrid: Option<u8>,
    ipv4_header: bool,
    skip: i32,
    map_fd: RawFd,
    offset: i32,
) -> Vec<Insn> {
    let mut p = Vec::with_capacity(20);
    // Jumps to the final "accept", their offsets patched once its place is known.
    let mut to_accept = Vec::new();
    // Packet loads (LD_ABS / LD_IND) read relative to the context kept in r6.
    p.push(insn(MOV64_X, 6, 1, 0, 0));
    if ipv4_header {
        p.push(insn(LD_ABS_B, 0, 0, 0, 0)); // r0 = version/IHL
        p.push(insn(AND64_K, 0, 0, 0, 0xf));
        p.push(insn(LSH64_K, 0, 0, 0, 2));
        p.push(insn(MOV64_X, 7, 0, 0, 0)); // r7 = IPv4 header length
    }
    // r0 = the VRRP octet at `field` (`skip` octets of IP AH before the message).
    let load = |field: i32| match ipv4_header {
        true => insn(LD_IND_B, 0, 7, 0, skip + field),
        false => insn(LD_ABS_B, 0, 0, 0, skip + field),
    };
    if let Some(v) = vrid {
        p.push(load(1));
        to_accept.push(p.len());
        p.push(insn(JNE_K, 0, 0, 0, i32::from(v))); // another VRID: wake
    }
    p.push(load(2));
    to_accept.push(p.len());
    p.push(insn(JEQ_K, 0, 0, 0, 0)); // priority 0: wake
    p.push(insn(CALL, 0, 0, 0, BPF_FUNC_KTIME_GET_NS));
    p.push(insn(MOV64_X, 8, 0, 0, 0)); // r8 = now
    p.push(insn(LD_IMM64, 1, BPF_PSEUDO_MAP_VALUE, 0, map_fd)); // r1 = &wake_at
    p.push(insn(0, 0, 0, 0, offset)); // (second half: the word's offset in the value)
    p.push(insn(LDX_MEM_DW, 1, 1, 0, 0)); // r1 = wake_at
    to_accept.push(p.len());
    p.push(insn(JGE_X, 8, 1, 0, 0)); // now >= wake_at: wake
    p.push(insn(MOV32_K, 0, 0, 0, 0)); // otherwise queue nothing here
    p.push(insn(EXIT, 0, 0, 0, 0));
    let accept = p.len();
    p.push(insn(MOV32_K, 0, 0, 0, -1)); // keep the whole datagram
    p.push(insn(EXIT, 0, 0, 0, 0));
    for at in to_accept {
        p[at].off = (accept - at - 1) as i16;
    }
    p
}

pub(crate) fn bpf(cmd: libc::c_long, attr: &[u64]) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, initialised buffer of the size passed; bpf(2) reads at most
    // that many bytes and, for these commands, writes nothing back into it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_ptr(),
            std::mem::size_of_val(attr) as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a successful BPF_MAP_CREATE / BPF_PROG_LOAD returns a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A loaded wake program, with its wake time.
#[derive(Debug)]
pub(crate) struct WakeProgram {
    prog: OwnedFd,
    wake_at: WakeTimeSlot,
}

impl WakeProgram {
    /// Takes a wake-time slot and loads the program, its time rule off until
    /// [`set_wake_at`](Self::set_wake_at).
    pub(crate) fn load(vrid: Option<u8>, ipv4_header: bool, skip: u32) -> io::Result<WakeProgram> {
        let wake_at = WakeTimeSlot::take()?;
        wake_at.word().store(NEVER, Ordering::Release);
        let insns = program(
            vrid,
            ipv4_header,
            skip as i32,
            wake_at.map_fd(),
            wake_at.offset(),
        );
        let license = c"MIT OR Apache-2.0";
        // struct { prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, ... }.
        let mut prog_attr = [
            u64::from(BPF_PROG_TYPE_SOCKET_FILTER) | ((insns.len() as u64) << 32),
            insns.as_ptr() as u64,
            license.as_ptr() as u64,
            0,
            0,
            0,
        ];
        let prog = match bpf(BPF_PROG_LOAD, &prog_attr) {
            Ok(p) => p,
            Err(e)
                if e.raw_os_error() == Some(libc::EINVAL)
                    || e.raw_os_error() == Some(libc::EACCES) =>
            {
                // Again with the verifier's log, to say why.
                let mut log = vec![0u8; 4096];
                prog_attr[3] = 1 | ((log.len() as u64) << 32);
                prog_attr[4] = log.as_mut_ptr() as u64;
                let _ = bpf(BPF_PROG_LOAD, &prog_attr);
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let why = String::from_utf8_lossy(&log[..end]);
                return Err(io::Error::new(e.kind(), format!("{e}: {}", why.trim())));
            }
            Err(e) => return Err(e),
        };
        Ok(WakeProgram { prog, wake_at })
    }

    /// Attaches the program to `fd` (replacing its filter).
    pub(crate) fn attach(&self, fd: RawFd) -> io::Result<()> {
        crate::ancillary_io::set_int(fd, libc::SOL_SOCKET, SO_ATTACH_BPF, self.prog.as_raw_fd())
    }

    /// From `at` on, any advert wakes the reader (`None`: only urgent ones).
    pub(crate) fn set_wake_at(&self, at: Option<Instant>) {
        let ns = match at {
            None => NEVER,
            Some(at) => monotonic_ns(at),
        };
        self.wake_at.word().store(ns, Ordering::Release);
    }
}

/// `at` on CLOCK_MONOTONIC in nanoseconds (what `bpf_ktime_get_ns` returns): `Instant` is
/// that clock on Linux, read here beside it to get the offset.
fn monotonic_ns(at: Instant) -> u64 {
    let now = Instant::now();
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let mono = (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64);
    if at >= now {
        mono.saturating_add(u64::try_from((at - now).as_nanos()).unwrap_or(u64::MAX))
    } else {
        mono.saturating_sub(u64::try_from((now - at).as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_on_accept_and_the_map_load_is_two_slots() {
        for (vrid, v4) in [
            (Some(7), true),
            (Some(7), false),
            (None, true),
            (None, false),
        ] {
            let p = program(vrid, v4, 0, 9, 24);
            let accept = p.len() - 2;
            assert_eq!(p[accept].code, MOV32_K);
            assert_eq!(p[accept].imm, -1);
            for (at, i) in p.iter().enumerate() {
                if matches!(i.code, JEQ_K | JNE_K | JGE_X) {
                    assert_eq!(at + 1 + i.off as usize, accept, "jump at {at}");
                }
            }
            let ld = p.iter().position(|i| i.code == LD_IMM64).unwrap();
            assert_eq!(p[ld].regs >> 4, BPF_PSEUDO_MAP_VALUE);
            assert_eq!(p[ld].imm, 9);
            assert_eq!(p[ld + 1].code, 0);
            assert_eq!(p[ld + 1].imm, 24, "the word's offset");
        }
    }

    #[test]
    fn under_an_ip_ah_the_vrid_and_priority_loads_move_by_its_length() {
        let p = program(Some(7), true, 24, 9, 0);
        let loads: Vec<i32> = p
            .iter()
            .filter(|i| i.code == LD_IND_B)
            .map(|i| i.imm)
            .collect();
        assert_eq!(loads, vec![25, 26]);
    }
}
