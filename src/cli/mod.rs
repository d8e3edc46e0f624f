//! The daemon's command line (feature `cli`): the `hakitd` binary and the `minimal_failover`
//! example run the same code.
//!
//! keepalived's flags or a TOML file into a [`Config`], [`Daemon`](crate::Daemon)'s transitions onto stdout
//! as JSON lines, SIGHUP onto [`Daemon::reload`](crate::Daemon::reload), SIGUSR1 / SIGUSR2 / SIGRTMIN+2 onto
//! keepalived's data, stats and JSON dumps, SIGTERM/SIGINT onto [`Daemon::shutdown`](crate::Daemon::shutdown), and
//! systemd's `Type=notify` protocol.
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     hakit::cli::main("hakitd", None)
//! }
//! ```

pub mod args;
pub mod flags;
pub mod manual;
mod open_files;
pub mod output;
pub mod pid_file;
mod run;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::runtime::DaemonSpec;
use crate::{Config, ConfigError};

pub use args::Args;
pub use run::{run, RunOptions};

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
pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
    Config::from_file(path).map_err(|e| ConfigError::new("--config", e.message))
}

/// A configuration file the daemon started from, re-read on SIGHUP.
#[derive(Debug, Clone)]
pub enum ConfigFile {
    /// `--config FILE.toml`.
    Toml(std::path::PathBuf),
    /// `--keepalived-conf FILE`.
    Keepalived(std::path::PathBuf),
}

impl ConfigFile {
    /// Reads it; a keepalived.conf line hakit cannot apply is an error naming
    /// `--keepalived-conf` with its file, line and keyword, and lines that change nothing
    /// here are logged as warnings.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match self {
            ConfigFile::Toml(path) => from_file(path),
            ConfigFile::Keepalived(path) => {
                let field = "--keepalived-conf";
                let file = crate::keepalived_conf::Reader::new()
                    .read_file(path)
                    .map_err(|e| ConfigError::new(field, e.to_string()))?;
                let (config, warnings) = crate::keepalived_conf::to_config(&file)
                    .map_err(|e| ConfigError::new(field, e.to_string()))?;
                for w in warnings {
                    // Before and after logging starts alike: straight to stderr.
                    eprintln!("warning: {w}");
                }
                Ok(config)
            }
        }
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ConfigFile::Toml(p) | ConfigFile::Keepalived(p) => p,
        }
    }
}

fn config_file(args: &Args) -> Option<ConfigFile> {
    match (&args.config, &args.keepalived_conf) {
        (Some(p), _) => Some(ConfigFile::Toml(p.clone())),
        (None, Some(p)) => Some(ConfigFile::Keepalived(p.clone())),
        (None, None) => None,
    }
}

/// The flags (or their `--config` file) validated, with the flags that apply to either.
fn spec_of(args: &Args) -> Result<DaemonSpec, ConfigError> {
    let file = config_file(args);
    let config = match &file {
        Some(f) => f.load(),
        None => flags::config(args),
    };
    let mut config = config?;
    if let Some(addr) = &args.metrics_listen {
        config = config.metrics_listen(addr.clone());
    }
    let spec = config.validate();
    if file.is_some() {
        spec
    } else {
        spec.map_err(flags::flag_error)
    }
}

/// `--config-test`'s summary, one line per instance and per virtual server.
fn print_summary(spec: &DaemonSpec) {
    for inst in &spec.instances {
        println!(
            "{}: {} vrid {} priority {} VRRPv{} advert {:?}, {} VIP(s)",
            inst.name,
            inst.iface,
            inst.fsm.vrid,
            inst.fsm.priority,
            if inst.fsm.version == crate::proto::Version::V2 {
                2
            } else {
                3
            },
            inst.fsm.advert_interval,
            inst.fsm.vips.len()
        );
    }
    #[cfg(feature = "ipvs")]
    for vs in &spec.virtual_servers {
        println!("{}", vs.summary());
    }
    println!("configuration OK");
}

/// The whole program: parses the command line as `program`, runs `demo` for `--demo` (the
/// example's; `None`: the flag is refused), and runs the daemon until SIGTERM/SIGINT.
///
/// Exit codes: 0 after SIGTERM/SIGINT; 2 for a bad flag or configuration (nothing touched on
/// the network); 1 for missing privileges or a runtime failure.
pub fn main(program: &'static str, demo: Option<fn() -> ExitCode>) -> ExitCode {
    let matches = Args::command()
        .name(program)
        .bin_name(program)
        // Without a demo the flag is still parsed (and refused), but not advertised.
        .mut_arg("demo", |a| a.hide(demo.is_none()))
        .get_matches(); // clap exits 2 on a bad flag, naming it
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    if args.demo {
        return match demo {
            Some(demo) => demo(),
            None => {
                eprintln!("{program}: --demo is the minimal_failover example's");
                ExitCode::from(2)
            }
        };
    }
    if args.print_toml {
        // keepalived.conf's equivalent for --config, checked as it would be at start.
        let printed = config_file(&args)
            .ok_or_else(|| ConfigError::new("--print-toml", "needs --keepalived-conf"))
            .and_then(|f| f.load())
            .and_then(|c| {
                c.validate()?;
                toml::to_string(&c).map_err(|e| ConfigError::new("--print-toml", e.to_string()))
            });
        return match printed {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{program}: {e}");
                ExitCode::from(2)
            }
        };
    }
    let mut spec = match spec_of(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::from(2);
        }
    };
    if args.log_format != args::LogFormat::Text {
        spec.log_format = crate::runtime::LogFormat::Json;
    }
    if args.config_test {
        print_summary(&spec);
        return ExitCode::SUCCESS;
    }
    output::init_logging(spec.log_format);
    let missing = missing_capabilities();
    if !missing.is_empty() {
        eprintln!(
            "{program}: missing {}: it needs CAP_NET_RAW (advert and GARP sockets) and \
             CAP_NET_ADMIN (VIPs); run it as root",
            missing.join(" and ")
        );
        return ExitCode::from(1);
    }
    let _pid_file = match &args.pid_file {
        Some(path) => match pid_file::PidFile::write(path) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("{program}: --pid-file {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    // Before any thread starts (capabilities are per thread): keep only what the daemon
    // and its scripts need, and let nothing it starts gain more.
    match crate::runtime::privileges::drop_unneeded() {
        Ok(dropped) => tracing::debug!(?dropped, "capabilities dropped"),
        Err(e) => tracing::warn!("dropping capabilities: {e}"),
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let options = RunOptions {
        config_file: config_file(&args),
        metrics_listen: args.metrics_listen.clone(),
        data_file: args.data_file.clone(),
        stats_file: args.stats_file.clone(),
        json_file: args.json_file.clone(),
    };
    match rt.block_on(run(spec, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{program}: {e}");
            ExitCode::from(1)
        }
    }
}
