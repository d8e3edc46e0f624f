//! The syntax tree: each line is a [`Node`]; a `{` opens a block for the node before it (on the
//! same line or an earlier one), `}` closes it. keepalived reads all files as one stream, so a
//! block may be opened in one file and closed in an included one.

use std::fmt;
use std::path::PathBuf;

use super::Error;

/// Where a node (or an error) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file (as named by the caller or the include pattern).
    pub file: PathBuf,
    /// 1-based line number in that file (0 when no line applies).
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One configuration line: its first word, the other words, and the lines of the `{ ... }` block
/// that follows it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The first word (`vrrp_instance`, `priority`, or for value blocks the value itself, e.g.
    /// `10.0.0.1/24` inside `virtual_ipaddress`).
    pub keyword: String,
    /// The other words; a `"quoted string"` is one word without its quotes.
    pub args: Vec<String>,
    /// The block's lines (empty when there is no block or an empty one).
    pub children: Vec<Node>,
    /// Where the line is (for lines made by `~SEQ` or a multi-line definition: the line that
    /// produced them).
    pub location: Location,
}

impl Node {
    /// The first child with this keyword.
    pub fn child(&self, keyword: &str) -> Option<&Node> {
        self.children.iter().find(|n| n.keyword == keyword)
    }
}

/// A whole configuration: its top-level nodes, plus what keepalived would only log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    /// The top-level nodes, in order.
    pub nodes: Vec<Node>,
    /// Problems keepalived logs without failing (e.g. a plain `include` that matches no file).
    pub warnings: Vec<Warning>,
}

/// A problem that keepalived only logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

struct Open {
    node: Node,
    last_can_open: bool,
}

/// Builds the tree from lines and braces.
pub(crate) struct TreeBuilder {
    top: Vec<Node>,
    top_can_open: bool,
    open: Vec<Open>,
    count: usize,
    max_nodes: usize,
}

impl TreeBuilder {
    pub(crate) fn new(max_nodes: usize) -> Self {
        TreeBuilder {
            top: Vec::new(),
            top_can_open: false,
            open: Vec::new(),
            count: 0,
            max_nodes,
        }
    }

    fn level(&mut self) -> (&mut Vec<Node>, &mut bool) {
        match self.open.last_mut() {
            Some(o) => (&mut o.node.children, &mut o.last_can_open),
            None => (&mut self.top, &mut self.top_can_open),
        }
    }

    /// The keywords of the open blocks, outermost first.
    pub(crate) fn path(&self) -> impl Iterator<Item = &str> {
        self.open.iter().map(|o| o.node.keyword.as_str())
    }

    pub(crate) fn line(
        &mut self,
        mut words: Vec<String>,
        location: Location,
    ) -> Result<&Node, Error> {
        if self.count >= self.max_nodes {
            return Err(Error::TooManyNodes {
                location,
                limit: self.max_nodes,
            });
        }
        self.count += 1;
        let keyword = if words.is_empty() {
            String::new()
        } else {
            words.remove(0)
        };
        let (level, can_open) = self.level();
        *can_open = true;
        level.push(Node {
            keyword,
            args: words,
            children: Vec::new(),
            location,
        });
        Ok(level.last().expect("just pushed"))
    }

    pub(crate) fn open_brace(&mut self, location: Location) -> Result<(), Error> {
        let (level, can_open) = self.level();
        if !*can_open {
            return Err(Error::UnexpectedOpenBrace { location });
        }
        *can_open = false;
        let Some(node) = level.pop() else {
            return Err(Error::UnexpectedOpenBrace { location });
        };
        self.open.push(Open {
            node,
            last_can_open: false,
        });
        Ok(())
    }

    pub(crate) fn close_brace(&mut self, location: Location) -> Result<(), Error> {
        let Some(done) = self.open.pop() else {
            return Err(Error::ExtraCloseBrace { location });
        };
        let (level, can_open) = self.level();
        level.push(done.node);
        *can_open = false;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Vec<Node>, Error> {
        if let Some(o) = self.open.pop() {
            return Err(Error::MissingCloseBrace {
                location: o.node.location,
                keyword: o.node.keyword,
            });
        }
        Ok(self.top)
    }
}
