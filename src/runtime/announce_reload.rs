//! How a reloaded file's `[[announce]]` tables map onto the running announcements: which
//! running one each continues (kept as it is when unchanged, moved to its new form when
//! changed), which are new and which go. What the announcer then does with them is in
//! [`route_announcer`](crate::runtime::route_announcer).
//!
//! An announcement is matched, in this order, to a running one that is equal to it, then to
//! one of the same prefix in the same table, then to one of the same prefix in another
//! table (a table change is a move, not a withdrawal and a new announcement).

use crate::runtime::announce_config::AnnounceSpec;

/// Whether a running announcement and a new one are the same by one rule.
type Same = dyn Fn(&AnnounceSpec, &AnnounceSpec) -> bool;

/// For each of `new`, in its order: the index into `running` it continues, or `None` for a
/// new announcement. A running one matched by none is withdrawn.
pub(crate) fn match_announcements(
    running: &[AnnounceSpec],
    new: &[AnnounceSpec],
) -> Vec<Option<usize>> {
    let mut taken = vec![false; running.len()];
    let mut out = vec![None; new.len()];
    let rules: [&Same; 3] = [
        &|a, b| a == b,
        &|a, b| (a.prefix, a.prefix_len, a.table) == (b.prefix, b.prefix_len, b.table),
        &|a, b| (a.prefix, a.prefix_len) == (b.prefix, b.prefix_len),
    ];
    for same in rules {
        for (i, spec) in new.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            let found = (0..running.len()).find(|&j| !taken[j] && same(&running[j], spec));
            if let Some(j) = found {
                taken[j] = true;
                out[i] = Some(j);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::config::Config;

    fn specs(body: &str) -> Vec<AnnounceSpec> {
        Config::from_toml(body)
            .unwrap()
            .validate()
            .unwrap()
            .announcements
    }

    fn announce(prefix: &str, extra: &str) -> String {
        format!("[[announce]]\nprefix = '{prefix}'\niface = 'svc0'\n{extra}\n")
    }

    #[test]
    fn unchanged_changed_new_and_gone_announcements_are_told_apart() {
        let old = specs(
            &(announce("192.0.2.1/32", "")
                + &announce("192.0.2.2/32", "metric = 5")
                + &announce("192.0.2.3/32", "table = 101")
                + &announce("192.0.2.4/32", "")),
        );
        // 3 moves to another table, 2 changes its metric, 4 goes, 5 comes, 1 stays (its
        // place in the file changes nothing).
        let new = specs(
            &(announce("192.0.2.5/32", "")
                + &announce("192.0.2.3/32", "table = 102")
                + &announce("192.0.2.2/32", "metric = 7")
                + &announce("192.0.2.1/32", "")),
        );
        assert_eq!(
            match_announcements(&old, &new),
            vec![None, Some(2), Some(1), Some(0)]
        );
    }

    #[test]
    fn the_same_prefix_in_two_tables_keeps_each_its_own() {
        let old = specs(
            &(announce("192.0.2.1/32", "table = 101") + &announce("192.0.2.1/32", "table = 102")),
        );
        // Both change their metric: each continues the one in its own table.
        let new = specs(
            &(announce("192.0.2.1/32", "table = 102\nmetric = 3")
                + &announce("192.0.2.1/32", "table = 101\nmetric = 3")),
        );
        assert_eq!(match_announcements(&old, &new), vec![Some(1), Some(0)]);
    }
}
