//! The reading loop: files, lines, the order keepalived reads them in (keepalived 2.4.3
//! `lib/parser.c` `read_line`), and the limits.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::definitions::{definition_line, Definitions, SubstError, Value};
use super::include::{expand, include_line};
use super::lexer::{decomment, is_blank, split_braces, words};
use super::sequence::{parse_lst, seq_head, seq_values, Lst, Seq};
use super::tree::TreeBuilder;
use super::{ConfFile, Error, IncludeCheck, Location, Reader, Warning};

/// The file a line comes from.
#[derive(Debug, Clone)]
struct Ctx {
    file: Rc<PathBuf>,
    dir: Rc<PathBuf>,
    line: u32,
}

impl Ctx {
    fn new(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ctx {
            file: Rc::new(path.to_path_buf()),
            dir: Rc::new(dir),
            line: 0,
        }
    }
    fn loc(&self) -> Location {
        Location {
            file: self.file.as_ref().clone(),
            line: self.line,
        }
    }
}

enum Work {
    /// An open file: its text and how far it has been read.
    File {
        ctx: Ctx,
        id: PathBuf,
        text: String,
        pos: usize,
    },
    /// The files an include matched that are still to be opened.
    Glob {
        paths: VecDeque<PathBuf>,
        ctx: Ctx,
        check: IncludeCheck,
        saved_check: IncludeCheck,
    },
    /// A line to read next (the rest of a line after a brace).
    Line {
        text: String,
        ctx: Ctx,
    },
    /// The remaining lines of a multi-line definition.
    Lines {
        lines: Rc<[String]>,
        next: usize,
        ctx: Ctx,
    },
    Seq {
        seq: Seq,
        ctx: Ctx,
    },
    Lst {
        lst: Lst,
        ctx: Ctx,
    },
}

pub(crate) struct Engine<'r> {
    reader: &'r Reader,
    queue: VecDeque<Work>,
    defs: Definitions,
    tree: TreeBuilder,
    warnings: Vec<Warning>,
    total: u64,
    lines: usize,
    include_check: IncludeCheck,
    collecting: Option<(String, Vec<String>)>,
}

impl<'r> Engine<'r> {
    pub(crate) fn new(reader: &'r Reader) -> Self {
        Engine {
            reader,
            queue: VecDeque::new(),
            defs: Definitions::new(reader.host.as_deref(), reader.random_seed),
            tree: TreeBuilder::new(reader.limits.max_nodes),
            warnings: Vec::new(),
            total: 0,
            lines: 0,
            include_check: reader.include_check,
            collecting: None,
        }
    }

    fn file_id(path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }

    /// Reads a whole file within the limits.
    fn load(&mut self, path: &Path, at: &Location) -> Result<String, Error> {
        let limits = &self.reader.limits;
        let io = |source| Error::Io {
            location: at.clone(),
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(limits.max_file_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limits.max_file_size {
            return Err(Error::FileTooLarge {
                location: at.clone(),
                path: path.to_path_buf(),
                limit: limits.max_file_size,
            });
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn push_file(
        &mut self,
        path: &Path,
        id: PathBuf,
        text: String,
        at: &Location,
    ) -> Result<(), Error> {
        self.total = self.total.saturating_add(text.len() as u64);
        if self.total > self.reader.limits.max_total_size {
            return Err(Error::TotalSizeExceeded {
                location: at.clone(),
                limit: self.reader.limits.max_total_size,
            });
        }
        self.queue.push_front(Work::File {
            ctx: Ctx::new(path),
            id,
            text,
            pos: 0,
        });
        Ok(())
    }

    pub(crate) fn start_file(&mut self, path: &Path) -> Result<(), Error> {
        let at = Location {
            file: path.to_path_buf(),
            line: 0,
        };
        let text = self.load(path, &at)?;
        self.push_file(path, Self::file_id(path), text, &at)
    }

    pub(crate) fn start_str(&mut self, text: &str, path: &Path) -> Result<(), Error> {
        let at = Location {
            file: path.to_path_buf(),
            line: 0,
        };
        if text.len() as u64 > self.reader.limits.max_file_size {
            return Err(Error::FileTooLarge {
                location: at,
                path: path.to_path_buf(),
                limit: self.reader.limits.max_file_size,
            });
        }
        self.push_file(path, Self::file_id(path), text.to_string(), &at)
    }

    pub(crate) fn run(mut self) -> Result<ConfFile, Error> {
        while let Some(front) = self.queue.front_mut() {
            let (text, ctx, raw) = match front {
                Work::File { ctx, text, pos, .. } => {
                    if *pos >= text.len() {
                        self.queue.pop_front();
                        continue;
                    }
                    let end = text[*pos..].find('\n').map_or(text.len(), |o| *pos + o);
                    let line = text[*pos..end].to_string();
                    *pos = end + 1;
                    ctx.line = ctx.line.saturating_add(1);
                    (line, ctx.clone(), true)
                }
                Work::Glob {
                    paths,
                    ctx,
                    check,
                    saved_check,
                } => {
                    let Some(path) = paths.pop_front() else {
                        self.include_check = *saved_check;
                        self.queue.pop_front();
                        continue;
                    };
                    let (ctx, check) = (ctx.clone(), *check);
                    self.open_included(&path, &ctx, check)?;
                    continue;
                }
                Work::Line { .. } => match self.queue.pop_front() {
                    Some(Work::Line { text, ctx }) => (text, ctx, false),
                    _ => continue,
                },
                Work::Lines { lines, next, ctx } => match lines.get(*next) {
                    Some(line) => {
                        *next += 1;
                        (line.clone(), ctx.clone(), false)
                    }
                    None => {
                        self.queue.pop_front();
                        continue;
                    }
                },
                Work::Seq { seq, ctx } => match seq.advance() {
                    Some(value) => {
                        let (var, text, ctx) = (seq.var.clone(), seq.text.clone(), ctx.clone());
                        self.defs.set(&var, Value::Line(value));
                        (text, ctx, false)
                    }
                    None => {
                        self.queue.pop_front();
                        continue;
                    }
                },
                Work::Lst { lst, ctx } => match lst.sets.get(lst.next) {
                    Some(values) => {
                        lst.next += 1;
                        for (var, value) in lst.vars.iter().zip(values) {
                            self.defs.set(var, Value::Line(value.clone()));
                        }
                        (lst.text.clone(), ctx.clone(), false)
                    }
                    None => {
                        self.queue.pop_front();
                        continue;
                    }
                },
            };
            self.lines += 1;
            if self.lines > self.reader.limits.max_lines {
                return Err(Error::TooManyLines {
                    location: ctx.loc(),
                    limit: self.reader.limits.max_lines,
                });
            }
            if raw {
                self.raw_line(&text, &ctx)?;
            } else {
                self.logical(text, &ctx)?;
            }
        }
        self.finish_definition();
        let nodes = self.tree.finish()?;
        Ok(ConfFile {
            nodes,
            warnings: self.warnings,
        })
    }

    fn open_included(&mut self, path: &Path, ctx: &Ctx, check: IncludeCheck) -> Result<(), Error> {
        let at = ctx.loc();
        let id = Self::file_id(path);
        if self
            .queue
            .iter()
            .any(|w| matches!(w, Work::File { id: open, .. } if *open == id))
        {
            return Err(Error::IncludeLoop {
                location: at,
                path: path.to_path_buf(),
            });
        }
        match self.load(path, &at) {
            Ok(text) => self.push_file(path, id, text, &at),
            Err(Error::Io { source, .. })
                if !(check | self.include_check).intersects(IncludeCheck::READ) =>
            {
                self.warnings.push(Warning {
                    location: at,
                    message: format!("cannot read {} ({source}) - skipping", path.display()),
                });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn finish_definition(&mut self) {
        if let Some((name, lines)) = self.collecting.take() {
            self.defs.set_multi(&name, lines);
        }
    }

    fn raw_line(&mut self, raw: &str, ctx: &Ctx) -> Result<(), Error> {
        if raw.len() > self.reader.limits.max_line_len {
            return Err(Error::LineTooLong {
                location: ctx.loc(),
                limit: self.reader.limits.max_line_len,
            });
        }
        if raw.contains('\0') {
            return Err(Error::EmbeddedNul {
                location: ctx.loc(),
            });
        }
        if raw.is_empty() {
            // An empty line ends a multi-line definition.
            self.finish_definition();
            return Ok(());
        }
        let d = decomment(raw.trim_end_matches(['\r', '\n']));
        if d.open_quote {
            return Err(Error::UnterminatedQuote {
                location: ctx.loc(),
            });
        }
        if d.text.is_empty() {
            return Ok(());
        }
        self.logical(d.text, ctx)
    }

    /// One line after comment removal, from a file or from an expansion.
    fn logical(&mut self, mut line: String, ctx: &Ctx) -> Result<(), Error> {
        if let Some((_, lines)) = &mut self.collecting {
            match line.strip_suffix('\\') {
                Some(body) => {
                    let body = body.trim_end_matches(is_blank);
                    if !body.is_empty() {
                        lines.push(body.to_string());
                    }
                }
                None => {
                    lines.push(line);
                    self.finish_definition();
                }
            }
            return Ok(());
        }
        if line.is_empty() {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix('@') {
            let (rev, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let Some(sp) = rest.find([' ', '\t']) else {
                return Ok(());
            };
            let matches = self.reader.host.as_deref() == Some(&rest[..sp]);
            if matches == rev {
                return Ok(());
            }
            line = rest[sp..].trim_start_matches(is_blank).to_string();
        }
        if let Some(d) = definition_line(&line) {
            if d.multiline {
                let first = if d.value.is_empty() {
                    vec![]
                } else {
                    vec![d.value.to_string()]
                };
                self.collecting = Some((d.name.to_string(), first));
            } else {
                self.defs.set(d.name, Value::Line(d.value.to_string()));
            }
            return Ok(());
        }
        let invalid = |what: &'static str, reason: String| Error::InvalidSequence {
            location: ctx.loc(),
            what,
            reason,
        };
        if line.starts_with("~SEQ") {
            let (hex, var, params, text) = seq_head(&line).map_err(|r| invalid("~SEQ", r))?;
            let mut params = params.to_string();
            let sub = self.defs.substitute(&mut params, &ctx.dir, 3 * 20 + 3);
            match sub {
                Ok(s) if s.pending.is_empty() => {}
                Ok(_) => {
                    return Err(invalid(
                        "~SEQ",
                        "a parameter is a multi-line definition".into(),
                    ))
                }
                Err(_) => return Err(invalid("~SEQ", "parameter strings too long".into())),
            }
            let (start, step, end) = seq_values(hex, &params).map_err(|r| invalid("~SEQ", r))?;
            let seq = Seq {
                var: var.to_string(),
                next: start,
                step,
                last: end,
                hex,
                text: text.to_string(),
                done: false,
            };
            self.queue.push_front(Work::Seq {
                seq,
                ctx: ctx.clone(),
            });
            return Ok(());
        }
        if line.starts_with("~LST") {
            let lst = parse_lst(&line).map_err(|r| invalid("~LST", r))?;
            self.queue.push_front(Work::Lst {
                lst,
                ctx: ctx.clone(),
            });
            return Ok(());
        }
        if !line.starts_with('~') && line.contains('$') {
            let max = self.reader.limits.max_line_len;
            let sub = self
                .defs
                .substitute(&mut line, &ctx.dir, max)
                .map_err(|e| match e {
                    SubstError::TooLong => Error::LineTooLong {
                        location: ctx.loc(),
                        limit: max,
                    },
                    SubstError::Loop => Error::SubstitutionLoop {
                        location: ctx.loc(),
                    },
                })?;
            for lines in sub.pending {
                self.queue.push_front(Work::Lines {
                    lines,
                    next: 0,
                    ctx: ctx.clone(),
                });
            }
            if sub.changed {
                let d = decomment(&line);
                if d.open_quote {
                    return Err(Error::UnterminatedQuote {
                        location: ctx.loc(),
                    });
                }
                line = d.text;
            }
        }
        if line.is_empty() {
            return Ok(());
        }
        if let Some((check, pattern)) = include_line(&line) {
            return self.include(check, pattern, ctx);
        }
        let (head, rest) = split_braces(&line);
        if let Some(rest) = rest {
            self.queue.push_front(Work::Line {
                text: rest.to_string(),
                ctx: ctx.clone(),
            });
        }
        match head {
            "{" => self.tree.open_brace(ctx.loc()),
            "}" => self.tree.close_brace(ctx.loc()),
            _ => {
                let words = words(head).map_err(|()| Error::UnterminatedQuote {
                    location: ctx.loc(),
                })?;
                if words.is_empty() {
                    return Ok(());
                }
                let in_global_defs = self.tree.path().eq(["global_defs"]);
                let node = self.tree.line(words, ctx.loc())?;
                if in_global_defs && node.keyword == "include_check" {
                    self.include_check = self.include_check.updated(&node.args);
                }
                Ok(())
            }
        }
    }

    fn include(&mut self, check: IncludeCheck, pattern: &str, ctx: &Ctx) -> Result<(), Error> {
        let depth = self
            .queue
            .iter()
            .filter(|w| matches!(w, Work::File { .. }))
            .count();
        let limit = self.reader.limits.max_include_depth;
        if depth > limit {
            return Err(Error::IncludeDepth {
                location: ctx.loc(),
                limit,
            });
        }
        let (files, problems) = expand(pattern, &ctx.dir);
        let effective = check | self.include_check;
        for p in problems {
            if effective.intersects(p.class) {
                return Err(Error::Include {
                    location: ctx.loc(),
                    pattern: pattern.to_string(),
                    reason: p.message,
                });
            }
            self.warnings.push(Warning {
                location: ctx.loc(),
                message: format!("include '{pattern}': {}", p.message),
            });
        }
        self.queue.push_front(Work::Glob {
            paths: files.into(),
            ctx: ctx.clone(),
            check,
            saved_check: self.include_check,
        });
        Ok(())
    }
}
