//! `HTTP_GET` / `SSL_GET`: a minimal HTTP/1.1 client over tokio (plain or rustls).

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use async_trait::async_trait;
#[cfg(feature = "tls")]
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
#[cfg(feature = "tls")]
use tokio_rustls::TlsConnector;

use super::http_body_regex::BodyRegex;
use super::http_response::{read_response, BodyWant};
use super::socket_options::SocketOptions;
use super::tcp::connect;
#[cfg(feature = "tls")]
use super::tls::TlsOptions;
use crate::checker::{with_timeout, Checker, Probe};
use crate::error::{CheckError, ConfigError};

/// Accepted status codes (keepalived `status_code`, default 200–299).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes(Vec<RangeInclusive<u16>>);

impl StatusCodes {
    /// Codes in any of `ranges`.
    pub fn new(ranges: impl IntoIterator<Item = RangeInclusive<u16>>) -> Result<Self, ConfigError> {
        let ranges: Vec<_> = ranges.into_iter().collect();
        for r in &ranges {
            if r.is_empty() || *r.start() < 100 || *r.end() > 599 {
                return Err(ConfigError::StatusRange(*r.start(), *r.end()));
            }
        }
        Ok(StatusCodes(ranges))
    }

    /// Whether `code` is accepted.
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|r| r.contains(&code))
    }
}

impl Default for StatusCodes {
    fn default() -> Self {
        StatusCodes(vec![200..=299])
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

/// One keepalived `url { path ...; digest ...; status_code ...; regex ... }` block.
///
/// ```
/// use healthcheck::HttpUrl;
/// let url = HttpUrl::new("/healthz")
///     .regex(r#""status":\s*"ok""#)
///     .unwrap();
/// assert_eq!(url.body_regex.unwrap().pattern(), r#""status":\s*"ok""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Request target, e.g. `/healthz`.
    pub path: String,
    /// Accepted status codes.
    pub status: StatusCodes,
    /// MD5 of the body (keepalived `digest`, as printed by `genhash`).
    pub digest: Option<[u8; 16]>,
    /// A pattern the body must or must not contain (keepalived `regex` / `regex_no_match`).
    pub body_regex: Option<BodyRegex>,
}

impl HttpUrl {
    /// `path` expecting 2xx and no digest.
    pub fn new(path: impl Into<String>) -> Self {
        HttpUrl {
            path: path.into(),
            status: StatusCodes::default(),
            digest: None,
            body_regex: None,
        }
    }

    /// Sets the accepted status codes.
    pub fn status(mut self, status: StatusCodes) -> Self {
        self.status = status;
        self
    }

    /// The body must contain a match of `pattern` (keepalived `regex`); see [`BodyRegex`].
    pub fn regex(mut self, pattern: &str) -> Result<Self, ConfigError> {
        self.body_regex = Some(BodyRegex::must_match(pattern)?);
        Ok(self)
    }

    /// The body must contain no match of `pattern` (keepalived `regex_no_match`).
    pub fn regex_no_match(mut self, pattern: &str) -> Result<Self, ConfigError> {
        self.body_regex = Some(BodyRegex::must_not_match(pattern)?);
        Ok(self)
    }

    /// Only a match of the body regex starting at `min` ..= `max` counts (keepalived
    /// `regex_min_offset` / `regex_max_offset`); set the regex first. See
    /// [`BodyRegex::offsets`].
    ///
    /// ```
    /// use healthcheck::HttpUrl;
    /// let url = HttpUrl::new("/").regex("ok").unwrap().regex_offsets(0, Some(64)).unwrap();
    /// assert_eq!(url.body_regex.unwrap().offset_range(), (0, Some(64)));
    /// assert!(HttpUrl::new("/").regex_offsets(0, Some(64)).is_err());
    /// ```
    pub fn regex_offsets(mut self, min: usize, max: Option<usize>) -> Result<Self, ConfigError> {
        let re = self.body_regex.take().ok_or_else(|| {
            ConfigError::RegexOffsets("regex_min_offset/regex_max_offset without a regex".into())
        })?;
        self.body_regex = Some(re.offsets(min, max)?);
        Ok(self)
    }

    /// Sets the expected body digest from 32 hex digits.
    pub fn digest_hex(mut self, hex: &str) -> Result<Self, ConfigError> {
        self.digest = Some(parse_md5_hex(hex)?);
        Ok(self)
    }
}

fn parse_md5_hex(hex: &str) -> Result<[u8; 16], ConfigError> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 32 {
        return Err(ConfigError::Digest);
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| ConfigError::Digest)?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| ConfigError::Digest)?;
    }
    Ok(out)
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Default bound on the response head.
pub const DEFAULT_MAX_HEADER: usize = 16 * 1024;
/// Default bound on the body read for a digest or a regex.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// HTTP or HTTPS GET of one or more URLs; up only when every URL passes (KA
/// `check_http.c`). All URLs are fetched at every probe, one connection each
/// (`Connection: close`). HTTPS needs the `tls` feature (default).
///
/// ```
/// use healthcheck::{HttpCheck, HttpUrl};
/// let plain = HttpCheck::new("127.0.0.1:80".parse().unwrap(), vec![HttpUrl::new("/healthz")])
///     .virtual_host("www.example.org");
/// # #[cfg(feature = "tls")]
/// let tls = HttpCheck::new("127.0.0.1:443".parse().unwrap(), vec![HttpUrl::new("/")])
///     .tls(healthcheck::TlsOptions { sni: Some("www.example.org".into()), ..Default::default() })
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct HttpCheck {
    addr: SocketAddr,
    socket: SocketOptions,
    urls: Vec<HttpUrl>,
    virtual_host: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<(TlsConnector, ServerName<'static>)>,
    max_header: usize,
    max_body: usize,
}

impl fmt::Debug for HttpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpCheck");
        d.field("addr", &self.addr)
            .field("urls", &self.urls)
            .field("virtual_host", &self.virtual_host);
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls.as_ref().map(|t| &t.1));
        d.finish()
    }
}

impl HttpCheck {
    /// Plain HTTP GET of `urls` on `addr`.
    pub fn new(addr: SocketAddr, urls: Vec<HttpUrl>) -> Self {
        HttpCheck {
            addr,
            socket: SocketOptions::default(),
            urls,
            virtual_host: None,
            #[cfg(feature = "tls")]
            tls: None,
            max_header: DEFAULT_MAX_HEADER,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Switches to HTTPS (keepalived `SSL_GET`). Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, options: TlsOptions) -> Result<Self, ConfigError> {
        let config = options.client_config()?;
        let name = match &options.sni {
            Some(n) => {
                ServerName::try_from(n.clone()).map_err(|_| ConfigError::ServerName(n.clone()))?
            }
            None => ServerName::IpAddress(self.addr.ip().into()),
        };
        self.tls = Some((TlsConnector::from(config), name));
        Ok(self)
    }

    /// `Host:` header (keepalived `virtualhost`); defaults to the target address.
    pub fn virtual_host(mut self, host: impl Into<String>) -> Self {
        self.virtual_host = Some(host.into());
        self
    }

    /// Source address (keepalived `bindto`).
    pub fn bind(mut self, source: SocketAddr) -> Self {
        self.socket.bind = Some(source);
        self
    }

    /// All socket options (source, interface, fwmark).
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket = options;
        self
    }

    /// Bounds on the response head and on the body read for a digest or a regex.
    pub fn limits(mut self, max_header: usize, max_body: usize) -> Self {
        self.max_header = max_header;
        self.max_body = max_body;
        self
    }

    fn request(&self, url: &HttpUrl) -> Vec<u8> {
        let host = self
            .virtual_host
            .clone()
            .unwrap_or_else(|| self.addr.to_string());
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hakit-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            url.path, host
        )
        .into_bytes()
    }

    async fn fetch_one(&self, url: &HttpUrl) -> Result<(), CheckError> {
        let tcp = connect(self.addr, &self.socket).await?;
        let _ = tcp.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some((connector, name)) = &self.tls {
            let stream = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| CheckError::Tls(e.to_string()))?;
            return self.exchange(stream, url).await;
        }
        self.exchange(tcp, url).await
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        url: &HttpUrl,
    ) -> Result<(), CheckError> {
        stream
            .write_all(&self.request(url))
            .await
            .map_err(|e| CheckError::io("send request", e))?;
        stream
            .flush()
            .await
            .map_err(|e| CheckError::io("send request", e))?;
        let want = BodyWant {
            digest: url.digest.is_some(),
            keep: url.body_regex.is_some(),
        };
        let resp = read_response(&mut stream, self.max_header, self.max_body, want).await?;
        if !url.status.contains(resp.status) {
            return Err(CheckError::HttpStatus {
                got: resp.status,
                expected: url.status.to_string(),
            });
        }
        if let (Some(want), Some(got)) = (url.digest, resp.body_md5) {
            if want != got {
                return Err(CheckError::HttpDigest {
                    got: hex(&got),
                    expected: hex(&want),
                });
            }
        }
        if let Some(re) = &url.body_regex {
            if !re.passes(resp.body.as_deref().unwrap_or_default()) {
                return Err(CheckError::HttpRegex {
                    pattern: re.pattern().to_owned(),
                    must_match: re.is_must_match(),
                });
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Checker for HttpCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        with_timeout(timeout, async {
            for url in &self.urls {
                self.fetch_one(url).await?;
            }
            Ok(Probe::OK)
        })
        .await
    }

    fn kind(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "https";
        }
        "http"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        let s = StatusCodes::new([200..=204, 301..=301]).unwrap();
        assert!(s.contains(204) && s.contains(301) && !s.contains(302));
        assert_eq!(s.to_string(), "200-204,301");
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 300..=200;
        assert!(StatusCodes::new([empty]).is_err());
        assert!(StatusCodes::new([0..=200]).is_err());
    }

    #[test]
    fn digest_hex() {
        let u = HttpUrl::new("/")
            .digest_hex("5d41402abc4b2a76b9719d911017c592")
            .unwrap();
        assert_eq!(hex(&u.digest.unwrap()), "5d41402abc4b2a76b9719d911017c592");
        assert!(HttpUrl::new("/").digest_hex("zz").is_err());
        assert!(HttpUrl::new("/")
            .digest_hex("5d41402abc4b2a76b9719d911017c59g")
            .is_err());
    }
}
