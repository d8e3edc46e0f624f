//! Numbers from the kernel's `include/uapi/linux/ip_vs.h` (generic netlink interface, version 1).
//!
//! They are part of the stable kernel ABI; the names follow the header so they can be grepped.

/// Generic netlink family name registered by `ip_vs`.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Generic netlink family version.
pub const IPVS_GENL_VERSION: u8 = 1;

// Commands (`enum ipvs_cmd`).
/// `IPVS_CMD_NEW_SERVICE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// `IPVS_CMD_SET_SERVICE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// `IPVS_CMD_DEL_SERVICE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// `IPVS_CMD_GET_SERVICE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// `IPVS_CMD_NEW_DEST` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// `IPVS_CMD_SET_DEST` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// `IPVS_CMD_DEL_DEST` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// `IPVS_CMD_GET_DEST` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// `IPVS_CMD_NEW_DAEMON` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
/// `IPVS_CMD_DEL_DAEMON` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
/// `IPVS_CMD_GET_DAEMON` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
/// `IPVS_CMD_SET_CONFIG` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
/// `IPVS_CMD_GET_CONFIG` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
/// `IPVS_CMD_SET_INFO` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// `IPVS_CMD_GET_INFO` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// `IPVS_CMD_ZERO` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ZERO: u8 = 16;
/// `IPVS_CMD_FLUSH` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_FLUSH: u8 = 17;

// Top-level command attributes (`IPVS_CMD_ATTR_*`).
/// `IPVS_CMD_ATTR_SERVICE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// `IPVS_CMD_ATTR_DEST` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
/// `IPVS_CMD_ATTR_DAEMON` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// `IPVS_CMD_ATTR_TIMEOUT_UDP` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// Info attributes, top level in the IPVS_CMD_GET_INFO reply (`IPVS_INFO_ATTR_*`).
/// `IPVS_INFO_ATTR_VERSION` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// `IPVS_INFO_ATTR_CONN_TAB_SIZE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// Service attributes (`IPVS_SVC_ATTR_*`).
/// `IPVS_SVC_ATTR_AF` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// `IPVS_SVC_ATTR_PROTOCOL` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// `IPVS_SVC_ATTR_ADDR` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// `IPVS_SVC_ATTR_PORT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// `IPVS_SVC_ATTR_FWMARK` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// `IPVS_SVC_ATTR_SCHED_NAME` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// `IPVS_SVC_ATTR_FLAGS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// `IPVS_SVC_ATTR_TIMEOUT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// `IPVS_SVC_ATTR_NETMASK` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// `IPVS_SVC_ATTR_STATS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// `IPVS_SVC_ATTR_PE_NAME` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// `IPVS_SVC_ATTR_STATS64` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// Destination attributes (`IPVS_DEST_ATTR_*`).
/// `IPVS_DEST_ATTR_ADDR` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// `IPVS_DEST_ATTR_PORT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// `IPVS_DEST_ATTR_FWD_METHOD` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// `IPVS_DEST_ATTR_WEIGHT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// `IPVS_DEST_ATTR_U_THRESH` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// `IPVS_DEST_ATTR_L_THRESH` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// `IPVS_DEST_ATTR_ACTIVE_CONNS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// `IPVS_DEST_ATTR_INACT_CONNS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// `IPVS_DEST_ATTR_PERSIST_CONNS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// `IPVS_DEST_ATTR_STATS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// `IPVS_DEST_ATTR_ADDR_FAMILY` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// `IPVS_DEST_ATTR_STATS64` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// `IPVS_DEST_ATTR_TUN_TYPE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// `IPVS_DEST_ATTR_TUN_PORT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// `IPVS_DEST_ATTR_TUN_FLAGS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`).
/// `IPVS_DAEMON_ATTR_STATE` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
/// `IPVS_DAEMON_ATTR_MCAST_IFN` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
/// `IPVS_DAEMON_ATTR_SYNC_ID` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
/// `IPVS_DAEMON_ATTR_SYNC_MAXLEN` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
/// `IPVS_DAEMON_ATTR_MCAST_GROUP` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
/// `IPVS_DAEMON_ATTR_MCAST_GROUP6` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
/// `IPVS_DAEMON_ATTR_MCAST_PORT` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
/// `IPVS_DAEMON_ATTR_MCAST_TTL` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

// Statistics attributes (`IPVS_STATS_ATTR_*`).
/// `IPVS_STATS_ATTR_CONNS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
/// `IPVS_STATS_ATTR_INPKTS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
/// `IPVS_STATS_ATTR_OUTPKTS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
/// `IPVS_STATS_ATTR_INBYTES` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
/// `IPVS_STATS_ATTR_OUTBYTES` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
/// `IPVS_STATS_ATTR_CPS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
/// `IPVS_STATS_ATTR_INPPS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
/// `IPVS_STATS_ATTR_OUTPPS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
/// `IPVS_STATS_ATTR_INBPS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
/// `IPVS_STATS_ATTR_OUTBPS` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
/// `IPVS_STATS_ATTR_PAD` from `include/uapi/linux/ip_vs.h`.
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

// Service flags (`IP_VS_SVC_F_*`).
/// `IP_VS_SVC_F_PERSISTENT` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

// Forwarding methods (`IP_VS_CONN_F_*`, masked by IP_VS_CONN_F_FWD_MASK).
/// `IP_VS_CONN_F_FWD_MASK` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// `IP_VS_CONN_F_MASQ` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// `IP_VS_CONN_F_LOCALNODE` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// `IP_VS_CONN_F_TUNNEL` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// `IP_VS_CONN_F_DROUTE` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// `IP_VS_CONN_F_BYPASS` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

// Tunnel types and flags (`IP_VS_CONN_F_TUNNEL_TYPE_*`, `IP_VS_TUNNEL_ENCAP_FLAG_*`).
/// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GUE` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GRE` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
/// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1 << 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 1 << 1;

// Sync daemon states (`IP_VS_STATE_*`).
/// `IP_VS_STATE_NONE` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_STATE_NONE: u32 = 0;
/// `IP_VS_STATE_MASTER` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_STATE_MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP` from `include/uapi/linux/ip_vs.h`.
pub const IP_VS_STATE_BACKUP: u32 = 2;

/// Longest scheduler name the kernel accepts, including the NUL (`IP_VS_SCHEDNAME_MAXLEN`).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// Longest persistence-engine name (`IP_VS_PENAME_MAXLEN`).
pub const IP_VS_PENAME_MAXLEN: usize = 16;
/// Longest interface name (`IP_VS_IFNAME_MAXLEN`).
pub const IP_VS_IFNAME_MAXLEN: usize = 16;
