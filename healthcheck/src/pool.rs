//! keepalived's virtual-server logic without IPVS: which real servers are alive (all their
//! checkers pass), quorum with hysteresis, sorry server, quiesce (`inhibit_on_failure`)
//! or remove (KA `update_svr_checker_state()`, `update_quorum_state()`, reference §2).
//!
//! [`Pool`] is Sans-IO: feed it [`StateChange`]s, read the desired destination set with
//! [`Pool::desired`] and apply it to IPVS (see `examples/lvs_director.rs`).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::check_spec::CheckId;
use crate::check_status::Health;
use crate::monitor::StateChange;

/// One real server and the checks that must all pass for it to be alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer<K> {
    /// Caller's key (e.g. `SocketAddr`).
    pub key: K,
    /// Configured IPVS weight.
    pub weight: u32,
    /// Its checks (none = always alive).
    pub checks: Vec<CheckId>,
    /// keepalived's `inhibit_on_failure` on this real server alone (none: the pool's).
    pub inhibit_on_failure: Option<bool>,
}

/// Virtual-server options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPolicy<K> {
    /// Minimum total weight of live real servers (keepalived `quorum`, default 1).
    pub quorum: u64,
    /// keepalived `hysteresis`: quorum is gained at `quorum + hysteresis` and lost below
    /// `quorum − hysteresis` (or at 0).
    pub hysteresis: u64,
    /// keepalived `inhibit_on_failure`: a failed server stays with weight 0 (existing
    /// connections drain) instead of being removed.
    pub inhibit_on_failure: bool,
    /// keepalived `sorry_server` and its weight, used while quorum is lost.
    pub sorry_server: Option<(K, u32)>,
    /// keepalived `sorry_server_inhibit`: keep the sorry server at weight 0 while
    /// quorum holds instead of removing it.
    pub sorry_server_inhibit: bool,
    /// keepalived `alpha`: every check starts failed.
    pub alpha: bool,
}

impl<K> Default for PoolPolicy<K> {
    fn default() -> Self {
        PoolPolicy {
            quorum: 1,
            hysteresis: 0,
            inhibit_on_failure: false,
            sorry_server: None,
            sorry_server_inhibit: false,
            alpha: false,
        }
    }
}

/// A destination the virtual server should have, with its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DesiredDest<K> {
    /// The real (or sorry) server.
    pub key: K,
    /// IPVS weight (0 = quiesced).
    pub weight: u32,
    /// Whether this is the sorry server.
    pub sorry: bool,
}

/// A quorum transition, for `quorum_up` / `quorum_down` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumChange {
    /// Live weight reached `quorum + hysteresis`.
    Gained,
    /// Live weight fell below `quorum − hysteresis` (or to 0).
    Lost,
}

#[derive(Debug, Clone)]
struct ServerState<K> {
    spec: RealServer<K>,
    failed: HashSet<CheckId>,
    dynamic_weight: Option<u32>,
}

impl<K> ServerState<K> {
    fn alive(&self) -> bool {
        self.failed.is_empty()
    }

    fn weight(&self) -> u32 {
        self.dynamic_weight.unwrap_or(self.spec.weight)
    }
}

/// The state of one virtual server's pool.
///
/// ```
/// use healthcheck::{CheckId, Health, Pool, PoolPolicy, RealServer};
/// let mut pool = Pool::new(
///     PoolPolicy { quorum: 2, sorry_server: Some(("sorry", 1)), ..Default::default() },
///     vec![
///         RealServer { key: "a", weight: 1, checks: vec![CheckId(1)], inhibit_on_failure: None },
///         RealServer { key: "b", weight: 1, checks: vec![CheckId(2)], inhibit_on_failure: None },
///     ],
/// );
/// assert!(pool.quorum_up());
/// pool.set_check(CheckId(2), Health::Down, None);
/// assert!(!pool.quorum_up());
/// assert_eq!(pool.desired().len(), 1); // only the sorry server
/// ```
#[derive(Debug, Clone)]
pub struct Pool<K> {
    policy: PoolPolicy<K>,
    servers: Vec<ServerState<K>>,
    owner: HashMap<CheckId, Vec<usize>>,
    quorum_up: bool,
}

impl<K: Clone + Eq + Hash> Pool<K> {
    /// A pool; checks start passing, or failed with `alpha`.
    pub fn new(policy: PoolPolicy<K>, servers: Vec<RealServer<K>>) -> Self {
        let mut owner: HashMap<CheckId, Vec<usize>> = HashMap::new();
        let servers: Vec<_> = servers
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                for c in &spec.checks {
                    owner.entry(*c).or_default().push(i);
                }
                let failed = if policy.alpha {
                    spec.checks.iter().copied().collect()
                } else {
                    HashSet::new()
                };
                ServerState {
                    spec,
                    failed,
                    dynamic_weight: None,
                }
            })
            .collect();
        let mut pool = Pool {
            policy,
            servers,
            owner,
            quorum_up: false,
        };
        pool.quorum_up = pool.live_weight() >= pool.policy.quorum;
        pool
    }

    /// Feeds a monitor event; returns a quorum transition if one happened.
    pub fn apply(&mut self, change: &StateChange) -> Option<QuorumChange> {
        self.set_check(
            change.id,
            change.state.health,
            change.state.dynamic_rs_weight(),
        )
    }

    /// Sets one check's health (and `misc_dynamic` weight); returns a quorum transition.
    /// Unknown health counts as failed here (a real server needs positive evidence).
    pub fn set_check(
        &mut self,
        id: CheckId,
        health: Health,
        dynamic_weight: Option<u32>,
    ) -> Option<QuorumChange> {
        let idx = self.owner.get(&id)?;
        for &i in idx {
            let s = &mut self.servers[i];
            if health == Health::Up {
                s.failed.remove(&id);
            } else {
                s.failed.insert(id);
            }
            if dynamic_weight.is_some() {
                s.dynamic_weight = dynamic_weight;
            }
        }
        self.update_quorum()
    }

    fn update_quorum(&mut self) -> Option<QuorumChange> {
        let live = self.live_weight();
        let q = self.policy.quorum;
        let h = self.policy.hysteresis;
        if !self.quorum_up && live >= q.saturating_add(h) {
            self.quorum_up = true;
            return Some(QuorumChange::Gained);
        }
        if self.quorum_up && (live == 0 || live < q.saturating_sub(h)) {
            self.quorum_up = false;
            return Some(QuorumChange::Lost);
        }
        None
    }

    /// Sum of the weights of the alive real servers.
    pub fn live_weight(&self) -> u64 {
        self.servers
            .iter()
            .filter(|s| s.alive())
            .map(|s| u64::from(s.weight()))
            .sum()
    }

    /// Whether quorum currently holds.
    pub fn quorum_up(&self) -> bool {
        self.quorum_up
    }

    /// Whether the real server `key` is alive.
    pub fn is_alive(&self, key: &K) -> Option<bool> {
        self.servers
            .iter()
            .find(|s| &s.spec.key == key)
            .map(|s| s.alive())
    }

    /// The destinations IPVS should hold now.
    pub fn desired(&self) -> Vec<DesiredDest<K>> {
        let sorry_active = !self.quorum_up && self.policy.sorry_server.is_some();
        let mut out = Vec::with_capacity(self.servers.len() + 1);
        for s in &self.servers {
            let weight = if s.alive() && !sorry_active {
                Some(s.weight())
            } else if s
                .spec
                .inhibit_on_failure
                .unwrap_or(self.policy.inhibit_on_failure)
            {
                Some(0)
            } else {
                None
            };
            if let Some(weight) = weight {
                out.push(DesiredDest {
                    key: s.spec.key.clone(),
                    weight,
                    sorry: false,
                });
            }
        }
        if let Some((key, weight)) = &self.policy.sorry_server {
            if sorry_active {
                out.push(DesiredDest {
                    key: key.clone(),
                    weight: *weight,
                    sorry: true,
                });
            } else if self.policy.sorry_server_inhibit {
                out.push(DesiredDest {
                    key: key.clone(),
                    weight: 0,
                    sorry: true,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(key: &'static str, weight: u32, checks: &[u64]) -> RealServer<&'static str> {
        RealServer {
            key,
            weight,
            checks: checks.iter().map(|c| CheckId(*c)).collect(),
            inhibit_on_failure: None,
        }
    }

    fn keys(p: &Pool<&'static str>) -> Vec<(&'static str, u32)> {
        let mut v: Vec<_> = p.desired().into_iter().map(|d| (d.key, d.weight)).collect();
        v.sort();
        v
    }

    #[test]
    fn alive_only_when_all_checks_pass() {
        let mut p = Pool::new(
            PoolPolicy::default(),
            vec![rs("a", 3, &[1, 2]), rs("b", 2, &[3])],
        );
        assert_eq!(keys(&p), vec![("a", 3), ("b", 2)]);
        p.set_check(CheckId(2), Health::Down, None);
        assert_eq!(keys(&p), vec![("b", 2)]);
        p.set_check(CheckId(1), Health::Down, None);
        p.set_check(CheckId(2), Health::Up, None);
        assert_eq!(p.is_alive(&"a"), Some(false));
        p.set_check(CheckId(1), Health::Up, None);
        assert_eq!(keys(&p), vec![("a", 3), ("b", 2)]);
    }

    #[test]
    fn a_real_server_s_own_inhibit_on_failure_wins_over_the_pool_s() {
        let mut quiesced = rs("a", 3, &[1]);
        quiesced.inhibit_on_failure = Some(true);
        let mut removed = rs("b", 2, &[2]);
        removed.inhibit_on_failure = Some(false);
        let mut p = Pool::new(
            PoolPolicy {
                inhibit_on_failure: true,
                ..Default::default()
            },
            vec![quiesced, removed, rs("c", 1, &[3])],
        );
        for c in 1..=3 {
            p.set_check(CheckId(c), Health::Down, None);
        }
        // a: its own yes; b: its own no (leaves); c: the pool's yes.
        assert_eq!(keys(&p), vec![("a", 0), ("c", 0)]);
    }

    #[test]
    fn inhibit_on_failure_quiesces() {
        let policy = PoolPolicy {
            inhibit_on_failure: true,
            ..Default::default()
        };
        let mut p = Pool::new(policy, vec![rs("a", 3, &[1]), rs("b", 2, &[2])]);
        p.set_check(CheckId(1), Health::Down, None);
        assert_eq!(keys(&p), vec![("a", 0), ("b", 2)]);
    }

    #[test]
    fn quorum_hysteresis_and_sorry_server() {
        let policy = PoolPolicy {
            quorum: 3,
            hysteresis: 1,
            sorry_server: Some(("sorry", 1)),
            ..Default::default()
        };
        let mut p = Pool::new(
            policy,
            vec![
                rs("a", 1, &[1]),
                rs("b", 1, &[2]),
                rs("c", 1, &[3]),
                rs("d", 1, &[4]),
            ],
        );
        assert!(p.quorum_up()); // 4 ≥ 3
        assert_eq!(p.set_check(CheckId(1), Health::Down, None), None); // 3
        assert_eq!(p.set_check(CheckId(2), Health::Down, None), None); // 2, not < 2
        assert_eq!(
            p.set_check(CheckId(3), Health::Down, None),
            Some(QuorumChange::Lost)
        ); // 1 < 2
        assert_eq!(keys(&p), vec![("sorry", 1)]);
        assert_eq!(p.set_check(CheckId(1), Health::Up, None), None); // 2
        assert_eq!(p.set_check(CheckId(2), Health::Up, None), None); // 3 < 4
        assert_eq!(keys(&p), vec![("sorry", 1)]);
        assert_eq!(
            p.set_check(CheckId(3), Health::Up, None),
            Some(QuorumChange::Gained)
        ); // 4
        assert_eq!(keys(&p), vec![("a", 1), ("b", 1), ("c", 1), ("d", 1)]);
    }

    #[test]
    fn quorum_lost_at_zero_even_with_big_hysteresis() {
        let policy = PoolPolicy {
            quorum: 1,
            hysteresis: 5,
            ..Default::default()
        };
        let mut p = Pool::new(policy, vec![rs("a", 1, &[1])]);
        assert_eq!(
            p.set_check(CheckId(1), Health::Down, None),
            Some(QuorumChange::Lost)
        );
        // Without a sorry server the (dead) pool stays as is.
        assert_eq!(keys(&p), vec![]);
        assert_eq!(p.set_check(CheckId(1), Health::Up, None), None); // 1 < 6
        assert_eq!(keys(&p), vec![("a", 1)]);
    }

    #[test]
    fn sorry_server_inhibit_and_alpha() {
        let policy = PoolPolicy {
            sorry_server: Some(("sorry", 5)),
            sorry_server_inhibit: true,
            inhibit_on_failure: true,
            alpha: true,
            ..Default::default()
        };
        let mut p = Pool::new(policy, vec![rs("a", 2, &[1])]);
        assert!(!p.quorum_up());
        assert_eq!(keys(&p), vec![("a", 0), ("sorry", 5)]);
        assert_eq!(
            p.set_check(CheckId(1), Health::Up, None),
            Some(QuorumChange::Gained)
        );
        assert_eq!(keys(&p), vec![("a", 2), ("sorry", 0)]);
    }

    #[test]
    fn dynamic_weight_and_unknown_checks() {
        let mut p = Pool::new(PoolPolicy::default(), vec![rs("a", 2, &[1])]);
        p.set_check(CheckId(1), Health::Up, Some(7));
        assert_eq!(keys(&p), vec![("a", 7)]);
        assert_eq!(p.live_weight(), 7);
        p.set_check(CheckId(1), Health::Unknown, None);
        assert_eq!(keys(&p), vec![]);
        assert_eq!(p.set_check(CheckId(99), Health::Down, None), None);
    }
}
