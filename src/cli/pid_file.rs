//! `--pid-file`: the PID written atomically (a temporary file in the same directory, then
//! renamed), so a reader never sees a half-written file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The written PID file; dropping it removes the file.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's PID to `path`.
    pub fn write(path: &Path) -> io::Result<PidFile> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            writeln!(f, "{}", std::process::id())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_pid_and_goes_at_drop() {
        let path = std::env::temp_dir().join(format!("hakit-pid-{}", std::process::id()));
        let f = PidFile::write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        drop(f);
        assert!(!path.exists());
        assert!(PidFile::write(Path::new("/nonexistent-dir/x.pid")).is_err());
    }
}
