//! A Prometheus-like scraper for the benchmark: GET /metrics at a fixed rate from inside a
//! node's network namespace (its own thread enters the namespace), counting answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running scraper; [`Scraper::stop`] returns (answered, failed) scrapes.
pub struct Scraper {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(u64, u64)>>,
}

impl Scraper {
    /// Scrapes `http://addr/metrics` from namespace `ns`, `hz` times a second.
    pub fn start(ns: &str, addr: SocketAddr, hz: f64) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let netns = std::fs::File::open(format!("/var/run/netns/{ns}"))
            .unwrap_or_else(|e| panic!("opening netns {ns}: {e}"));
        let period = Duration::from_secs_f64(1.0 / hz);
        let thread = std::thread::spawn(move || {
            // SAFETY: setns on this thread only, with an open namespace fd.
            let rc = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            let (mut ok, mut failed) = (0, 0);
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                match scrape(addr) {
                    Ok(()) => ok += 1,
                    Err(_) => failed += 1,
                }
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            (ok, failed)
        });
        Scraper {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and returns (answered, failed) scrapes.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn scrape(addr: SocketAddr) -> std::io::Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: hakit\r\n\r\n")?;
    let mut body = Vec::new();
    s.read_to_end(&mut body)?;
    if body.starts_with(b"HTTP/1.1 200") || body.starts_with(b"HTTP/1.0 200") {
        Ok(())
    } else {
        Err(std::io::Error::other("not 200"))
    }
}
