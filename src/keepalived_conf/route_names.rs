//! The names keepalived.conf routes may use for numbers, as keepalived (through iproute2's
//! `rt_protos` and `rt_tables`) accepts them: `protocol static`, `proto bird`, `table main`.
//! hakit's route parser takes numbers, so the reader turns the standard names into them
//! (a route announced to FRR through an imported table, `10.77.0.1/32 dev lo table 100
//! protocol 85`, needs none). A name not listed here (a site's own `rt_protos` entry) stays
//! as written, and the route is skipped with a warning, as keepalived skips a route with a
//! name it does not know.

/// The kernel's route protocols (`RTPROT_*`), under iproute2's names.
const PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// The kernel's reserved tables, under iproute2's names.
const TABLES: &[(&str, u8)] = &[("default", 253), ("main", 254), ("local", 255)];

/// `route` (a keepalived.conf route line) with the names after `protocol`/`proto` and
/// `table` turned into numbers.
pub(crate) fn numbered(route: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut key: Option<&str> = None;
    for word in route.split_whitespace() {
        let names = match key.take() {
            Some("protocol" | "proto") => PROTOCOLS,
            Some(_) => TABLES,
            None => &[][..],
        };
        match names.iter().find(|(name, _)| *name == word) {
            Some((_, n)) => out.push(n.to_string()),
            None => out.push(word.to_string()),
        }
        if matches!(word, "protocol" | "proto" | "table") {
            key = Some(word);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn protocol_and_table_names_become_numbers() {
        for (line, want) in [
            (
                "10.77.0.1/32 dev lo table 100 protocol bird",
                "10.77.0.1/32 dev lo table 100 protocol 12",
            ),
            (
                "10.99.0.0/16 via 192.0.2.254 proto static table main",
                "10.99.0.0/16 via 192.0.2.254 proto 4 table 254",
            ),
            (
                "10.77.0.1/32 dev lo table 100 protocol 85",
                "10.77.0.1/32 dev lo table 100 protocol 85",
            ),
            // A name of the site's own stays: the route parser refuses it.
            (
                "10.77.0.1/32 dev lo protocol mine",
                "10.77.0.1/32 dev lo protocol mine",
            ),
            // `static` where it is no protocol is left alone.
            ("10.77.0.1/32 dev static", "10.77.0.1/32 dev static"),
        ] {
            assert_eq!(numbered(line), want, "{line}");
        }
    }
}
