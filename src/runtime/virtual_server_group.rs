//! keepalived's `virtual_server_group` member lines, expanded into IPVS service keys:
//! `IP [PORT]`, `IP-LAST [PORT]` (the last IPv4 byte, or the last IPv6 group in hex, as
//! keepalived reads `ae00::2-9`), `IP-IP [PORT]`, `IP/LEN [PORT]` (every address of the
//! prefix), and `fwmark N [inet|inet6]`. Feature `ipvs`.
//!
//! ```
//! use hakit::runtime::virtual_server_group::{expand_member, Member};
//! use ipvs_netlink::{Family, Protocol};
//! let keys = expand_member("192.168.200.3-5 80", Protocol::Tcp, Family::Inet).unwrap();
//! assert_eq!(keys.len(), 3);
//! assert_eq!(keys[2], Member::Address("192.168.200.5:80".parse().unwrap()).key(Protocol::Tcp));
//! assert!(expand_member("192.168.200.9-3 80", Protocol::Tcp, Family::Inet).is_err());
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipvs_netlink::{Family, Protocol, ServiceKey};

/// The most services one group may expand to: a typo such as `10.0.0.0/8` must not program
/// sixteen million services.
pub const MAX_GROUP_SERVICES: usize = 1024;

/// One service of a group, before the protocol is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// An address and port (port 0: every port, for a persistent service).
    Address(SocketAddr),
    /// A firewall mark and the family of its real servers.
    Fwmark(Family, u32),
}

impl Member {
    /// Its IPVS key for a virtual server of `protocol`.
    pub fn key(self, protocol: Protocol) -> ServiceKey {
        match self {
            Member::Fwmark(family, mark) => ServiceKey::fwmark(family, mark),
            Member::Address(addr) => ServiceKey::Inet { protocol, addr },
        }
    }
}

/// Expands one member line into its service keys; `family` is the family a `fwmark` line
/// without `inet`/`inet6` takes (its virtual server's real servers'). The error says what
/// is wrong with the line.
pub fn expand_member(
    line: &str,
    protocol: Protocol,
    family: Family,
) -> Result<Vec<ServiceKey>, String> {
    Ok(members(line, family)?
        .into_iter()
        .map(|m| m.key(protocol))
        .collect())
}

fn members(line: &str, family: Family) -> Result<Vec<Member>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["fwmark", mark, rest @ ..] => {
            let mark: u32 = match mark.parse() {
                Ok(m) if m > 0 => m,
                _ => return Err(format!("{mark:?} is not a firewall mark (1 or more)")),
            };
            let family = match rest {
                [] => family,
                ["inet"] => Family::Inet,
                ["inet6"] => Family::Inet6,
                _ => return Err(format!("{:?}: expected inet or inet6", rest.join(" "))),
            };
            Ok(vec![Member::Fwmark(family, mark)])
        }
        [range] => addresses(range, 0),
        [range, port] => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("{port:?} is not a port"))?;
            addresses(range, port)
        }
        _ => Err("expected IP [PORT], a range, or fwmark N".into()),
    }
}

/// The addresses of `range` (`IP`, `IP-LAST`, `IP-IP`, `IP/LEN`), each with `port`.
fn addresses(range: &str, port: u16) -> Result<Vec<Member>, String> {
    let (first, last) = bounds(range)?;
    if first > last {
        return Err(format!("{range:?}: the range ends before it starts"));
    }
    if last - first >= MAX_GROUP_SERVICES as u128 {
        return Err(format!(
            "{range:?} holds more than {MAX_GROUP_SERVICES} addresses"
        ));
    }
    let v4 = !range.contains(':');
    Ok((first..=last)
        .map(|n| {
            let ip = if v4 {
                IpAddr::V4(Ipv4Addr::from(n as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(n))
            };
            Member::Address(SocketAddr::new(ip, port))
        })
        .collect())
}

/// The first and last address of a range, as numbers.
fn bounds(range: &str) -> Result<(u128, u128), String> {
    let ip = |s: &str| -> Result<IpAddr, String> {
        s.parse().map_err(|_| format!("{s:?} is not an address"))
    };
    let num = |a: IpAddr| match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    if let Some((a, len)) = range.split_once('/') {
        let a = ip(a)?;
        let bits = if a.is_ipv4() { 32 } else { 128 };
        let len: u32 = match len.parse() {
            Ok(l) if l <= bits => l,
            _ => return Err(format!("{len:?} is not a prefix length (0 to {bits})")),
        };
        let host_bits = bits - len;
        if host_bits >= 64 {
            return Err(format!(
                "{range:?} holds more than {MAX_GROUP_SERVICES} addresses"
            ));
        }
        let size = 1u128 << host_bits;
        let start = num(a) & !(size - 1);
        return Ok((start, start + size - 1));
    }
    let Some((a, b)) = range.split_once('-') else {
        let a = num(ip(range)?);
        return Ok((a, a));
    };
    let a = ip(a)?;
    if b.contains('.') || b.contains(':') {
        let b = ip(b)?;
        if a.is_ipv4() != b.is_ipv4() {
            return Err(format!("{range:?} mixes IPv4 and IPv6"));
        }
        return Ok((num(a), num(b)));
    }
    // `IP-LAST`: LAST replaces the last byte (IPv4, decimal) or group (IPv6, hex).
    let (last, mask) = match a {
        IpAddr::V4(_) => (
            b.parse::<u8>()
                .map(u128::from)
                .map_err(|_| format!("{b:?} is not a last byte (0 to 255)"))?,
            0xff,
        ),
        IpAddr::V6(_) => (
            u16::from_str_radix(b, 16)
                .map(u128::from)
                .map_err(|_| format!("{b:?} is not a last group (hex, 0 to ffff)"))?,
            0xffff,
        ),
    };
    let a = num(a);
    Ok((a, (a & !mask) | last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Result<Vec<String>, String> {
        Ok(expand_member(line, Protocol::Tcp, Family::Inet)?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    #[test]
    fn every_form_keepalived_documents() {
        assert_eq!(keys("10.0.0.1 8080").unwrap().len(), 1);
        assert_eq!(keys("192.168.200.3-10 80").unwrap().len(), 8);
        assert_eq!(keys("192.168.200.250-192.168.201.10 80").unwrap().len(), 17);
        assert_eq!(keys("192.168.202.8/29 80").unwrap().len(), 8);
        assert_eq!(keys("ae00::2-9 80").unwrap().len(), 8);
        // IPv6's last group is hex: fe to 10f is 18 addresses.
        assert_eq!(keys("ae00::fe-10f 80").unwrap().len(), 18);
        assert_eq!(keys("ae00::2-1f 80").unwrap().len(), 30);
        assert_eq!(
            expand_member("fwmark 1", Protocol::Tcp, Family::Inet6).unwrap(),
            vec![ServiceKey::fwmark(Family::Inet6, 1)]
        );
        assert_eq!(
            expand_member("fwmark 2 inet", Protocol::Tcp, Family::Inet6).unwrap(),
            vec![ServiceKey::fwmark(Family::Inet, 2)]
        );
        // No port: every port (the virtual server must be persistent: checked by the caller).
        assert_eq!(
            expand_member("10.0.0.1", Protocol::Udp, Family::Inet).unwrap(),
            vec![ServiceKey::udp("10.0.0.1:0".parse().unwrap())]
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for line in [
            "",
            "10.0.0.1 80 90",
            "10.0.0.x 80",
            "10.0.0.1 http",
            "10.0.0.9-3 80",
            "10.0.0.1-300 80",
            "10.0.0.1-ae00::1 80",
            "10.0.0.0/8 80",
            "ae00::/64 80",
            "10.0.0.0/33 80",
            "fwmark 0",
            "fwmark x",
            "fwmark 1 ipx",
        ] {
            assert!(keys(line).is_err(), "{line:?} was accepted");
        }
    }
}
