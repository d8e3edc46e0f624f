//! # minimal_failover: a real VRRP failover daemon from the hakit crates
//!
//! A thin program over the `hakit` runtime (the same code as the `hakitd` binary, `hakit::cli`): the command line or a TOML file into
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

mod demo;
mod demo_capture;

fn main() -> std::process::ExitCode {
    hakit::cli::main("minimal_failover", Some(demo::run))
}
