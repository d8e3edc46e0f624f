//! Helpers for tests that drive one `Instance` by hand (`instance_rules`, `reconfigure`).
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use vrrp_fsm::{Action, Instance, InstanceConfig, State, VirtualAddress};
use vrrp_proto::{AddressList, Advert};

/// Our primary address.
pub const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
/// The one VIP of [`cfg`].
pub const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

/// VRID 51 on [`ME`] with [`VIP`] at `priority` (VRRPv3, 1 s).
pub fn cfg(priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(51, ME);
    c.priority = priority;
    c.vips.push(VirtualAddress::host(VIP));
    c
}

/// [`VIP`] as an advert's address list.
pub fn vips() -> AddressList {
    AddressList::from_slice(&[VIP]).unwrap()
}

/// A VRRPv3 advert for VRID 51 at 1 s with [`VIP`].
pub fn advert(priority: u8) -> Advert {
    Advert::v3(51, priority, 100, vips())
}

/// Every queued action, in order.
pub fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

/// A started instance with its startup actions drained.
pub fn started(c: InstanceConfig, t0: Instant) -> Instance {
    let mut i = Instance::new(c).unwrap();
    i.startup(t0);
    drain(&mut i);
    i
}

/// An instance that became Master at `t0 + Master_Down_Interval`; returns that instant.
pub fn master(c: InstanceConfig, t0: Instant) -> (Instance, Instant) {
    let mut i = started(c, t0);
    let t = i.poll_timeout().unwrap();
    i.handle_timeout(t);
    assert_eq!(i.state(), State::Master);
    drain(&mut i);
    (i, t)
}
