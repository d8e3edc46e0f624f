//! keepalived's SMTP alerts: a mail on each state change of an instance or sync group with
//! `smtp_alert`, as keepalived 2.4 writes them (`smtp.c`, `vrrp_notify.c`), sent by a small
//! SMTP client of its own.
//!
//! The subject is `[ROUTER_ID] VRRP Instance VI_1 - Entering MASTER state` (or `VRRP Group`,
//! `Entering BACKUP state`, `Entering FAULT state`, `Stopping`), the body keepalived's line
//! (`=> VRRP Instance is now owning VRRP VIPs <=`), the headers `Date`, `From`, `Subject`,
//! `X-Mailer: Keepalived` and `To`. As in keepalived, a state is mailed once: a second change
//! to the state last mailed sends nothing.
//!
//! The mails are made from the daemon's event stream, never on the VRRP thread: a task turns
//! events into mails and puts them in a queue of [`QUEUE_CAP`] (a mail that finds it full is
//! dropped, logged and counted), another sends them one at a time, each bounded by
//! `smtp_connect_timeout` for the connection and for every reply. A failure is logged and
//! counted ([`SmtpStats`]); the next mail tries again. A reload may change the settings
//! ([`spawn_reloadable`]); a shutdown waits a few seconds for the mails still queued, the
//! "Stopping" ones included (keepalived makes those too, but exits before they go out).
//!
//! ```
//! use hakit::runtime::smtp_alert::{instance_mail, message};
//! let mail = instance_mail("lb1", "VI_1", "MASTER").unwrap();
//! assert_eq!(mail.subject, "[lb1] VRRP Instance VI_1 - Entering MASTER state");
//! let text = message(&mail, "root@lb1", &["ops@example.org".into()], "Mon, 7 Dec 2026 10:00:00 +0000");
//! assert!(text.contains("X-Mailer: Keepalived\r\nTo: ops@example.org\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use vrrp_fsm::State;

use crate::runtime::config::{Config, ConfigError};
use crate::runtime::events::Event;

/// Mails waiting to be sent, at most; more are dropped and counted.
pub const QUEUE_CAP: usize = 64;

/// Longest reply line read from the server, in bytes.
const MAX_REPLY_LINE: usize = 1024;

/// Most lines of one (multi-line) reply.
const MAX_REPLY_LINES: usize = 64;

/// keepalived's default `smtp_connect_timeout`.
const DEFAULT_TIMEOUT: f64 = 30.0;

/// Where and to whom alerts go, and which instances and groups send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSpec {
    /// The server's host name or address.
    pub host: String,
    /// Its port (25 by default).
    pub port: u16,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email`.
    pub to: Vec<String>,
    /// The name said in `HELO`.
    pub helo: String,
    /// `router_id`, in brackets at the start of each subject.
    pub router_id: String,
    /// Bound of the connection and of each reply.
    pub timeout: Duration,
    /// The instances that mail their transitions.
    pub instances: BTreeSet<String>,
    /// The sync groups that mail theirs.
    pub groups: BTreeSet<String>,
}

/// Validates the SMTP keys of `raw`: `None` when no mail can go (no server or no recipient,
/// as keepalived) or nothing asks for one.
///
/// ```
/// use hakit::Config;
/// let raw = Config::from_toml(
///     "smtp_server = '192.0.2.1 2525'\nnotification_email = ['ops@example.org']\n\
///      router_id = 'lb1'\n[[instance]]\nname = 'web'\niface = 'eth0'\nvrid = 51\n\
///      priority = 150\nvips = ['192.0.2.100']\nsmtp_alert = true\n",
/// )
/// .unwrap();
/// let spec = hakit::runtime::smtp_alert::validate(&raw).unwrap().unwrap();
/// assert_eq!((spec.port, spec.router_id.as_str()), (2525, "lb1"));
/// assert!(spec.instances.contains("web"));
/// ```
pub fn validate(raw: &Config) -> Result<Option<SmtpSpec>, ConfigError> {
    let host_name = crate::keepalived_conf::host_name().unwrap_or_else(|| "localhost".into());
    for (k, addr) in raw.notification_email.iter().enumerate() {
        check_address(&format!("notification_email[{k}]"), addr)?;
    }
    if let Some(from) = &raw.notification_email_from {
        check_address("notification_email_from", from)?;
    }
    let timeout = match raw.smtp_connect_timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) if t.is_finite() && t > 0.0 && t <= 3600.0 => t,
        Some(t) => {
            return Err(ConfigError::new(
                "smtp_connect_timeout",
                format!("{t} is outside 0 (excluded)..=3600 seconds"),
            ))
        }
    };
    for (key, value) in [
        ("router_id", &raw.router_id),
        ("smtp_helo_name", &raw.smtp_helo_name),
    ] {
        if let Some(v) = value {
            if v.is_empty() || v.chars().any(char::is_control) {
                return Err(ConfigError::new(
                    key,
                    format!("{v:?}: empty or with control characters"),
                ));
            }
        }
    }
    let server = match &raw.smtp_server {
        None => None,
        Some(s) => Some(parse_server(s)?),
    };
    let default = raw.smtp_alert;
    let instances: BTreeSet<String> = raw
        .instance
        .iter()
        .enumerate()
        .filter(|(_, i)| i.smtp_alert.unwrap_or(default))
        .map(|(k, i)| i.name.clone().unwrap_or_else(|| format!("VI_{k}")))
        .collect();
    let groups: BTreeSet<String> = raw
        .sync_group
        .iter()
        .filter(|g| g.smtp_alert.unwrap_or(default))
        .map(|g| g.name.clone())
        .collect();
    let Some((host, port)) = server else {
        return Ok(None);
    };
    if raw.notification_email.is_empty() || (instances.is_empty() && groups.is_empty()) {
        return Ok(None);
    }
    Ok(Some(SmtpSpec {
        host,
        port,
        from: raw
            .notification_email_from
            .clone()
            .unwrap_or_else(|| format!("root@{host_name}")),
        to: raw.notification_email.clone(),
        helo: raw
            .smtp_helo_name
            .clone()
            .unwrap_or_else(|| host_name.clone()),
        router_id: raw.router_id.clone().unwrap_or(host_name),
        timeout: Duration::from_secs_f64(timeout),
        instances,
        groups,
    }))
}

/// A mail address: `user@domain`, or a bare local user as keepalived's sample has
/// (`acassen`); no blank, angle bracket or control character, no empty side of the `@`.
fn check_address(field: &str, addr: &str) -> Result<(), ConfigError> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>';
    let sides_ok = match addr.split_once('@') {
        Some((user, host)) => !user.is_empty() && !host.is_empty() && !host.contains('@'),
        None => !addr.is_empty(),
    };
    if sides_ok && !addr.contains(bad) {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("{addr:?} is not a mail address"),
        ))
    }
}

/// `HOST [PORT]` (keepalived's words) or `ADDR:PORT` / `[V6]:PORT`.
fn parse_server(s: &str) -> Result<(String, u16), ConfigError> {
    let field = "smtp_server";
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ConfigError::new(field, format!("{s:?}: port {p:?} is not 1..=65535")))
    };
    let words: Vec<&str> = s.split_whitespace().collect();
    let (host, port) = match words.as_slice() {
        [host, p] => (host.to_string(), port(p)?),
        [one] => match one.parse::<std::net::SocketAddr>() {
            Ok(sa) => (sa.ip().to_string(), sa.port()),
            Err(_) => (one.to_string(), 25),
        },
        _ => return Err(ConfigError::new(field, format!("{s:?} is not HOST [PORT]"))),
    };
    let ok = |c: char| c.is_ascii_alphanumeric() || ".-_:".contains(c);
    if host.is_empty() || !host.chars().all(ok) {
        return Err(ConfigError::new(
            field,
            format!("{host:?} is not a host name or address"),
        ));
    }
    Ok((host, port))
}

/// One alert: subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `[router_id] VRRP Instance VI_1 - Entering MASTER state`.
    pub subject: String,
    /// keepalived's one line.
    pub body: String,
}

/// The mail of instance `name` entering `state` (`MASTER`, `BACKUP`, `FAULT`, `STOP`), as
/// keepalived writes it; `None` for a state keepalived does not mail.
pub fn instance_mail(router_id: &str, name: &str, state: &str) -> Option<Mail> {
    let (what, body) = match state {
        "MASTER" => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        "BACKUP" => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        "FAULT" => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        "STOP" => ("Stopping", "=> VRRP Instance stopping <="),
        _ => return None,
    };
    Some(Mail {
        subject: format!("[{router_id}] VRRP Instance {name} - {what}"),
        body: body.into(),
    })
}

/// The mail of sync group `name` entering `state`, as keepalived writes it.
///
/// ```
/// let m = hakit::runtime::smtp_alert::group_mail("lb1", "G", "FAULT").unwrap();
/// assert_eq!(m.subject, "[lb1] VRRP Group G - Entering FAULT state");
/// assert_eq!(m.body, "=> All VRRP group instances are now in FAULT state <=");
/// ```
pub fn group_mail(router_id: &str, name: &str, state: &str) -> Option<Mail> {
    let (what, body) = match state {
        "MASTER" => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        "BACKUP" => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        "FAULT" => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        "STOP" => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
        _ => return None,
    };
    Some(Mail {
        subject: format!("[{router_id}] VRRP Group {name} - {what}"),
        body: body.into(),
    })
}

/// The text sent after `DATA`, up to and without the final `.` line: keepalived's headers,
/// a blank line and the body, lines ending in CRLF, a leading `.` doubled.
pub fn message(mail: &Mail, from: &str, to: &[String], date: &str) -> String {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut text = format!(
        "Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo:",
        clean(date),
        clean(from),
        clean(&mail.subject)
    );
    for (k, addr) in to.iter().enumerate() {
        text.push_str(if k == 0 { " " } else { ",\r\n " });
        text.push_str(&clean(addr));
    }
    text.push_str("\r\n\r\n");
    for line in mail.body.lines() {
        if line.starts_with('.') {
            text.push('.');
        }
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

/// An RFC 5322 date in UTC: `Mon, 07 Dec 2026 10:00:00 +0000`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(86_400 * 365);
/// assert_eq!(hakit::runtime::smtp_alert::rfc5322_date(t), "Fri, 01 Jan 1971 00:00:00 +0000");
/// ```
pub fn rfc5322_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    /// No connection within the timeout, or it was refused.
    #[error("connecting to {server}: {message}")]
    Connect {
        /// `host:port`.
        server: String,
        /// Why.
        message: String,
    },
    /// The server did not answer a step within the timeout.
    #[error("{step}: no reply within {timeout:?}")]
    Timeout {
        /// The step (`HELO`, `MAIL`, `RCPT`, `DATA`, `BODY`, `QUIT`, or the greeting).
        step: &'static str,
        /// The bound.
        timeout: Duration,
    },
    /// The server answered a step with another code than expected.
    #[error("{step}: expected {expected}, the server said {reply:?}")]
    Refused {
        /// The step.
        step: &'static str,
        /// The code keepalived expects.
        expected: u16,
        /// The server's reply line.
        reply: String,
    },
    /// The connection broke, or the reply was not SMTP.
    #[error("{step}: {message}")]
    Io {
        /// The step.
        step: &'static str,
        /// Why.
        message: String,
    },
}

/// Sends `mail` through the server of `spec`, keepalived's dialogue: greeting 220, `HELO`
/// 250, `MAIL FROM:<from>` 250, `RCPT TO:<to>` 250 for each recipient, `DATA` 354, the
/// message and `.` 250, `QUIT` 221.
///
/// ```no_run
/// # async fn run(spec: hakit::runtime::smtp_alert::SmtpSpec) {
/// use hakit::runtime::smtp_alert::{instance_mail, rfc5322_date, send};
/// let mail = instance_mail(&spec.router_id, "web", "MASTER").unwrap();
/// if let Err(e) = send(&spec, &mail, &rfc5322_date(std::time::SystemTime::now())).await {
///     eprintln!("not sent: {e}");
/// }
/// # }
/// ```
pub async fn send(spec: &SmtpSpec, mail: &Mail, date: &str) -> Result<(), SmtpError> {
    let server = format!("{}:{}", spec.host, spec.port);
    let host = if spec.host.contains(':') {
        format!("[{}]:{}", spec.host, spec.port)
    } else {
        server.clone()
    };
    let stream = match tokio::time::timeout(spec.timeout, TcpStream::connect(host)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(SmtpError::Connect {
                server,
                message: e.to_string(),
            })
        }
        Err(_) => {
            return Err(SmtpError::Connect {
                server,
                message: format!("no connection within {:?}", spec.timeout),
            })
        }
    };
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let t = spec.timeout;
    expect(&mut read, t, "greeting", 220).await?;
    command(&mut write, "HELO", &format!("HELO {}\r\n", spec.helo)).await?;
    expect(&mut read, t, "HELO", 250).await?;
    command(
        &mut write,
        "MAIL",
        &format!("MAIL FROM:<{}>\r\n", spec.from),
    )
    .await?;
    expect(&mut read, t, "MAIL", 250).await?;
    for to in &spec.to {
        command(&mut write, "RCPT", &format!("RCPT TO:<{to}>\r\n")).await?;
        expect(&mut read, t, "RCPT", 250).await?;
    }
    command(&mut write, "DATA", "DATA\r\n").await?;
    expect(&mut read, t, "DATA", 354).await?;
    let body = message(mail, &spec.from, &spec.to, date) + ".\r\n";
    command(&mut write, "BODY", &body).await?;
    expect(&mut read, t, "BODY", 250).await?;
    command(&mut write, "QUIT", "QUIT\r\n").await?;
    expect(&mut read, t, "QUIT", 221).await?;
    Ok(())
}

async fn command(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    step: &'static str,
    text: &str,
) -> Result<(), SmtpError> {
    write
        .write_all(text.as_bytes())
        .await
        .map_err(|e| SmtpError::Io {
            step,
            message: e.to_string(),
        })
}

/// Reads one reply (its continuation lines `NNN-...` too) and checks its code.
async fn expect(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    timeout: Duration,
    step: &'static str,
    expected: u16,
) -> Result<(), SmtpError> {
    let io = |message: String| SmtpError::Io { step, message };
    let reply = tokio::time::timeout(timeout, async {
        for _ in 0..MAX_REPLY_LINES {
            let mut line = Vec::new();
            let mut limited = (&mut *read).take(MAX_REPLY_LINE as u64);
            let n = limited
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| io(e.to_string()))?;
            if n == 0 {
                return Err(io("the server closed the connection".into()));
            }
            if !line.ends_with(b"\n") {
                return Err(io(format!("a reply line over {MAX_REPLY_LINE} bytes")));
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            if text.len() < 3 || !text.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(io(format!("not an SMTP reply: {text:?}")));
            }
            if text.as_bytes().get(3) != Some(&b'-') {
                return Ok(text);
            }
        }
        Err(io(format!("a reply of over {MAX_REPLY_LINES} lines")))
    })
    .await
    .map_err(|_| SmtpError::Timeout { step, timeout })??;
    if reply[..3].parse::<u16>().ok() == Some(expected) {
        Ok(())
    } else {
        Err(SmtpError::Refused {
            step,
            expected,
            reply,
        })
    }
}

/// What the alerts did so far.
#[derive(Debug, Default)]
pub struct SmtpStats {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl SmtpStats {
    /// Mails the server accepted.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    /// Mails that failed (connection, timeout, refusal).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
    /// Mails dropped because [`QUEUE_CAP`] were already waiting.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Turns the events of `rx` into mails, queued, and sends them; returns the counters and the
/// sending task, which ends once the stream has said [`Event::Stopped`] (or closed) and the
/// queue is empty. [`spawn_reloadable`] is the same with settings that may change. [`Daemon`](crate::Daemon) does this itself when the configuration has
/// SMTP alerts ([`Daemon::smtp_stats`](crate::Daemon::smtp_stats)).
///
/// ```no_run
/// # async fn run(spec: hakit::runtime::smtp_alert::SmtpSpec) {
/// let (events, rx) = tokio::sync::broadcast::channel(64);
/// let (stats, sender) = hakit::runtime::smtp_alert::spawn(spec, rx);
/// events.send(hakit::Event::Stopped { error: None }).unwrap();
/// sender.await.unwrap();
/// println!("{} sent, {} failed, {} dropped", stats.sent(), stats.failed(), stats.dropped());
/// # }
/// ```
pub fn spawn(spec: SmtpSpec, rx: broadcast::Receiver<Event>) -> (Arc<SmtpStats>, JoinHandle<()>) {
    let (_fixed, settings) = watch::channel(Some(Arc::new(spec)));
    spawn_reloadable(settings, rx)
}

/// [`spawn`] with settings read from `settings` at each event (a reload may change the
/// server, the recipients or which instances mail; `None`: no mail), each mail sent with the
/// settings it was made with.
///
/// ```no_run
/// # async fn run(spec: hakit::runtime::smtp_alert::SmtpSpec) {
/// use std::sync::Arc;
/// let (settings, watched) = tokio::sync::watch::channel(Some(Arc::new(spec)));
/// let (events, rx) = tokio::sync::broadcast::channel(64);
/// let (stats, sender) = hakit::runtime::smtp_alert::spawn_reloadable(watched, rx);
/// settings.send_replace(None); // alerts off from now on
/// # }
/// ```
pub fn spawn_reloadable(
    settings: watch::Receiver<Option<Arc<SmtpSpec>>>,
    mut rx: broadcast::Receiver<Event>,
) -> (Arc<SmtpStats>, JoinHandle<()>) {
    let stats = Arc::new(SmtpStats::default());
    let (tx, mut queue) = mpsc::channel::<(Arc<SmtpSpec>, Mail)>(QUEUE_CAP);
    let producer_stats = stats.clone();
    tokio::spawn(async move {
        let mut last: BTreeMap<(bool, String), &'static str> = BTreeMap::new();
        loop {
            let event = rx.recv().await;
            let Some(spec) = settings.borrow().clone() else {
                if let Err(broadcast::error::RecvError::Closed) | Ok(Event::Stopped { .. }) = event
                {
                    break;
                }
                continue;
            };
            let (group, name, state) = match event {
                Ok(Event::StateChanged {
                    instance, from, to, ..
                }) if spec.instances.contains(&instance) => {
                    let state = match to {
                        State::Master => "MASTER",
                        State::Backup => "BACKUP",
                        State::Fault => "FAULT",
                        State::Init if from != State::Init => "STOP",
                        State::Init => continue,
                    };
                    (false, instance, state)
                }
                Ok(Event::GroupStateChanged { group, state }) if spec.groups.contains(&group) => {
                    (true, group, state)
                }
                // The loop's last event: what is queued still goes, then the sender ends.
                Ok(Event::Stopped { .. }) => break,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(
                        skipped = n,
                        "smtp alerts: events skipped, their mails are lost"
                    );
                    producer_stats.dropped.fetch_add(n, Ordering::Relaxed);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            // keepalived mails a state once: not again until another state was mailed.
            if last.get(&(group, name.clone())) == Some(&state) {
                continue;
            }
            last.insert((group, name.clone()), state);
            let mail = if group {
                group_mail(&spec.router_id, &name, state)
            } else {
                instance_mail(&spec.router_id, &name, state)
            };
            let Some(mail) = mail else { continue };
            if tx.try_send((spec, mail)).is_err() {
                producer_stats.dropped.fetch_add(1, Ordering::Relaxed);
                warn!(%name, state, "smtp alerts: {QUEUE_CAP} mails already waiting, this one is dropped");
            }
        }
    });
    let counters = stats.clone();
    let sender = tokio::spawn(async move {
        while let Some((spec, mail)) = queue.recv().await {
            let date = rfc5322_date(SystemTime::now());
            match send(&spec, &mail, &date).await {
                Ok(()) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    debug!(subject = %mail.subject, "smtp alert sent");
                }
                Err(e) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    warn!(subject = %mail.subject, "smtp alert not sent: {e}");
                }
            }
        }
    });
    (stats, sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322_in_utc() {
        assert_eq!(
            rfc5322_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_638_953);
        assert_eq!(rfc5322_date(t), "Mon, 07 Dec 2026 10:22:33 +0000");
    }

    #[test]
    fn messages_are_keepalived_s() {
        let mail = group_mail("r1", "G", "BACKUP").unwrap();
        assert_eq!(mail.subject, "[r1] VRRP Group G - Entering BACKUP state");
        let text = message(
            &mail,
            "a@b",
            &["x@y".into(), "z@w".into()],
            "Thu, 01 Jan 1970 00:00:00 +0000",
        );
        assert_eq!(
            text,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: a@b\r\n\
             Subject: [r1] VRRP Group G - Entering BACKUP state\r\nX-Mailer: Keepalived\r\n\
             To: x@y,\r\n z@w\r\n\r\n=> All VRRP group instances are now in BACKUP state <=\r\n"
        );
        assert!(instance_mail("r", "V", "INIT").is_none());
        let dotted = Mail {
            subject: "s\r\nBcc: evil@x".into(),
            body: ".\nok".into(),
        };
        let text = message(&dotted, "a@b", &["x@y".into()], "d");
        assert!(text.contains("Subject: s  Bcc: evil@x\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n..\r\nok\r\n"), "{text}");
    }

    #[test]
    fn config_errors_name_the_field() {
        let base = "smtp_server = '127.0.0.1 2525'\nnotification_email = ['ops@example.org']\n\
                    smtp_alert = true\n[[instance]]\nname='V'\niface='lo'\nvrid=1\npriority=100\n\
                    vips=['192.0.2.1']\n";
        let spec = validate(&Config::from_toml(base).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!((spec.host.as_str(), spec.port), ("127.0.0.1", 2525));
        assert_eq!(spec.instances.iter().collect::<Vec<_>>(), ["V"]);
        assert_eq!(spec.timeout, Duration::from_secs(30));
        for (extra, field) in [
            ("smtp_connect_timeout = -1.0\n", "smtp_connect_timeout"),
            (
                "notification_email_from = 'no body'\n",
                "notification_email_from",
            ),
            ("router_id = ''\n", "router_id"),
        ] {
            let text = format!("{extra}{base}");
            let e = validate(&Config::from_toml(&text).unwrap()).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
        let bad_to = base.replace("ops@example.org", "ops example");
        let e = validate(&Config::from_toml(&bad_to).unwrap()).unwrap_err();
        assert_eq!(e.field, "notification_email[0]");
        let bad_port = base.replace("2525", "0");
        let e = validate(&Config::from_toml(&bad_port).unwrap()).unwrap_err();
        assert_eq!(e.field, "smtp_server");
        // No recipient: no mail, as keepalived.
        let none = base.replace("notification_email = ['ops@example.org']\n", "");
        assert_eq!(validate(&Config::from_toml(&none).unwrap()).unwrap(), None);
    }
}
