//! keepalived's `regex` / `regex_no_match` for an HTTP `url` block: a pattern the body must
//! (or must not) contain, optionally only starting within `regex_min_offset` ..=
//! `regex_max_offset`.

use crate::error::ConfigError;

/// A body pattern of one URL: the check passes when the pattern is found in the body
/// ([`must_match`](Self::must_match), keepalived `regex`) or when it is not found
/// (keepalived `regex_no_match`).
///
/// The body is searched as bytes, so a page that is not UTF-8 still matches. The syntax is
/// that of the `regex` crate: keepalived's PCRE2 patterns work as long as they use no
/// look-around or backreferences (rejected here when the check is built, with the reason).
/// The body read is bounded ([`HttpCheck::limits`](crate::HttpCheck::limits), 1 MiB by
/// default); a larger body fails the check rather than being searched in part.
///
/// ```
/// use healthcheck::BodyRegex;
/// let up = BodyRegex::must_match(r"status:\s*(ok|degraded)").unwrap();
/// assert!(up.passes(b"status: ok\n"));
/// assert!(!up.passes(b"status: down\n"));
/// let no_error = BodyRegex::must_not_match("(?i)error").unwrap();
/// assert!(!no_error.passes(b"Internal Error"));
/// // keepalived regex_min_offset 4 / regex_max_offset 8: only a match starting at 4..=8
/// // counts.
/// let late = BodyRegex::must_match("ok").unwrap().offsets(4, Some(8)).unwrap();
/// assert!(late.passes(b"xxxxxxok"));
/// assert!(!late.passes(b"ok"));
/// assert!(!late.passes(b"xxxxxxxxxok"));
/// ```
#[derive(Debug, Clone)]
pub struct BodyRegex {
    regex: regex::bytes::Regex,
    must_match: bool,
    /// keepalived `regex_min_offset`: the search starts here (what comes before still
    /// counts as context, for `^` or `\b`, as with PCRE2's start offset).
    min_offset: usize,
    /// keepalived `regex_max_offset`: a match must start at or before this offset.
    max_offset: Option<usize>,
}

impl BodyRegex {
    /// The body must contain a match (keepalived `regex`).
    pub fn must_match(pattern: &str) -> Result<BodyRegex, ConfigError> {
        Self::new(pattern, true)
    }

    /// The body must contain no match (keepalived `regex_no_match`).
    pub fn must_not_match(pattern: &str) -> Result<BodyRegex, ConfigError> {
        Self::new(pattern, false)
    }

    fn new(pattern: &str, must_match: bool) -> Result<BodyRegex, ConfigError> {
        let regex = regex::bytes::Regex::new(pattern).map_err(|e| ConfigError::Regex {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(BodyRegex {
            regex,
            must_match,
            min_offset: 0,
            max_offset: None,
        })
    }

    /// Only a match starting at `min` ..= `max` (no upper bound with `None`) counts
    /// (keepalived `regex_min_offset` / `regex_max_offset`). A body shorter than `min` has
    /// no match. `min` above `max` is refused.
    pub fn offsets(mut self, min: usize, max: Option<usize>) -> Result<BodyRegex, ConfigError> {
        if let Some(max) = max {
            if min > max {
                return Err(ConfigError::RegexOffsets(format!(
                    "regex_min_offset {min} is above regex_max_offset {max}"
                )));
            }
        }
        self.min_offset = min;
        self.max_offset = max;
        Ok(self)
    }

    /// `(regex_min_offset, regex_max_offset)`.
    pub fn offset_range(&self) -> (usize, Option<usize>) {
        (self.min_offset, self.max_offset)
    }

    /// The pattern as configured.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the body must contain a match (`true`) or must not (`false`).
    pub fn is_must_match(&self) -> bool {
        self.must_match
    }

    /// Whether `body` passes.
    pub fn passes(&self, body: &[u8]) -> bool {
        self.found(body) == self.must_match
    }

    /// Whether a match starts within the offsets. `find_at` returns the leftmost match at
    /// or after `min_offset`, so if that one starts after `max_offset`, none starts before.
    fn found(&self, body: &[u8]) -> bool {
        if self.min_offset > body.len() {
            return false;
        }
        match self.regex.find_at(body, self.min_offset) {
            Some(m) => self.max_offset.is_none_or(|max| m.start() <= max),
            None => false,
        }
    }
}

impl PartialEq for BodyRegex {
    fn eq(&self, other: &Self) -> bool {
        self.must_match == other.must_match
            && self.pattern() == other.pattern()
            && self.offset_range() == other.offset_range()
    }
}

impl Eq for BodyRegex {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_bytes_that_are_not_utf8() {
        let r = BodyRegex::must_match("ok").unwrap();
        assert!(r.passes(b"\xff\xfe ok \xc3"));
        assert!(!r.passes(b"\xff\xfe"));
    }

    #[test]
    fn look_around_is_rejected_with_the_pattern_named() {
        let err = BodyRegex::must_match("(?=ok)").unwrap_err();
        let ConfigError::Regex { pattern, reason } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(pattern, "(?=ok)");
        assert!(reason.contains("look-around"), "{reason}");
    }

    #[test]
    fn offsets_bound_where_a_match_may_start() {
        let r = BodyRegex::must_match("ab")
            .unwrap()
            .offsets(2, Some(4))
            .unwrap();
        assert!(!r.passes(b"ab"), "starts before the minimum");
        assert!(r.passes(b"xxab"));
        assert!(r.passes(b"xxxxab"), "starts at the maximum");
        assert!(!r.passes(b"xxxxxab"), "starts after the maximum");
        assert!(
            r.passes(b"abxxab"),
            "the first match is skipped, the second counts"
        );
        assert!(!r.passes(b"x"), "body shorter than the minimum");
        // The text before the minimum is context, not cut off: no `^` at offset 2.
        let anchored = BodyRegex::must_match("^ab")
            .unwrap()
            .offsets(2, None)
            .unwrap();
        assert!(!anchored.passes(b"xxab"));
        assert!(!anchored.passes(b"abab"));
        // regex_no_match: a match outside the range does not fail the check.
        let no = BodyRegex::must_not_match("err")
            .unwrap()
            .offsets(0, Some(3))
            .unwrap();
        assert!(no.passes(b"all fine, err later"));
        assert!(!no.passes(b"xx err"));
    }

    #[test]
    fn min_above_max_is_refused() {
        let err = BodyRegex::must_match("a")
            .unwrap()
            .offsets(5, Some(4))
            .unwrap_err();
        assert!(matches!(err, ConfigError::RegexOffsets(_)), "{err:?}");
        assert!(err.to_string().contains("regex_min_offset 5"), "{err}");
    }

    #[test]
    fn equal_by_pattern_and_sense() {
        let a = BodyRegex::must_match("a+").unwrap();
        assert_eq!(a, BodyRegex::must_match("a+").unwrap());
        assert_ne!(a, BodyRegex::must_not_match("a+").unwrap());
        assert_ne!(a, BodyRegex::must_match("a*").unwrap());
    }
}
