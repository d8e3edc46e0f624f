//! The Prometheus endpoint (feature `metrics`, off until `metrics_listen` is set): per
//! instance (labels `instance`, `interface`, `vrid`, `family`) its state, base and effective
//! priority, transitions by reason, every keepalived `vrrp_stats` / RFC 6527 counter, and each
//! tracker's state.
//!
//! A scrape is one status query of the VRRP thread (as [`Daemon::status`](crate::Daemon::status)
//! makes) plus the transition counts kept from the event stream: nothing is added to the
//! per-advert path. The HTTP server is `tiny_http` on a thread of its own; the exposition is
//! `prometheus-client`'s, built afresh from each snapshot.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tracing::{info, warn};
use vrrp_fsm::{State, TrackerState};
use vrrp_proto::AddressFamily;

use crate::runtime::daemon::{lock, DaemonError};
use crate::runtime::event_queue::{Event as LoopEvent, EventSender};
use crate::runtime::status::InstanceStatus;
use crate::runtime::transitions::{SharedTransitions, Transitions};

/// OpenMetrics text, `prometheus-client`'s own encoding, for scrapers that ask for it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Prometheus text 0.0.4, for every other client (`promtool`, `curl`, older scrapers).
const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric's labels: the instance's four, then the metric's own.
type Labels = Vec<(&'static str, String)>;

/// The running endpoint; [`MetricsServer::stop`] (or dropping it) ends its thread.
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` (first of all at start, so a taken port fails before anything is
    /// touched); [`MetricsServer::serve`] then answers.
    pub(crate) fn bind(addr: SocketAddr) -> Result<tiny_http::Server, DaemonError> {
        tiny_http::Server::http(addr)
            .map_err(|e| DaemonError::Other(format!("metrics_listen {addr}: {e}")))
    }

    /// Serves `/metrics` on `server` from the VRRP thread behind `tx`.
    pub(crate) fn serve(
        addr: SocketAddr,
        server: tiny_http::Server,
        tx: EventSender,
        transitions: SharedTransitions,
    ) -> Result<MetricsServer, DaemonError> {
        let server = Arc::new(server);
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                lowest_scheduling_class();
                serve(&serving, &tx, &transitions)
            })
            .map_err(|e| DaemonError::Other(format!("starting the metrics thread: {e}")))?;
        info!(%addr, "metrics endpoint listening");
        Ok(MetricsServer {
            addr,
            server,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread.
    pub(crate) fn stop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Puts the calling thread in `SCHED_IDLE`: a scrape runs only when no other thread wants the
/// CPU, so on an overloaded machine it waits for the VRRP thread instead of competing with it
/// at a takeover (benches/FAILOVER_SCRAPE.md). Failing to is harmless: the scrape runs as before.
#[allow(unsafe_code)]
fn lowest_scheduling_class() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for the duration of the call; pid 0 names the
    // calling thread, whose scheduling policy alone changes.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if rc != 0 {
        warn!("metrics: SCHED_IDLE: {}", std::io::Error::last_os_error());
    }
}

fn serve(server: &tiny_http::Server, tx: &EventSender, transitions: &SharedTransitions) {
    for request in server.incoming_requests() {
        let response = if request.method() != &tiny_http::Method::Get {
            tiny_http::Response::from_string("only GET\n").with_status_code(405)
        } else if request.url() != "/metrics" {
            tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
        } else {
            let openmetrics = request.headers().iter().any(|h| {
                h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
            });
            match scrape(tx, transitions) {
                Some(body) => {
                    let (body, kind) = if openmetrics {
                        (body, OPENMETRICS)
                    } else {
                        (text_004(&body), TEXT_004)
                    };
                    let mut r = tiny_http::Response::from_string(body);
                    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", kind) {
                        r = r.with_header(h);
                    }
                    r
                }
                None => tiny_http::Response::from_string("the daemon has stopped\n")
                    .with_status_code(503),
            }
        };
        if let Err(e) = request.respond(response) {
            warn!("metrics: answering a scrape: {e}");
        }
    }
}

/// One status query of the VRRP thread, encoded; `None` once the loop is gone.
fn scrape(tx: &EventSender, transitions: &SharedTransitions) -> Option<String> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    tx.send(LoopEvent::Status(reply));
    let status = answer.blocking_recv().ok()?;
    let counts = lock(transitions).clone();
    Some(exposition(&status, &counts))
}

/// OpenMetrics text as Prometheus text 0.0.4: a counter family's HELP and TYPE name its
/// `_total` samples, and the `# EOF` / `# UNIT` lines go.
fn text_004(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{prefix}{name}{total} {tail}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn family_name(f: AddressFamily) -> &'static str {
    match f {
        AddressFamily::Ipv4 => "ipv4",
        AddressFamily::Ipv6 => "ipv6",
    }
}

fn state_label(s: State) -> &'static str {
    match s {
        State::Init => "init",
        State::Backup => "backup",
        State::Master => "master",
        State::Fault => "fault",
    }
}

fn instance_labels(s: &InstanceStatus) -> Labels {
    vec![
        ("instance", s.name.clone()),
        ("interface", s.iface.clone()),
        ("vrid", s.vrid.to_string()),
        ("family", family_name(s.family).to_string()),
    ]
}

fn with(mut labels: Labels, key: &'static str, value: impl Into<String>) -> Labels {
    labels.push((key, value.into()));
    labels
}

/// A gauge family registered under `name`.
fn gauges(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    registry.register(name, help, f.clone());
    f
}

/// A counter family registered under `name` (exposed as `name_total`).
fn counters(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    registry.register(name, help, f.clone());
    f
}

/// keepalived's `vrrp_stats` names (and this daemon's extra classes) with their values.
fn counter_values(c: &vrrp_fsm::Counters) -> [(&'static str, &'static str, u64); 17] {
    [
        (
            "advert_rcvd",
            "Adverts received and accepted for processing",
            c.adverts_received,
        ),
        ("advert_sent", "Adverts sent", c.adverts_sent),
        (
            "pri_zero_rcvd",
            "Priority-0 adverts received",
            c.priority_zero_received,
        ),
        (
            "pri_zero_sent",
            "Priority-0 adverts sent",
            c.priority_zero_sent,
        ),
        (
            "become_master",
            "Transitions to Master (RFC 6527 MasterTransitions)",
            c.become_master,
        ),
        (
            "release_master",
            "Transitions out of Master",
            c.release_master,
        ),
        (
            "addr_list_err",
            "Adverts whose address list differs from ours",
            c.address_list_errors,
        ),
        (
            "adverts_rejected",
            "Adverts refused for any reason",
            c.adverts_rejected,
        ),
        ("vrid_err", "Adverts refused: wrong VRID", c.vrid_errors),
        (
            "version_err",
            "Adverts refused: wrong version (RFC 6527 VersionErrors)",
            c.version_errors,
        ),
        (
            "advert_interval_err",
            "Adverts refused: advert interval mismatch",
            c.interval_errors,
        ),
        (
            "auth_failure",
            "Adverts refused: authentication mismatch",
            c.auth_errors,
        ),
        (
            "source_err",
            "Adverts refused: family, own address or unknown unicast peer",
            c.source_errors,
        ),
        (
            "state_err",
            "Adverts refused: not running or in FAULT",
            c.state_errors,
        ),
        ("tracker_err", "Tracker updates refused", c.tracker_errors),
        (
            "address_owner_conflict",
            "Other address owners heard while one",
            c.address_owner_conflicts,
        ),
        (
            "receive_loss_restart",
            "Master_Down_Timer restarts of a Backup whose advert queue overflowed unread",
            c.receive_loss_restarts,
        ),
    ]
}

/// The text exposition of a snapshot.
pub(crate) fn exposition(status: &[InstanceStatus], transitions: &Transitions) -> String {
    let mut registry = Registry::with_prefix("hakit_vrrp");
    let state = gauges(
        &mut registry,
        "state",
        "1 for the instance's current state, 0 for the others",
    );
    let base = gauges(&mut registry, "base_priority", "Configured priority");
    let effective = gauges(
        &mut registry,
        "effective_priority",
        "Priority after tracker weights",
    );
    let fault = gauges(&mut registry, "fault", "1 while in FAULT");
    let vips = gauges(
        &mut registry,
        "vips_held",
        "1 while the instance holds its VIPs",
    );
    let tracker = gauges(
        &mut registry,
        "tracker_state",
        "1 for the tracker's last result (up, down, or unknown before the first), 0 otherwise",
    );
    let tracker_value = gauges(
        &mut registry,
        "tracker_value",
        "The number a track_file tracker last read",
    );
    let changes = counters(&mut registry, "transitions", "State transitions by reason");
    let stats: Vec<_> = counter_values(&vrrp_fsm::Counters::default())
        .iter()
        .map(|(name, help, _)| counters(&mut registry, name, help))
        .collect();
    for s in status {
        let labels = instance_labels(s);
        for st in [State::Init, State::Backup, State::Master, State::Fault] {
            state
                .get_or_create(&with(labels.clone(), "state", state_label(st)))
                .set(i64::from(s.state == st));
        }
        base.get_or_create(&labels).set(i64::from(s.base_priority));
        effective
            .get_or_create(&labels)
            .set(i64::from(s.effective_priority));
        fault
            .get_or_create(&labels)
            .set(i64::from(s.state == State::Fault));
        vips.get_or_create(&labels).set(i64::from(s.vips_held));
        for (name, result) in &s.trackers {
            let t = with(labels.clone(), "tracker", name.clone());
            let now = match result {
                None => "unknown",
                Some(TrackerState::Down) => "down",
                Some(_) => "up",
            };
            for k in ["up", "down", "unknown"] {
                tracker
                    .get_or_create(&with(t.clone(), "result", k))
                    .set(i64::from(k == now));
            }
            if let Some(TrackerState::Value(v)) = result {
                tracker_value.get_or_create(&t).set(*v);
            }
        }
        for ((instance, reason), n) in transitions
            .by_reason
            .range((s.name.clone(), String::new())..)
        {
            if *instance != s.name {
                break;
            }
            changes
                .get_or_create(&with(labels.clone(), "reason", reason.clone()))
                .inc_by(*n);
        }
        for (family, (_, _, value)) in stats.iter().zip(counter_values(&s.counters)) {
            family.get_or_create(&labels).inc_by(value);
        }
    }
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &registry) {
        warn!("metrics: encoding: {e}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scrape_thread_runs_in_the_idle_scheduling_class() {
        let policy = std::thread::spawn(|| {
            lowest_scheduling_class();
            // /proc/thread-self/stat: the policy is field 41, counted after the command's ")".
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            after
                .split(' ')
                .nth(41 - 3)
                .unwrap()
                .parse::<i32>()
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(policy, libc::SCHED_IDLE);
    }

    fn status(name: &str, state: State) -> InstanceStatus {
        let mut counters = vrrp_fsm::Counters::default();
        counters.adverts_sent = 12;
        counters.become_master = 1;
        InstanceStatus {
            name: name.into(),
            iface: "eth0".into(),
            vrid: 51,
            family: AddressFamily::Ipv4,
            state,
            base_priority: 150,
            effective_priority: 100,
            fault: Default::default(),
            vips_held: state == State::Master,
            master_address: None,
            trackers: vec![
                ("chk".into(), Some(TrackerState::Down)),
                ("/run/w".into(), Some(TrackerState::Value(7))),
                ("eth1".into(), None),
            ],
            counters,
            auth_hmac: Default::default(),
        }
    }

    #[test]
    fn a_snapshot_has_every_family_with_its_labels() {
        let mut t = Transitions::default();
        t.by_reason
            .insert(("web".into(), "master_down_timer".into()), 2);
        t.by_reason.insert(("zzz".into(), "startup".into()), 5);
        let text = exposition(&[status("web", State::Master)], &t);
        let l = r#"instance="web",interface="eth0",vrid="51",family="ipv4""#;
        for line in [
            format!("hakit_vrrp_state{{{l},state=\"master\"}} 1"),
            format!("hakit_vrrp_state{{{l},state=\"backup\"}} 0"),
            format!("hakit_vrrp_base_priority{{{l}}} 150"),
            format!("hakit_vrrp_effective_priority{{{l}}} 100"),
            format!("hakit_vrrp_advert_sent_total{{{l}}} 12"),
            format!("hakit_vrrp_become_master_total{{{l}}} 1"),
            format!("hakit_vrrp_transitions_total{{{l},reason=\"master_down_timer\"}} 2"),
            format!("hakit_vrrp_tracker_state{{{l},tracker=\"chk\",result=\"down\"}} 1"),
            format!("hakit_vrrp_tracker_state{{{l},tracker=\"eth1\",result=\"unknown\"}} 1"),
            format!("hakit_vrrp_tracker_value{{{l},tracker=\"/run/w\"}} 7"),
        ] {
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
        // Another instance's transitions stay its own.
        assert!(!text.contains("startup"), "{text}");
    }

    #[test]
    fn counters_are_named_by_their_samples_in_text_004() {
        let om = "# HELP x_sent Adverts.\n# TYPE x_sent counter\nx_sent_total{a=\"b\"} 3\n\
                  # HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n# EOF\n";
        assert_eq!(
            text_004(om),
            "# HELP x_sent_total Adverts.\n# TYPE x_sent_total counter\nx_sent_total{a=\"b\"} 3\n\
             # HELP x_up Up.\n# TYPE x_up gauge\nx_up 1\n"
        );
    }
}
