//! Sustained TCP checks per second on loopback, with RSS and CPU from /proc/self.
//!
//! ```text
//! cargo run --release -p healthcheck --example tcp_check_rate -- \
//!     [--checks 10000] [--interval-ms 1000] [--seconds 20] [--concurrency 1024] [--rst]
//! ```
//!
//! N checks with interval I run against one loopback listener (served by a plain
//! accept-and-close thread). Every second the harness samples the monitor's probe counter,
//! VmRSS and utime+stime, then prints per-second figures and their medians (the first
//! `interval + 1` seconds, while warmup spreads the checks, are excluded).

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use healthcheck::{CheckId, CheckSpec, Monitor, MonitorConfig, Policy, TcpCheck};

struct Args {
    checks: u64,
    interval: Duration,
    seconds: u64,
    concurrency: usize,
    rst: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        checks: 10_000,
        interval: Duration::from_secs(1),
        seconds: 20,
        concurrency: 1024,
        rst: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || {
            it.next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("numeric value")
        };
        match k.as_str() {
            "--checks" => a.checks = val(),
            "--interval-ms" => a.interval = Duration::from_millis(val()),
            "--seconds" => a.seconds = val(),
            "--concurrency" => a.concurrency = val() as usize,
            "--rst" => a.rst = true,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn rss_kib() -> u64 {
    let mut s = String::new();
    std::fs::File::open("/proc/self/status")
        .and_then(|mut f| f.read_to_string(&mut s))
        .unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// utime + stime in clock ticks.
fn cpu_ticks() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after ')' start at field 3 (state): utime = field 14, stime = field 15.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let args = parse_args();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // The "real server": accept and close, on its own thread (its CPU is included below).
    std::thread::spawn(move || {
        for s in listener.incoming() {
            drop(s);
        }
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (monitor, mut rx) =
            Monitor::new(MonitorConfig { max_concurrent: args.concurrency, channel_capacity: 4096 });
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        for i in 0..args.checks {
            let check = TcpCheck::new(addr).reset_on_close(args.rst);
            monitor
                .add(
                    CheckSpec::new(CheckId(i), check)
                        .interval(args.interval)
                        .timeout(Duration::from_secs(5))
                        .warmup(args.interval)
                        .jitter(args.interval / 20)
                        .policy(Policy::checker()),
                )
                .unwrap();
        }
        let stats = monitor.stats();
        let skip = args.interval.as_secs() + 1;
        let (mut rates, mut cpus, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        // Checks per CPU-second over the measured window (robust to a loaded machine).
        let mut per_cpu = Vec::new();
        let mut last = (Instant::now(), stats.probes.load(Ordering::Relaxed), cpu_ticks());
        println!("sec  checks/s  fail/s  cpu%  rss_MiB");
        for sec in 1..=args.seconds {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = (Instant::now(), stats.probes.load(Ordering::Relaxed), cpu_ticks());
            let dt = (now.0 - last.0).as_secs_f64();
            let rate = (now.1 - last.1) as f64 / dt;
            let cpu = (now.2 - last.2) as f64 / hz / dt * 100.0;
            let mem = rss_kib() as f64 / 1024.0;
            let fails = stats.failures.load(Ordering::Relaxed);
            println!("{sec:>3}  {rate:>8.0}  {fails:>6}  {cpu:>4.0}  {mem:>7.1}");
            if sec > skip {
                rates.push(rate);
                cpus.push(cpu);
                rss.push(mem);
                if cpu > 0.0 {
                    per_cpu.push(rate / (cpu / 100.0));
                }
            }
            last = now;
        }
        let peak = rss.iter().cloned().fold(0.0, f64::max);
        let (probes, failures, timeouts, _) = stats.snapshot();
        println!(
            "checks={} interval={:?} concurrency={} rst={} | median checks/s={:.0} median cpu%={:.0} \
             median rss={:.1} MiB peak rss={:.1} MiB median checks/cpu-s={:.0} | probes={probes} \
             failures={failures} timeouts={timeouts}",
            args.checks,
            args.interval,
            args.concurrency,
            args.rst,
            median(&mut rates),
            median(&mut cpus),
            median(&mut rss),
            peak,
            median(&mut per_cpu)
        );
        drop(monitor);
    });
}
