//! TCP, HTTP and HTTPS checkers against real servers on loopback (HTTPS with feature `tls`).

mod common;

#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use common::*;
use healthcheck::*;
use tokio::net::TcpListener;

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn tcp_connect_up_refused_and_bound_source() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b""))).await;
    assert!(TcpCheck::new(srv.addr).check(T).await.is_ok());
    assert!(TcpCheck::new(srv.addr)
        .reset_on_close(true)
        .check(T)
        .await
        .is_ok());
    let err = TcpCheck::new(closed_port()).check(T).await.unwrap_err();
    assert!(matches!(err, CheckError::Connect { .. }), "{err}");

    // Source address binding: the server sees 127.0.0.2.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move { listener.accept().await.unwrap().1 });
    TcpCheck::new(addr)
        .bind("127.0.0.2:0".parse().unwrap())
        .check(T)
        .await
        .unwrap();
    assert_eq!(accept.await.unwrap().ip().to_string(), "127.0.0.2");
}

#[tokio::test]
async fn tcp_connect_timeout_on_blackhole() {
    // A listener with backlog 0 that never accepts: once its queue is full, further SYNs
    // are dropped and connect hangs until our timeout.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    let mut saw_timeout = false;
    for _ in 0..8 {
        match TcpCheck::new(addr).check(Duration::from_millis(300)).await {
            Err(CheckError::Timeout(_)) => {
                saw_timeout = true;
                break;
            }
            Ok(_) => held.push(()),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(saw_timeout, "connect to a full backlog must time out");
}

#[tokio::test]
async fn http_status_vhost_and_digest() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b"hello"))).await;
    let url = HttpUrl::new("/health")
        .digest_hex("5d41402abc4b2a76b9719d911017c592")
        .unwrap();
    let check = HttpCheck::new(srv.addr, vec![url]).virtual_host("www.example.org");
    check.check(T).await.unwrap();
    let head = srv.last_request.lock().unwrap().clone();
    assert!(head.starts_with("GET /health HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nHost: www.example.org\r\n"), "{head}");

    // Wrong digest.
    let bad = HttpUrl::new("/")
        .digest_hex("00000000000000000000000000000000")
        .unwrap();
    let err = HttpCheck::new(srv.addr, vec![bad])
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::HttpDigest { .. }), "{err}");

    // Status outside the expected ranges, then inside a custom range.
    srv.set(Reply::Raw(
        b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec(),
    ));
    let err = HttpCheck::new(srv.addr, vec![HttpUrl::new("/")])
        .check(T)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckError::HttpStatus { got: 503, .. }),
        "{err}"
    );
    let url = HttpUrl::new("/").status(StatusCodes::new([200..=200, 500..=503]).unwrap());
    HttpCheck::new(srv.addr, vec![url]).check(T).await.unwrap();

    // Chunked body digest.
    srv.set(Reply::Raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
            .to_vec(),
    ));
    let url = HttpUrl::new("/")
        .digest_hex("5d41402abc4b2a76b9719d911017c592")
        .unwrap();
    HttpCheck::new(srv.addr, vec![url]).check(T).await.unwrap();
}

#[tokio::test]
async fn http_body_regex_and_regex_no_match() {
    let srv = HttpServer::start(Reply::Raw(ok_response(
        b"{\"db\": \"up\", \"status\": \"ok\"}",
    )))
    .await;
    let check = |url: HttpUrl| HttpCheck::new(srv.addr, vec![url]);
    // keepalived `regex`: the pattern must be found anywhere in the body.
    let ok = HttpUrl::new("/").regex(r#""status":\s*"ok""#).unwrap();
    check(ok.clone()).check(T).await.unwrap();
    let down = HttpUrl::new("/").regex(r#""db":\s*"down""#).unwrap();
    let err = check(down).check(T).await.unwrap_err();
    assert!(
        matches!(&err, CheckError::HttpRegex { must_match: true, pattern } if pattern.contains("down")),
        "{err}"
    );
    assert_eq!(err.kind(), "http_regex");
    // keepalived `regex_no_match`: the check fails when the pattern is found.
    let no_error = HttpUrl::new("/").regex_no_match("(?i)error").unwrap();
    check(no_error.clone()).check(T).await.unwrap();
    let no_ok = HttpUrl::new("/").regex_no_match("ok").unwrap();
    assert!(matches!(
        check(no_ok).check(T).await,
        Err(CheckError::HttpRegex {
            must_match: false,
            ..
        })
    ));

    // The body of a chunked reply is searched de-chunked, across chunk boundaries.
    srv.set(Reply::Raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nInternal \r\n5\r\nError\r\n0\r\n\r\n"
            .to_vec(),
    ));
    let err = check(no_error.clone()).check(T).await.unwrap_err();
    assert!(matches!(err, CheckError::HttpRegex { .. }), "{err}");
    let split = HttpUrl::new("/").regex("Internal Error").unwrap();
    check(split).check(T).await.unwrap();

    // The status is still checked first, and a digest and a regex must both hold.
    srv.set(Reply::Raw(
        b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    ));
    assert!(matches!(
        check(ok.clone()).check(T).await,
        Err(CheckError::HttpStatus { got: 500, .. })
    ));
    srv.set(Reply::Raw(ok_response(b"hello")));
    let both = HttpUrl::new("/")
        .digest_hex("5d41402abc4b2a76b9719d911017c592")
        .unwrap()
        .regex("^hel+o$")
        .unwrap();
    check(both.clone()).check(T).await.unwrap();
    srv.set(Reply::Raw(ok_response(b"hellO")));
    assert!(matches!(
        check(both).check(T).await,
        Err(CheckError::HttpDigest { .. })
    ));

    // An endless body is not searched forever: the body bound fails the check.
    srv.set(Reply::Endless);
    let bounded = HttpCheck::new(srv.addr, vec![ok]).limits(4096, 100_000);
    assert!(matches!(
        bounded.check(T).await,
        Err(CheckError::BodyTooLarge(100_000))
    ));

    // A pattern the regex engine cannot run is refused when the URL is built.
    let err = HttpUrl::new("/").regex(r"(a)\1").unwrap_err();
    assert!(matches!(err, ConfigError::Regex { .. }), "{err}");
}

/// keepalived `regex_min_offset` / `regex_max_offset`: only a match starting within the
/// offsets counts, for `regex` and for `regex_no_match`, on a real reply (chunked, so the
/// offsets are into the de-chunked body).
#[tokio::test]
async fn http_body_regex_offsets() {
    // Body: "status: ok; warning: disk" (offsets: "ok" at 8, "warning" at 12).
    let srv = HttpServer::start(Reply::Raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nstatus\r\n13\r\n: ok; warning: disk\r\n0\r\n\r\n"
            .to_vec(),
    ))
    .await;
    let check = |url: HttpUrl| HttpCheck::new(srv.addr, vec![url]);
    let ok_at = |min, max| {
        HttpUrl::new("/")
            .regex("ok")
            .unwrap()
            .regex_offsets(min, max)
            .unwrap()
    };
    check(ok_at(0, Some(8))).check(T).await.unwrap();
    check(ok_at(8, None)).check(T).await.unwrap();
    let err = check(ok_at(0, Some(7))).check(T).await.unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::HttpRegex {
                must_match: true,
                ..
            }
        ),
        "{err}"
    );
    let err = check(ok_at(9, None)).check(T).await.unwrap_err();
    assert!(matches!(err, CheckError::HttpRegex { .. }), "{err}");
    // Past the end of the body: nothing matches.
    let err = check(ok_at(1000, None)).check(T).await.unwrap_err();
    assert!(matches!(err, CheckError::HttpRegex { .. }), "{err}");

    // regex_no_match on the status part only: the later "warning" does not fail it.
    let no_warning_early = HttpUrl::new("/")
        .regex_no_match("warning")
        .unwrap()
        .regex_offsets(0, Some(11))
        .unwrap();
    check(no_warning_early).check(T).await.unwrap();
    let no_warning = HttpUrl::new("/")
        .regex_no_match("warning")
        .unwrap()
        .regex_offsets(0, Some(12))
        .unwrap();
    let err = check(no_warning).check(T).await.unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::HttpRegex {
                must_match: false,
                ..
            }
        ),
        "{err}"
    );

    // Offsets without a regex, or min above max, are refused when the URL is built.
    assert!(matches!(
        HttpUrl::new("/").regex_offsets(0, None),
        Err(ConfigError::RegexOffsets(_))
    ));
    assert!(matches!(
        HttpUrl::new("/")
            .regex("ok")
            .unwrap()
            .regex_offsets(9, Some(8)),
        Err(ConfigError::RegexOffsets(_))
    ));
}

#[tokio::test]
async fn http_every_url_must_pass() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b"hello"))).await;
    let good = HttpUrl::new("/a");
    let bad = HttpUrl::new("/b")
        .digest_hex("00000000000000000000000000000000")
        .unwrap();
    assert!(HttpCheck::new(srv.addr, vec![good.clone(), good.clone()])
        .check(T)
        .await
        .is_ok());
    assert!(HttpCheck::new(srv.addr, vec![good, bad])
        .check(T)
        .await
        .is_err());
}

#[tokio::test]
async fn http_garbage_reset_slow_and_oversized() {
    let srv = HttpServer::start(Reply::Raw(b"\x16\x03\x01 not http at all\r\n\r\n".to_vec())).await;
    let check = HttpCheck::new(srv.addr, vec![HttpUrl::new("/")]);
    assert!(matches!(
        check.check(T).await,
        Err(CheckError::HttpMalformed(_))
    ));

    srv.set(Reply::Raw(Vec::new())); // closes without a reply
    assert!(matches!(
        check.check(T).await,
        Err(CheckError::HttpMalformed(_))
    ));

    srv.set(Reply::Reset);
    let err = check.check(T).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Io { .. } | CheckError::HttpMalformed(_)),
        "{err}"
    );

    srv.set(Reply::Slow(Duration::from_secs(5), ok_response(b"")));
    let started = std::time::Instant::now();
    assert!(matches!(
        check.check(Duration::from_millis(300)).await,
        Err(CheckError::Timeout(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(3));

    // Oversized headers.
    let mut huge = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 100_000));
    huge.extend_from_slice(b"\r\n\r\n");
    srv.set(Reply::Raw(huge));
    assert!(matches!(
        check.check(T).await,
        Err(CheckError::HttpMalformed(_))
    ));

    // Endless body with a digest: bounded read fails fast instead of reading forever.
    srv.set(Reply::Endless);
    let url = HttpUrl::new("/")
        .digest_hex("5d41402abc4b2a76b9719d911017c592")
        .unwrap();
    let bounded = HttpCheck::new(srv.addr, vec![url]).limits(4096, 100_000);
    assert!(matches!(
        bounded.check(T).await,
        Err(CheckError::BodyTooLarge(100_000))
    ));
    // Without a digest the body is not read at all: status alone decides.
    assert!(check.check(T).await.is_ok());
}

#[cfg(feature = "tls")]
fn self_signed(name: &str) -> (Vec<u8>, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    (cert.cert.der().to_vec(), cert.key_pair.serialize_der())
}

#[cfg(feature = "tls")]
async fn tls_server(
    name: &str,
    reply: Reply,
) -> (
    std::net::SocketAddr,
    Vec<u8>,
    Arc<std::sync::Mutex<Option<String>>>,
) {
    let (cert, key) = self_signed(name);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert.clone())],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sni = Arc::new(std::sync::Mutex::new(None));
    let sni2 = sni.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let reply = reply.clone();
            let sni = sni2.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    *sni.lock().unwrap() = tls.get_ref().1.server_name().map(str::to_string);
                    let last = std::sync::Mutex::new(String::new());
                    serve_conn(tls, reply, &last).await;
                }
            });
        }
    });
    (addr, cert, sni)
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn https_unverified_verified_and_sni() {
    let (addr, cert, sni) = tls_server("rs1.example.org", Reply::Raw(ok_response(b"hello"))).await;
    let url = HttpUrl::new("/")
        .digest_hex("5d41402abc4b2a76b9719d911017c592")
        .unwrap();

    // keepalived default: no verification, no SNI.
    let check = HttpCheck::new(addr, vec![url.clone()])
        .tls(TlsOptions::default())
        .unwrap();
    assert_eq!(check.kind(), "https");
    check.check(T).await.unwrap();
    assert_eq!(*sni.lock().unwrap(), None);

    // SNI sent when configured.
    let opts = TlsOptions {
        sni: Some("rs1.example.org".into()),
        ..Default::default()
    };
    HttpCheck::new(addr, vec![url.clone()])
        .tls(opts)
        .unwrap()
        .check(T)
        .await
        .unwrap();
    assert_eq!(sni.lock().unwrap().as_deref(), Some("rs1.example.org"));

    // Verification against the right root and name passes...
    let mut roots = RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert))
        .unwrap();
    let roots = Arc::new(roots);
    let verified = TlsOptions {
        verify: TlsVerify::Roots(roots.clone()),
        sni: Some("rs1.example.org".into()),
    };
    HttpCheck::new(addr, vec![url.clone()])
        .tls(verified)
        .unwrap()
        .check(T)
        .await
        .unwrap();
    // ...with the wrong name it fails...
    let wrong_name = TlsOptions {
        verify: TlsVerify::Roots(roots),
        sni: Some("other.example.org".into()),
    };
    let err = HttpCheck::new(addr, vec![url.clone()])
        .tls(wrong_name)
        .unwrap()
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Tls(_)), "{err}");
    // ...and against an unrelated root too.
    let (other, _) = self_signed("rs1.example.org");
    let mut other_roots = RootCertStore::empty();
    other_roots
        .add(rustls::pki_types::CertificateDer::from(other))
        .unwrap();
    let untrusted = TlsOptions {
        verify: TlsVerify::Roots(Arc::new(other_roots)),
        sni: Some("rs1.example.org".into()),
    };
    let err = HttpCheck::new(addr, vec![url])
        .tls(untrusted)
        .unwrap()
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Tls(_)), "{err}");
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn https_against_plain_http_fails() {
    let srv = HttpServer::start(Reply::Raw(ok_response(b"hello"))).await;
    let check = HttpCheck::new(srv.addr, vec![HttpUrl::new("/")])
        .tls(TlsOptions::default())
        .unwrap();
    assert!(check.check(T).await.is_err());
}

/// A tiny SMTP server: `banner`, then answers HELO with `helo_reply`.
async fn smtp_server(banner: &'static [u8], helo_reply: &'static [u8]) -> std::net::SocketAddr {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (rd, mut wr) = s.into_split();
                let mut rd = BufReader::new(rd);
                let _ = wr.write_all(banner).await;
                let mut line = String::new();
                if rd.read_line(&mut line).await.is_ok() && line.starts_with("HELO lb1.example.org")
                {
                    let _ = wr.write_all(helo_reply).await;
                }
                line.clear();
                let _ = rd.read_line(&mut line).await; // QUIT
            });
        }
    });
    addr
}

#[tokio::test]
async fn smtp_banner_and_helo() {
    let good = smtp_server(b"220 mx ESMTP\r\n", b"250-mx\r\n250 OK\r\n").await;
    SmtpCheck::new(good)
        .helo_name("lb1.example.org")
        .check(T)
        .await
        .unwrap();
    let busy = smtp_server(b"421 busy\r\n", b"").await;
    assert!(matches!(
        SmtpCheck::new(busy).check(T).await,
        Err(CheckError::BadReply(_))
    ));
    let refuses = smtp_server(b"220 mx\r\n", b"550 no\r\n").await;
    let err = SmtpCheck::new(refuses)
        .helo_name("lb1.example.org")
        .check(T)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::BadReply(_)), "{err}");
    // Silent server: timeout.
    let silent = smtp_server(b"", b"").await;
    let err = SmtpCheck::new(silent)
        .check(std::time::Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err}");
}
