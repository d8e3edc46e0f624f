//! `~SEQ(VAR, start, step, end) text` and `~LST(VAR, v1, v2, ...) text` repetition (keepalived
//! 2.4.3 `lib/parser.c`: `add_seq`, `add_lst` and the sequence branch of `read_line`).
//!
//! The rest of the line after `)` is read once per value, with `$VAR` defined to it; the text is
//! read as a whole line, so it may itself start with `~SEQ`/`~LST` (nested loops), name a
//! multi-line definition (repeating a block), or hold a one-line block.

/// A `~SEQ` or `~SEQx` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seq {
    pub var: String,
    pub next: i64,
    pub step: i64,
    pub last: i64,
    pub hex: bool,
    pub text: String,
    /// Stepping overflowed: no values are left.
    pub done: bool,
}

impl Seq {
    /// The next value of the variable, formatted, or `None` when done.
    pub(crate) fn advance(&mut self) -> Option<String> {
        let past = if self.step > 0 {
            self.next > self.last
        } else {
            self.next < self.last
        };
        if self.done || past {
            return None;
        }
        let value = if self.hex {
            format!("{:x}", self.next)
        } else {
            self.next.to_string()
        };
        // Overflow ends the loop (keepalived's long would wrap).
        match self.next.checked_add(self.step) {
            Some(n) => self.next = n,
            None => self.done = true,
        }
        Some(value)
    }
}

/// A `~LST` loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lst {
    pub vars: Vec<String>,
    pub sets: Vec<Vec<String>>,
    pub next: usize,
    pub text: String,
}

/// A byte cursor that reads 0 past the end, like C's string terminator.
struct Cur<'a> {
    s: &'a [u8],
    p: usize,
}

impl Cur<'_> {
    fn peek(&self) -> u8 {
        self.s.get(self.p).copied().unwrap_or(0)
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), b' ' | b'\t') {
            self.p += 1;
        }
    }
    fn until(&mut self, stop: &[u8]) -> (usize, usize) {
        let start = self.p;
        while self.peek() != 0 && !stop.contains(&self.peek()) {
            self.p += 1;
        }
        (start, self.p)
    }
}

/// `strtol(p, &end, 0)`: blanks, a sign, then `0x` hex, `0` octal or decimal digits. Returns the
/// value and the bytes read (0 when there is no number). Saturates like `strtol`.
fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = s
        .iter()
        .take_while(|b| b" \t\n\r\x0b\x0c".contains(b))
        .count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut base = 10;
    if s.get(i) == Some(&b'0') {
        if matches!(s.get(i + 1), Some(b'x' | b'X'))
            && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).and_then(|&b| (b as char).to_digit(base)) {
        v = v
            .saturating_mul(i64::from(base))
            .saturating_add(i64::from(d));
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if neg { v.saturating_neg() } else { v }, i)
}

/// The parts of a `~SEQ` line before its parameters are substituted: (hex, var, parameter text
/// including the closing `)`, text after it).
pub(crate) fn seq_head(line: &str) -> Result<(bool, &str, &str, &str), String> {
    let s = line.as_bytes();
    let mut c = Cur { s, p: 4 };
    let hex = c.peek() == b'x';
    if hex {
        c.p += 1;
    }
    c.skip_blanks();
    if c.peek() != b'(' {
        return Err("'(' expected".into());
    }
    c.p += 1;
    c.skip_blanks();
    let (vs, ve) = c.until(b" \t,)");
    c.skip_blanks();
    if c.peek() == 0 || c.peek() == b')' || vs == ve || s[vs] == b'{' {
        return Err("a variable and an end value are needed".into());
    }
    // keepalived skips the one character after the variable (meant to be ','), unchecked.
    c.p += line[c.p..].chars().next().map_or(1, char::len_utf8);
    c.skip_blanks();
    let Some(close) = line[c.p..].find(')').map(|o| c.p + o) else {
        return Err("missing terminating ')'".into());
    };
    if close + 1 - c.p + 1 > 3 * 20 + 3 + 1 {
        return Err("parameter strings too long".into());
    }
    let params = &line[c.p..=close];
    let text = line[close + 1..].trim_start_matches(super::lexer::is_blank);
    Ok((hex, &line[vs..ve], params, text))
}

/// Parses `~SEQ`'s (substituted) parameters `end)`, `start, end)` or `start, step, end)`.
pub(crate) fn seq_values(hex: bool, params: &str) -> Result<(i64, i64, i64), String> {
    let s = params.as_bytes();
    let skip = |s: &[u8], mut i: usize| {
        while matches!(s.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    };
    let (one, n) = strtol(s);
    let mut i = skip(s, n);
    let (start, step, end);
    if s.get(i) == Some(&b')') {
        end = one;
        step = if end < 1 { -1 } else { 1 };
        start = if end < 0 { -1 } else { 1 };
    } else {
        if s.get(i) != Some(&b',') {
            return Err("',' or ')' expected".into());
        }
        let (two, n) = strtol(&s[i + 1..]);
        i = skip(s, i + 1 + n);
        if s.get(i) == Some(&b')') {
            start = one;
            end = two;
            step = if start <= end { 1 } else { -1 };
        } else {
            if s.get(i) != Some(&b',') {
                return Err("',' or ')' expected".into());
            }
            let (three, n) = strtol(&s[i + 1..]);
            i = skip(s, i + 1 + n);
            if s.get(i) != Some(&b')') {
                return Err("')' expected".into());
            }
            start = one;
            step = two;
            end = three;
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                return Err("the step does not lead from start to end".into());
            }
        }
    }
    if hex && (start < 0 || end < 0) {
        return Err("~SEQx is only valid for positive numbers".into());
    }
    Ok((start, step, end))
}

/// Parses a `~LST(...)` line.
pub(crate) fn parse_lst(line: &str) -> Result<Lst, String> {
    let bad = || "malformed list".to_string();
    let s = line.as_bytes();
    let mut c = Cur { s, p: 4 };
    c.skip_blanks();
    if c.peek() != b'(' {
        return Err("'(' expected".into());
    }
    c.p += 1;
    c.skip_blanks();
    let mut end_char = b',';
    if c.peek() == b'{' {
        end_char = b'}';
        c.p += 1;
        c.skip_blanks();
    }
    let mut vars = Vec::new();
    loop {
        let (a, b) = c.until(b" \t,}");
        vars.push(line[a..b].to_string());
        c.skip_blanks();
        if c.peek() == end_char {
            break;
        }
        if c.peek() != b',' {
            return Err(bad());
        }
        c.p += 1;
        c.skip_blanks();
    }
    if c.peek() == b'}' {
        c.p += 1;
        c.skip_blanks();
    }
    if c.peek() != b',' {
        return Err(bad());
    }
    c.p += 1;
    c.skip_blanks();
    let mut sets = Vec::new();
    loop {
        let mut end_char = b',';
        if c.peek() == b'{' {
            end_char = b'}';
            c.p += 1;
            c.skip_blanks();
        }
        let mut values = Vec::new();
        loop {
            let (a, b) = c.until(b" \t,})");
            values.push(line[a..b].to_string());
            c.skip_blanks();
            if c.peek() == end_char || (c.peek() == b')' && end_char == b',') {
                break;
            }
            if c.peek() != b',' {
                return Err(bad());
            }
            c.p += 1;
            c.skip_blanks();
            if values.len() >= vars.len() {
                return Err("too many values".into());
            }
        }
        values.resize(vars.len().max(values.len()), String::new());
        sets.push(values);
        if c.peek() == b'}' && end_char == b'}' {
            c.p += 1;
            c.skip_blanks();
        }
        if c.peek() == b')' {
            break;
        }
        if c.peek() != b',' {
            return Err(bad());
        }
        c.p += 1;
        c.skip_blanks();
    }
    c.p += 1;
    c.skip_blanks();
    let text = line.get(c.p..).unwrap_or("").to_string();
    Ok(Lst {
        vars,
        sets,
        next: 0,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(line: &str) -> Result<(i64, i64, i64), String> {
        let (hex, _, params, _) = seq_head(line)?;
        seq_values(hex, params)
    }

    #[test]
    fn seq_forms() {
        assert_eq!(
            seq_head("~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1").unwrap(),
            (false, "SUBNET", "0, 3)", "ip 10.0.${SUBNET}.1")
        );
        assert_eq!(seq("~SEQ(I, 3) x").unwrap(), (1, 1, 3));
        assert_eq!(seq("~SEQ(I, -3) x").unwrap(), (-1, -1, -3));
        assert_eq!(seq("~SEQ(I, 0) x").unwrap(), (1, -1, 0));
        assert_eq!(seq("~SEQ(I, 5, 2) x").unwrap(), (5, -1, 2));
        assert_eq!(
            seq("~SEQx(I, 0x90, 0x10, 0xc0) x").unwrap(),
            (0x90, 0x10, 0xc0)
        );
        assert_eq!(seq("~SEQ(I, 010, 1, 9) x").unwrap(), (8, 1, 9));
        assert!(seq("~SEQ(I, 1, -1, 5) x").is_err());
        assert!(seq("~SEQ(I, 1, 0, 5) x").is_err());
        assert!(seq("~SEQx(I, -1, 1, 5) x").is_err());
        assert!(seq("~SEQ I, 1) x").is_err());
        assert!(seq("~SEQ(I) x").is_err());
        assert!(seq("~SEQ(I, 1 x").is_err());
        assert!(seq("~SEQ(I, 1 2) x").is_err());
        assert!(seq("~SEQ({I, 1) x").is_err());
        // a multi-byte character where the ',' should be (found by the fuzzer)
        assert!(seq("~SEQ(I \u{e9}1) x").is_ok());
        assert!(seq("~SEQ(I \u{e9}").is_err());
    }

    #[test]
    fn seq_advances_and_stops() {
        let mut s = Seq {
            var: "I".into(),
            next: 0x90,
            step: 0x10,
            last: 0xc0,
            hex: true,
            text: String::new(),
            done: false,
        };
        let v: Vec<String> = std::iter::from_fn(|| s.advance()).collect();
        assert_eq!(v, ["90", "a0", "b0", "c0"]);
        let mut s = Seq {
            var: "I".into(),
            next: i64::MAX - 1,
            step: 1,
            last: i64::MAX,
            hex: false,
            text: String::new(),
            done: false,
        };
        assert_eq!(std::iter::from_fn(|| s.advance()).count(), 2);
        let mut s = Seq {
            var: "I".into(),
            next: 3,
            step: -2,
            last: 0,
            hex: false,
            text: String::new(),
            done: false,
        };
        assert_eq!(
            std::iter::from_fn(|| s.advance()).collect::<Vec<_>>(),
            ["3", "1"]
        );
    }

    #[test]
    fn lst_forms() {
        let l = parse_lst("~LST(IP, 1, 2, 3) 192.169.${IP}").unwrap();
        assert_eq!(l.vars, ["IP"]);
        assert_eq!(l.sets, [["1"], ["2"], ["3"]]);
        assert_eq!(l.text, "192.169.${IP}");
        let l = parse_lst("~LST({IP, IP1}, {10,1},{20,4},{5}) x").unwrap();
        assert_eq!(l.vars, ["IP", "IP1"]);
        assert_eq!(l.sets, [vec!["10", "1"], vec!["20", "4"], vec!["5", ""]]);
        assert_eq!(l.text, "x");
        assert!(parse_lst("~LST({IP, IP1}, {1,2,3}) x").is_err());
        assert!(parse_lst("~LST IP, 1) x").is_err());
        assert!(parse_lst("~LST(IP 1) x").is_err());
        assert!(parse_lst("~LST(").is_err());
    }
}
