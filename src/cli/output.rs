//! What the daemon prints: one JSON line per state transition on stdout (for scripts), and
//! `tracing` logs on stderr (text or JSON).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fsm::{State, StateChangeReason};
use crate::runtime::LogFormat;
use crate::Event;

/// Sets up the `tracing` subscriber on stderr. `RUST_LOG` overrides the default `info`.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(
        |_| // The state machine logs its transitions inside handle_timeout, before the driver acts;
        // the driver logs them itself after acting, so keep the hot path quiet by default.
        tracing_subscriber::EnvFilter::new("info,vrrp_fsm=warn"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The state name used in transition lines ("Backup", "Master", ...; `State`'s own
/// `Display` is keepalived's "BACKUP").
pub fn state_name(s: State) -> &'static str {
    match s {
        State::Init => "Init",
        State::Backup => "Backup",
        State::Master => "Master",
        State::Fault => "Fault",
    }
}

/// One transition line, exactly
/// `{"ts_ms":…,"iface":…,"vrid":…,"from":"Backup","to":"Master","reason":"master_down_timer"}`.
pub fn transition_line(
    at: SystemTime,
    iface: &str,
    vrid: u8,
    from: State,
    to: State,
    reason: StateChangeReason,
) -> String {
    let ts_ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    format!(
        "{{\"ts_ms\":{ts_ms},\"iface\":{},\"vrid\":{vrid},\"from\":\"{}\",\"to\":\"{}\",\"reason\":\"{reason}\"}}",
        serde_json::Value::from(iface),
        state_name(from),
        state_name(to),
    )
}

/// Prints a transition line on stdout and flushes it at once (stdout may be a pipe); other
/// events are in the logs already.
pub fn print_event(event: &Event) {
    if let Event::StateChanged {
        iface,
        vrid,
        from,
        to,
        reason,
        at,
        ..
    } = event
    {
        let line = transition_line(*at, iface, *vrid, *from, *to, *reason);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_documented_shape() {
        let l = transition_line(
            SystemTime::now(),
            "eth0",
            51,
            State::Backup,
            State::Master,
            StateChangeReason::MasterNoResponse,
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 6);
        assert!(l.starts_with("{\"ts_ms\":"));
        assert!(l.ends_with(",\"iface\":\"eth0\",\"vrid\":51,\"from\":\"Backup\",\"to\":\"Master\",\"reason\":\"master_down_timer\"}"));
    }
}
