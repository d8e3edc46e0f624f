//! The I/O of each instance (advert socket, GARP/NA socket, VIPs), kept in the slot of its
//! `vrrp_fsm::InstanceId`: a reload may add instances (new slots) and remove some (their slot
//! empties and is never reused), so a slot is also the instance's `epoll` token and the key
//! the tokio side's tracker events carry.

use std::net::IpAddr;
use std::time::Instant;

use tracing::warn;
use vip_netlink::{AdvertSocket, AnnounceSocket, Announcer, Change, Vip, VipManager};
use vrrp_fsm::{InstanceId, Router};
use vrrp_proto::Advert;

use crate::runtime::daemon::{ctx, open_advert_socket, vip_list, DaemonError};
use crate::runtime::receive_overflow::ReceiveOverflow;
use crate::runtime::routing;
use crate::runtime::spec::InstanceSpec;

/// The I/O of one instance (drivers opened polled: no reactor).
pub struct InstanceIo {
    pub spec: InstanceSpec,
    pub id: InstanceId,
    pub sock: AdvertSocket,
    pub announcer: Announcer,
    /// Announcers on the interfaces other than the VIPs' one that VIPs name with `dev`
    /// (keepalived's `192.0.2.17 dev eth1`), made at their first use; all send through
    /// `announcer`'s socket, the daemon's.
    pub other_announcers: Vec<(String, Announcer)>,
    pub vips: Vec<Vip>,
    /// The advert this instance sends, built once; only the priority changes per send.
    pub advert: Box<Advert>,
    /// The time last given to [`AdvertSocket::set_wake_after`].
    pub wake_after: Option<Instant>,
    /// The floor last given to [`AdvertSocket::set_priority_floor`].
    priority_floor: (u8, Option<IpAddr>),
    /// Whether the advert queue overflowed while the Backup slept (see `receive_overflow.rs`).
    pub overflow: ReceiveOverflow,
    /// The time of this instance's last advert fed to the router: its adverts go in at their
    /// kernel arrival times, never before this one (see `vrrp_loop::feed_advert`).
    pub last_fed: std::cell::Cell<Instant>,
}

impl InstanceIo {
    /// Opens the drivers of instance `id` of `router`, configured from `spec`; its GARPs and
    /// NAs go through `garp_socket`, the daemon's.
    pub fn open(
        spec: &InstanceSpec,
        id: InstanceId,
        router: &Router,
        garp_socket: &AnnounceSocket,
    ) -> Result<Self, DaemonError> {
        let name = &spec.name;
        let sock = open_advert_socket(spec)
            .map_err(|e| ctx(&format!("{name}: opening the advert socket"), e))?;
        let announcer = Announcer::with_socket(spec.vip_iface(), garp_socket)
            .map_err(|e| ctx(&format!("{name}: opening the GARP/NA socket"), e))?;
        let vips = vip_list(spec).map_err(|e| ctx(name, e))?;
        let advert = match router.instance(id) {
            Some(i) => Box::new(i.advert(0)),
            None => return Err(DaemonError::Other(format!("{name}: instance lost"))),
        };
        let overflow = ReceiveOverflow::new(&sock);
        Ok(InstanceIo {
            overflow,
            spec: spec.clone(),
            id,
            sock,
            announcer,
            other_announcers: Vec::new(),
            vips,
            advert,
            wake_after: None,
            priority_floor: (0, None),
            last_fed: std::cell::Cell::new(Instant::now()),
        })
    }

    /// Gives the advert socket a Backup's queue floor when it changed since the last call:
    /// the loop calls this every turn, so an unchanged floor costs no lock.
    pub fn set_priority_floor(&mut self, floor: (u8, Option<IpAddr>)) -> vip_netlink::Result<()> {
        if floor != self.priority_floor {
            self.sock.set_priority_floor(floor.0, floor.1)?;
            self.priority_floor = floor;
        }
        Ok(())
    }

    /// Replaces the advert socket (a reload's new peers, an interface's new index); the new
    /// one starts with no wake-up time and no floor.
    pub fn replace_socket(&mut self, sock: AdvertSocket) {
        drop(std::mem::replace(&mut self.sock, sock));
        self.overflow.restart(&self.sock);
        self.wake_after = None;
        self.priority_floor = (0, None);
    }

    /// Sends one GARP (IPv4) or unsolicited NA (IPv6) for `vip` on its own interface.
    pub fn announce(&mut self, vip: &Vip) -> vip_netlink::Result<()> {
        if vip.interface() == self.spec.vip_iface() {
            return self.announcer.try_announce(vip.address());
        }
        let at = match self
            .other_announcers
            .iter()
            .position(|(i, _)| i == vip.interface())
        {
            Some(at) => at,
            None => {
                let a = Announcer::with_socket(vip.interface(), self.announcer.socket())?;
                self.other_announcers.push((vip.interface().to_string(), a));
                self.other_announcers.len() - 1
            }
        };
        self.other_announcers[at].1.try_announce(vip.address())
    }

    /// Removes copies of this instance's VIPs, routes and rules a crashed earlier run left behind,
    /// unless it is the address owner (Master at once): it is not Master yet, so they are
    /// stale.
    pub fn remove_stale_vips(&self, vip_mgr: &VipManager) -> Result<(), DaemonError> {
        if self.spec.fsm.priority == 255 {
            return Ok(());
        }
        routing::remove_stale(&self.spec, vip_mgr).map_err(DaemonError::Other)?;
        for v in &self.vips {
            match vip_mgr.remove_now(v) {
                Ok(Change::Applied) => {
                    warn!(instance = %self.spec.name, vip = %v.address(), "removed a stale VIP left by an earlier run")
                }
                Ok(Change::Unchanged) => {}
                Err(e) => return Err(ctx("removing a stale VIP", e)),
            }
        }
        Ok(())
    }
}

/// The instances' I/O by slot (`InstanceId::index`), each boxed: the vector of slots grows
/// by doubling as instances are added, and a thousand slots of inline `InstanceIo`s left a
/// megabyte of room unused and another freed behind each growth.
#[derive(Default)]
pub struct InstanceSlots(Vec<Option<Box<InstanceIo>>>);

impl InstanceSlots {
    /// Slots for `n` instances, made at once.
    pub fn with_capacity(n: usize) -> Self {
        InstanceSlots(Vec::with_capacity(n))
    }

    /// Puts `io` in its instance's slot.
    pub fn insert(&mut self, io: InstanceIo) {
        let slot = io.id.index();
        if self.0.len() <= slot {
            self.0.resize_with(slot + 1, || None);
        }
        self.0[slot] = Some(Box::new(io));
    }

    /// Empties a slot (a removed instance), returning what it held.
    pub fn take(&mut self, slot: usize) -> Option<InstanceIo> {
        self.0.get_mut(slot)?.take().map(|io| *io)
    }

    pub fn get(&self, slot: usize) -> Option<&InstanceIo> {
        self.0.get(slot)?.as_deref()
    }

    pub fn get_mut(&mut self, slot: usize) -> Option<&mut InstanceIo> {
        self.0.get_mut(slot)?.as_deref_mut()
    }

    /// The live instances, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &InstanceIo> {
        self.0.iter().flatten().map(|io| &**io)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut InstanceIo> {
        self.0.iter_mut().flatten().map(|io| &mut **io)
    }
}
