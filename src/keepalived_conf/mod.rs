//! A reader for keepalived.conf: keepalived's lexical rules, giving a syntax tree.
//!
//! This is the front end only: it knows no keywords. Each configuration line becomes a [`Node`]
//! (first word, other words, the lines of the `{ ... }` block after it), and the rules keepalived
//! 2.4.3 applies while reading (`lib/parser.c`) are applied on the way:
//!
//! - `!` and `#` start a comment, on a line of their own or after text, except inside `"..."`;
//!   `\!` and `\#` outside quotes are the characters themselves.
//! - Words are separated by white space; `"a b"` is one word `a b` (quotes removed). A quote left
//!   open is an error.
//! - `{` and `}` may stand anywhere outside quotes: `vrrp_instance VI_1 {` or `{` on the next
//!   line, several blocks on one line, `virtual_ipaddress { 10.0.0.1/24 }`. A `{` opens a block
//!   for the line before it; an unexpected `{`, a `}` too many and a missing `}` are errors.
//! - `include PATTERN` reads the files matching a glob pattern (with `{a,b}` alternatives),
//!   relative to the including file's directory, in sorted order, at that point. A plain `include`
//!   that matches nothing is only a [`Warning`], as in keepalived; `includer`, `includem`,
//!   `includew`, `includeb` and `includea`, `global_defs { include_check ... }` and
//!   [`Reader::include_check`] make such problems errors ([`IncludeCheck`]). Include loops and
//!   nesting beyond [`Limits::max_include_depth`] are errors.
//! - `$NAME=value` defines `NAME` (no blank before `=`); a value ending in `\` continues on the next
//!   lines up to one that does not (or an empty line). `$NAME` (followed by a blank, `,`, `)` or the
//!   end of the line) and `${NAME}` are replaced by the value; a multi-line value only at the end of
//!   a line, its further lines then being read as lines of their own. An undefined name is left as
//!   written, as keepalived does. keepalived's standard definitions `${_PWD}`, `${_INSTANCE}`,
//!   `${_RANDOM [MIN [MAX]]}`, `${_ENV NAME}`, `${_HASH}` and `${_BANG}` are provided.
//! - `@host rest` reads `rest` only when the host name (keepalived's config id) is `host`;
//!   `@^host rest` only when it is not.
//! - `~SEQ(VAR, start, step, end) rest` (or `~SEQ(VAR, end)`, `~SEQ(VAR, start, end)`, and
//!   `~SEQx` for hexadecimal values) reads `rest` once per value with `$VAR` set;
//!   `~LST(VAR, v1, v2)` and `~LST({A, B}, {a1, b1}, {a2, b2})` do the same over listed values.
//!   These nest, and repeat a block when `rest` holds one or names a multi-line definition.
//! - keepalived has no general line continuation: a trailing `\` only continues a definition.
//!
//! Every input gives a tree or an [`Error`] naming the file and line; [`Limits`] bound memory and
//! time.

mod definitions;
mod error;
mod include;
mod lexer;
mod reader;
mod route_names;
mod sequence;
mod to_config;
#[cfg(feature = "ipvs")]
mod to_virtual_server;
mod tree;

use std::ops::BitOr;
use std::path::Path;

pub use error::Error;
pub use to_config::{to_config, MapError};
pub use tree::{ConfFile, Location, Node, Warning};

/// Bounds on what one read may consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How deeply includes may nest (the top file includes at depth 1).
    pub max_include_depth: usize,
    /// Largest size of one file, in bytes.
    pub max_file_size: u64,
    /// Largest size of all files read, in bytes.
    pub max_total_size: u64,
    /// Most nodes in the tree.
    pub max_nodes: usize,
    /// Most lines read, counting those made by `~SEQ`/`~LST`, multi-line definitions and the
    /// splitting of lines at braces.
    pub max_lines: usize,
    /// Longest line, as read or after `$NAME` substitution (keepalived's own buffer is 1024 bytes).
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_include_depth: 32,
            max_file_size: 16 << 20,
            max_total_size: 64 << 20,
            max_nodes: 500_000,
            max_lines: 5_000_000,
            max_line_len: 1024,
        }
    }
}

/// Which include problems are errors (keepalived's `include_check`); the others are warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct IncludeCheck(u8);

impl IncludeCheck {
    /// No include problem is an error (keepalived's default for `include`).
    pub const NONE: Self = IncludeCheck(0);
    /// A matched file that cannot be read, is a directory or is executable (`read`).
    pub const READ: Self = IncludeCheck(1);
    /// A file or directory named without wildcards is missing (`match`).
    pub const MATCH: Self = IncludeCheck(2);
    /// A wildcard pattern matches nothing (`wildcard_match`).
    pub const WILDCARD_MATCH: Self = IncludeCheck(4);
    /// A `{a,b}` alternative is missing (`brace_match`).
    pub const BRACE_MATCH: Self = IncludeCheck(8);
    /// All of them (keepalived's `-e`, `includea`, or `include_check` without arguments).
    pub const ALL: Self = IncludeCheck(15);

    /// Whether any check of `other` is in `self`.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Applies `include_check WORD...` as keepalived does: no word sets all checks; `read`,
    /// `match`, `wildcard_match`, `brace_match` set that check plus `read`; `+word` adds and
    /// `-word` removes one. Unknown words are ignored.
    pub fn updated(self, words: &[String]) -> Self {
        if words.is_empty() {
            return Self::ALL;
        }
        let mut cur = self;
        for (i, word) in words.iter().enumerate() {
            let (op, name) = match word.as_bytes().first() {
                Some(b'+') => (1, &word[1..]),
                Some(b'-') => (-1, &word[1..]),
                _ => (0, word.as_str()),
            };
            if op == 0 && i > 0 {
                continue;
            }
            let flag = match name {
                "read" => Self::READ,
                "match" => Self::MATCH,
                "wildcard_match" => Self::WILDCARD_MATCH,
                "brace_match" => Self::BRACE_MATCH,
                _ => {
                    if op == 0 {
                        cur = Self::NONE;
                    }
                    continue;
                }
            };
            cur = match op {
                0 => Self::READ | flag,
                1 => cur | flag,
                _ => IncludeCheck(cur.0 & !flag.0),
            };
        }
        cur
    }
}

impl BitOr for IncludeCheck {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        IncludeCheck(self.0 | rhs.0)
    }
}

/// Reads keepalived.conf files into a [`ConfFile`].
///
/// ```
/// use hakit::keepalived_conf::Reader;
///
/// let text = "\
/// $VIP=10.0.0.1/24          ! a definition
/// vrrp_instance VI_1 {
///     @node1 priority 150
///     @^node1 priority 100
///     virtual_ipaddress { $VIP }
/// }
/// ";
/// let conf = Reader::new()
///     .host(Some("node2"))
///     .read_str(text, "/etc/keepalived/keepalived.conf")
///     .unwrap();
/// let vi = &conf.nodes[0];
/// assert_eq!((vi.keyword.as_str(), vi.args.as_slice()), ("vrrp_instance", &["VI_1".to_string()][..]));
/// assert_eq!(vi.children[0].keyword, "priority");
/// assert_eq!(vi.children[0].args, ["100"]);
/// assert_eq!(vi.child("virtual_ipaddress").unwrap().children[0].keyword, "10.0.0.1/24");
/// assert_eq!(vi.children[0].location.line, 4);
/// ```
#[derive(Debug, Clone)]
pub struct Reader {
    host: Option<String>,
    limits: Limits,
    include_check: IncludeCheck,
    random_seed: u64,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

/// The machine's short host name (keepalived's default config id: the node name up to the first
/// `.`), from `/proc/sys/kernel/hostname`.
pub fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next().unwrap_or_default();
    (!short.is_empty()).then(|| short.to_string())
}

impl Reader {
    /// A reader with the machine's host name ([`host_name`]), default [`Limits`] and no
    /// [`IncludeCheck`].
    pub fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Reader {
            host: host_name(),
            limits: Limits::default(),
            include_check: IncludeCheck::NONE,
            random_seed: seed,
        }
    }

    /// The host name `@host` lines are compared with (keepalived's `-i` config id); `None`: no
    /// `@host` line applies and every `@^host` line does.
    pub fn host(mut self, host: Option<&str>) -> Self {
        self.host = host.map(str::to_string);
        self
    }

    /// The limits of a read.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Include problems to treat as errors from the start (keepalived's `-e` is
    /// [`IncludeCheck::ALL`]).
    pub fn include_check(mut self, check: IncludeCheck) -> Self {
        self.include_check = check;
        self
    }

    /// The seed of `${_RANDOM}` (default: the clock).
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = seed;
        self
    }

    /// Reads a file and the files it includes.
    pub fn read_file(&self, path: impl AsRef<Path>) -> Result<ConfFile, Error> {
        let mut engine = reader::Engine::new(self);
        engine.start_file(path.as_ref())?;
        engine.run()
    }

    /// Reads `text` as if it were the file `pretend_path`: errors and nodes name that path, and
    /// relative includes and `${_PWD}` use its directory.
    pub fn read_str(&self, text: &str, pretend_path: impl AsRef<Path>) -> Result<ConfFile, Error> {
        let mut engine = reader::Engine::new(self);
        engine.start_str(text, pretend_path.as_ref())?;
        engine.run()
    }
}
