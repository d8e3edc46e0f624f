//! Real servers on loopback, started by the tests themselves.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// What the HTTP test server does with a connection.
#[derive(Clone)]
pub enum Reply {
    /// Send these bytes after reading the request head, then close.
    Raw(Vec<u8>),
    /// Sleep, then send the bytes.
    Slow(Duration, Vec<u8>),
    /// Close with RST right after accepting.
    Reset,
    /// Send an endless body.
    Endless,
}

pub fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut v = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

pub struct HttpServer {
    pub addr: SocketAddr,
    /// Replaced at will by the test.
    pub reply: Arc<std::sync::Mutex<Reply>>,
    /// The last request head received.
    pub last_request: Arc<std::sync::Mutex<String>>,
    /// Connections currently open / the maximum seen.
    pub open: Arc<AtomicUsize>,
    pub max_open: Arc<AtomicUsize>,
    /// Replies used in order, one per connection, before `reply`.
    pub queue: Arc<std::sync::Mutex<std::collections::VecDeque<Reply>>>,
    /// Accept time of every connection.
    pub accepted: Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match s.read(&mut b).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

pub async fn serve_conn<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    reply: Reply,
    last: &std::sync::Mutex<String>,
) {
    let head = read_head(&mut s).await;
    *last.lock().unwrap() = head;
    match reply {
        Reply::Raw(bytes) => {
            let _ = s.write_all(&bytes).await;
        }
        Reply::Slow(d, bytes) => {
            tokio::time::sleep(d).await;
            let _ = s.write_all(&bytes).await;
        }
        Reply::Reset => {}
        Reply::Endless => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            let chunk = vec![b'x'; 65536];
            while s.write_all(&chunk).await.is_ok() {}
        }
    }
    let _ = s.shutdown().await;
}

impl HttpServer {
    pub async fn start(reply: Reply) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reply = Arc::new(std::sync::Mutex::new(reply));
        let last_request = Arc::new(std::sync::Mutex::new(String::new()));
        let open = Arc::new(AtomicUsize::new(0));
        let max_open = Arc::new(AtomicUsize::new(0));
        let (r, l, o, m) = (
            reply.clone(),
            last_request.clone(),
            open.clone(),
            max_open.clone(),
        );
        let queue = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let accepted = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (q, a) = (queue.clone(), accepted.clone());
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                a.lock().unwrap().push(std::time::Instant::now());
                let queued = q.lock().unwrap().pop_front();
                let reply = queued.unwrap_or_else(|| r.lock().unwrap().clone());
                let (l, o, m) = (l.clone(), o.clone(), m.clone());
                tokio::spawn(async move {
                    let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    if let Reply::Reset = reply {
                        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                        drop(s);
                    } else {
                        serve_conn(s, reply, &l).await;
                    }
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        HttpServer {
            addr,
            reply,
            last_request,
            open,
            max_open,
            queue,
            accepted,
        }
    }

    /// Queues one reply per future connection: `true` = 200, `false` = 503.
    pub fn script(&self, seq: &[bool]) {
        let mut q = self.queue.lock().unwrap();
        for ok in seq {
            q.push_back(Reply::Raw(if *ok {
                ok_response(b"")
            } else {
                b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec()
            }));
        }
    }

    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }
}

/// A TCP listener that can be switched off (the port then refuses) and on again on the
/// same port: a flapping real server.
pub struct FlappingTcp {
    pub addr: SocketAddr,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FlappingTcp {
    pub async fn start() -> FlappingTcp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let f = FlappingTcp {
            addr,
            task: std::sync::Mutex::new(None),
        };
        f.serve(listener);
        f
    }

    fn serve(&self, listener: TcpListener) {
        let h = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                drop(s);
            }
        });
        *self.task.lock().unwrap() = Some(h);
    }

    pub async fn set_up(&self, up: bool) {
        let old = self.task.lock().unwrap().take();
        if let Some(h) = old {
            h.abort();
            let _ = h.await;
        }
        if up {
            let listener = TcpListener::bind(self.addr).await.unwrap();
            self.serve(listener);
        }
    }
}

/// A port with nothing listening (bound then closed).
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

/// UDP echo server.
pub async fn udp_echo() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(&buf[..n], peer).await;
        }
    });
    addr
}

/// How the DNS responder answers.
#[derive(Clone, Copy, Debug)]
pub enum DnsMode {
    /// Answer with one A record 10.0.0.1 for A queries, no answer for others.
    Answer,
    /// RCODE 3 (NXDOMAIN).
    NxDomain,
    /// Echo the query back (QR not set).
    NoQr,
    /// Send garbage first, then a correct answer with a wrong id, then nothing.
    WrongId,
}

/// A small DNS responder on UDP.
pub async fn dns_server(mode: DnsMode) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            let q = &buf[..n];
            if n < 12 {
                continue;
            }
            // End of the question: name then type, class.
            let mut pos = 12;
            while pos < n && q[pos] != 0 {
                pos += 1 + q[pos] as usize;
            }
            let qend = pos + 5;
            if qend > n {
                continue;
            }
            let qtype = u16::from_be_bytes([q[pos + 1], q[pos + 2]]);
            let mut r = q[..qend].to_vec();
            match mode {
                DnsMode::NoQr => {}
                DnsMode::NxDomain => {
                    r[2] |= 0x80;
                    r[3] = 0x83;
                }
                DnsMode::Answer => {
                    r[2] |= 0x80;
                    r[3] = 0x80;
                    if qtype == 1 {
                        r[7] = 1;
                        r.extend_from_slice(&[
                            0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
                        ]);
                    }
                }
                DnsMode::WrongId => {
                    let _ = sock.send_to(b"\xff\xfe garbage", peer).await;
                    r[0] ^= 0xFF;
                    r[2] |= 0x80;
                }
            }
            let _ = sock.send_to(&r, peer).await;
        }
    });
    addr
}

/// Connect once to be sure a server is accepting.
pub async fn wait_listening(addr: SocketAddr) {
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Brings `lo` up in the calling thread's network namespace.
pub fn lo_up() {
    // SAFETY: plain socket + ioctls on a zeroed ifreq with a NUL-terminated name.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0);
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        assert_eq!(libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr), 0);
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert_eq!(libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut ifr), 0);
        libc::close(fd);
    }
}

/// Runs `f` on a thread in a fresh, anonymous network namespace (freed when the thread
/// exits, even on panic) with its own current-thread runtime.
pub fn in_private_netns<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        // SAFETY: unshare only affects this thread's namespace membership.
        assert_eq!(
            unsafe { libc::unshare(libc::CLONE_NEWNET) },
            0,
            "{}",
            std::io::Error::last_os_error()
        );
        lo_up();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(f());
    })
    .join()
    .unwrap();
}
