//! Fuzz entry points for what a configuration file can hold, shared by the cargo-fuzz targets
//! `daemon_config` and `vip_words` and by the stable test that replays their corpora (hidden:
//! not part of the supported API). They panic only when an invariant breaks; bad input alone
//! never panics.
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vip_netlink::{AddressScope, VirtualRoute, VirtualRule};

use crate::runtime::spec::{parse_vip, validate, VipOptions};
use crate::runtime::Config;

/// Target `daemon_config`: `data` as a TOML configuration, read then validated with a fake
/// interface lookup (interfaces named `down*` have no address, any other has 192.0.2.1 and
/// fe80::1), so the target never asks the system. A configuration that reads also prints
/// back to TOML that reads to the same text again.
pub fn daemon_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::from_toml(text) else {
        return;
    };
    let printed = toml::to_string(&config).expect("a configuration that was read prints");
    let again = Config::from_toml(&printed).expect("a printed configuration reads back");
    assert_eq!(toml::to_string(&again).ok().as_deref(), Some(&*printed));
    match validate(&config, &fake_source) {
        Ok(spec) => {
            assert_eq!(spec.instances.len(), config.instance.len());
            for inst in &spec.instances {
                assert!(!inst.fsm.vips.is_empty(), "{} has no VIP", inst.name);
            }
        }
        Err(e) => assert!(!e.field.is_empty(), "an error names no field: {e}"),
    }
}

/// Target `keepalived_conf`: `data` as a keepalived.conf, read with small limits (includes
/// refused, so the target never walks the file system), mapped to the daemon's configuration
/// and validated as [`daemon_config`] does. The tree stays within the limits; a file that maps
/// prints as TOML (`--print-toml`) that reads back to the same configuration and validates
/// alike; every refusal names its field.
pub fn keepalived_conf(data: &[u8]) {
    use crate::keepalived_conf::{to_config, Limits, Node, Reader};
    const MAX_NODES: usize = 2000;
    let text = String::from_utf8_lossy(data);
    let limits = Limits {
        max_include_depth: 0,
        max_file_size: 64 << 10,
        max_total_size: 64 << 10,
        max_nodes: MAX_NODES,
        max_lines: 20_000,
        max_line_len: 512,
    };
    let reader = Reader::new()
        .host(Some("node1"))
        .random_seed(1)
        .limits(limits);
    let Ok(file) = reader.read_str(&text, "/nonexistent/fuzz/keepalived.conf") else {
        return;
    };
    fn count(nodes: &[Node]) -> usize {
        nodes.iter().map(|n| 1 + count(&n.children)).sum()
    }
    assert!(count(&file.nodes) <= MAX_NODES);
    let Ok((config, _warnings)) = to_config(&file) else {
        return;
    };
    let printed = toml::to_string(&config).expect("a mapped configuration prints as TOML");
    let again = Config::from_toml(&printed)
        .unwrap_or_else(|e| panic!("the printed TOML does not read back: {e}\n{printed}"));
    assert_eq!(
        toml::to_string(&again).ok().as_deref(),
        Some(&*printed),
        "the printed TOML reads back to another configuration"
    );
    let first = validate(&config, &fake_source).map(|spec| spec.instances.len());
    let second = validate(&again, &fake_source).map(|spec| spec.instances.len());
    match (first, second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => {
            assert!(!a.field.is_empty(), "an error names no field: {a}");
            assert_eq!(a.to_string(), b.to_string());
        }
        (a, b) => panic!("the file and its TOML validate differently: {a:?} / {b:?}"),
    }
}

/// The interface lookup of [`daemon_config`].
fn fake_source(iface: &str, sample: IpAddr) -> Result<IpAddr, String> {
    if iface.starts_with("down") {
        return Err(format!("{iface} has no address"));
    }
    Ok(match sample {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    })
}

/// Target `vip_words`: the first octet picks how the rest (as text) is read: a virtual
/// address with keepalived's words, a `virtual_routes` line or a `virtual_rules` line. What
/// parses prints back to words that parse to the same value.
pub fn vip_words(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match sel % 3 {
        0 => {
            let Ok((vip, opts)) = parse_vip(text) else {
                return;
            };
            let printed = print_vip(vip.addr, vip.prefix_len, &opts);
            let again = parse_vip(&printed)
                .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
            assert_eq!(again, (vip, opts), "{text:?} printed as {printed:?}");
        }
        1 => round_trip::<VirtualRoute>(text),
        _ => round_trip::<VirtualRule>(text),
    }
}

/// `text` parsed, printed and parsed again gives the same value.
fn round_trip<T>(text: &str)
where
    T: std::str::FromStr + std::fmt::Display + std::fmt::Debug + PartialEq,
    T::Err: std::fmt::Display,
{
    let Ok(value) = text.parse::<T>() else {
        return;
    };
    let printed = value.to_string();
    let again: T = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
    assert_eq!(again, value, "{text:?} printed as {printed:?}");
}

/// A virtual address in keepalived's words, as `parse_vip` reads them.
fn print_vip(addr: IpAddr, prefix_len: u8, o: &VipOptions) -> String {
    let mut s = format!("{addr}/{prefix_len}");
    if let Some(l) = &o.label {
        let _ = write!(s, " label {l}");
    }
    if let Some(scope) = o.scope {
        let word = match scope {
            AddressScope::Global => "global",
            AddressScope::Site => "site",
            AddressScope::Link => "link",
            AddressScope::Host => "host",
            AddressScope::Nowhere => "nowhere",
        };
        let _ = write!(s, " scope {word}");
    }
    if let Some(d) = &o.dev {
        let _ = write!(s, " dev {d}");
    }
    s
}
