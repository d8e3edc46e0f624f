//! Error types of the codec.
use core::fmt;

/// Why an address could not be added to an [`AddressList`](crate::AddressList).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressListError {
    /// The list already holds 255 addresses (the advert's count field is one octet).
    Full,
    /// The address is IPv4 and the list IPv6, or the other way round.
    FamilyMismatch,
    /// Wire octets were not a whole number of addresses matching the count.
    WrongLength,
}

impl fmt::Display for AddressListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressListError::Full => "address list full: at most 255 addresses per advert",
            AddressListError::FamilyMismatch => "address family differs from the list's family",
            AddressListError::WrongLength => "address octets do not match the address count",
        })
    }
}

impl core::error::Error for AddressListError {}
