//! Desired-state reconciliation: compute and apply the minimal set of operations that turns the
//! kernel's table into the one a user wants (what keepalived does on reload and on checker
//! transitions).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::error::{Error, Result};
use crate::{Destination, DestinationKey, IpvsHandle, Operation, Service, ServiceKey};

/// What to do with a destination whose health check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureAction {
    /// Take it out of the table (keepalived's default).
    #[default]
    Remove,
    /// Keep it with weight 0 so existing connections drain (keepalived `inhibit_on_failure`).
    Quiesce,
}

/// A destination the user wants, with its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredDestination {
    /// The destination as configured (its weight is the weight while healthy).
    pub destination: Destination,
    /// Result of its health check.
    pub healthy: bool,
}

/// A service the user wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// Service settings.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<DesiredDestination>,
    /// Failed destinations: remove or quiesce.
    pub on_failure: FailureAction,
}

impl DesiredService {
    /// A service with no destinations, removing failed ones.
    pub fn new(service: Service) -> Self {
        DesiredService {
            service,
            destinations: Vec::new(),
            on_failure: FailureAction::Remove,
        }
    }

    /// Adds a destination.
    pub fn destination(mut self, destination: Destination, healthy: bool) -> Self {
        self.destinations.push(DesiredDestination {
            destination,
            healthy,
        });
        self
    }

    /// Sets the failure action.
    pub fn on_failure(mut self, action: FailureAction) -> Self {
        self.on_failure = action;
        self
    }
}

/// The table the user wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredTable {
    /// Services.
    pub services: Vec<DesiredService>,
    /// Delete kernel services that are not listed (leave them alone when false, so several
    /// owners can share a table).
    pub remove_unlisted: bool,
}

/// Computes the operations that turn `current` into `desired`, in a safe order: services
/// deleted, services added or edited, then per service destinations deleted, edited, added.
///
/// ```
/// use ipvs_netlink::{plan, DesiredService, DesiredTable, Destination, FailureAction, Operation, Service};
/// let svc = Service::tcp("192.0.2.1:80".parse().unwrap());
/// let rs = Destination::new("198.51.100.2:80".parse().unwrap());
/// let want = DesiredTable {
///     services: vec![DesiredService::new(svc.clone())
///         .destination(rs.clone(), false)
///         .on_failure(FailureAction::Quiesce)],
///     remove_unlisted: true,
/// };
/// let ops = plan(&[(svc.clone(), vec![rs.clone()])], &want);
/// assert_eq!(ops, vec![Operation::EditDestination(svc.key, rs.weight(0))]);
/// ```
pub fn plan(current: &[(Service, Vec<Destination>)], desired: &DesiredTable) -> Vec<Operation> {
    let current: HashMap<ServiceKey, &(Service, Vec<Destination>)> =
        current.iter().map(|e| (e.0.key, e)).collect();
    let mut ops = Vec::new();
    let wanted: HashMap<ServiceKey, &DesiredService> = desired
        .services
        .iter()
        .map(|d| (d.service.key, d))
        .collect();

    if desired.remove_unlisted {
        let mut gone: Vec<ServiceKey> = current
            .keys()
            .filter(|k| !wanted.contains_key(k))
            .copied()
            .collect();
        gone.sort();
        ops.extend(gone.into_iter().map(Operation::DeleteService));
    }

    let mut dest_ops = Vec::new();
    for want in &desired.services {
        let key = want.service.key;
        let empty = Vec::new();
        let have_dests = match current.get(&key) {
            None => {
                ops.push(Operation::AddService(want.service.clone()));
                &empty
            }
            Some((have, dests)) => {
                if !have.same_config(&want.service) {
                    ops.push(Operation::EditService(want.service.clone()));
                }
                dests
            }
        };
        // Target destination set (BTreeMap: deterministic order).
        let mut target: BTreeMap<DestinationKey, Destination> = BTreeMap::new();
        for d in &want.destinations {
            let dest = match (d.healthy, want.on_failure) {
                (true, _) => d.destination.clone(),
                (false, FailureAction::Quiesce) => d.destination.clone().weight(0),
                (false, FailureAction::Remove) => continue,
            };
            target.insert(dest.key(), dest);
        }
        let have: BTreeMap<DestinationKey, &Destination> =
            have_dests.iter().map(|d| (d.key(), d)).collect();
        for k in have.keys() {
            if !target.contains_key(k) {
                dest_ops.push(Operation::DeleteDestination(key, *k));
            }
        }
        let mut adds = Vec::new();
        for (k, d) in &target {
            match have.get(k) {
                Some(h) if h.same_config(d) => {}
                Some(_) => dest_ops.push(Operation::EditDestination(key, d.clone())),
                None => adds.push(Operation::AddDestination(key, d.clone())),
            }
        }
        dest_ops.extend(adds);
    }
    ops.extend(dest_ops);
    ops
}

/// What [`IpvsHandle::apply`] did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Operations that succeeded, in order.
    pub applied: Vec<Operation>,
    /// Operations the kernel refused, with why.
    pub failed: Vec<(Operation, Error)>,
}

impl ApplyReport {
    /// True if nothing needed doing.
    pub fn is_noop(&self) -> bool {
        self.applied.is_empty() && self.failed.is_empty()
    }

    /// Counts of applied operations by kind: (services added, edited, deleted, destinations
    /// added, edited, deleted).
    pub fn counts(&self) -> ChangeCounts {
        let mut c = ChangeCounts::default();
        for op in &self.applied {
            match op {
                Operation::AddService(_) => c.services_added += 1,
                Operation::EditService(_) => c.services_edited += 1,
                Operation::DeleteService(_) => c.services_deleted += 1,
                Operation::AddDestination(..) => c.destinations_added += 1,
                Operation::EditDestination(..) => c.destinations_edited += 1,
                Operation::DeleteDestination(..) => c.destinations_deleted += 1,
                _ => {}
            }
        }
        c
    }
}

/// Per-kind counts of applied changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    /// Services added.
    pub services_added: usize,
    /// Services edited.
    pub services_edited: usize,
    /// Services deleted.
    pub services_deleted: usize,
    /// Destinations added.
    pub destinations_added: usize,
    /// Destinations edited (weight changes, quiesce, restore).
    pub destinations_edited: usize,
    /// Destinations deleted.
    pub destinations_deleted: usize,
}

impl fmt::Display for ChangeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "services +{} ~{} -{}, destinations +{} ~{} -{}",
            self.services_added,
            self.services_edited,
            self.services_deleted,
            self.destinations_added,
            self.destinations_edited,
            self.destinations_deleted
        )
    }
}

impl IpvsHandle {
    /// Reads the kernel table, computes [`plan`] and runs it as one batch.
    pub fn apply(&mut self, desired: &DesiredTable) -> Result<ApplyReport> {
        let current = self.table()?;
        self.apply_against(&current, desired)
    }

    /// Like [`IpvsHandle::apply`] but against a table the caller already read (saves the dumps
    /// when the caller tracks the table itself).
    pub fn apply_against(
        &mut self,
        current: &[(Service, Vec<Destination>)],
        desired: &DesiredTable,
    ) -> Result<ApplyReport> {
        let ops = plan(current, desired);
        let batch = self.execute(&ops)?;
        let mut report = ApplyReport::default();
        for (op, r) in ops.into_iter().zip(batch.results) {
            match r {
                Ok(()) => report.applied.push(op),
                Err(e) => report.failed.push((op, e)),
            }
        }
        tracing::info!(changes = %report.counts(), failed = report.failed.len(), "IPVS table applied");
        Ok(report)
    }
}
