//! `$NAME=value` definitions and `$NAME` / `${NAME}` substitution (keepalived 2.4.3
//! `lib/parser.c`: `check_definition`, `find_definition`, `replace_param`, the standard
//! definitions of `set_std_definitions`).

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// What a name stands for.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// One line of text.
    Line(String),
    /// A multi-line definition: its lines (the first may be empty).
    Multi(Rc<[String]>),
    /// One of keepalived's standard definitions, computed at each use.
    Std(Std),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Std {
    /// `${_PWD}`: the directory of the file being read.
    Pwd,
    /// `${_INSTANCE}`: the configured instance (host) name.
    Instance,
    /// `${_RANDOM [MIN [MAX]]}`.
    Random,
    /// `${_ENV NAME}`.
    Env,
}

impl Std {
    /// (min params, max params, numbers only)
    fn params(self) -> (usize, usize, bool) {
        match self {
            Std::Pwd | Std::Instance => (0, 0, false),
            Std::Random => (0, 2, true),
            Std::Env => (1, 1, false),
        }
    }
}

/// The definitions in force.
#[derive(Debug)]
pub(crate) struct Definitions {
    map: HashMap<String, Value>,
    instance: String,
    rng: u64,
}

/// What a `$NAME=...` line defines.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DefinitionLine<'a> {
    pub name: &'a str,
    /// The value's first line, without the `\` continuation mark.
    pub value: &'a str,
    /// It ends with `\`: the following lines continue it.
    pub multiline: bool,
}

/// Recognises `$NAME=value` (no blank before `=`; blanks after it skipped). `NAME` starts with a
/// letter or `_` and goes on with letters, digits and `_`.
pub(crate) fn definition_line(line: &str) -> Option<DefinitionLine<'_>> {
    let rest = line.strip_prefix('$')?;
    let first = rest.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let value = rest[eq + 1..].trim_start_matches(super::lexer::is_blank);
    match value.strip_suffix('\\') {
        Some(v) => Some(DefinitionLine {
            name,
            value: v.trim_end_matches(super::lexer::is_blank),
            multiline: true,
        }),
        None => Some(DefinitionLine {
            name,
            value,
            multiline: false,
        }),
    }
}

/// The result of substituting a line.
#[derive(Debug, Default)]
pub(crate) struct Substituted {
    /// Something was replaced.
    pub changed: bool,
    /// Lines of multi-line definitions still to be read, innermost first.
    pub pending: Vec<Rc<[String]>>,
}

/// Why substitution stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SubstError {
    TooLong,
    Loop,
}

/// A reference found at a `$`.
struct Ref {
    name_start: usize,
    name_end: usize,
    params: Option<(usize, usize)>,
    /// Exclusive end of the text to replace.
    end: usize,
    at_eol: bool,
}

/// keepalived's `find_definition` for a use: `$NAME` must be followed by a blank, `,`, `)` or the
/// end of the line; `${NAME}` may carry blank-separated parameters (`${_RANDOM 1 10}`).
fn find_ref(s: &[u8], dollar: usize) -> Option<Ref> {
    let braces = s.get(dollar + 1) == Some(&b'{');
    let name_start = dollar + 1 + usize::from(braces);
    let first = *s.get(name_start)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut p = name_start + 1;
    while p < s.len() && (s[p].is_ascii_alphanumeric() || s[p] == b'_') {
        p += 1;
    }
    let name_end = p;
    if braces {
        let mut params: Option<(usize, usize)> = None;
        while p < s.len()
            && (s[p] == b' ' || s[p] == b'\t' || s[p].is_ascii_alphanumeric() || s[p] == b'_')
        {
            if s[p] != b' ' && s[p] != b'\t' {
                params = Some((params.map_or(p, |(a, _)| a), p));
            }
            p += 1;
        }
        if let Some((_, last)) = params {
            if last + 1 != p {
                return None;
            }
        }
        if s.get(p) != Some(&b'}') {
            return None;
        }
        Some(Ref {
            name_start,
            name_end,
            params: params.map(|(a, b)| (a, b + 1)),
            end: p + 1,
            at_eol: name_end + 1 == s.len(),
        })
    } else {
        match s.get(p) {
            None | Some(b' ' | b'\t' | b',' | b')') => Some(Ref {
                name_start,
                name_end,
                params: None,
                end: p,
                at_eol: p == s.len(),
            }),
            Some(_) => None,
        }
    }
}

impl Definitions {
    /// The standard definitions (`_PWD`, `_INSTANCE`, `_RANDOM`, `_ENV`, `_HASH`, `_BANG`).
    pub(crate) fn new(instance: Option<&str>, seed: u64) -> Self {
        let mut map = HashMap::new();
        map.insert("_PWD".into(), Value::Std(Std::Pwd));
        map.insert("_INSTANCE".into(), Value::Std(Std::Instance));
        map.insert("_RANDOM".into(), Value::Std(Std::Random));
        map.insert("_ENV".into(), Value::Std(Std::Env));
        map.insert("_HASH".into(), Value::Line("#".into()));
        map.insert("_BANG".into(), Value::Line("!".into()));
        Definitions {
            map,
            instance: instance.unwrap_or_default().to_string(),
            rng: seed | 1,
        }
    }

    /// Sets (or replaces, standard ones included) a definition.
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        self.map.insert(name.to_string(), value);
    }

    /// Appends lines to a multi-line definition being read.
    pub(crate) fn set_multi(&mut self, name: &str, lines: Vec<String>) {
        let value = if lines.iter().all(String::is_empty) {
            Value::Line(String::new())
        } else {
            Value::Multi(lines.into())
        };
        self.map.insert(name.to_string(), value);
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: keepalived uses random(); any spread will do.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn std_value(&mut self, std: Std, params: Option<&str>, dir: &Path) -> String {
        match std {
            Std::Pwd => std::path::absolute(dir)
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
            Std::Instance => self.instance.clone(),
            Std::Env => params
                .and_then(|name| std::env::var(name.trim()).ok())
                .unwrap_or_default(),
            Std::Random => {
                let mut nums = params
                    .unwrap_or("")
                    .split([' ', '\t'])
                    .filter(|w| !w.is_empty())
                    .map(|w| w.parse::<u64>().unwrap_or(u64::MAX));
                let min = nums.next().unwrap_or(0);
                let max = nums.next().unwrap_or(32767).max(min);
                let span = (max - min).saturating_add(1);
                (min + self.next_random() % span).to_string()
            }
        }
    }

    /// keepalived's `replace_param`: replaces every `$NAME` / `${NAME}` that names a definition,
    /// rescanning the replacement (definitions may use others), until none is left. A name with no
    /// definition is left as written, as keepalived does. A multi-line definition is used only at
    /// the end of a line: the line takes its first line, and its other lines are returned to be
    /// read after this one. Stops after a replacement whose value starts with `~`.
    pub(crate) fn substitute(
        &mut self,
        line: &mut String,
        dir: &Path,
        max_len: usize,
    ) -> Result<Substituted, SubstError> {
        const MAX_REPLACEMENTS: usize = 1000;
        let mut out = Substituted::default();
        let mut pos = 0;
        let mut replacements = 0;
        while let Some(off) = line.get(pos..).and_then(|s| s.find('$')) {
            let cur = pos + off;
            if cur + 1 >= line.len() {
                break;
            }
            let Some(r) = find_ref(line.as_bytes(), cur) else {
                pos = cur + 1;
                continue;
            };
            let name = &line[r.name_start..r.name_end];
            let Some(def) = self.map.get(name).cloned() else {
                pos = cur + 1;
                continue;
            };
            let params = r.params.map(|(a, b)| line[a..b].to_string());
            let value = match def {
                Value::Multi(_) if !r.at_eol => None,
                Value::Line(_) | Value::Multi(_) if params.is_some() => None,
                Value::Line(v) => Some(v),
                Value::Multi(lines) => {
                    let first = lines.first().cloned().unwrap_or_default();
                    if lines.len() > 1 {
                        out.pending.push(lines[1..].to_vec().into());
                    }
                    Some(first)
                }
                Value::Std(std) => {
                    let (min, max, numbers) = std.params();
                    let words: Vec<&str> = params
                        .as_deref()
                        .unwrap_or("")
                        .split([' ', '\t'])
                        .filter(|w| !w.is_empty())
                        .collect();
                    let ok = (params.is_none() || max > 0)
                        && (!numbers
                            || words.iter().all(|w| w.bytes().all(|b| b.is_ascii_digit())))
                        && (params.is_none() || (min..=max).contains(&words.len()));
                    ok.then(|| self.std_value(std, params.as_deref(), dir))
                }
            };
            let Some(value) = value else {
                pos = cur + 1;
                continue;
            };
            replacements += 1;
            if replacements > MAX_REPLACEMENTS {
                return Err(SubstError::Loop);
            }
            if line.len() - (r.end - cur) + value.len() > max_len {
                return Err(SubstError::TooLong);
            }
            line.replace_range(cur..r.end, &value);
            out.changed = true;
            pos = cur;
            if value
                .trim_start_matches(super::lexer::is_blank)
                .starts_with('~')
            {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Definitions {
        let mut d = Definitions::new(Some("node1"), 7);
        d.set("A", Value::Line("alpha".into()));
        d.set("B", Value::Line("${A}-x".into()));
        d
    }

    fn sub(d: &mut Definitions, s: &str) -> String {
        let mut line = s.to_string();
        d.substitute(&mut line, Path::new("/etc/keepalived"), 1024)
            .unwrap();
        line
    }

    #[test]
    fn definition_lines() {
        assert_eq!(
            definition_line("$NAME=some value"),
            Some(DefinitionLine {
                name: "NAME",
                value: "some value",
                multiline: false
            })
        );
        assert_eq!(
            definition_line("$N_1=  x \\"),
            Some(DefinitionLine {
                name: "N_1",
                value: "x",
                multiline: true
            })
        );
        assert_eq!(definition_line("$NAME = x"), None);
        assert_eq!(definition_line("$1=x"), None);
        assert_eq!(definition_line("$NAME"), None);
        assert_eq!(
            definition_line("$E="),
            Some(DefinitionLine {
                name: "E",
                value: "",
                multiline: false
            })
        );
    }

    #[test]
    fn substitution_forms() {
        let mut d = defs();
        assert_eq!(sub(&mut d, "x $A y"), "x alpha y");
        assert_eq!(sub(&mut d, "x ${A}y"), "x alphay");
        assert_eq!(sub(&mut d, "x $Ay"), "x $Ay");
        assert_eq!(sub(&mut d, "x $A,$A)"), "x alpha,alpha)");
        assert_eq!(sub(&mut d, "x $A-"), "x $A-");
        assert_eq!(sub(&mut d, "$B"), "alpha-x");
        assert_eq!(sub(&mut d, "$UNDEFINED ${ALSO}"), "$UNDEFINED ${ALSO}");
        assert_eq!(sub(&mut d, "${_INSTANCE} ${_HASH}"), "node1 #");
        assert_eq!(sub(&mut d, "${_PWD}"), "/etc/keepalived");
        assert_eq!(sub(&mut d, "${A 1}"), "${A 1}");
        let r: u32 = sub(&mut d, "${_RANDOM 5 9}").parse().unwrap();
        assert!((5..=9).contains(&r));
        assert_eq!(sub(&mut d, "${_RANDOM a}"), "${_RANDOM a}");
        assert_eq!(sub(&mut d, "$"), "$");
    }

    #[test]
    fn multiline_only_at_end_of_line() {
        let mut d = defs();
        d.set_multi("M", vec!["one".into(), "two".into(), "three".into()]);
        let mut line = "x $M".to_string();
        let s = d.substitute(&mut line, Path::new("/"), 1024).unwrap();
        assert_eq!(line, "x one");
        assert_eq!(&*s.pending[0], ["two".to_string(), "three".to_string()]);
        assert_eq!(sub(&mut d, "$M y"), "$M y");
    }

    #[test]
    fn loops_and_length_are_bounded() {
        let mut d = defs();
        d.set("L", Value::Line("$L".into()));
        let mut line = "$L".to_string();
        assert_eq!(
            d.substitute(&mut line, Path::new("/"), 1024).unwrap_err(),
            SubstError::Loop
        );
        d.set("G", Value::Line("x $G".into()));
        let mut line = "$G".to_string();
        assert_eq!(
            d.substitute(&mut line, Path::new("/"), 1024).unwrap_err(),
            SubstError::TooLong
        );
    }
}
