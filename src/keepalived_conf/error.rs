//! Typed errors of the keepalived.conf reader; each names the file and line it comes from.

use std::path::PathBuf;

use super::Location;

/// Why a keepalived.conf could not be read. Every variant carries the [`Location`] (file and line)
/// the problem was found at; for whole-file problems (unreadable, too large) the line is that of
/// the `include` that named the file, or 0 for the top-level file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{location}: cannot read {}: {source}", path.display())]
    Io {
        /// Where the file was asked for.
        location: Location,
        /// The file that failed.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file is larger than [`Limits::max_file_size`](super::Limits::max_file_size).
    #[error("{location}: {} is larger than {limit} bytes", path.display())]
    FileTooLarge {
        /// Where the file was asked for.
        location: Location,
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// All files together exceed [`Limits::max_total_size`](super::Limits::max_total_size).
    #[error("{location}: the configuration exceeds {limit} bytes in total")]
    TotalSizeExceeded {
        /// Where the limit was crossed.
        location: Location,
        /// The limit.
        limit: u64,
    },
    /// The tree would hold more than [`Limits::max_nodes`](super::Limits::max_nodes) nodes.
    #[error("{location}: more than {limit} configuration nodes")]
    TooManyNodes {
        /// Where the limit was crossed.
        location: Location,
        /// The limit.
        limit: usize,
    },
    /// More than [`Limits::max_lines`](super::Limits::max_lines) logical lines after includes,
    /// `~SEQ`/`~LST` repetition and multi-line definitions.
    #[error("{location}: more than {limit} lines after expansion")]
    TooManyLines {
        /// Where the limit was crossed.
        location: Location,
        /// The limit.
        limit: usize,
    },
    /// A line (as read, or after `$NAME` substitution) is longer than
    /// [`Limits::max_line_len`](super::Limits::max_line_len); keepalived refuses such lines too.
    #[error("{location}: line longer than {limit} bytes")]
    LineTooLong {
        /// The line.
        location: Location,
        /// The limit.
        limit: usize,
    },
    /// A line holds a NUL byte (keepalived drops such lines with an error).
    #[error("{location}: line contains a NUL byte")]
    EmbeddedNul {
        /// The line.
        location: Location,
    },
    /// A `"` is not closed on its line.
    #[error("{location}: unterminated quote")]
    UnterminatedQuote {
        /// The line.
        location: Location,
    },
    /// A `{` that follows no keyword, or follows one that already has a block.
    #[error("{location}: '{{' without a keyword to open a block for")]
    UnexpectedOpenBrace {
        /// The line of the `{`.
        location: Location,
    },
    /// A `}` with no open block.
    #[error("{location}: extra '}}' found")]
    ExtraCloseBrace {
        /// The line of the `}`.
        location: Location,
    },
    /// The input ended inside a block.
    #[error("{location}: block '{keyword}' is not closed: missing '}}'")]
    MissingCloseBrace {
        /// The line of the keyword whose block is not closed.
        location: Location,
        /// That keyword.
        keyword: String,
    },
    /// `$NAME` substitution on a line did not terminate (a definition refers to itself).
    #[error(
        "{location}: too many $NAME substitutions on one line (a definition refers to itself?)"
    )]
    SubstitutionLoop {
        /// The line.
        location: Location,
    },
    /// A malformed `~SEQ(...)` or `~LST(...)` line.
    #[error("{location}: invalid {what} specification: {reason}")]
    InvalidSequence {
        /// The line.
        location: Location,
        /// `~SEQ` or `~LST`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An include that keepalived would treat as an error under its `include_check` rules (the
    /// `includer`/`includem`/`includew`/`includeb`/`includea` forms, `global_defs { include_check
    /// }`, or [`Reader::include_check`](super::Reader::include_check)).
    #[error("{location}: include '{pattern}': {reason}")]
    Include {
        /// The line of the include.
        location: Location,
        /// The pattern as written (after substitution).
        pattern: String,
        /// What went wrong.
        reason: String,
    },
    /// A file includes itself, directly or through others.
    #[error("{location}: include loop: {} is already being read", path.display())]
    IncludeLoop {
        /// The line of the include.
        location: Location,
        /// The file included again.
        path: PathBuf,
    },
    /// Includes nest deeper than [`Limits::max_include_depth`](super::Limits::max_include_depth).
    #[error("{location}: includes nested deeper than {limit}")]
    IncludeDepth {
        /// The line of the include.
        location: Location,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    /// The file and line the error was found at.
    pub fn location(&self) -> &Location {
        match self {
            Error::Io { location, .. }
            | Error::FileTooLarge { location, .. }
            | Error::TotalSizeExceeded { location, .. }
            | Error::TooManyNodes { location, .. }
            | Error::TooManyLines { location, .. }
            | Error::LineTooLong { location, .. }
            | Error::EmbeddedNul { location }
            | Error::UnterminatedQuote { location }
            | Error::UnexpectedOpenBrace { location }
            | Error::ExtraCloseBrace { location }
            | Error::MissingCloseBrace { location, .. }
            | Error::SubstitutionLoop { location }
            | Error::InvalidSequence { location, .. }
            | Error::Include { location, .. }
            | Error::IncludeLoop { location, .. }
            | Error::IncludeDepth { location, .. } => location,
        }
    }
}
