//! Shared test rig: network namespaces joined by veth pairs to a bridge, with a guard that
//! deletes them on drop (also when a test panics), and helpers to run code inside them.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Run a shell command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn sh");
    assert!(
        out.status.success(),
        "command failed: {cmd}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A fresh namespace named `hk<pid>-<counter>-<tag>`, loopback up, IPv6 DAD off so
    /// link-local addresses are usable at once.
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("hk{}-{}-{}", std::process::id(), n, tag);
        sh(&format!("ip netns add {name}"));
        let ns = Netns { name };
        ns.exec("ip link set lo up");
        ns.exec("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
        ns
    }

    /// Run a shell command inside the namespace.
    pub fn exec(&self, cmd: &str) -> String {
        sh(&format!("ip netns exec {} sh -c '{}'", self.name, cmd))
    }

    /// Run `f` on a new thread that has entered this namespace, with its own current-thread
    /// tokio runtime (created after `setns`, so every socket it opens lives in here).
    pub fn spawn<F, Fut, T>(&self, f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        self.spawn_plain(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(f())
        })
    }

    /// Run `f` on a new thread that has entered this namespace, with no runtime at all
    /// (for the drivers' polled mode).
    pub fn spawn_plain<F, T>(&self, f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
    }

    /// [`Netns::spawn_plain`] and wait, re-raising a panic of the thread.
    pub fn run_plain<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn_plain(f).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// [`Netns::spawn`] and wait, re-raising a panic of the thread.
    pub fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        match self.spawn(f).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Move the calling thread into the namespace at `path`.
fn enter(path: &str) {
    let f = File::open(path).expect("open netns");
    // SAFETY: `f` is an open namespace file descriptor; setns only affects this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// A LAN: one hub namespace with bridge `br0`, and nodes each with `eth0` on the bridge.
/// Fields drop in order: nodes first, then the hub.
pub struct Lan {
    pub nodes: Vec<Netns>,
    pub hub: Netns,
}

impl Lan {
    /// `n` nodes; node `i` gets 10.0.0.(i+1)/24 and fd00::(i+1)/64 on `eth0`.
    pub fn new(n: usize) -> Self {
        let hub = Netns::new("hub");
        hub.exec("ip link add br0 type bridge mcast_snooping 0 && ip link set br0 up");
        let mut nodes = Vec::new();
        for i in 0..n {
            let node = Netns::new(&format!("n{i}"));
            hub.exec(&format!(
                "ip link add p{i} type veth peer name eth0 netns {} && ip link set p{i} master br0 && ip link set p{i} up",
                node.name
            ));
            node.exec(&format!(
                "ip link set eth0 up && ip addr add 10.0.0.{a}/24 dev eth0 && ip addr add fd00::{a}/64 dev eth0 nodad",
                a = i + 1
            ));
            nodes.push(node);
        }
        for node in &nodes {
            wait_for(|| {
                node.exec("ip -6 addr show dev eth0 scope link")
                    .contains("fe80")
            });
        }
        Lan { nodes, hub }
    }
}

/// Poll `cond` every 20 ms for up to 5 s.
pub fn wait_for(cond: impl FnMut() -> bool) {
    wait_for_secs(5, cond)
}

/// Poll `cond` every 20 ms for up to `secs` seconds.
pub fn wait_for_secs(secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A raw `AF_PACKET` capture of every frame on one interface of the calling thread's
/// namespace.
pub struct Capture {
    sock: socket2::Socket,
}

impl Capture {
    /// Start capturing on `ifname` (all protocols).
    pub fn open(ifname: &str) -> Self {
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        let sock = socket2::Socket::new(
            socket2::Domain::PACKET,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(proto)),
        )
        .expect("AF_PACKET socket");
        let ifindex = vip_netlink::Interface::by_name(ifname).unwrap().index();
        // SAFETY: sockaddr_ll is plain old data; zeroed is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll and its size is passed.
        let rc = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Capture { sock }
    }

    /// Frames until `pred` matches one (returned) or 5 s pass (None).
    pub fn find(&self, pred: impl FnMut(&[u8]) -> bool) -> Option<Vec<u8>> {
        self.find_within(Duration::from_secs(5), pred)
    }

    /// Frames until `pred` matches one (returned) or `limit` passes (None).
    pub fn find_within(
        &self,
        limit: Duration,
        mut pred: impl FnMut(&[u8]) -> bool,
    ) -> Option<Vec<u8>> {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            // SAFETY: `buf` is a valid writable buffer of the given length.
            let n =
                unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n > 0 && pred(&buf[..n as usize]) {
                return Some(buf[..n as usize].to_vec());
            }
        }
        None
    }
}

/// A keepalived process (the Debian package) running in a namespace, killed by PID on drop.
pub struct Keepalived {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Keepalived {
    /// Start `keepalived --vrrp` with `config` inside `ns`, foreground, logging to a file.
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{}-keepalived", ns.name));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, config).unwrap();
        let log = File::create(dir.join("log")).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "keepalived",
                "--dont-fork",
                "--log-console",
            ])
            .args(["--log-detail", "--vrrp", "--use-file"])
            .arg(&conf)
            .arg("--pid")
            .arg(dir.join("k.pid"))
            .arg("--vrrp_pid")
            .arg(dir.join("v.pid"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("keepalived is installed (scripts/setup.sh)");
        Keepalived { child, dir }
    }

    /// keepalived's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // `ip netns exec` execs keepalived, so this PID is keepalived's parent process,
        // which stops its VRRP child on SIGTERM.
        // SAFETY: kill(2) on the PID of a child we spawned and have not reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
