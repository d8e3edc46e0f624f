//! Line-level lexical rules (keepalived 2.4.3 `lib/parser.c`: `decomment`, the brace split at the
//! end of `read_line`, and `alloc_strvec_r`).

/// keepalived's `WHITE_SPACE_STR`: the separators between words.
pub(crate) fn is_word_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r' | '\x0b')
}

/// `isblank`: what is trimmed around lines.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A line after comment removal.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decommented {
    /// The text, without leading/trailing blanks and comments; a trailing `\` (continuation of a
    /// multi-line definition) is kept, with the blanks before it removed.
    pub text: String,
    /// A `"` was left open.
    pub open_quote: bool,
}

/// Removes a `!` or `#` comment (not inside `"..."`), the `\` of `\!` and `\#` outside quotes, and
/// leading and trailing blanks. A `\` before any other character keeps both characters (so `\"`
/// does not open or close a quote); a `\` at the very end is kept as the continuation mark.
pub(crate) fn decomment(line: &str) -> Decommented {
    let s = line.trim_start_matches(is_blank);
    let mut out = String::with_capacity(s.len());
    let mut quote = false;
    let mut cont = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.next() {
                Some(n) => {
                    if quote || (n != '#' && n != '!') {
                        out.push('\\');
                    }
                    out.push(n);
                }
                None => {
                    cont = true;
                    break;
                }
            },
            '!' | '#' if !quote => break,
            _ => out.push(c),
        }
    }
    let keep = out.trim_end_matches(is_blank).len();
    out.truncate(keep);
    if cont {
        out.push('\\');
    }
    Decommented {
        text: out,
        open_quote: quote,
    }
}

/// Splits a line at its first `{` or `}` outside `"..."`, as keepalived does before it splits
/// words: a line starting with a brace gives the brace alone and the rest (blanks skipped);
/// otherwise the text before the brace and the rest from the brace on. Both parts are trimmed
/// of trailing blanks; the rest is `None` when nothing follows.
pub(crate) fn split_braces(line: &str) -> (&str, Option<&str>) {
    let bytes = line.as_bytes();
    let pos = match bytes.first() {
        None => return (line, None),
        Some(b'{' | b'}') => Some(0),
        Some(_) => {
            let mut i = 0;
            let mut found = None;
            while i < bytes.len() {
                match bytes[i] {
                    b'{' | b'}' => {
                        found = Some(i);
                        break;
                    }
                    b'"' => match bytes[i + 1..].iter().position(|&b| b == b'"') {
                        Some(off) => i += off + 2,
                        None => break,
                    },
                    _ => i += 1,
                }
            }
            found
        }
    };
    let Some(pos) = pos else {
        return (line.trim_end_matches(is_blank), None);
    };
    let skip = if pos == 0 {
        1 + bytes[1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    } else {
        0
    };
    let at = pos + skip;
    if at >= bytes.len() {
        return (line.trim_end_matches(is_blank), None);
    }
    let rest = line[at..].trim_end_matches(is_blank);
    let head = line[..at].trim_end_matches(is_blank);
    (head, if rest.is_empty() { None } else { Some(rest) })
}

/// Splits a line into words: a word is delimited by white space or `"`; `"..."` is one word
/// without its quotes (spaces kept). `Err(())` when a `"` is not closed.
pub(crate) fn words(line: &str) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(is_word_space);
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or(())?;
            out.push(quoted[..end].to_string());
            rest = &quoted[end + 1..];
        } else {
            let end = rest
                .find(|c: char| is_word_space(c) || c == '"')
                .unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(s: &str) -> String {
        decomment(s).text
    }

    #[test]
    fn comments_are_removed_outside_quotes() {
        assert_eq!(dc("  ! whole line"), "");
        assert_eq!(dc("# whole line"), "");
        assert_eq!(dc("priority 100 # trailing"), "priority 100");
        assert_eq!(dc("priority 100! trailing"), "priority 100");
        assert_eq!(dc("script \"a # b ! c\" # x"), "script \"a # b ! c\"");
        assert_eq!(dc(r"auth_pass a\#b\!c"), "auth_pass a#b!c");
        assert_eq!(dc(r#"x "a\#""#), r#"x "a\#""#);
        assert_eq!(dc("\tkey value \t"), "key value");
    }

    #[test]
    fn continuation_and_quotes() {
        assert_eq!(dc("$X=a b   \\"), "$X=a b\\");
        assert!(decomment("x \"open").open_quote);
        assert!(!decomment(r#"x "a\"b""#).open_quote);
    }

    #[test]
    fn braces_split_like_keepalived() {
        assert_eq!(
            split_braces("vrrp_instance VI_1 {"),
            ("vrrp_instance VI_1", Some("{"))
        );
        assert_eq!(
            split_braces("{ 10.0.0.1/24 }"),
            ("{", Some("10.0.0.1/24 }"))
        );
        assert_eq!(split_braces("10.0.0.1/24 }"), ("10.0.0.1/24", Some("}")));
        assert_eq!(split_braces("}"), ("}", None));
        assert_eq!(split_braces("{   "), ("{", None));
        assert_eq!(split_braces("x \"a{b\" y"), ("x \"a{b\" y", None));
        assert_eq!(split_braces("x \"a{b"), ("x \"a{b", None));
        assert_eq!(split_braces(""), ("", None));
    }

    #[test]
    fn words_split_on_space_and_quotes() {
        assert_eq!(words("a  b\tc").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            words("script \"/bin/x y\" z").unwrap(),
            ["script", "/bin/x y", "z"]
        );
        assert_eq!(words("a\"b c\"d").unwrap(), ["a", "b c", "d"]);
        assert_eq!(words("\"\"").unwrap(), [""]);
        assert!(words("a \"b").is_err());
        assert!(words("").unwrap().is_empty());
    }
}
