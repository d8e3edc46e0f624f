//! `SMTP_CHECK`: banner 220, `HELO`, reply 250, `QUIT` (KA `check_smtp.c`).

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::socket_options::SocketOptions;
use super::tcp::connect;
use crate::checker::{with_timeout, Checker, Probe};
use crate::error::CheckError;

/// Longest reply line accepted (RFC 5321 allows 512 octets).
const MAX_LINE: usize = 1024;
/// Most continuation lines accepted in one reply.
const MAX_LINES: usize = 64;

/// Up when the server greets with 220 and answers `HELO helo_name` with 250.
///
/// ```
/// use healthcheck::SmtpCheck;
/// let check = SmtpCheck::new("127.0.0.1:25".parse().unwrap()).helo_name("lb1.example.org");
/// ```
#[derive(Debug, Clone)]
pub struct SmtpCheck {
    addr: SocketAddr,
    socket: SocketOptions,
    helo_name: String,
}

impl SmtpCheck {
    /// Check the SMTP server at `addr`; `HELO` name defaults to `localhost`.
    pub fn new(addr: SocketAddr) -> Self {
        SmtpCheck {
            addr,
            socket: SocketOptions::default(),
            helo_name: "localhost".into(),
        }
    }

    /// keepalived `helo_name`.
    pub fn helo_name(mut self, name: impl Into<String>) -> Self {
        self.helo_name = name.into();
        self
    }

    /// Socket options (source, interface, fwmark).
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket = options;
        self
    }
}

/// Reads one (possibly multi-line) reply and returns its code.
pub(crate) async fn reply_code<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<u16, CheckError> {
    for _ in 0..MAX_LINES {
        let mut line = Vec::new();
        let n = AsyncReadExt::take(&mut *r, MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| CheckError::io("read SMTP reply", e))?;
        if n == 0 {
            return Err(CheckError::BadReply("connection closed".into()));
        }
        if !line.ends_with(b"\n") {
            return Err(CheckError::BadReply("SMTP line too long".into()));
        }
        let code = std::str::from_utf8(line.get(..3).unwrap_or_default())
            .ok()
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| CheckError::BadReply("no SMTP reply code".into()))?;
        // "250-..." continues, "250 ..." (or a bare code) ends the reply.
        if line.get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
    Err(CheckError::BadReply(
        "SMTP reply with too many lines".into(),
    ))
}

#[async_trait]
impl Checker for SmtpCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        with_timeout(timeout, async {
            let stream = connect(self.addr, &self.socket).await?;
            let (rd, mut wr) = stream.into_split();
            let mut rd = BufReader::new(rd);
            let banner = reply_code(&mut rd).await?;
            if banner != 220 {
                return Err(CheckError::BadReply(format!("banner {banner}, want 220")));
            }
            let helo = format!("HELO {}\r\n", self.helo_name);
            wr.write_all(helo.as_bytes())
                .await
                .map_err(|e| CheckError::io("send HELO", e))?;
            let code = reply_code(&mut rd).await?;
            // Say goodbye politely either way; the verdict does not depend on it.
            let _ = wr.write_all(b"QUIT\r\n").await;
            if code != 250 {
                return Err(CheckError::BadReply(format!(
                    "HELO answered {code}, want 250"
                )));
            }
            Ok(Probe::OK)
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "smtp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn code(raw: &[u8]) -> Result<u16, CheckError> {
        reply_code(&mut BufReader::new(raw)).await
    }

    #[tokio::test]
    async fn replies() {
        assert_eq!(code(b"220 mx ESMTP\r\n").await.unwrap(), 220);
        assert_eq!(
            code(b"250-mx\r\n250-PIPELINING\r\n250 OK\r\n")
                .await
                .unwrap(),
            250
        );
        assert!(code(b"").await.is_err());
        assert!(code(b"2x0 hm\r\n").await.is_err());
        assert!(code(b"220 unterminated").await.is_err());
        assert!(code(&[b'2'; 5000]).await.is_err());
        assert!(code(&b"250-x\r\n".repeat(100)).await.is_err());
    }
}
