//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) advert codec.
//!
//! `no_std`, zero-copy, no allocation. (Work in progress: the public types below are the
//! contract the other crates build against.)
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address_list;
mod advert;
mod error;

pub use address_list::{AddressFamily, AddressList, MAX_ADDRESSES};
pub use advert::{Advert, Auth, Version};
pub use error::AddressListError;
