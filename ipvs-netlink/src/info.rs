//! Version and size information (`IPVS_CMD_GET_INFO`).

/// What `ipvsadm` prints on its first line: "IP Virtual Server version 1.2.1 (size=4096)".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Info {
    /// Version as `0x00MMmmpp`.
    pub version: u32,
    /// Connection hash table size.
    pub conn_table_size: u32,
}

impl Info {
    /// Version as (major, minor, patch).
    pub fn version_triple(&self) -> (u8, u8, u8) {
        (
            (self.version >> 16) as u8,
            (self.version >> 8) as u8,
            self.version as u8,
        )
    }
}
