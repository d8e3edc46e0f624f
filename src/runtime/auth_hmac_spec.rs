//! Validation of an instance's `auth_hmac` block ([`AuthHmacConfig`]) into the advert
//! socket's [`AuthHmac`], with keepalived 2.4.3's rules: key ids 1 to 255, values of 32 to 64
//! octets (`hex:`, `file:PATH`, or the text), `active_key` one of them, `time_window` 1 to
//! 300 s defaulting to `max(3 × advert_int, 5)`, `anti_replay time|monotonic`,
//! `mode enforce|permissive|receive-only`. Where keepalived logs and carries on (an undefined
//! `active_key` turns the block off, a key file others can read is a warning), this refuses
//! the file with the field named, so a typo never leaves adverts unsigned.
use std::time::Duration;

use vip_netlink::{
    AntiReplay, AuthHmac, AuthHmacKey, AuthHmacMode, AUTH_HMAC_KEY_MAX, AUTH_HMAC_KEY_MIN,
    AUTH_HMAC_WINDOW_MAX, AUTH_HMAC_WINDOW_MIN,
};

use crate::runtime::config::{AuthHmacConfig, ConfigError};

/// Validates `raw` for an instance whose adverts go every `advert_int`; `field` names a key
/// of the block in errors (`instance[0].auth_hmac.active_key`).
pub(crate) fn auth_hmac(
    raw: &AuthHmacConfig,
    advert_int: Duration,
    field: impl Fn(&str) -> String,
) -> Result<AuthHmac, ConfigError> {
    let err = |key: &str, message: String| ConfigError::new(field(key), message);
    if raw.keys.is_empty() {
        return Err(err("keys", "at least one key is needed".into()));
    }
    let mut keys = Vec::with_capacity(raw.keys.len());
    for (id, value) in &raw.keys {
        let key_field = format!("keys.{id}");
        let id: u8 = match id.parse() {
            Ok(n) if n > 0 => n,
            _ => return Err(err(&key_field, format!("{id:?}: key ids are 1 to 255"))),
        };
        let bytes = key_value(value).map_err(|m| err(&key_field, m))?;
        let key = AuthHmacKey::new(&bytes).ok_or_else(|| {
            err(
                &key_field,
                format!(
                    "{} octets: keys have {AUTH_HMAC_KEY_MIN} to {AUTH_HMAC_KEY_MAX}",
                    bytes.len()
                ),
            )
        })?;
        keys.push((id, key));
    }
    if !keys.iter().any(|(id, _)| *id == raw.active_key) {
        return Err(err(
            "active_key",
            format!("{}: not one of the keys", raw.active_key),
        ));
    }
    let anti_replay = match raw.anti_replay.as_deref() {
        None | Some("time") => AntiReplay::Time,
        Some("monotonic") => AntiReplay::Monotonic,
        Some(other) => {
            return Err(err(
                "anti_replay",
                format!("{other:?}: must be time or monotonic"),
            ))
        }
    };
    let mode = match raw.mode.as_deref() {
        None | Some("enforce") => AuthHmacMode::Enforce,
        Some("permissive") => AuthHmacMode::Permissive,
        Some("receive-only") => AuthHmacMode::ReceiveOnly,
        Some(other) => {
            return Err(err(
                "mode",
                format!("{other:?}: must be enforce, permissive or receive-only"),
            ))
        }
    };
    let window = match raw.time_window {
        Some(w) if (AUTH_HMAC_WINDOW_MIN..=AUTH_HMAC_WINDOW_MAX).contains(&w) => w,
        Some(w) => return Err(err("time_window", format!("{w}: must be 1 to 300 seconds"))),
        // keepalived: three whole advert intervals, at least 5 s, at most 300 s.
        None => (3 * advert_int.as_secs() as u32).clamp(5, AUTH_HMAC_WINDOW_MAX),
    };
    let auth = AuthHmac::new(keys, raw.active_key, window)
        .map_err(|e| err("active_key", e.to_string()))?;
    Ok(auth.with_mode(mode).with_anti_replay(anti_replay))
}

/// The octets of a key value: `hex:` digits, `file:PATH` (whose content is read the same
/// way, a trailing newline dropped), or the text.
fn key_value(value: &str) -> Result<Vec<u8>, String> {
    if let Some(path) = value.strip_prefix("file:") {
        let text = read_key_file(path)?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.starts_with("file:") {
            return Err(format!("{path}: a key file cannot name another file"));
        }
        return key_value(text);
    }
    let Some(hex) = value.strip_prefix("hex:") else {
        return Ok(value.as_bytes().to_vec());
    };
    if hex.len() % 2 != 0 {
        return Err("hex: needs an even number of digits".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| {
                    let rest = hex.get(i..).unwrap_or(hex);
                    format!("hex: {rest:?} is not a hex digit pair")
                })
        })
        .collect()
}

/// A key file: at most what a 64-octet `hex:` value needs; one that others can read is
/// refused (keepalived flags it as a security error).
fn read_key_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{path}: {e}"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{path}: readable by group or others (chmod 600 it)"
        ));
    }
    let limit = 4 + AUTH_HMAC_KEY_MAX * 2 + 8;
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{path}: {e}"))?;
    if text.len() > limit {
        return Err(format!("{path}: too large for a key"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn check(raw: &AuthHmacConfig) -> Result<AuthHmac, ConfigError> {
        auth_hmac(raw, Duration::from_secs(1), |k| format!("auth_hmac.{k}"))
    }

    #[test]
    fn values_modes_and_defaults() {
        let a = check(&AuthHmacConfig::new(1, HEX)).unwrap();
        assert_eq!(a.key(1).unwrap().as_bytes(), (0..32).collect::<Vec<u8>>());
        assert_eq!(
            (a.mode(), a.anti_replay(), a.time_window()),
            (AuthHmacMode::Enforce, AntiReplay::Time, 5)
        );
        let text = "k".repeat(40);
        let b = check(
            &AuthHmacConfig::new(2, text.clone())
                .key(3, HEX)
                .active_key(3)
                .mode("receive-only")
                .anti_replay("monotonic"),
        )
        .unwrap();
        assert_eq!(b.key(2).unwrap().as_bytes(), text.as_bytes());
        assert_eq!((b.active_key(), b.mode()), (3, AuthHmacMode::ReceiveOnly));
        let slow = auth_hmac(&AuthHmacConfig::new(1, HEX), Duration::from_secs(10), |k| {
            k.into()
        });
        assert_eq!(slow.unwrap().time_window(), 30);
    }

    #[test]
    fn key_files_are_read_and_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hakit-authkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        std::fs::write(&path, format!("{HEX}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let raw = AuthHmacConfig::new(1, format!("file:{}", path.display()));
        assert_eq!(check(&raw).unwrap().key(1).unwrap().as_bytes()[31], 31);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = check(&raw).unwrap_err();
        assert_eq!(e.field, "auth_hmac.keys.1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        for (raw, field) in [
            (AuthHmacConfig::new(1, "short"), "auth_hmac.keys.1"),
            (AuthHmacConfig::new(1, "hex:0g"), "auth_hmac.keys.1"),
            (AuthHmacConfig::new(1, "hex:0é0"), "auth_hmac.keys.1"),
            (AuthHmacConfig::new(0, HEX), "auth_hmac.keys.0"),
            (
                AuthHmacConfig::new(1, HEX).active_key(2),
                "auth_hmac.active_key",
            ),
            (AuthHmacConfig::new(1, HEX).mode("strict"), "auth_hmac.mode"),
            (
                AuthHmacConfig::new(1, HEX).anti_replay("clock"),
                "auth_hmac.anti_replay",
            ),
            (
                AuthHmacConfig::new(1, HEX).time_window(301),
                "auth_hmac.time_window",
            ),
            (
                AuthHmacConfig::new(1, "file:/nonexistent/key"),
                "auth_hmac.keys.1",
            ),
        ] {
            assert_eq!(check(&raw).unwrap_err().field, field, "{raw:?}");
        }
    }
}
