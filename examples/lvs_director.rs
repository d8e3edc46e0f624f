//! An LVS director in the style of keepalived's `virtual_server`: health checks
//! (`healthcheck`) decide which real servers are alive, `healthcheck::Pool` applies
//! keepalived's quorum / hysteresis / sorry-server / inhibit_on_failure rules, and
//! `ipvs-netlink` reconciles the kernel's IPVS table with the result.
//!
//! Needs a kernel with IPVS (this repository's `scripts/ipvs-vm/run` provides one).
//!
//! ```text
//! # Run a director:
//! lvs_director run --vs 192.0.2.1:80 --rs 198.51.100.2:8080:2 --rs 198.51.100.3:8080:1 \
//!     [--sorry 198.51.100.9:8080] [--quorum 2] [--hysteresis 0] [--inhibit] [--http /healthz]
//! # Self-test inside the IPVS VM: starts its own real servers on 127.0.0.1, makes them fail
//! # and recover, and checks the IPVS table at every step (exit 0 = all steps passed):
//! lvs_director demo [--inhibit]
//! ```
//!
//! Build and run the self-test in the VM:
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+crt-static" cargo build --example lvs_director \
//!     --target x86_64-unknown-linux-gnu
//! scripts/ipvs-vm/run --timeout 300 -- target/x86_64-unknown-linux-gnu/debug/examples/lvs_director demo
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use healthcheck::{
    CheckId, CheckSpec, DesiredDest, HttpCheck, HttpUrl, Monitor, MonitorConfig, Policy, Pool,
    PoolPolicy, QuorumChange, RealServer, TcpCheck,
};
use ipvs_netlink::{DesiredService, DesiredTable, Destination, IpvsHandle, Scheduler, Service};
use tokio::net::TcpListener;
use tokio::sync::mpsc::Receiver;

/// What the director manages.
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

type Error = Box<dyn std::error::Error>;

/// The IPVS service for `cfg`, holding `dests`.
fn desired_table(cfg: &DirectorConfig, dests: &[DesiredDest<SocketAddr>]) -> DesiredTable {
    let mut svc = DesiredService::new(Service::tcp(cfg.vs).scheduler(Scheduler::Wrr));
    for d in dests {
        // The pool already decided presence and weight (0 = quiesced); list exactly that.
        svc = svc.destination(Destination::new(d.key).weight(d.weight), true);
    }
    DesiredTable {
        services: vec![svc],
        remove_unlisted: false,
    }
}

/// Starts the checks (a TCP connect, plus an HTTP GET with `--http`: the server is
/// alive only while both pass) and builds the pool.
fn start(cfg: &DirectorConfig, monitor: &Monitor) -> Result<Pool<SocketAddr>, Error> {
    let mut servers = Vec::new();
    for (i, (addr, weight)) in cfg.real_servers.iter().enumerate() {
        let policy = Policy::Checker {
            retry: 1,
            delay_before_retry: cfg.interval / 2,
            alpha: false,
        };
        let tcp_id = CheckId(2 * i as u64);
        monitor.add(
            CheckSpec::new(tcp_id, TcpCheck::new(*addr))
                .interval(cfg.interval)
                .timeout(cfg.interval)
                .warmup(cfg.interval)
                .policy(policy),
        )?;
        let mut checks = vec![tcp_id];
        if let Some(path) = &cfg.http_path {
            let http_id = CheckId(2 * i as u64 + 1);
            monitor.add(
                CheckSpec::new(
                    http_id,
                    HttpCheck::new(*addr, vec![HttpUrl::new(path.clone())]),
                )
                .interval(cfg.interval)
                .timeout(cfg.interval)
                .warmup(cfg.interval)
                .policy(policy),
            )?;
            checks.push(http_id);
        }
        servers.push(RealServer {
            key: *addr,
            weight: *weight,
            checks,
        });
    }
    let policy = PoolPolicy {
        quorum: cfg.quorum,
        hysteresis: cfg.hysteresis,
        inhibit_on_failure: cfg.inhibit,
        sorry_server: cfg.sorry.map(|s| (s, 1)),
        sorry_server_inhibit: false,
        alpha: false,
    };
    Ok(Pool::new(policy, servers))
}

/// Applies the pool's desired destinations to the kernel.
fn sync(ipvs: &mut IpvsHandle, cfg: &DirectorConfig, pool: &Pool<SocketAddr>) -> Result<(), Error> {
    let report = ipvs.apply(&desired_table(cfg, &pool.desired()))?;
    for op in &report.applied {
        println!("ipvs: {op}");
    }
    for (op, e) in &report.failed {
        eprintln!("ipvs: FAILED {op}: {e}");
    }
    Ok(())
}

/// Logs one state change and feeds it to the pool.
fn on_change(pool: &mut Pool<SocketAddr>, change: &healthcheck::StateChange) {
    println!(
        "check {:?}: {:?} -> {:?}{}",
        change.id,
        change.previous,
        change.state.health,
        change
            .error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    match pool.apply(change) {
        Some(QuorumChange::Lost) => println!("quorum lost (live weight {})", pool.live_weight()),
        Some(QuorumChange::Gained) => {
            println!("quorum gained (live weight {})", pool.live_weight())
        }
        None => {}
    }
}

async fn run(cfg: DirectorConfig) -> Result<(), Error> {
    let mut ipvs = IpvsHandle::new()?;
    let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
    let mut pool = start(&cfg, &monitor)?;
    sync(&mut ipvs, &cfg, &pool)?;
    // Re-apply periodically too, so changes made behind our back (ipvsadm) are undone.
    let mut resync = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            change = changes.recv() => {
                let Some(change) = change else { return Ok(()) };
                on_change(&mut pool, &change);
                while let Ok(more) = changes.try_recv() {
                    on_change(&mut pool, &more);
                }
            }
            _ = resync.tick() => {}
        }
        sync(&mut ipvs, &cfg, &pool)?;
    }
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

/// Processes changes until the kernel table equals `want` (or 20 s pass).
async fn expect_table(
    step: &str,
    ipvs: &mut IpvsHandle,
    cfg: &DirectorConfig,
    pool: &mut Pool<SocketAddr>,
    changes: &mut Receiver<healthcheck::StateChange>,
    mut want: Vec<(SocketAddr, u32)>,
) -> Result<(), Error> {
    want.sort();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let have = kernel_dests(ipvs, cfg.vs)?;
        if have == want {
            println!("PASS {step}: {have:?}");
            return Ok(());
        }
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Some(change)) => {
                on_change(pool, &change);
                sync(ipvs, cfg, pool)?;
            }
            Ok(None) => return Err("monitor stopped".into()),
            Err(_) => return Err(format!("FAIL {step}: kernel has {have:?}, want {want:?}").into()),
        }
    }
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
    let mut servers = Vec::new();
    for a in &rs {
        servers.push(RealServerProcess::start(*a).await?);
    }
    let mut ipvs = IpvsHandle::new()?;
    let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
    let mut pool = start(&cfg, &monitor)?;
    sync(&mut ipvs, &cfg, &pool)?;
    let all = vec![(rs[0], 1), (rs[1], 1), (rs[2], 1)];
    expect_table(
        "all alive",
        &mut ipvs,
        &cfg,
        &mut pool,
        &mut changes,
        all.clone(),
    )
    .await?;

    // One real server fails: removed, or quiesced with inhibit_on_failure.
    servers[0].set_up(false).await?;
    let one_down = if inhibit {
        vec![(rs[0], 0), (rs[1], 1), (rs[2], 1)]
    } else {
        vec![(rs[1], 1), (rs[2], 1)]
    };
    expect_table(
        "rs1 failed",
        &mut ipvs,
        &cfg,
        &mut pool,
        &mut changes,
        one_down.clone(),
    )
    .await?;

    // A second one fails: live weight 1 < quorum 2, the sorry server takes over.
    servers[1].set_up(false).await?;
    let sorry_only = if inhibit {
        vec![(rs[0], 0), (rs[1], 0), (rs[2], 0), (sorry, 1)]
    } else {
        vec![(sorry, 1)]
    };
    expect_table(
        "quorum lost",
        &mut ipvs,
        &cfg,
        &mut pool,
        &mut changes,
        sorry_only,
    )
    .await?;

    // Recovery: quorum regained, sorry server removed, real servers restored.
    servers[1].set_up(true).await?;
    let back = if inhibit {
        vec![(rs[0], 0), (rs[1], 1), (rs[2], 1)]
    } else {
        vec![(rs[1], 1), (rs[2], 1)]
    };
    expect_table(
        "quorum regained",
        &mut ipvs,
        &cfg,
        &mut pool,
        &mut changes,
        back,
    )
    .await?;
    servers[0].set_up(true).await?;
    expect_table(
        "all recovered",
        &mut ipvs,
        &cfg,
        &mut pool,
        &mut changes,
        all,
    )
    .await?;

    ipvs.delete_service(&Service::tcp(cfg.vs).key)?;
    println!("lvs_director demo: all steps passed");
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
        Some("run") => rt.block_on(run(parse_run(&args[1..])?)),
        _ => {
            eprintln!("usage: lvs_director run --vs ADDR --rs ADDR[:W]... | lvs_director demo [--inhibit]");
            std::process::exit(2);
        }
    }
}
