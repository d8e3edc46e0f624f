//! keepalived's SMTP alerts against a real SMTP receiver on loopback: a TCP listener in this
//! test speaking the server side of RFC 5321 (greeting, HELO, MAIL, RCPT, DATA, QUIT), which
//! records the envelope and the message. Nothing outside loopback is touched.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hakit::fsm::{State, StateChangeReason};
use hakit::runtime::smtp_alert::{self, SmtpError, SmtpSpec, QUEUE_CAP};
use hakit::Event;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// One mail as the receiver got it.
#[derive(Debug, Clone, Default)]
struct Received {
    helo: String,
    from: String,
    to: Vec<String>,
    data: String,
}

/// How the receiver behaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Accepts every mail.
    Accept,
    /// Answers RCPT with 550.
    RejectRcpt,
    /// Accepts the connection and never says a word.
    Silent,
}

/// Starts the receiver on 127.0.0.1; every finished mail lands in the returned list.
async fn receiver(mode: Mode) -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                if mode == Mode::Silent {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                let mut read = BufReader::new(read);
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut mail = Received::default();
                let mut in_data = false;
                loop {
                    // Lines as sent, CRLF kept: the message must use CRLF.
                    let mut raw = String::new();
                    match read.read_line(&mut raw).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let line = raw.trim_end_matches("\r\n");
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(mail.clone());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            mail.data.push_str(&raw);
                        }
                        continue;
                    }
                    let reply: &[u8] = if let Some(h) = line.strip_prefix("HELO ") {
                        mail.helo = h.to_string();
                        b"250-test\r\n250 hello\r\n"
                    } else if let Some(f) = line.strip_prefix("MAIL FROM:") {
                        mail.from = f.to_string();
                        b"250 ok\r\n"
                    } else if let Some(t) = line.strip_prefix("RCPT TO:") {
                        mail.to.push(t.to_string());
                        if mode == Mode::RejectRcpt {
                            b"550 no such user\r\n"
                        } else {
                            b"250 ok\r\n"
                        }
                    } else if line == "DATA" {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"500 what\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (addr, mails)
}

fn spec(addr: SocketAddr, timeout: Duration) -> SmtpSpec {
    SmtpSpec {
        host: addr.ip().to_string(),
        port: addr.port(),
        from: "lb1@example.org".into(),
        to: vec!["ops@example.org".into(), "acassen".into()],
        helo: "lb1.example.org".into(),
        router_id: "LVS_DEVEL".into(),
        timeout,
        instances: ["VI_1".to_string()].into(),
        groups: ["G".to_string()].into(),
    }
}

fn changed(instance: &str, from: State, to: State) -> Event {
    Event::StateChanged {
        instance: instance.into(),
        iface: "eth0".into(),
        vrid: 51,
        family: hakit::proto::AddressFamily::Ipv4,
        from,
        to,
        reason: StateChangeReason::Startup,
        at: SystemTime::now(),
    }
}

/// The stream's last event; the sender drains its queue and ends.
async fn end(tx: &broadcast::Sender<Event>, sender: tokio::task::JoinHandle<()>) {
    tx.send(Event::Stopped { error: None }).unwrap();
    tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .expect("the sender ends after Stopped")
        .unwrap();
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn transitions_become_keepalived_s_mails() {
    let (addr, mails) = receiver(Mode::Accept).await;
    let (tx, rx) = broadcast::channel(64);
    let (stats, sender) = smtp_alert::spawn(spec(addr, Duration::from_secs(10)), rx);
    tx.send(changed("VI_1", State::Init, State::Backup))
        .unwrap();
    tx.send(changed("VI_1", State::Backup, State::Master))
        .unwrap();
    // Not an alerting instance: no mail.
    tx.send(changed("VI_2", State::Backup, State::Master))
        .unwrap();
    tx.send(Event::GroupStateChanged {
        group: "G".into(),
        state: "MASTER",
    })
    .unwrap();
    tx.send(changed("VI_1", State::Master, State::Init))
        .unwrap();
    end(&tx, sender).await;
    let mails = mails.lock().unwrap().clone();
    assert_eq!((stats.sent(), stats.failed(), stats.dropped()), (4, 0, 0));
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| {
            m.data
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
        })
        .collect();
    assert_eq!(
        subjects,
        [
            "[LVS_DEVEL] VRRP Instance VI_1 - Entering BACKUP state",
            "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state",
            "[LVS_DEVEL] VRRP Group G - Entering MASTER state",
            "[LVS_DEVEL] VRRP Instance VI_1 - Stopping",
        ]
    );
    let m = &mails[1];
    assert_eq!(m.helo, "lb1.example.org");
    assert_eq!(m.from, "<lb1@example.org>");
    assert_eq!(m.to, ["<ops@example.org>", "<acassen>"]);
    let (headers, body) = m.data.split_once("\r\n\r\n").unwrap();
    let names: Vec<&str> = headers
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(k, _)| k))
        .collect();
    assert_eq!(names, ["Date", "From", "Subject", "X-Mailer", "To"]);
    assert!(headers.contains("From: lb1@example.org\r"), "{headers}");
    assert!(headers.contains("X-Mailer: Keepalived\r"), "{headers}");
    assert!(
        headers.contains("To: ops@example.org,\r\n acassen"),
        "{headers}"
    );
    assert!(headers.starts_with("Date: "), "{headers}");
    assert!(
        headers.split("\r\n").next().unwrap().ends_with(" +0000"),
        "{headers}"
    );
    assert_eq!(body, "=> VRRP Instance is now owning VRRP VIPs <=\r\n");
}

#[tokio::test]
async fn a_refusing_or_silent_server_is_an_error_bounded_in_time_and_counted() {
    let mail = smtp_alert::instance_mail("r", "VI_1", "FAULT").unwrap();
    let (addr, _) = receiver(Mode::RejectRcpt).await;
    let e = smtp_alert::send(&spec(addr, Duration::from_secs(10)), &mail, "d")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SmtpError::Refused { step: "RCPT", expected: 250, reply } if reply.starts_with("550")),
        "{e}"
    );

    let (addr, _) = receiver(Mode::Silent).await;
    let e = smtp_alert::send(&spec(addr, Duration::from_millis(300)), &mail, "d")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            SmtpError::Timeout {
                step: "greeting",
                ..
            }
        ),
        "{e}"
    );

    // Nobody listening: a connection error, counted, and the next mail is still tried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (tx, rx) = broadcast::channel(64);
    let (stats, sender) = smtp_alert::spawn(spec(closed, Duration::from_secs(2)), rx);
    tx.send(changed("VI_1", State::Init, State::Backup))
        .unwrap();
    tx.send(changed("VI_1", State::Backup, State::Fault))
        .unwrap();
    end(&tx, sender).await;
    assert_eq!((stats.sent(), stats.failed()), (0, 2));
}

#[tokio::test]
async fn the_queue_is_capped_and_what_overflows_is_counted() {
    // A server that never answers holds the first mail for the whole timeout: the queue
    // fills up behind it.
    let (addr, _) = receiver(Mode::Silent).await;
    let (tx, rx) = broadcast::channel(1024);
    let (stats, _sender) = smtp_alert::spawn(spec(addr, Duration::from_secs(60)), rx);
    let total = QUEUE_CAP + 20;
    for k in 0..total {
        let (from, to) = if k % 2 == 0 {
            (State::Backup, State::Master)
        } else {
            (State::Master, State::Backup)
        };
        tx.send(changed("VI_1", from, to)).unwrap();
    }
    // At most one is being sent and QUEUE_CAP wait: the rest were dropped.
    let least = (total - QUEUE_CAP - 1) as u64;
    wait_for("the overflow to be counted", || stats.dropped() >= least).await;
    assert!(stats.dropped() <= least + 1, "{}", stats.dropped());
    assert_eq!((stats.sent(), stats.failed()), (0, 0));
}

#[tokio::test]
async fn reloaded_settings_apply_from_the_next_event() {
    let (addr_a, mails_a) = receiver(Mode::Accept).await;
    let (addr_b, mails_b) = receiver(Mode::Accept).await;
    let first = Arc::new(spec(addr_a, Duration::from_secs(10)));
    let (settings, watched) = tokio::sync::watch::channel(Some(first));
    let (tx, rx) = broadcast::channel(64);
    let (stats, sender) = smtp_alert::spawn_reloadable(watched, rx);
    tx.send(changed("VI_1", State::Init, State::Backup))
        .unwrap();
    wait_for("the first mail", || mails_a.lock().unwrap().len() == 1).await;
    // Another server, another router_id, and only VI_2 mails now.
    let mut second = spec(addr_b, Duration::from_secs(10));
    second.router_id = "R2".into();
    second.instances = ["VI_2".to_string()].into();
    settings.send_replace(Some(Arc::new(second)));
    tx.send(changed("VI_1", State::Backup, State::Master))
        .unwrap();
    tx.send(changed("VI_2", State::Backup, State::Master))
        .unwrap();
    wait_for("the mail of VI_2", || mails_b.lock().unwrap().len() == 1).await;
    // Off: nothing more.
    settings.send_replace(None);
    tx.send(changed("VI_2", State::Master, State::Fault))
        .unwrap();
    end(&tx, sender).await;
    assert_eq!((stats.sent(), stats.failed()), (2, 0));
    assert_eq!(mails_a.lock().unwrap().len(), 1);
    let b = mails_b.lock().unwrap();
    assert_eq!(b.len(), 1);
    assert!(
        b[0].data
            .contains("Subject: [R2] VRRP Instance VI_2 - Entering MASTER state\r\n"),
        "{}",
        b[0].data
    );
}
