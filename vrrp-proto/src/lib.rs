//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) advert codec.
//!
//! `no_std`, zero-copy, no allocation. (Work in progress: the public types below are the
//! contract the other crates build against.)
#![no_std]
#![forbid(unsafe_code)]

mod advert;
pub use advert::{AddressList, Advert, Auth, Version};
