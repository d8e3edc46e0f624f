//! The daemon's run loop: signals onto the [`Daemon`], transitions onto stdout, and systemd's
//! notifications.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{info, warn};

use crate::cli::{output, ConfigFile};
use crate::runtime::systemd::{watchdog_interval, SystemdNotifier};
use crate::runtime::DaemonSpec;
use crate::{Daemon, DaemonError};

/// What the run loop needs besides the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The `--config` file SIGHUP re-reads (none: started from flags).
    pub config_file: Option<ConfigFile>,
    /// `--metrics-listen`, kept across reloads of a file without the key.
    pub metrics_listen: Option<String>,
    /// SIGUSR1's data dump.
    pub data_file: PathBuf,
    /// SIGUSR2's stats dump.
    pub stats_file: PathBuf,
    /// The JSON signal's dump.
    pub json_file: PathBuf,
}

/// keepalived's JSON dump signal: `SIGRTMIN+2` (what `keepalived --signum=JSON` prints).
fn json_signal() -> SignalKind {
    SignalKind::from_raw(libc::SIGRTMIN() + 2)
}

/// Runs the daemon until SIGTERM/SIGINT or a fatal error; SIGHUP reloads the config file,
/// SIGUSR1 / SIGUSR2 / SIGRTMIN+2 write the dumps.
pub async fn run(spec: DaemonSpec, options: RunOptions) -> Result<(), DaemonError> {
    // First of all: SIGHUP's and SIGUSR's default actions would end the daemon and leave its
    // VIPs behind.
    let handler = |kind: SignalKind, name: &str| -> Result<Signal, DaemonError> {
        signal(kind).map_err(|e| DaemonError::Other(format!("{name} handler: {e}")))
    };
    let mut sighup = handler(SignalKind::hangup(), "SIGHUP")?;
    let mut sigterm = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = handler(SignalKind::interrupt(), "SIGINT")?;
    let mut sigusr1 = handler(SignalKind::user_defined1(), "SIGUSR1")?;
    let mut sigusr2 = handler(SignalKind::user_defined2(), "SIGUSR2")?;
    let mut sigjson = handler(json_signal(), "SIGRTMIN+2")?;
    crate::cli::open_files::raise_for(spec.instances.len());
    let mut daemon = Daemon::start_spec(spec).await?;
    let systemd = SystemdNotifier::from_env();
    if let Some(s) = &systemd {
        // Daemon::start_spec returns once every instance has started.
        if let Err(e) = s.ready() {
            warn!("NOTIFY_SOCKET: READY=1: {e}");
        }
    }
    let watchdog = systemd.as_ref().and(watchdog_interval());
    let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut events = daemon.events();
    loop {
        tokio::select! {
            Some(event) = events.recv() => output::print_event(&event),
            _ = ping.tick(), if watchdog.is_some() => {
                // Alive means the VRRP thread answers, not only this task; a hung thread
                // misses the ping (systemd restarts us) but never blocks the signals here.
                let answered = tokio::time::timeout(ping.period(), daemon.status()).await;
                if matches!(answered, Ok(Ok(_))) {
                    if let Some(s) = &systemd {
                        if let Err(e) = s.watchdog() {
                            warn!("NOTIFY_SOCKET: WATCHDOG=1: {e}");
                        }
                    }
                }
            }
            _ = sighup.recv() => reload(&daemon, &options).await,
            _ = sigusr1.recv() => dump(&options.data_file, daemon.dump_data(&options.data_file).await),
            _ = sigusr2.recv() => dump(&options.stats_file, daemon.dump_stats(&options.stats_file).await),
            _ = sigjson.recv() => dump(&options.json_file, daemon.dump_json(&options.json_file).await),
            _ = sigterm.recv() => { info!("SIGTERM: shutting down"); break }
            _ = sigint.recv() => { info!("SIGINT: shutting down"); break }
            _ = daemon.stopped() => break,
        }
    }
    if let Some(s) = &systemd {
        if let Err(e) = s.stopping() {
            warn!("NOTIFY_SOCKET: STOPPING=1: {e}");
        }
    }
    let result = daemon.shutdown().await;
    // The shutdown's transitions, then the end of the stream.
    while let Some(event) = events.recv().await {
        output::print_event(&event);
    }
    result
}

fn dump(path: &std::path::Path, written: Result<(), DaemonError>) {
    match written {
        Ok(()) => info!(file = %path.display(), "state dump written"),
        Err(e) => warn!("state dump: {e}"),
    }
}

/// SIGHUP: the file again, applied as a whole or not at all.
async fn reload(daemon: &Daemon, options: &RunOptions) {
    let Some(file) = &options.config_file else {
        info!("SIGHUP: started from flags, there is no file to reload");
        return;
    };
    let path = file.path();
    info!(file = %path.display(), "SIGHUP: reloading");
    let config = file.load().map(|c| match &options.metrics_listen {
        Some(addr) => c.metrics_listen(addr.clone()),
        None => c,
    });
    let reloaded = match config.and_then(|c| c.validate()) {
        Ok(new) => daemon.reload_spec(new).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = reloaded {
        warn!(file = %path.display(), "reload refused: {e}; the running configuration stays");
    }
}
