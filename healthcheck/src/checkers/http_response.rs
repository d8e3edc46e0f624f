//! Bounded reading of an HTTP/1.x response: status line and headers, then (only when a
//! digest or a body regex wants it) the body as Content-Length, chunked or close-delimited.

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::CheckError;

/// Status and, if asked for, the MD5 of the body and the body itself.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body_md5: Option<[u8; 16]>,
    pub(crate) body: Option<Vec<u8>>,
}

/// What the caller needs of the body; with neither, the body is not read at all.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BodyWant {
    /// Its MD5 (keepalived `digest`).
    pub(crate) digest: bool,
    /// The bytes themselves (keepalived `regex`).
    pub(crate) keep: bool,
}

enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

const MAX_HEADERS: usize = 64;

/// Reads a response from `r`. `max_header` bounds the head, `max_body` the body (only read
/// when `want` asks for something of it).
pub(crate) async fn read_response<R: AsyncRead + Unpin>(
    r: &mut R,
    max_header: usize,
    max_body: usize,
    want: BodyWant,
) -> Result<Response, CheckError> {
    let mut buf = Vec::with_capacity(1024.min(max_header));
    let (status, framing, head_len) = loop {
        let mut chunk = [0u8; 1024];
        let n = r
            .read(&mut chunk)
            .await
            .map_err(|e| CheckError::io("read HTTP head", e))?;
        if n == 0 {
            return Err(CheckError::HttpMalformed(if buf.is_empty() {
                "connection closed before any reply".into()
            } else {
                "connection closed inside the headers".into()
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            // A head over the limit is refused however the server segments it, whole in
            // one read as much as split over many.
            Ok(httparse::Status::Complete(len)) if len > max_header => {
                return Err(head_too_large(max_header))
            }
            Ok(httparse::Status::Complete(len)) => {
                let status = resp.code.unwrap_or(0);
                let framing = framing_of(resp.headers)?;
                break (status, framing, len);
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > max_header {
                    return Err(head_too_large(max_header));
                }
            }
            Err(e) => return Err(CheckError::HttpMalformed(e.to_string())),
        }
    };
    if !want.digest && !want.keep {
        return Ok(Response {
            status,
            body_md5: None,
            body: None,
        });
    }
    let mut body = BodyReader {
        r,
        pending: buf.split_off(head_len),
        md5: want.digest.then(Md5::new),
        kept: want.keep.then(Vec::new),
        read: 0,
        max_body,
    };
    match framing {
        Framing::Length(n) => {
            if n > max_body as u64 {
                return Err(CheckError::BodyTooLarge(max_body));
            }
            body.take_exact(n as usize).await?;
        }
        Framing::UntilClose => body.take_until_close().await?,
        Framing::Chunked => body.take_chunked().await?,
    }
    Ok(Response {
        status,
        body_md5: body.md5.map(|m| m.finalize().into()),
        body: body.kept,
    })
}

fn head_too_large(max_header: usize) -> CheckError {
    CheckError::HttpMalformed(format!("headers larger than {max_header} bytes"))
}

fn framing_of(headers: &[httparse::Header<'_>]) -> Result<Framing, CheckError> {
    let mut framing = Framing::UntilClose;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = String::from_utf8_lossy(h.value);
            if v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
            {
                return Ok(Framing::Chunked);
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| CheckError::HttpMalformed("bad Content-Length".into()))?;
            framing = Framing::Length(v);
        }
    }
    Ok(framing)
}

struct BodyReader<'a, R> {
    r: &'a mut R,
    /// Bytes already read from the socket but not consumed.
    pending: Vec<u8>,
    md5: Option<Md5>,
    kept: Option<Vec<u8>>,
    read: usize,
    max_body: usize,
}

impl<R: AsyncRead + Unpin> BodyReader<'_, R> {
    /// Refills `pending`; returns false at EOF.
    async fn fill(&mut self) -> Result<bool, CheckError> {
        let mut chunk = [0u8; 4096];
        let n = self
            .r
            .read(&mut chunk)
            .await
            .map_err(|e| CheckError::io("read HTTP body", e))?;
        self.pending.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    fn consume_body(&mut self, n: usize) -> Result<(), CheckError> {
        self.read += n;
        if self.read > self.max_body {
            return Err(CheckError::BodyTooLarge(self.max_body));
        }
        if let Some(md5) = &mut self.md5 {
            md5.update(&self.pending[..n]);
        }
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(&self.pending[..n]);
        }
        self.pending.drain(..n);
        Ok(())
    }

    async fn take_exact(&mut self, mut n: usize) -> Result<(), CheckError> {
        while n > 0 {
            if self.pending.is_empty() && !self.fill().await? {
                return Err(CheckError::HttpMalformed(
                    "body shorter than announced".into(),
                ));
            }
            let k = n.min(self.pending.len());
            self.consume_body(k)?;
            n -= k;
        }
        Ok(())
    }

    async fn take_until_close(&mut self) -> Result<(), CheckError> {
        loop {
            let k = self.pending.len();
            self.consume_body(k)?;
            if !self.fill().await? {
                return Ok(());
            }
        }
    }

    /// A CRLF-terminated line (chunk size or trailer), bounded.
    async fn line(&mut self) -> Result<Vec<u8>, CheckError> {
        loop {
            if let Some(pos) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = self.pending[..pos].to_vec();
                self.pending.drain(..pos + 2);
                return Ok(line);
            }
            if self.pending.len() > 1024 {
                return Err(CheckError::HttpMalformed("chunk header too long".into()));
            }
            if !self.fill().await? {
                return Err(CheckError::HttpMalformed("truncated chunked body".into()));
            }
        }
    }

    async fn take_chunked(&mut self) -> Result<(), CheckError> {
        loop {
            let line = self.line().await?;
            let text = std::str::from_utf8(&line)
                .map_err(|_| CheckError::HttpMalformed("bad chunk size".into()))?;
            let size_hex = text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| CheckError::HttpMalformed(format!("bad chunk size {size_hex:?}")))?;
            if size == 0 {
                // Trailers until the empty line.
                while !self.line().await?.is_empty() {}
                return Ok(());
            }
            if size > self.max_body.saturating_sub(self.read) {
                return Err(CheckError::BodyTooLarge(self.max_body));
            }
            self.take_exact(size).await?;
            if !self.line().await?.is_empty() {
                return Err(CheckError::HttpMalformed("missing CRLF after chunk".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    async fn parse(raw: &[u8], want_body: bool) -> Result<Response, CheckError> {
        let mut r = raw;
        let want = BodyWant {
            digest: want_body,
            keep: want_body,
        };
        read_response(&mut r, 4096, 64, want).await
    }

    #[tokio::test]
    async fn content_length_body() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            md5_hex(r.body_md5.unwrap()),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    #[tokio::test]
    async fn chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\nT: v\r\n\r\n";
        let r = parse(raw, true).await.unwrap();
        assert_eq!(
            md5_hex(r.body_md5.unwrap()),
            "5d41402abc4b2a76b9719d911017c592"
        );
        // The body kept for a regex is the de-chunked payload, without sizes or trailers.
        assert_eq!(r.body.as_deref(), Some(b"hello".as_slice()));
    }

    #[tokio::test]
    async fn close_delimited_body() {
        let r = parse(b"HTTP/1.0 404 Not Found\r\n\r\nhello", true)
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(
            md5_hex(r.body_md5.unwrap()),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }

    #[tokio::test]
    async fn bounds_and_garbage() {
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", true).await,
            Err(CheckError::BodyTooLarge(64))
        ));
        let big = [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &[b'a'; 100]].concat();
        assert!(matches!(
            parse(&big, true).await,
            Err(CheckError::BodyTooLarge(64))
        ));
        assert!(matches!(
            parse(b"\x00\x01garbage\r\n\r\n", false).await,
            Err(CheckError::HttpMalformed(_))
        ));
        assert!(matches!(
            parse(b"", false).await,
            Err(CheckError::HttpMalformed(_))
        ));
        let long_head = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; 8000]].concat();
        assert!(matches!(
            parse(&long_head, false).await,
            Err(CheckError::HttpMalformed(_))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                true
            )
            .await,
            Err(CheckError::HttpMalformed(_))
        ));
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", true).await,
            Err(CheckError::HttpMalformed(_))
        ));
    }

    /// Found by the `checker_replies` fuzz target: a head over the limit that arrived in one
    /// read was accepted, the same head split over several reads refused.
    #[tokio::test]
    async fn a_head_over_the_limit_is_refused_even_in_one_read() {
        let head = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &[b'a'; 4080],
            b"\r\n\r\n",
        ]
        .concat();
        assert!(head.len() > 4096 && head.len() < 4096 + 1024);
        assert!(matches!(
            parse(&head, false).await,
            Err(CheckError::HttpMalformed(m)) if m.contains("larger than 4096")
        ));
        let fits = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &[b'a'; 4000],
            b"\r\n\r\n",
        ]
        .concat();
        assert_eq!(parse(&fits, false).await.unwrap().status, 200);
    }

    #[tokio::test]
    async fn random_and_mutated_replies_never_panic() {
        let seeds: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n0\r\n\r\n",
            b"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nbody",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        for i in 0..3000 {
            let mut buf = seeds[i % seeds.len()].to_vec();
            for _ in 0..rng.usize(1..6) {
                match rng.u8(..3) {
                    0 if !buf.is_empty() => {
                        let at = rng.usize(..buf.len());
                        buf[at] = rng.u8(..);
                    }
                    1 if !buf.is_empty() => buf.truncate(rng.usize(..buf.len())),
                    _ => buf.extend((0..rng.usize(..32)).map(|_| rng.u8(..))),
                }
            }
            let _ = parse(&buf, true).await;
            let _ = parse(&buf, false).await;
        }
    }
}
