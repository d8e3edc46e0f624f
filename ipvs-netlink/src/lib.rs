//! ipvs-netlink
