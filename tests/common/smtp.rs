//! A minimal SMTP receiver inside a test namespace, for keepalived's and hakitd's alert mails.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::topology::in_netns;

/// A minimal SMTP receiver on the loopback of namespace `ns` (the server side of RFC 5321:
/// greeting, 250 to every command, 354 to DATA, 221 to QUIT): each mail's `Subject` and body.
pub fn smtp_receiver(ns: &str, port: u16) -> Arc<Mutex<Vec<String>>> {
    let ns = ns.to_string();
    let listener = in_netns(&ns, move || TcpListener::bind(("127.0.0.1", port)).unwrap());
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let store = store.clone();
            std::thread::spawn(move || {
                let _ = serve_smtp(stream, &store);
            });
        }
    });
    mails
}

fn serve_smtp(stream: TcpStream, store: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    w.write_all(b"220 test ESMTP\r\n")?;
    let mut data: Option<String> = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some(d) = data.as_mut() {
            if line == ".\r\n" {
                let (head, body) = d.split_once("\r\n\r\n").unwrap_or((d, ""));
                let subject = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: "))
                    .unwrap_or("");
                store
                    .lock()
                    .unwrap()
                    .push(format!("{subject} / {}", body.trim()));
                data = None;
                w.write_all(b"250 queued\r\n")?;
            } else {
                d.push_str(&line);
            }
            continue;
        }
        let verb = line.split([' ', ':', '\r']).next().unwrap_or("");
        match verb.to_ascii_uppercase().as_str() {
            "DATA" => {
                data = Some(String::new());
                w.write_all(b"354 go on\r\n")?;
            }
            "QUIT" => return w.write_all(b"221 bye\r\n"),
            _ => w.write_all(b"250 ok\r\n")?,
        }
    }
}
