//! The demo's observer: an `AF_PACKET` socket in the observer namespace that records VRRP
//! adverts and gratuitous ARPs with kernel receive timestamps (no tcpdump needed).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `SIOCGSTAMPNS` (asm-generic sockios.h; 64-bit `timespec` on 64-bit targets): the kernel
/// receive time of the last packet read. Not exported by the libc crate.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// What the observer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireKind {
    /// A VRRP advert over IPv4.
    Advert {
        /// Its priority.
        priority: u8,
    },
    /// A gratuitous ARP.
    Garp,
}

/// One frame of interest.
#[derive(Debug, Clone, Copy)]
pub struct WireEvent {
    /// Kernel receive time, since the Unix epoch.
    pub ts: Duration,
    /// Ethernet source.
    pub src: [u8; 6],
    /// What it is.
    pub kind: WireKind,
}

/// A running observer thread; stops on drop.
pub struct WireTap {
    events: Arc<Mutex<Vec<WireEvent>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn last_os(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Moves the calling thread into namespace `ns` and opens a packet socket on `iface`.
fn open_in(ns: &str, iface: &str) -> Result<OwnedFd, String> {
    let path = std::ffi::CString::new(format!("/var/run/netns/{ns}")).map_err(|e| e.to_string())?;
    // SAFETY: path is a valid NUL-terminated string; the result is checked.
    let nsfd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if nsfd < 0 {
        return Err(last_os("opening the observer namespace"));
    }
    // SAFETY: nsfd is a fresh descriptor we own.
    let nsfd = unsafe { OwnedFd::from_raw_fd(nsfd) };
    // SAFETY: setns on a valid namespace fd; it affects only this (dedicated) thread.
    if unsafe { libc::setns(nsfd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(last_os("entering the observer namespace"));
    }
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call; checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(last_os("opening a packet socket"));
    }
    // SAFETY: fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(iface).map_err(|e| e.to_string())?;
    // SAFETY: valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(last_os("looking up the observer interface"));
    }
    // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: pointer and length describe `sll`.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(last_os("binding the packet socket"));
    }
    let one: libc::c_int = 1;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: option values point to live locals of the right size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    Ok(sock)
}

fn classify(p: &[u8]) -> Option<([u8; 6], WireKind)> {
    if p.len() < 14 {
        return None;
    }
    let src: [u8; 6] = p[6..12].try_into().ok()?;
    let l3 = &p[14..];
    match u16::from_be_bytes([p[12], p[13]]) {
        0x0800 if l3.len() >= 20 && l3[9] == 112 => {
            let ihl = usize::from(l3[0] & 0x0f) * 4;
            let v = l3.get(ihl..)?;
            Some((
                src,
                WireKind::Advert {
                    priority: *v.get(2)?,
                },
            ))
        }
        0x0806 if l3.len() >= 28 && l3[14..18] == l3[24..28] => Some((src, WireKind::Garp)),
        _ => None,
    }
}

impl WireTap {
    /// Starts observing `iface` inside namespace `ns`.
    pub fn start(ns: &str, iface: &str) -> Result<WireTap, String> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (ns, iface) = (ns.to_string(), iface.to_string());
        let (ev, st) = (events.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let sock = match open_in(&ns, &iface) {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 2048];
            while !st.load(Ordering::SeqCst) {
                // SAFETY: buf is a live buffer of the given length.
                let n =
                    unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n <= 0 {
                    continue; // timeout (to check `stop`) or EINTR
                }
                let Some((src, kind)) = classify(&buf[..n as usize]) else {
                    continue;
                };
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: SIOCGSTAMPNS writes one timespec into `ts`.
                let rc = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts) };
                let ts = if rc == 0 {
                    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
                } else {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                };
                if let Ok(mut v) = ev.lock() {
                    v.push(WireEvent { ts, src, kind });
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(WireTap {
                events,
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the observer did not start".into()),
        }
    }

    /// Everything seen so far.
    pub fn events(&self) -> Vec<WireEvent> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for WireTap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
