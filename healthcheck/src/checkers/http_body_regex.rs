//! keepalived's `regex` / `regex_no_match` for an HTTP `url` block: a pattern the body must
//! (or must not) contain.

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
/// ```
#[derive(Debug, Clone)]
pub struct BodyRegex {
    regex: regex::bytes::Regex,
    must_match: bool,
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
        Ok(BodyRegex { regex, must_match })
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
        self.regex.is_match(body) == self.must_match
    }
}

impl PartialEq for BodyRegex {
    fn eq(&self, other: &Self) -> bool {
        self.must_match == other.must_match && self.pattern() == other.pattern()
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
    fn equal_by_pattern_and_sense() {
        let a = BodyRegex::must_match("a+").unwrap();
        assert_eq!(a, BodyRegex::must_match("a+").unwrap());
        assert_ne!(a, BodyRegex::must_not_match("a+").unwrap());
        assert_ne!(a, BodyRegex::must_match("a*").unwrap());
    }
}
