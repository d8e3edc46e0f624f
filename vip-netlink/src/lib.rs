//! vip-netlink
