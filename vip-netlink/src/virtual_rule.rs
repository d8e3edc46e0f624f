//! keepalived's `virtual_rules`: policy-routing rules an instance installs while it holds its
//! VIPs (typically to send traffic from a VIP through a table of `virtual_routes`), and the
//! `RTM_NEWRULE` / `RTM_DELRULE` that add and remove one.
//!
//! A rule is written as keepalived writes it (iproute2's words):
//! `[from PREFIX|all] [to PREFIX|all] [iif IFACE] [oif IFACE] [fwmark N[/MASK]]
//! [priority|preference|pref N] (table N | goto N | blackhole | unreachable | prohibit)`,
//! plus `inet6` for a rule without addresses and keepalived's `no_track` (accepted: nothing
//! here watches a rule, so every rule behaves as `no_track`). It is installed with protocol
//! `keepalived`, so `ip rule` shows who owns it and a removal only ever takes out such a rule.
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleHeader, RuleMessage};
use netlink_packet_route::AddressFamily;

use crate::error::{Error, Result};
use crate::ip_words::{check_prefix, parse_number, parse_prefix};

/// What a matching packet gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleTarget {
    /// Looked up in this routing table (`table N`).
    Table(u32),
    /// Matched on from the rule of this priority on (`goto N`).
    Goto(u32),
    /// Dropped silently (`blackhole`).
    Blackhole,
    /// Dropped with ICMP unreachable (`unreachable`).
    Unreachable,
    /// Dropped with ICMP administratively prohibited (`prohibit`).
    Prohibit,
}

/// One of keepalived's `virtual_rules`.
///
/// ```
/// use vip_netlink::VirtualRule;
///
/// let r: VirtualRule = "from 192.0.2.100 table 100 priority 1000".parse().unwrap();
/// assert_eq!(r.to_string(), "from 192.0.2.100/32 priority 1000 table 100");
/// assert!("from 192.0.2.0/24".parse::<VirtualRule>().is_err()); // no action
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualRule {
    ipv6: bool,
    from: Option<(IpAddr, u8)>,
    to: Option<(IpAddr, u8)>,
    iif: Option<String>,
    oif: Option<String>,
    fwmark: Option<(u32, Option<u32>)>,
    priority: Option<u32>,
    target: RuleTarget,
}

impl VirtualRule {
    /// A rule of every packet of one family (`from all`) to `target`; narrow it with the
    /// `with_*` methods.
    pub fn new(ipv6: bool, target: RuleTarget) -> Result<Self> {
        if matches!(target, RuleTarget::Table(0)) {
            return Err(Error::InvalidConfig("rule table 0 is unspecified".into()));
        }
        Ok(VirtualRule {
            ipv6,
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            priority: None,
            target,
        })
    }

    /// Matches packets from this prefix, of the rule's family.
    pub fn with_from(mut self, addr: IpAddr, len: u8) -> Result<Self> {
        self.check_family(addr, "from")?;
        check_prefix(addr, len, "from")?;
        self.from = Some((addr, len));
        Ok(self)
    }

    /// Matches packets to this prefix, of the rule's family.
    pub fn with_to(mut self, addr: IpAddr, len: u8) -> Result<Self> {
        self.check_family(addr, "to")?;
        check_prefix(addr, len, "to")?;
        self.to = Some((addr, len));
        Ok(self)
    }

    /// Matches packets that came in on this interface.
    pub fn with_iif(mut self, iface: impl Into<String>) -> Self {
        self.iif = Some(iface.into());
        self
    }

    /// Matches packets going out of this interface.
    pub fn with_oif(mut self, iface: impl Into<String>) -> Self {
        self.oif = Some(iface.into());
        self
    }

    /// Matches packets with this firewall mark (under `mask`, if given).
    pub fn with_fwmark(mut self, mark: u32, mask: Option<u32>) -> Self {
        self.fwmark = Some((mark, mask));
        self
    }

    /// At this priority (lower first; the kernel picks one if unset).
    pub fn with_priority(mut self, priority: u32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// What a matching packet gets.
    pub fn target(&self) -> RuleTarget {
        self.target
    }

    /// The priority, if set.
    pub fn priority(&self) -> Option<u32> {
        self.priority
    }

    /// True for an IPv6 rule.
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    fn check_family(&self, addr: IpAddr, what: &str) -> Result<()> {
        if addr.is_ipv6() != self.ipv6 {
            return Err(Error::InvalidConfig(format!(
                "{what} {addr} is not of the rule's family"
            )));
        }
        Ok(())
    }

    /// The rule message (`RTM_NEWRULE` or `RTM_DELRULE` body).
    pub(crate) fn message(&self) -> RuleMessage {
        let mut msg = RuleMessage::default();
        let (action, table) = match self.target {
            RuleTarget::Table(t) => (RuleAction::ToTable, Some(t)),
            RuleTarget::Goto(_) => (RuleAction::Goto, None),
            RuleTarget::Blackhole => (RuleAction::Blackhole, None),
            RuleTarget::Unreachable => (RuleAction::Unreachable, None),
            RuleTarget::Prohibit => (RuleAction::Prohibit, None),
        };
        msg.header = RuleHeader {
            family: if self.ipv6 {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            },
            dst_len: self.to.map_or(0, |t| t.1),
            src_len: self.from.map_or(0, |f| f.1),
            // The real id rides in FRA_TABLE; the byte only holds small ones.
            table: table.and_then(|t| u8::try_from(t).ok()).unwrap_or(0),
            action,
            ..msg.header
        };
        let attrs = &mut msg.attributes;
        attrs.push(RuleAttribute::Protocol(RouteProtocol::KeepAlived));
        if let Some(t) = table {
            attrs.push(RuleAttribute::Table(t));
        }
        if let RuleTarget::Goto(p) = self.target {
            attrs.push(RuleAttribute::Goto(p));
        }
        if let Some((a, _)) = self.from {
            attrs.push(RuleAttribute::Source(a));
        }
        if let Some((a, _)) = self.to {
            attrs.push(RuleAttribute::Destination(a));
        }
        if let Some(i) = &self.iif {
            attrs.push(RuleAttribute::Iifname(i.clone()));
        }
        if let Some(o) = &self.oif {
            attrs.push(RuleAttribute::Oifname(o.clone()));
        }
        if let Some((mark, mask)) = self.fwmark {
            attrs.push(RuleAttribute::FwMark(mark));
            if let Some(mask) = mask {
                attrs.push(RuleAttribute::FwMask(mask));
            }
        }
        if let Some(p) = self.priority {
            attrs.push(RuleAttribute::Priority(p));
        }
        msg
    }
}

fn iface_word(word: Option<&str>, what: &str) -> Result<String> {
    match word {
        Some(w) if !w.is_empty() && w.len() < libc::IF_NAMESIZE => Ok(w.to_string()),
        _ => Err(Error::InvalidConfig(format!(
            "{what} needs an interface name"
        ))),
    }
}

/// `N` or `N/MASK`, decimal or `0x` hex, as iproute2 reads a mark.
fn mark_word(word: Option<&str>) -> Result<(u32, Option<u32>)> {
    let number = |w: &str| {
        let parsed = match w.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => w.parse().ok(),
        };
        parsed.ok_or_else(|| Error::InvalidConfig(format!("fwmark {w:?} is not a number")))
    };
    let word = word.ok_or_else(|| Error::InvalidConfig("fwmark needs a number".into()))?;
    Ok(match word.split_once('/') {
        Some((m, k)) => (number(m)?, Some(number(k)?)),
        None => (number(word)?, None),
    })
}

impl FromStr for VirtualRule {
    type Err = Error;

    /// keepalived's `virtual_rules` line (see the module documentation).
    fn from_str(s: &str) -> Result<Self> {
        let mut words = s.split_whitespace();
        let (mut from, mut to) = (None, None);
        let (mut iif, mut oif, mut fwmark, mut priority) = (None, None, None, None);
        let mut target = None;
        let mut inet6 = false;
        let mut set_target = |t: RuleTarget| {
            if target.replace(t).is_some() {
                return Err(Error::InvalidConfig(format!("rule {s:?}: two actions")));
            }
            Ok(())
        };
        while let Some(word) = words.next() {
            match word {
                "from" | "to" => {
                    let prefix = match words.next() {
                        Some("all") => None,
                        Some(p) => Some(parse_prefix(p)?),
                        None => return Err(Error::InvalidConfig(format!("{word} needs a prefix"))),
                    };
                    if word == "from" {
                        from = prefix;
                    } else {
                        to = prefix;
                    }
                }
                "iif" => iif = Some(iface_word(words.next(), "iif")?),
                "oif" => oif = Some(iface_word(words.next(), "oif")?),
                "fwmark" => fwmark = Some(mark_word(words.next())?),
                "priority" | "preference" | "pref" => {
                    priority = Some(parse_number(words.next(), word)?)
                }
                "table" | "lookup" => {
                    set_target(RuleTarget::Table(parse_number(words.next(), word)?))?
                }
                "goto" => set_target(RuleTarget::Goto(parse_number(words.next(), word)?))?,
                "blackhole" => set_target(RuleTarget::Blackhole)?,
                "unreachable" => set_target(RuleTarget::Unreachable)?,
                "prohibit" => set_target(RuleTarget::Prohibit)?,
                "inet6" => inet6 = true,
                // keepalived's own word: do not leave Master when the rule is deleted. A
                // VirtualRule is never tracked, so it always behaves so.
                "no_track" => {}
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "rule {s:?}: unexpected {other:?}"
                    )))
                }
            }
        }
        let target = target.ok_or_else(|| {
            Error::InvalidConfig(format!(
                "rule {s:?}: no action (table, goto, blackhole, unreachable or prohibit)"
            ))
        })?;
        let ipv6 = inet6
            || from.is_some_and(|(a, _)| a.is_ipv6())
            || to.is_some_and(|(a, _): (IpAddr, u8)| a.is_ipv6());
        let mut rule = VirtualRule::new(ipv6, target)?;
        if let Some((a, l)) = from {
            rule = rule.with_from(a, l)?;
        }
        if let Some((a, l)) = to {
            rule = rule.with_to(a, l)?;
        }
        if let Some(i) = iif {
            rule = rule.with_iif(i);
        }
        if let Some(o) = oif {
            rule = rule.with_oif(o);
        }
        if let Some((m, k)) = fwmark {
            rule = rule.with_fwmark(m, k);
        }
        if let Some(p) = priority {
            rule = rule.with_priority(p);
        }
        Ok(rule)
    }
}

impl fmt::Display for VirtualRule {
    /// The rule in the words [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut word = |f: &mut fmt::Formatter<'_>, text: fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{text}");
            sep = " ";
            r
        };
        if self.ipv6 && self.from.is_none() && self.to.is_none() {
            word(f, format_args!("inet6"))?;
        }
        if let Some((a, l)) = self.from {
            word(f, format_args!("from {a}/{l}"))?;
        }
        if let Some((a, l)) = self.to {
            word(f, format_args!("to {a}/{l}"))?;
        }
        if let Some(i) = &self.iif {
            word(f, format_args!("iif {i}"))?;
        }
        if let Some(o) = &self.oif {
            word(f, format_args!("oif {o}"))?;
        }
        match self.fwmark {
            Some((m, Some(k))) => word(f, format_args!("fwmark {m:#x}/{k:#x}"))?,
            Some((m, None)) => word(f, format_args!("fwmark {m:#x}"))?,
            None => {}
        }
        if let Some(p) = self.priority {
            word(f, format_args!("priority {p}"))?;
        }
        match self.target {
            RuleTarget::Table(t) => word(f, format_args!("table {t}")),
            RuleTarget::Goto(p) => word(f, format_args!("goto {p}")),
            RuleTarget::Blackhole => word(f, format_args!("blackhole")),
            RuleTarget::Unreachable => word(f, format_args!("unreachable")),
            RuleTarget::Prohibit => word(f, format_args!("prohibit")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<VirtualRule> {
        s.parse()
    }

    #[test]
    fn keepalived_words_parse_and_print_back() {
        for s in [
            "from 192.0.2.100/32 priority 1000 table 100",
            "from 10.0.0.0/8 to 198.51.100.0/24 iif eth0 table 1000",
            "to fd00:99::/48 oif eth1 priority 5 unreachable",
            "fwmark 0x10/0xff priority 7 goto 9",
            "inet6 priority 30 prohibit",
            "priority 40 blackhole",
        ] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
        let r = parse("from all to all fwmark 16 pref 3 lookup 200").unwrap();
        assert_eq!(r.to_string(), "fwmark 0x10 priority 3 table 200");
        assert!(parse("from fd00::1 table 5").unwrap().is_ipv6());
        assert_eq!(
            parse("to 192.168.2.0/24 table 1 no_track").unwrap(),
            parse("to 192.168.2.0/24 table 1").unwrap()
        );
    }

    #[test]
    fn bad_rules_are_typed_errors_naming_the_problem() {
        for (s, why) in [
            ("from 10.0.0.1/8 table 5", "host bits"),
            ("from 10.0.0.0/8", "no action"),
            ("from 10.0.0.0/8 table 5 blackhole", "two actions"),
            ("from 10.0.0.0/8 to fd00::/8 table 5", "family"),
            ("inet6 from 10.0.0.0/8 table 5", "family"),
            ("table 0", "unspecified"),
            ("from 10.0.0.0/8 table x", "number"),
            ("fwmark zz table 1", "not a number"),
            ("iif table 1", "unexpected"),
            ("from", "needs a prefix"),
            ("from 10.0.0.0/8 table 5 nat 1.2.3.4", "unexpected"),
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn the_message_carries_protocol_keepalived_and_the_table_word() {
        let m = parse("from 192.0.2.100 table 1000 priority 7")
            .unwrap()
            .message();
        assert!(m
            .attributes
            .contains(&RuleAttribute::Protocol(RouteProtocol::KeepAlived)));
        assert!(m.attributes.contains(&RuleAttribute::Table(1000)));
        assert_eq!((m.header.table, m.header.src_len), (0, 32));
        assert_eq!(m.header.action, RuleAction::ToTable);
    }
}
