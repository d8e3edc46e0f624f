//! A hostile sender in a test namespace: VRRPv3 IPv4 adverts to 224.0.0.18 at a fixed rate
//! from a raw socket, either valid (a lower priority, right checksum) or junk (right VRID,
//! wrong checksum). Built with vrrp-proto's encoder; sent paced, in batches every 2 ms.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hakit::proto::{AddressList, Advert, ChecksumMode, Ipv4Params};

/// What the flood carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A valid advert of `priority` (lower than the Master's: it must be answered, once).
    Valid {
        /// Its priority.
        priority: u8,
    },
    /// The same advert with its priority octet flipped after the checksum was computed (it
    /// claims priority 104 with a wrong checksum): must be dropped and counted.
    Junk,
}

/// A running flood; stops on drop. `sent` counts the datagrams the kernel took.
pub struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flood {
    /// Floods from namespace `ns` (whose `eth0` has `src`) at `rate` packets per second (0:
    /// as fast as the socket takes them) for VRID `vrid` carrying `vip`, 0.1 s interval.
    pub fn start(
        ns: &str,
        src: Ipv4Addr,
        vrid: u8,
        vip: Ipv4Addr,
        payload: Payload,
        rate: u32,
    ) -> Flood {
        let priority = match payload {
            Payload::Valid { priority } => priority,
            Payload::Junk => 50,
        };
        let advert = Advert::v3(vrid, priority, 10, AddressList::from_v4(&[vip]).unwrap());
        let ip = Ipv4Params::multicast(src);
        let mut packet = [0u8; 64];
        let n = advert
            .encode_ipv4(&mut packet, &ip, ChecksumMode::Rfc5798PseudoHeader, None)
            .unwrap();
        if payload == Payload::Junk {
            // The VRRP priority octet (20 octets of IP header, then version/type, VRID,
            // priority): 50 becomes 104, above a Backup at 100, and the checksum no longer
            // matches. Such junk passes every priority filter of a sleeping Backup.
            packet[22] ^= 0x5a;
        }
        let packet = packet[..n].to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = format!("/var/run/netns/{ns}");
        let (flag, count) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let netns = std::fs::File::open(&path).expect("namespace");
            // SAFETY: setns on this thread only, with a descriptor we hold open.
            assert_eq!(
                unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            // SAFETY: a raw socket (IP_HDRINCL implied by IPPROTO_RAW); the result is checked.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
            assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
            let dev = b"eth0\0";
            // SAFETY: binds to a device named by a NUL-terminated buffer of the given length.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_BINDTODEVICE,
                    dev.as_ptr().cast(),
                    dev.len() as libc::socklen_t,
                )
            };
            let dst = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from(Ipv4Addr::new(224, 0, 0, 18)).to_be(),
                },
                sin_zero: [0; 8],
            };
            ready_tx.send(()).unwrap();
            let start = Instant::now();
            let mut done: u64 = 0;
            while !flag.load(Ordering::Relaxed) {
                let due = if rate == 0 {
                    done + 64
                } else {
                    (start.elapsed().as_secs_f64() * f64::from(rate)) as u64
                };
                while done < due {
                    // SAFETY: sends `packet` (valid for its length) to a valid sockaddr_in.
                    let r = unsafe {
                        libc::sendto(
                            fd,
                            packet.as_ptr().cast(),
                            packet.len(),
                            0,
                            (&dst as *const libc::sockaddr_in).cast(),
                            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                        )
                    };
                    done += 1;
                    if r > 0 {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if rate != 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            // SAFETY: closes the socket this thread opened.
            unsafe { libc::close(fd) };
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("flood ready");
        Flood {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Datagrams sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops and returns how many were sent.
    pub fn stop(mut self) -> u64 {
        self.halt();
        self.sent()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.halt();
    }
}
