//! The state of every watched interface, by name, as the kernel's link messages say: the
//! Sans-IO half of [`LinkMonitor`](crate::LinkMonitor). One table for all interfaces, so one
//! message costs a hash lookup, whatever the number of interfaces watched.
use std::collections::HashMap;

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

/// An interface as it is now: its index and whether it is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkStatus {
    /// The kernel interface index (a re-created interface gets a new one).
    pub index: u32,
    /// Administratively up with carrier (`IFF_UP|IFF_RUNNING`, keepalived's test).
    pub up: bool,
}

/// A change of one watched interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkChange {
    /// The link became usable.
    Up,
    /// The link is no longer usable (admin down or no carrier).
    Down,
    /// The interface was deleted (or renamed away); watched still, should it come back.
    Removed,
    /// An interface of the watched name appeared (created, re-created or renamed to it).
    Appeared(LinkStatus),
}

/// The changes from `old` to `new` (`None`: no such interface).
pub(crate) fn changes(old: Option<LinkStatus>, new: Option<LinkStatus>) -> Vec<LinkChange> {
    match (old, new) {
        (None, None) => vec![],
        (Some(_), None) => vec![LinkChange::Removed],
        (None, Some(n)) => vec![LinkChange::Appeared(n)],
        (Some(o), Some(n)) if o.index != n.index => {
            vec![LinkChange::Removed, LinkChange::Appeared(n)]
        }
        (Some(o), Some(n)) if o.up != n.up => {
            vec![if n.up {
                LinkChange::Up
            } else {
                LinkChange::Down
            }]
        }
        (Some(_), Some(_)) => vec![],
    }
}

/// Watched interfaces by name, and the names of those present by index.
#[derive(Debug, Default)]
pub(crate) struct LinkTable {
    by_name: HashMap<String, Option<LinkStatus>>,
    by_index: HashMap<u32, String>,
}

impl LinkTable {
    /// Starts watching `name`, now in state `now`; the changes from what was known before
    /// (none for a name not watched yet).
    pub(crate) fn watch(&mut self, name: &str, now: Option<LinkStatus>) -> Vec<LinkChange> {
        let known = self.by_name.get(name).copied();
        let out = match known {
            Some(old) => changes(old, now),
            None => vec![],
        };
        self.set(name, now);
        out
    }

    /// Whether `name` is watched.
    pub(crate) fn is_watched(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The watched names.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Records `name`'s state, keeping the index map in step.
    pub(crate) fn set(&mut self, name: &str, now: Option<LinkStatus>) {
        if let Some(Some(old)) = self.by_name.get(name) {
            self.by_index.remove(&old.index);
        }
        if let Some(n) = now {
            self.by_index.insert(n.index, name.to_string());
        }
        self.by_name.insert(name.to_string(), now);
    }

    /// Applies one rtnetlink message: the changes it makes, by interface name.
    pub(crate) fn apply(&mut self, msg: &RouteNetlinkMessage) -> Vec<(String, LinkChange)> {
        let mut out = Vec::new();
        match msg {
            RouteNetlinkMessage::NewLink(link) => {
                let index = link.header.index;
                let f = link.header.flags;
                let up = f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running);
                let name = link_name(link);
                // Renamed away from a watched name: that name is gone.
                if let Some(was) = self.by_index.get(&index).cloned() {
                    if name.is_some_and(|n| n != was) {
                        self.set(&was, None);
                        out.push((was, LinkChange::Removed));
                    }
                }
                let Some(name) = name.or_else(|| self.by_index.get(&index).map(String::as_str))
                else {
                    return out;
                };
                let Some(&old) = self.by_name.get(name) else {
                    return out;
                };
                let name = name.to_string();
                let now = Some(LinkStatus { index, up });
                for c in changes(old, now) {
                    out.push((name.clone(), c));
                }
                self.set(&name, now);
            }
            RouteNetlinkMessage::DelLink(link) => {
                if let Some(name) = self.by_index.get(&link.header.index).cloned() {
                    self.set(&name, None);
                    out.push((name, LinkChange::Removed));
                }
            }
            _ => {}
        }
        out
    }
}

/// `IFLA_IFNAME` of a link message.
fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_link(index: u32, name: &str, up: bool) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        if up {
            m.header.flags = LinkFlags::Up | LinkFlags::Running;
        }
        m.attributes.push(LinkAttribute::IfName(name.into()));
        RouteNetlinkMessage::NewLink(m)
    }

    fn del_link(index: u32) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        RouteNetlinkMessage::DelLink(m)
    }

    fn st(index: u32, up: bool) -> Option<LinkStatus> {
        Some(LinkStatus { index, up })
    }

    #[test]
    fn transitions_only_of_watched_names() {
        let mut t = LinkTable::default();
        assert!(t.watch("s1", st(5, true)).is_empty());
        assert!(t.apply(&new_link(5, "s1", true)).is_empty(), "no change");
        assert!(
            t.apply(&new_link(6, "other", false)).is_empty(),
            "not watched"
        );
        assert_eq!(
            t.apply(&new_link(5, "s1", false)),
            vec![("s1".to_string(), LinkChange::Down)]
        );
        assert_eq!(
            t.apply(&new_link(5, "s1", true)),
            vec![("s1".to_string(), LinkChange::Up)]
        );
    }

    #[test]
    fn removed_then_recreated_with_a_new_index() {
        let mut t = LinkTable::default();
        t.watch("s1", st(5, true));
        assert_eq!(
            t.apply(&del_link(5)),
            vec![("s1".to_string(), LinkChange::Removed)]
        );
        assert!(t.apply(&del_link(5)).is_empty(), "already gone");
        assert_eq!(
            t.apply(&new_link(9, "s1", false)),
            vec![(
                "s1".to_string(),
                LinkChange::Appeared(LinkStatus {
                    index: 9,
                    up: false
                })
            )]
        );
    }

    #[test]
    fn renamed_away_is_removed() {
        let mut t = LinkTable::default();
        t.watch("s1", st(5, true));
        assert_eq!(
            t.apply(&new_link(5, "s1-old", true)),
            vec![("s1".to_string(), LinkChange::Removed)]
        );
        assert!(t.is_watched("s1"));
    }

    #[test]
    fn a_missing_name_is_watched_until_it_appears() {
        let mut t = LinkTable::default();
        assert!(t.watch("later", None).is_empty());
        assert_eq!(
            t.apply(&new_link(3, "later", true)),
            vec![(
                "later".to_string(),
                LinkChange::Appeared(LinkStatus { index: 3, up: true })
            )]
        );
    }

    #[test]
    fn watching_again_reports_what_changed_meanwhile() {
        let mut t = LinkTable::default();
        t.watch("s1", st(5, true));
        assert_eq!(t.watch("s1", st(5, false)), vec![LinkChange::Down]);
        assert_eq!(
            t.watch("s1", st(7, false)),
            vec![
                LinkChange::Removed,
                LinkChange::Appeared(LinkStatus {
                    index: 7,
                    up: false
                })
            ]
        );
        assert_eq!(t.names().count(), 1);
    }
}
