//! Error types: why a probe failed ([`CheckError`]) and why a configuration was refused
//! ([`ConfigError`]).

use std::io;
use std::time::Duration;

/// Why one probe of a checker failed. A failed probe counts as one failure for the
/// fall/rise (or retry) logic; it never panics and never stops the check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The probe did not finish within its timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Creating, binding or connecting the socket failed.
    #[error("connect to {target}: {source}")]
    Connect {
        /// What we tried to reach.
        target: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An I/O error after the connection was set up.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake failed (bad certificate when verifying, protocol error...).
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP reply could not be parsed (garbage, truncated, oversized headers).
    #[error("malformed HTTP reply: {0}")]
    HttpMalformed(String),
    /// The HTTP status code is not among the expected ones.
    #[error("HTTP status {got} not in {expected}")]
    HttpStatus {
        /// Status code received.
        got: u16,
        /// The expected codes, as configured.
        expected: String,
    },
    /// The MD5 digest of the body does not match the configured one.
    #[error("body digest {got} != expected {expected}")]
    HttpDigest {
        /// Hex MD5 of the body received.
        got: String,
        /// Hex MD5 expected.
        expected: String,
    },
    /// The body did not contain the `regex` pattern, or contained the `regex_no_match` one.
    #[error("body {} /{pattern}/", if *must_match { "does not match" } else { "matches" })]
    HttpRegex {
        /// The pattern as configured.
        pattern: String,
        /// `true` for keepalived `regex`, `false` for `regex_no_match`.
        must_match: bool,
    },
    /// The body was larger than the configured bound.
    #[error("HTTP body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The program could not be started.
    #[error("spawn {program}: {source}")]
    Spawn {
        /// argv\[0\].
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The program exited with a failing status.
    #[error("exit status {0}")]
    ExitStatus(i32),
    /// The program was killed by a signal.
    #[error("killed by signal {0}")]
    Signaled(i32),
    /// The peer answered with an ICMP unreachable (connection refused on UDP).
    #[error("destination unreachable (ICMP)")]
    Unreachable,
    /// No reply arrived although one was required.
    #[error("no reply")]
    NoReply,
    /// A reply arrived but did not match what was expected.
    #[error("unexpected reply: {0}")]
    BadReply(String),
    /// The DNS server answered with a non-zero RCODE.
    #[error("DNS rcode {0}")]
    DnsRcode(u8),
    /// The DNS answer section holds no record of the queried type.
    #[error("DNS answer holds no record of type {0}")]
    DnsNoAnswer(u16),
    /// A tracked file could not be read or holds no number.
    #[error("track file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The number of matching processes is out of the configured range.
    #[error("{found} process(es) named {name:?}, need {min}..={max}")]
    ProcessCount {
        /// Name looked for.
        name: String,
        /// How many were found.
        found: u32,
        /// Minimum (keepalived `quorum`).
        min: u32,
        /// Maximum (keepalived `quorum_max`).
        max: u32,
    },
}

impl CheckError {
    pub(crate) fn io(context: &'static str, source: io::Error) -> Self {
        CheckError::Io { context, source }
    }

    /// A short stable name for the error kind, for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckError::Timeout(_) => "timeout",
            CheckError::Connect { .. } => "connect",
            CheckError::Io { .. } => "io",
            CheckError::Tls(_) => "tls",
            CheckError::HttpMalformed(_) => "http_malformed",
            CheckError::HttpStatus { .. } => "http_status",
            CheckError::HttpDigest { .. } => "http_digest",
            CheckError::HttpRegex { .. } => "http_regex",
            CheckError::BodyTooLarge(_) => "body_too_large",
            CheckError::Spawn { .. } => "spawn",
            CheckError::ExitStatus(_) => "exit_status",
            CheckError::Signaled(_) => "signaled",
            CheckError::Unreachable => "unreachable",
            CheckError::NoReply => "no_reply",
            CheckError::BadReply(_) => "bad_reply",
            CheckError::DnsRcode(_) => "dns_rcode",
            CheckError::DnsNoAnswer(_) => "dns_no_answer",
            CheckError::File { .. } => "file",
            CheckError::ProcessCount { .. } => "process_count",
        }
    }
}

/// A configuration that cannot work (caught when building a checker or a check).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `rise` or `fall` is 0 (keepalived requires ≥ 1).
    #[error("rise and fall must be at least 1")]
    ZeroRiseFall,
    /// The interval is zero.
    #[error("interval must be non-zero")]
    ZeroInterval,
    /// The timeout is zero.
    #[error("timeout must be non-zero")]
    ZeroTimeout,
    /// An exec check needs at least argv\[0\].
    #[error("empty argv")]
    EmptyArgv,
    /// A status code range is empty or outside 100..=599.
    #[error("bad status range {0}..={1}")]
    StatusRange(u16, u16),
    /// A digest is not 32 hex digits.
    #[error("digest must be 32 hex digits")]
    Digest,
    /// A body regex does not compile (syntax, or a PCRE feature such as look-around).
    #[error("bad regex {pattern:?}: {reason}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
    /// `regex_min_offset` is above `regex_max_offset`, or an offset was given without a
    /// regex.
    #[error("bad regex offsets: {0}")]
    RegexOffsets(String),
    /// A reply pattern is not hex with `x` wildcards.
    #[error("bad reply pattern: {0}")]
    Pattern(String),
    /// A DNS name is invalid (label longer than 63 or name longer than 255).
    #[error("bad DNS name {0:?}")]
    DnsName(String),
    /// The TLS configuration could not be built.
    #[error("TLS config: {0}")]
    Tls(String),
    /// [`Monitor::add`](crate::Monitor::add) was called outside a tokio runtime.
    #[error("no tokio runtime to run the check on")]
    NoRuntime,
    /// A name given for SNI or verification is not a valid DNS name or IP.
    #[error("bad server name {0:?}")]
    ServerName(String),
}
