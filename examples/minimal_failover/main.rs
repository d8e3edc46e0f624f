//! # minimal_failover: a real VRRP failover daemon from the hakit crates
//!
//! `vrrp-fsm` decides, `vip-netlink` acts (advert socket, VIPs, GARP/NA, link watch),
//! `healthcheck` runs `--track-script`. keepalived's defaults: VRRPv2, 1 s adverts, preempt on,
//! 5 GARPs.
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
//! `reload.rs` for what may change); it never stops the daemon.
//!
//! Exit codes: 0 after SIGTERM/SIGINT (priority-0 advert sent, VIPs removed); 2 for a bad flag
//! or config (nothing touched on the network); 1 for missing privileges or a runtime failure.

mod cli;
mod config;
mod demo;
mod demo_capture;
mod driver;
mod epoll;
mod event_queue;
mod instance_io;
mod notify;
mod notify_fifo;
mod output;
mod precise_timer;
mod reload;
mod routing;
mod vrrp_loop;
mod watchers;

use std::process::ExitCode;

use clap::Parser;

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

fn main() -> ExitCode {
    let args = cli::Args::parse(); // clap exits 2 on a bad flag, naming it
    if args.demo {
        return demo::run();
    }
    let spec = match &args.config {
        Some(path) => config::from_file(path, args.log_format),
        None => config::from_args(&args),
    };
    let spec = match spec {
        Ok(s) => s,
        Err(e) => {
            eprintln!("minimal_failover: {e}");
            return ExitCode::from(2);
        }
    };
    if args.config_test {
        for inst in &spec.instances {
            println!(
                "{}: {} vrid {} priority {} VRRPv{} advert {:?}, {} VIP(s)",
                inst.name,
                inst.iface,
                inst.fsm.vrid,
                inst.fsm.priority,
                if inst.fsm.version == vrrp_proto::Version::V2 {
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
    match rt.block_on(driver::run(spec, args.config.clone())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("minimal_failover: {e}");
            ExitCode::from(1)
        }
    }
}
