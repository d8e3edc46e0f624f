//! keepalived's words for addresses, prefixes and numbers in `virtual_routes` and
//! `virtual_rules` (iproute2's), shared by both parsers.
use std::net::IpAddr;

use crate::error::{Error, Result};

/// `addr` with the bits past `prefix_len` cleared.
pub(crate) fn masked(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

pub(crate) fn parse_addr(word: &str, what: &str) -> Result<IpAddr> {
    word.parse()
        .map_err(|_| Error::InvalidConfig(format!("{what}: {word:?} is not an IP address")))
}

pub(crate) fn parse_number(word: Option<&str>, what: &str) -> Result<u32> {
    word.and_then(|w| w.parse().ok())
        .ok_or_else(|| Error::InvalidConfig(format!("{what} needs a number")))
}

/// `ADDR[/LEN]` (a host without a length) or `default` (`0.0.0.0/0`).
pub(crate) fn parse_prefix(word: &str) -> Result<(IpAddr, u8)> {
    let (addr, len) = match word {
        "default" => ("0.0.0.0", Some("0")),
        d => match d.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (d, None),
        },
    };
    let addr = parse_addr(addr, "prefix")?;
    let full = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => full,
        Some(l) => l
            .parse::<u8>()
            .map_err(|_| Error::InvalidConfig(format!("prefix length {l:?}")))?,
    };
    Ok((addr, len))
}

/// Checks `addr/len`: the length fits the family and no host bit is set.
pub(crate) fn check_prefix(addr: IpAddr, len: u8, what: &str) -> Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(Error::InvalidConfig(format!(
            "{what} prefix /{len} is longer than /{max}"
        )));
    }
    if masked(addr, len) != addr {
        return Err(Error::InvalidConfig(format!(
            "{what} {addr}/{len} has host bits set (did you mean {}/{len}?)",
            masked(addr, len)
        )));
    }
    Ok(())
}
