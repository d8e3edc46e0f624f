//! A custom HA service on the hakit runtime: one VRRPv3 instance holding one VIP, a TCP check
//! of 127.0.0.1:8080 every second that lowers the priority by 50 while it fails, state changes
//! printed, SIGTERM graceful. `custom_service IFACE PRIORITY VIP/PREFIX` (root).
use hakit::{Config, Daemon, Event, VrrpInstance};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, iface, priority, vip] = &args[..] else {
        return Err("usage: custom_service IFACE PRIORITY VIP/PREFIX".into());
    };
    let mut sigterm = signal(SignalKind::terminate())?;
    let web = VrrpInstance::new("web", iface, 51, priority.parse()?)
        .vrrp_version(3)
        .vip(vip)
        .track_tcp("127.0.0.1:8080", -50);
    let mut daemon = Daemon::start(Config::new().instance(web)).await?;
    let mut events = daemon.events();
    loop {
        tokio::select! {
            Some(event) = events.recv() => {
                if let Event::StateChanged { instance, from, to, reason, .. } = event {
                    println!("{instance}: {from} -> {to} ({reason})");
                }
            }
            _ = sigterm.recv() => break,
            _ = daemon.stopped() => break,
        }
    }
    daemon.shutdown().await?;
    Ok(())
}
