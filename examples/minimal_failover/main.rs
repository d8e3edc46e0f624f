//! # minimal_failover: a real VRRP failover daemon from the hakit crates
//!
//! A thin program over the `hakit` runtime: the command line or a TOML file into
//! [`hakit::Config`], [`hakit::Daemon`]'s events onto stdout as JSON lines, SIGHUP onto
//! `reload`, SIGTERM/SIGINT onto `shutdown`. keepalived's defaults: VRRPv2, 1 s adverts,
//! preempt on, 5 GARPs. Every feature is listed in this folder's README.md.
//!
//! ```text
//! minimal_failover --iface IFACE --vrid N --priority P --vip ADDR/PREFIX [--vip ...]
//!                  [--vrrp-version 2|3] [--advert-int SECONDS]
//!                  [--preempt-delay SECONDS] [--nopreempt] [--auth-pass PASS [--auth-type PASS|AH]]
//!                  [--unicast-src ADDR | --mcast-src-ip ADDR] [--unicast-peer ADDR ...]
//!                  [--track-script 'CMD ARGS' --track-weight W --track-interval S
//!                   --track-fall N --track-rise N]
//!                  [--track-iface IFACE[:WEIGHT]] [--garp-repeat N] [--log-format text|json]
//!                  [--notify 'CMD'] [--notify-master|--notify-backup|--notify-fault|--notify-stop 'CMD']
//!                  [--notify-master-rx-lower-pri 'CMD'] [--notify-fifo PATH]
//!                  [--notify-priority-changes] [--virtual-route 'ROUTE' ...]
//!                  [--virtual-rule 'RULE' ...]
//!                  [--use-vmac [--vmac-xmit-base]]
//! minimal_failover --config FILE.toml    # several instances, sync groups (sample.toml)
//! minimal_failover --config FILE.toml --config-test   # validate only (exit 0 or 2)
//! minimal_failover --demo                # two instances in namespaces, kill the Master
//! ```
//!
//! SIGHUP re-reads `--config` and applies it without restarting an instance (see
//! `hakit::runtime::reload` for what may change); it never stops the daemon.
//!
//! Exit codes: 0 after SIGTERM/SIGINT (priority-0 advert sent, VIPs removed); 2 for a bad flag
//! or config (nothing touched on the network); 1 for missing privileges or a runtime failure.

mod cli;
mod demo;
mod demo_capture;
mod flags;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hakit::runtime::DaemonSpec;
use hakit::{Config, ConfigError, Daemon, DaemonError};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{info, warn};

/// Capabilities the daemon needs, missing from the effective set (CAP_NET_ADMIN = 12,
/// CAP_NET_RAW = 13).
fn missing_capabilities() -> Vec<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let mut missing = Vec::new();
    if eff & (1 << 12) == 0 {
        missing.push("CAP_NET_ADMIN");
    }
    if eff & (1 << 13) == 0 {
        missing.push("CAP_NET_RAW");
    }
    missing
}

/// The file's configuration; its read and syntax errors name `--config`.
fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
    Config::from_file(path).map_err(|e| ConfigError::new("--config", e.message))
}

fn main() -> ExitCode {
    let args = cli::Args::parse(); // clap exits 2 on a bad flag, naming it
    if args.demo {
        return demo::run();
    }
    let spec = match &args.config {
        Some(path) => from_file(path).and_then(|c| c.validate()),
        None => flags::config(&args)
            .and_then(|c| c.validate())
            .map_err(flags::flag_error),
    };
    let mut spec = match spec {
        Ok(s) => s,
        Err(e) => {
            eprintln!("minimal_failover: {e}");
            return ExitCode::from(2);
        }
    };
    if args.log_format != cli::LogFormat::Text {
        spec.log_format = hakit::runtime::LogFormat::Json;
    }
    if args.config_test {
        for inst in &spec.instances {
            println!(
                "{}: {} vrid {} priority {} VRRPv{} advert {:?}, {} VIP(s)",
                inst.name,
                inst.iface,
                inst.fsm.vrid,
                inst.fsm.priority,
                if inst.fsm.version == hakit::proto::Version::V2 {
                    2
                } else {
                    3
                },
                inst.fsm.advert_interval,
                inst.fsm.vips.len()
            );
        }
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    output::init_logging(spec.log_format);
    let missing = missing_capabilities();
    if !missing.is_empty() {
        eprintln!(
            "minimal_failover: missing {}: it needs CAP_NET_RAW (advert and GARP sockets) and \
             CAP_NET_ADMIN (VIPs); run it as root",
            missing.join(" and ")
        );
        return ExitCode::from(1);
    }
    // Before any thread starts (capabilities are per thread): keep only what the daemon
    // and its scripts need, and let nothing it starts gain more.
    match hakit::runtime::privileges::drop_unneeded() {
        Ok(dropped) => tracing::debug!(?dropped, "capabilities dropped"),
        Err(e) => tracing::warn!("dropping capabilities: {e}"),
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("minimal_failover: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(spec, args.config.clone())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("minimal_failover: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT or a fatal error; SIGHUP reloads `file`.
async fn run(spec: DaemonSpec, file: Option<PathBuf>) -> Result<(), DaemonError> {
    // First of all: SIGHUP's default action would end the daemon and leave its VIPs behind.
    let handler = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| DaemonError::Other(format!("{name} handler: {e}")))
    };
    let mut sighup = handler(SignalKind::hangup(), "SIGHUP")?;
    let mut sigterm = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = handler(SignalKind::interrupt(), "SIGINT")?;
    let mut daemon = Daemon::start_spec(spec).await?;
    let mut events = daemon.events();
    loop {
        tokio::select! {
            Some(event) = events.recv() => output::print_event(&event),
            _ = sighup.recv() => {
                let Some(path) = &file else {
                    info!("SIGHUP: started from flags, there is no file to reload");
                    continue;
                };
                info!(file = %path.display(), "SIGHUP: reloading");
                let reloaded = match from_file(path).and_then(|c| c.validate()) {
                    Ok(new) => daemon.reload_spec(new).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = reloaded {
                    warn!(file = %path.display(), "reload refused: {e}; the running configuration stays");
                }
            }
            _ = sigterm.recv() => { info!("SIGTERM: shutting down"); break }
            _ = sigint.recv() => { info!("SIGINT: shutting down"); break }
            _ = daemon.stopped() => break,
        }
    }
    let result = daemon.shutdown().await;
    // The shutdown's transitions, then the end of the stream.
    while let Some(event) = events.recv().await {
        output::print_event(&event);
    }
    result
}
