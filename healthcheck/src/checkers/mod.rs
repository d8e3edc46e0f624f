//! The checker implementations.

pub mod dns;
pub mod exec;
pub mod file;
mod file_watch;
pub mod http;
pub mod http_body_regex;
pub(crate) mod http_response;
pub mod icmp;
pub mod process;
pub mod smtp;
pub mod socket_options;
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
pub mod udp;
