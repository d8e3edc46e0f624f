//! An LVS director in the style of keepalived's `virtual_server`, as a thin user of the
//! library: the command line becomes a `[[virtual_server]]` ([`VirtualServerConfig`]) and
//! [`hakit::Daemon`] runs it (`hakit::runtime::lvs`): health checks decide which real servers
//! are alive, keepalived's quorum / hysteresis / sorry-server / inhibit_on_failure rules
//! apply, and IPVS follows through `ipvs-netlink`'s desired-state diff (nothing is flushed).
//!
//! Needs a kernel with IPVS (this repository's `scripts/ipvs-vm/run` provides one).
//!
//! ```text
//! # Run a director:
//! lvs_director run --vs 192.0.2.1:80 --rs 198.51.100.2:8080:2 --rs 198.51.100.3:8080:1 \
//!     [--sorry 198.51.100.9:8080] [--quorum 2] [--hysteresis 0] [--inhibit] [--http /healthz]
//! # Self-test inside the IPVS VM: starts the daemon with its own real servers on 127.0.0.1,
//! # makes them fail and recover, and checks the IPVS table at every step (exit 0 = all steps
//! # passed), the quorum_up/quorum_down scripts, that a service it does not configure is left
//! # alone and that its own service is removed at shutdown:
//! lvs_director demo [--inhibit]
//! # ha_suspend and lvs_sync_daemon in the VM: checks run only while a VRRP instance holds
//! # the address, the sync daemon is master only while it is Master.
//! lvs_director demo-ha-suspend
//! ```
//!
//! Build and run the self-test in the VM:
//!
//! ```text
//! cargo build --example lvs_director
//! scripts/ipvs-vm/run --timeout 300 -- target/debug/examples/lvs_director demo
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hakit::runtime::virtual_server_config::{
    HttpGetConfig, RealServerConfig, TcpCheckConfig, UrlConfig, VirtualServerConfig,
};
use hakit::{Config, Daemon};
use ipvs_netlink::{IpvsHandle, Service, SyncState};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error>;

/// What the director manages (the command line).
struct DirectorConfig {
    vs: SocketAddr,
    real_servers: Vec<(SocketAddr, u32)>,
    sorry: Option<SocketAddr>,
    quorum: u64,
    hysteresis: u64,
    inhibit: bool,
    http_path: Option<String>,
    interval: Duration,
}

/// The `[[virtual_server]]` for `cfg`: a TCP connect per real server, plus an HTTP GET
/// with `--http` (the server is alive only while both pass).
fn virtual_server(cfg: &DirectorConfig) -> VirtualServerConfig {
    let secs = cfg.interval.as_secs_f64();
    let mut vs = VirtualServerConfig::new(cfg.vs.to_string());
    vs.lb_algo = "wrr".into();
    vs.quorum = cfg.quorum;
    vs.hysteresis = cfg.hysteresis;
    vs.inhibit_on_failure = cfg.inhibit;
    vs.sorry_server = cfg.sorry.map(|s| s.to_string());
    vs.delay_loop = secs;
    vs.retry = Some(1);
    vs.delay_before_retry = Some(secs / 2.0);
    for (addr, weight) in &cfg.real_servers {
        vs.real_server.push(RealServerConfig {
            weight: *weight,
            tcp_check: vec![TcpCheckConfig {
                connect_timeout: Some(secs),
                ..Default::default()
            }],
            http_get: cfg
                .http_path
                .iter()
                .map(|p| HttpGetConfig {
                    url: vec![UrlConfig {
                        path: p.clone(),
                        ..Default::default()
                    }],
                    connect_timeout: Some(secs),
                    ..Default::default()
                })
                .collect(),
            ..RealServerConfig::new(addr.to_string())
        });
    }
    vs
}

async fn run(cfg: DirectorConfig) -> Result<(), Error> {
    let daemon = Daemon::start(Config::new().virtual_server(virtual_server(&cfg))).await?;
    tokio::signal::ctrl_c().await?;
    daemon.shutdown().await?;
    Ok(())
}

// ---- self-test ---------------------------------------------------------------------------

/// A real server: a TCP listener that answers HTTP 200, which can be stopped and restarted.
struct RealServerProcess {
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RealServerProcess {
    async fn start(addr: SocketAddr) -> Result<Self, Error> {
        let mut rs = RealServerProcess { addr, task: None };
        rs.set_up(true).await?;
        Ok(rs)
    }

    async fn set_up(&mut self, up: bool) -> Result<(), Error> {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        if up {
            let listener = TcpListener::bind(self.addr).await?;
            self.task = Some(tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                while let Ok((mut s, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 1024];
                        let _ = s.read(&mut buf).await;
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await;
                    });
                }
            }));
        }
        Ok(())
    }
}

/// The destinations of the VS in the kernel, sorted: `(addr, weight)`.
fn kernel_dests(ipvs: &mut IpvsHandle, vs: SocketAddr) -> Result<Vec<(SocketAddr, u32)>, Error> {
    let key = Service::tcp(vs).key;
    let mut v: Vec<_> = ipvs
        .destinations(&key)?
        .into_iter()
        .map(|d| (SocketAddr::new(d.addr, d.port), d.weight))
        .collect();
    v.sort();
    Ok(v)
}

/// Waits until `read()` returns `want` (or 20 s pass).
async fn expect<T: PartialEq + std::fmt::Debug>(
    step: &str,
    mut read: impl FnMut() -> T,
    want: T,
) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let have = read();
        if have == want {
            println!("PASS {step}: {have:?}");
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("FAIL {step}: have {have:?}, want {want:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the kernel table equals `want` (or 20 s pass).
async fn expect_table(
    step: &str,
    ipvs: &mut IpvsHandle,
    vs: SocketAddr,
    mut want: Vec<(SocketAddr, u32)>,
) -> Result<(), Error> {
    want.sort();
    expect(step, || kernel_dests(ipvs, vs).unwrap_or_default(), want).await
}

/// Waits until `path` holds `want` (the scripts' log), or 20 s pass.
async fn expect_file(step: &str, path: &Path, want: &str) -> Result<(), Error> {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    expect(step, read, want.to_string()).await
}

async fn demo(inhibit: bool) -> Result<(), Error> {
    let rs: Vec<SocketAddr> = ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let sorry: SocketAddr = "127.0.0.1:18089".parse()?;
    let cfg = DirectorConfig {
        vs: "192.0.2.1:80".parse()?,
        real_servers: vec![(rs[0], 1), (rs[1], 1), (rs[2], 1)],
        sorry: Some(sorry),
        quorum: 2,
        hysteresis: 0,
        inhibit,
        http_path: Some("/healthz".into()),
        interval: Duration::from_millis(200),
    };
    let log = std::env::temp_dir().join(format!("lvs_director_demo.{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut vs = virtual_server(&cfg);
    vs.quorum_up = Some(format!("echo up >> {}", log.display()));
    vs.quorum_down = Some(format!("echo down >> {}", log.display()));
    let mut servers = Vec::new();
    for a in &rs {
        servers.push(RealServerProcess::start(*a).await?);
    }
    // A service this daemon does not configure: left alone (no flush), before and after.
    let mut ipvs = IpvsHandle::new()?;
    let foreign = Service::tcp("192.0.2.1:443".parse()?);
    ipvs.add_service(&foreign)?;

    let daemon = Daemon::start(Config::new().virtual_server(vs)).await?;
    let all = vec![(rs[0], 1), (rs[1], 1), (rs[2], 1)];
    expect_table("all alive", &mut ipvs, cfg.vs, all.clone()).await?;

    // One real server fails: removed, or quiesced with inhibit_on_failure.
    servers[0].set_up(false).await?;
    let one_down = if inhibit {
        vec![(rs[0], 0), (rs[1], 1), (rs[2], 1)]
    } else {
        vec![(rs[1], 1), (rs[2], 1)]
    };
    expect_table("rs1 failed", &mut ipvs, cfg.vs, one_down).await?;

    // A second one fails: live weight 1 < quorum 2, the sorry server takes over.
    servers[1].set_up(false).await?;
    let sorry_only = if inhibit {
        vec![(rs[0], 0), (rs[1], 0), (rs[2], 0), (sorry, 1)]
    } else {
        vec![(sorry, 1)]
    };
    expect_table("quorum lost", &mut ipvs, cfg.vs, sorry_only).await?;
    expect_file("quorum_down ran", &log, "down\n").await?;

    // Recovery: quorum regained, sorry server removed, real servers restored.
    servers[1].set_up(true).await?;
    let back = if inhibit {
        vec![(rs[0], 0), (rs[1], 1), (rs[2], 1)]
    } else {
        vec![(rs[1], 1), (rs[2], 1)]
    };
    expect_table("quorum regained", &mut ipvs, cfg.vs, back).await?;
    expect_file("quorum_up ran", &log, "down\nup\n").await?;
    servers[0].set_up(true).await?;
    expect_table("all recovered", &mut ipvs, cfg.vs, all).await?;

    daemon.shutdown().await?;
    let left: Vec<_> = ipvs.services()?.into_iter().map(|s| s.key).collect();
    if left != vec![foreign.key] {
        return Err(format!(
            "FAIL shutdown: services left {left:?}, want only {:?}",
            foreign.key
        )
        .into());
    }
    println!("PASS shutdown: own service removed, the foreign one kept");
    ipvs.delete_service(&foreign.key)?;
    let _ = std::fs::remove_file(&log);
    println!("lvs_director demo: all steps passed");
    Ok(())
}

/// Waits until the daemon's only instance is in `want` (or 20 s pass).
async fn expect_state(daemon: &Daemon, want: vrrp_fsm::State) -> Result<(), Error> {
    let mut read = Vec::new();
    for _ in 0..400 {
        read = daemon.status().await?;
        if read.first().map(|s| s.state) == Some(want) {
            println!("PASS instance {want}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("FAIL instance: {read:?}, want {want}").into())
}

/// Checks that the table stays `want` for a second (five check intervals).
async fn expect_steady(
    step: &str,
    ipvs: &mut IpvsHandle,
    vs: SocketAddr,
    want: Vec<(SocketAddr, u32)>,
) -> Result<(), Error> {
    for _ in 0..20 {
        let have = kernel_dests(ipvs, vs).unwrap_or_default();
        if have != want {
            return Err(format!("FAIL {step}: kernel has {have:?}, want {want:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("PASS {step}: {want:?} for 1 s");
    Ok(())
}

/// Waits until the kernel runs exactly the sync daemons `want` (roles), or 20 s pass.
async fn expect_sync(step: &str, ipvs: &mut IpvsHandle, want: &[SyncState]) -> Result<(), Error> {
    let read = || {
        let mut roles: Vec<String> = ipvs
            .sync_daemons()
            .unwrap_or_default()
            .iter()
            .map(|d| format!("{:?} {} id {}", d.state, d.interface, d.sync_id))
            .collect();
        roles.sort();
        roles
    };
    let want = want.iter().map(|r| format!("{r:?} ipvs0 id 7")).collect();
    expect(step, read, want).await
}

fn link(up: bool) -> Result<(), Error> {
    let state = if up { "up" } else { "down" };
    let ok = std::process::Command::new("ip")
        .args(["link", "set", "ipvs0", state])
        .status()?
        .success();
    if !ok {
        return Err(format!("ip link set ipvs0 {state} failed").into());
    }
    Ok(())
}

/// `ha_suspend` in the VM: a VRRP instance on the dummy `ipvs0` holds the virtual server's
/// address; its checks run only while it is Master (the link down makes it FAULT).
async fn demo_ha_suspend() -> Result<(), Error> {
    use vrrp_fsm::State;
    let rs: SocketAddr = "127.0.0.1:18091".parse()?;
    let vs: SocketAddr = "192.0.2.10:80".parse()?;
    let mut server = RealServerProcess::start(rs).await?;
    let config = Config::from_toml(&format!(
        r#"
lock_dir = "/tmp/hakit-lvs-demo"
[lvs_sync_daemon]
iface = "ipvs0"
instance = "lvs"
id = 7

[[instance]]
name = "lvs"
iface = "ipvs0"
vrid = 51
priority = 100
vrrp_version = 3
advert_int = 0.1
vips = ["192.0.2.10/32"]

[[virtual_server]]
address = "{vs}"
ha_suspend = true
alpha = true
delay_loop = 0.2
delay_before_retry = 0.1

[[virtual_server.real_server]]
address = "{rs}"
tcp_check = [{{ connect_timeout = 0.2 }}]
"#
    ))?;
    let mut ipvs = IpvsHandle::new()?;
    link(false)?;
    let daemon = Daemon::start(config).await?;
    expect_state(&daemon, State::Fault).await?;
    expect_sync(
        "sync daemon backup while FAULT",
        &mut ipvs,
        &[SyncState::Backup],
    )
    .await?;
    // alpha: down until a check passes, and no check runs while the VIP is not held.
    expect_steady("suspended while FAULT", &mut ipvs, vs, vec![]).await?;
    link(true)?;
    expect_state(&daemon, State::Master).await?;
    expect_table("checked while MASTER", &mut ipvs, vs, vec![(rs, 1)]).await?;
    expect_sync(
        "sync daemon master while MASTER",
        &mut ipvs,
        &[SyncState::Master],
    )
    .await?;
    link(false)?;
    expect_state(&daemon, State::Fault).await?;
    expect_sync("sync daemon backup again", &mut ipvs, &[SyncState::Backup]).await?;
    server.set_up(false).await?;
    expect_steady(
        "failure unseen while suspended",
        &mut ipvs,
        vs,
        vec![(rs, 1)],
    )
    .await?;
    link(true)?;
    expect_state(&daemon, State::Master).await?;
    expect_table(
        "resumed: out until a check passes (alpha)",
        &mut ipvs,
        vs,
        vec![],
    )
    .await?;
    server.set_up(true).await?;
    expect_table("recovered", &mut ipvs, vs, vec![(rs, 1)]).await?;
    daemon.shutdown().await?;
    expect_sync("sync daemons stopped at shutdown", &mut ipvs, &[]).await?;
    println!("lvs_director demo-ha-suspend: all steps passed");
    Ok(())
}

// ---- command line ------------------------------------------------------------------------

fn parse_run(args: &[String]) -> Result<DirectorConfig, Error> {
    let mut cfg = DirectorConfig {
        vs: "0.0.0.0:0".parse()?,
        real_servers: Vec::new(),
        sorry: None,
        quorum: 1,
        hysteresis: 0,
        inhibit: false,
        http_path: None,
        interval: Duration::from_secs(2),
    };
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--vs" => cfg.vs = v()?.parse()?,
            "--rs" => {
                let s = v()?;
                // ADDR:PORT[:WEIGHT]
                let (addr, weight) = match s.rsplit_once(':') {
                    Some((a, w)) if a.contains(':') => (a.parse()?, w.parse()?),
                    _ => (s.parse()?, 1),
                };
                cfg.real_servers.push((addr, weight));
            }
            "--sorry" => cfg.sorry = Some(v()?.parse()?),
            "--quorum" => cfg.quorum = v()?.parse()?,
            "--hysteresis" => cfg.hysteresis = v()?.parse()?,
            "--inhibit" => cfg.inhibit = true,
            "--http" => cfg.http_path = Some(v()?.clone()),
            "--interval-ms" => cfg.interval = Duration::from_millis(v()?.parse()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if cfg.real_servers.is_empty() || cfg.vs.port() == 0 {
        return Err("need --vs and at least one --rs".into());
    }
    Ok(cfg)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("demo") => rt.block_on(demo(args.iter().any(|a| a == "--inhibit"))),
        Some("demo-ha-suspend") => rt.block_on(demo_ha_suspend()),
        Some("run") => rt.block_on(run(parse_run(&args[1..])?)),
        _ => {
            eprintln!("usage: lvs_director run --vs ADDR --rs ADDR[:W]... | lvs_director demo [--inhibit] | lvs_director demo-ha-suspend");
            std::process::exit(2);
        }
    }
}
