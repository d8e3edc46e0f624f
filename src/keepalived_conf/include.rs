//! `include PATTERN` (keepalived 2.4.3 `lib/parser.c`: `is_include`, `check_include`,
//! `open_and_check_glob`, `check_glob_file`, `open_conf_file`).
//!
//! The pattern is the rest of the line. keepalived changes directory to each file it opens, so a
//! relative pattern is relative to the including file's directory. It is expanded by `glob(3)` with
//! `GLOB_BRACE` (`{a,b}` alternatives, each globbed in turn) and sorted matches; directories and
//! executable files are skipped. Whether a problem is an error or only logged depends on the
//! include form and `include_check` (see [`IncludeCheck`]).

use std::path::{Path, PathBuf};

use super::IncludeCheck;

/// An `include` line: its form's checks and its pattern.
pub(crate) fn include_line(line: &str) -> Option<(IncludeCheck, &str)> {
    let rest = line.strip_prefix("include")?;
    let b = rest.as_bytes();
    let space = |c: u8| c.is_ascii_whitespace() || c == b'\x0b';
    let (check, pattern) = match (b.first(), b.get(1)) {
        (Some(&c), _) if space(c) => (IncludeCheck::NONE, &rest[1..]),
        (Some(&c), Some(&s)) if space(s) => {
            let check = match c {
                b'r' => IncludeCheck::READ,
                b'm' => IncludeCheck::READ | IncludeCheck::MATCH,
                b'w' => IncludeCheck::READ | IncludeCheck::MATCH | IncludeCheck::WILDCARD_MATCH,
                b'b' => IncludeCheck::READ | IncludeCheck::BRACE_MATCH,
                b'a' => IncludeCheck::ALL,
                _ => return None,
            };
            (check, &rest[2..])
        }
        _ => return None,
    };
    Some((check, pattern.trim_start_matches(super::lexer::is_blank)))
}

/// One problem met while expanding a pattern, with the check class that makes it an error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub class: IncludeCheck,
    pub message: String,
}

/// Expands `{a,b}` alternatives (nested allowed, `\` escapes a brace), at most `limit` results.
pub(crate) fn expand_braces(pattern: &str, limit: usize) -> Option<Vec<String>> {
    let b = pattern.as_bytes();
    let mut i = 0;
    let mut open = None;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => {
                open = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(open) = open else {
        return Some(vec![pattern.to_string()]);
    };
    let mut depth = 0;
    let mut commas = vec![];
    let mut close = None;
    let mut j = open;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(j),
            _ => {}
        }
        j += 1;
    }
    let Some(close) = close else {
        return Some(vec![pattern.to_string()]);
    };
    let mut cuts = vec![open];
    cuts.extend(commas);
    cuts.push(close);
    let mut out = Vec::new();
    for w in cuts.windows(2) {
        let alt = format!(
            "{}{}{}",
            &pattern[..open],
            &pattern[w[0] + 1..w[1]],
            &pattern[close + 1..]
        );
        for e in expand_braces(&alt, limit)? {
            if out.len() >= limit {
                return None;
            }
            out.push(e);
        }
    }
    Some(out)
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a pattern relative to `dir`: the files to read, in keepalived's order, and the problems
/// met (each with the check that makes it an error).
pub(crate) fn expand(pattern: &str, dir: &Path) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let has_brace = pattern.contains('{');
    let Some(alternatives) = expand_braces(pattern, 1024) else {
        problems.push(Problem {
            class: IncludeCheck::READ,
            message: "too many brace alternatives".into(),
        });
        return (files, problems);
    };
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut missing = false;
    let mut any = false;
    for alt in &alternatives {
        let full = if Path::new(alt).is_absolute() {
            alt.clone()
        } else {
            let base = glob::Pattern::escape(&dir.to_string_lossy());
            format!("{}/{alt}", base.trim_end_matches('/'))
        };
        let matches: Vec<PathBuf> = match glob::glob_with(&full, options) {
            Ok(paths) => paths.filter_map(Result::ok).collect(),
            Err(_) => Vec::new(),
        };
        if matches.is_empty() {
            // glob(3) counts a missing literal file or directory; a wildcard in an existing
            // directory that matches nothing is the "wildcard" case.
            let literal_dir = Path::new(&full)
                .ancestors()
                .skip(1)
                .find(|p| !has_wildcard(&p.to_string_lossy()))
                .map(Path::to_path_buf);
            if !has_wildcard(alt) || literal_dir.is_some_and(|d| !d.is_dir()) {
                missing = true;
            }
        }
        for m in matches {
            any = true;
            let Ok(meta) = std::fs::metadata(&m) else {
                problems.push(Problem {
                    class: IncludeCheck::READ,
                    message: format!("cannot stat {}", m.display()),
                });
                continue;
            };
            if meta.is_dir() {
                problems.push(Problem {
                    class: IncludeCheck::READ,
                    message: format!("{} is a directory - skipping", m.display()),
                });
                continue;
            }
            if !meta.is_file() || is_executable(&meta) {
                problems.push(Problem {
                    class: IncludeCheck::READ,
                    message: format!(
                        "{} is not a regular non-executable file - skipping",
                        m.display()
                    ),
                });
                continue;
            }
            files.push(m);
        }
    }
    if missing {
        let class = if has_brace {
            IncludeCheck::BRACE_MATCH
        } else {
            IncludeCheck::MATCH
        };
        let message = if any {
            "some config files missing"
        } else {
            "config files missing"
        };
        problems.push(Problem {
            class,
            message: message.into(),
        });
    } else if !any {
        problems.push(Problem {
            class: IncludeCheck::WILDCARD_MATCH,
            message: "no config files matched".into(),
        });
    }
    (files, problems)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_forms() {
        assert_eq!(
            include_line("include a/*.conf"),
            Some((IncludeCheck::NONE, "a/*.conf"))
        );
        assert_eq!(
            include_line("include\t  x"),
            Some((IncludeCheck::NONE, "x"))
        );
        assert_eq!(
            include_line("includem x").unwrap().0,
            IncludeCheck::READ | IncludeCheck::MATCH
        );
        assert_eq!(include_line("includea x").unwrap().0, IncludeCheck::ALL);
        assert_eq!(include_line("includex x"), None);
        assert_eq!(include_line("include"), None);
        assert_eq!(include_line("include_check read"), None);
        assert_eq!(include_line("includes"), None);
    }

    #[test]
    fn braces_expand_in_order() {
        assert_eq!(expand_braces("a{b,c}d", 10).unwrap(), ["abd", "acd"]);
        assert_eq!(expand_braces("{x,y{1,2}}", 10).unwrap(), ["x", "y1", "y2"]);
        assert_eq!(expand_braces("a{b", 10).unwrap(), ["a{b"]);
        assert_eq!(expand_braces(r"a\{b,c}", 10).unwrap(), [r"a\{b,c}"]);
        assert!(expand_braces("{a,b}{a,b}{a,b}", 4).is_none());
    }
}
