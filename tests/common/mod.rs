//! Shared support for the root end-to-end tests: namespace topologies, processes run inside
//! them, packet captures in an observer namespace, real keepalived as a peer, and [`peer::Peer`]
//! for a node run by either implementation.
//!
//! Every test needs root (network namespaces, raw sockets).
#![allow(dead_code)]

pub mod cluster;
pub mod flood;
pub mod frr;
pub mod hostile;
pub mod keepalived;
pub mod notify_log;
pub mod pcap;
pub mod peer;
pub mod process;
pub mod routed;
pub mod scraper;
pub mod smtp;
pub mod topology;
pub mod usage;

/// True when running as root; tests print a note and return early otherwise.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
