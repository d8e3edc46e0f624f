//! The fixed command line (scripts and test harnesses drive it, so flags are only added).

use clap::{ArgAction, Parser, ValueEnum};
use std::path::PathBuf;

/// Log output format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A VRRP failover daemon built from the hakit crates (keepalived's defaults).
#[derive(Debug, Parser)]
#[command(name = "hakitd", version, about, long_about = crate::cli::manual::DESCRIPTION,
          after_long_help = crate::cli::manual::SECTIONS)]
pub struct Args {
    /// Interface the instance runs on.
    #[arg(long, value_name = "IFACE", required_unless_present_any = ["config", "keepalived_conf", "demo"])]
    pub iface: Option<String>,

    /// Virtual router id, 1..=255.
    #[arg(long, value_name = "N", required_unless_present_any = ["config", "keepalived_conf", "demo"],
          value_parser = clap::value_parser!(u8).range(1..=255))]
    pub vrid: Option<u8>,

    /// Priority, 1..=255 (255 = address owner).
    #[arg(long, value_name = "P", required_unless_present_any = ["config", "keepalived_conf", "demo"],
          value_parser = clap::value_parser!(u8).range(1..=255))]
    pub priority: Option<u8>,

    /// A virtual address with its prefix length (repeatable).
    #[arg(long = "vip", value_name = "ADDR/PREFIX", action = ArgAction::Append,
          required_unless_present_any = ["config", "keepalived_conf", "demo"])]
    pub vips: Vec<String>,

    /// VRRP version.
    #[arg(long, value_name = "2|3", default_value_t = 2,
          value_parser = clap::value_parser!(u8).range(2..=3))]
    pub vrrp_version: u8,

    /// Advertisement interval in seconds (whole for v2, 0.01 steps for v3).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub advert_int: f64,

    /// Wait this long before preempting a lower-priority Master (0..=1000 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub preempt_delay: f64,

    /// Do not preempt a lower-priority Master.
    #[arg(long)]
    pub nopreempt: bool,

    /// keepalived's use_vmac: the VIPs live on a private macvlan `vrrp.<VRID>` carrying the
    /// virtual MAC 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID), removed at exit.
    #[arg(long)]
    pub use_vmac: bool,

    /// With --use-vmac: adverts leave and arrive on the parent interface.
    #[arg(long)]
    pub vmac_xmit_base: bool,

    /// With --auth-pass: PASS (simple password, the default) or AH (IP Authentication
    /// Header, HMAC-MD5-96 keyed with the password, as keepalived's auth_type AH).
    #[arg(long, value_name = "PASS|AH")]
    pub auth_type: Option<String>,

    /// VRRPv2 simple password authentication (up to 8 characters).
    #[arg(long, value_name = "PASS")]
    pub auth_pass: Option<String>,

    /// Source address of the adverts, unicast or multicast (keepalived's unicast_src_ip).
    #[arg(long, value_name = "ADDR")]
    pub unicast_src: Option<String>,

    /// keepalived's mcast_src_ip: the same setting as --unicast-src, under its multicast name.
    #[arg(long, value_name = "ADDR")]
    pub mcast_src_ip: Option<String>,

    /// Unicast peers (repeatable, or several after one flag); none = multicast.
    #[arg(long = "unicast-peer", value_name = "ADDR", num_args = 1.., action = ArgAction::Append)]
    pub unicast_peers: Vec<String>,

    /// A health script: exit 0 = up (split on whitespace, no shell).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub track_script: Option<String>,

    /// Priority weight of the track script (0 = FAULT while it fails).
    #[arg(
        long,
        value_name = "W",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub track_weight: i32,

    /// Seconds between two runs of the track script.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub track_interval: f64,

    /// Consecutive failures before the script counts as failed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub track_fall: u32,

    /// Consecutive successes before the script counts as OK again.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub track_rise: u32,

    /// Track an interface (weight 0 = FAULT while it is down). Repeatable.
    #[arg(long = "track-iface", value_name = "IFACE[:WEIGHT]", action = ArgAction::Append)]
    pub track_ifaces: Vec<String>,

    /// Gratuitous ARPs / NAs per VIP on becoming Master.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub garp_repeat: u32,

    /// keepalived's `notify`: run on every transition with `INSTANCE <name>
    /// <MASTER|BACKUP|FAULT|STOP> <priority>` appended (split on whitespace, no shell).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify: Option<String>,

    /// Run on becoming Master (before `--notify`).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify_master: Option<String>,

    /// Run on becoming Backup (before `--notify`).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify_backup: Option<String>,

    /// Run on entering FAULT (before `--notify`).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify_fault: Option<String>,

    /// Run when the instance stops at shutdown (before `--notify`).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify_stop: Option<String>,

    /// Run (as written) whenever the Master hears a lower priority: another node thinks it
    /// is Master (keepalived's `notify_master_rx_lower_pri`).
    #[arg(long, value_name = "'CMD ARGS'")]
    pub notify_master_rx_lower_pri: Option<String>,

    /// keepalived's virtual_routes: a route installed while Master, in keepalived's words
    /// (`'10.99.0.0/16 via 10.0.0.254'`, `'blackhole 10.98.0.0/16'`; repeatable).
    #[arg(long = "virtual-route", value_name = "'ROUTE'")]
    pub virtual_routes: Vec<String>,

    /// keepalived's virtual_rules: a policy-routing rule installed while Master, in
    /// keepalived's words (`'from 10.0.0.100 table 100 priority 1000'`; repeatable).
    #[arg(long = "virtual-rule", value_name = "'RULE'")]
    pub virtual_rules: Vec<String>,

    /// keepalived's notify_priority_changes: also write each change of the effective priority
    /// to the notify FIFO (`INSTANCE "name" MASTER_PRIORITY 150`, or BACKUP_PRIORITY).
    #[arg(long)]
    pub notify_priority_changes: bool,

    /// keepalived's notify_fifo: write every transition to this FIFO (created if missing) as
    /// `INSTANCE "name" STATE priority`; with --config, the file's `notify_fifo` key.
    #[arg(long, value_name = "PATH")]
    pub notify_fifo: Option<String>,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Several instances and sync groups from a TOML file (instead of the flags above).
    #[arg(long, value_name = "FILE.toml", conflicts_with_all = ["iface", "vrid", "priority", "vips", "demo", "notify_fifo"])]
    pub config: Option<PathBuf>,

    /// keepalived's own configuration file, read as keepalived reads it (its VRRP keywords;
    /// what hakit does not implement yet is refused with the file, line and keyword).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "iface", "vrid", "priority", "vips", "demo", "notify_fifo"])]
    pub keepalived_conf: Option<PathBuf>,

    /// With --keepalived-conf: print the TOML equivalent (for --config) and exit.
    #[arg(long, requires = "keepalived_conf")]
    pub print_toml: bool,

    /// Validate the flags or the `--config` file, print a summary and exit (0: valid; 2:
    /// invalid, naming the field), touching nothing: keepalived's `--config-test`, e.g.
    /// before a reload (SIGHUP).
    #[arg(short = 't', long, conflicts_with = "demo")]
    pub config_test: bool,

    /// Serve Prometheus metrics on ADDR:PORT (`/metrics`); with --config, the file's
    /// `metrics_listen` key.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,

    /// Write the daemon's PID to this file (atomically: a temporary file renamed), removed
    /// at exit.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// Where SIGUSR1 writes keepalived's data dump.
    #[arg(long, value_name = "PATH", default_value = crate::runtime::dump::DEFAULT_DATA_FILE)]
    pub data_file: PathBuf,

    /// Where SIGUSR2 writes keepalived's stats dump.
    #[arg(long, value_name = "PATH", default_value = crate::runtime::dump::DEFAULT_STATS_FILE)]
    pub stats_file: PathBuf,

    /// Where keepalived's JSON signal (SIGRTMIN+2, `keepalived --signum=JSON`) writes the
    /// JSON dump.
    #[arg(long, value_name = "PATH", default_value = crate::runtime::dump::DEFAULT_JSON_FILE)]
    pub json_file: PathBuf,

    /// Run the self-contained demo (root): two instances in namespaces, kill the Master.
    #[arg(long, conflicts_with_all = ["iface", "vrid", "priority", "vips"])]
    pub demo: bool,
}
