//! keepalived's `script_user` and `enable_script_security`: who the notify and track scripts
//! run as, and whether a script anyone else could change may run at all.
//!
//! As in keepalived: scripts run as `script_user` when it is given, else as the user
//! `keepalived_script` when that user exists, else as root. With `enable_script_security`, a
//! script whose file, or any directory above it, could be changed by someone other than root
//! or the user it runs as is refused (the configuration does not load, naming the script);
//! without it such a script runs and the daemon warns once, as keepalived does.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// keepalived's default script user, used when it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// The user and group scripts run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptUser {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// `script_user USER [GROUP]`: the ids, or why not. `None` given: keepalived's default
/// (`keepalived_script` if it exists, else root, which is `Ok(None)`).
pub fn resolve(spec: Option<&str>) -> Result<Option<ScriptUser>, String> {
    let Some(spec) = spec else {
        return Ok(user_ids(DEFAULT_SCRIPT_USER)
            .ok()
            .map(|(uid, gid)| ScriptUser { uid, gid }));
    };
    let mut words = spec.split_whitespace();
    let user = words.next().ok_or("empty user name")?;
    let (uid, mut gid) = user_ids(user)?;
    if let Some(group) = words.next() {
        gid = group_id(group)?;
    }
    if words.next().is_some() {
        return Err(format!("{spec:?}: expected USER [GROUP]"));
    }
    Ok(Some(ScriptUser { uid, gid }))
}

/// Why running `program` as `uid` is unsafe: the file or a directory above it can be
/// changed by someone other than root and `uid`. `None` when it is safe, or when it cannot be
/// found (running it will say so).
pub fn insecure(program: &str, uid: u32) -> Option<String> {
    let path = find_program(program)?;
    let mut at: Option<&Path> = Some(&path);
    while let Some(p) = at {
        let Ok(meta) = std::fs::metadata(p) else {
            return None;
        };
        let mode = meta.mode();
        let dir_sticky = meta.is_dir() && mode & 0o1000 != 0;
        if meta.uid() != 0 && meta.uid() != uid {
            return Some(format!("{} belongs to uid {}", p.display(), meta.uid()));
        }
        if mode & 0o002 != 0 && !dir_sticky {
            return Some(format!("{} is writable by everyone", p.display()));
        }
        if mode & 0o020 != 0 && meta.gid() != 0 && !dir_sticky {
            return Some(format!(
                "{} is writable by group {}",
                p.display(),
                meta.gid()
            ));
        }
        at = p.parent();
    }
    None
}

/// `program` as run: itself when it has a slash, else found on `PATH`.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return std::fs::canonicalize(program).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

fn user_ids(name: &str) -> Result<(u32, u32), String> {
    let c = CString::new(name).map_err(|_| format!("{name:?}: not a user name"))?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids) for getpwnam_r to fill.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives the strings `pw` points to,
    // and only the ids are read afterwards.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(format!("no user named {name:?}"));
    }
    Ok((pw.pw_uid, pw.pw_gid))
}

fn group_id(name: &str) -> Result<u32, String> {
    let c = CString::new(name).map_err(|_| format!("{name:?}: not a group name"))?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: all-zero is a valid `group` for getgrnam_r to fill.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `user_ids`.
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut gr,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(format!("no group named {name:?}"));
    }
    Ok(gr.gr_gid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn users_and_groups_resolve_like_keepalived_s() {
        assert_eq!(
            resolve(Some("root")),
            Ok(Some(ScriptUser { uid: 0, gid: 0 }))
        );
        let nobody = resolve(Some("nobody nogroup")).unwrap().unwrap();
        assert_ne!(nobody.uid, 0);
        assert!(resolve(Some("no-such-user-here")).is_err());
        assert!(resolve(Some("root no-such-group-here")).is_err());
        assert!(resolve(Some("root root extra")).is_err());
    }

    #[test]
    fn a_script_others_can_change_is_insecure() {
        let dir = std::env::temp_dir().join(format!("hakit-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("s.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = script.to_str().unwrap();
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        // /tmp itself is sticky: fine; our 0755 directory and file: fine.
        assert_eq!(insecure(s, me), None);
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert!(insecure(s, me).unwrap().contains("writable by everyone"));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(insecure(s, me).unwrap().contains("writable by everyone"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(insecure("/bin/true", 0), None);
        assert_eq!(insecure("true", 0), None);
    }
}
