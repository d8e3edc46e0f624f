//! Adding, removing and listing addresses over rtnetlink.
use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::vip::{Change, InterfaceAddress, Vip};

/// Address operations an instance needs, so a daemon can plug another backend.
/// [`VipManager`] is the rtnetlink implementation.
#[async_trait]
pub trait VipOps: Send + Sync {
    /// Add the VIP; adding a present address is [`Change::Unchanged`].
    async fn add(&self, vip: &Vip) -> Result<Change>;
    /// Remove the VIP; removing an absent address is [`Change::Unchanged`].
    async fn remove(&self, vip: &Vip) -> Result<Change>;
    /// All addresses on an interface.
    async fn list(&self, interface: &str) -> Result<Vec<InterfaceAddress>>;
}

/// The rtnetlink [`VipOps`]: one netlink connection driven by a task on the current tokio
/// runtime. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VipManager {
    handle: rtnetlink::Handle,
}

impl VipManager {
    /// Open a netlink connection and spawn its driver task (needs a tokio runtime).
    ///
    /// ```no_run
    /// # async fn f() -> vip_netlink::Result<()> {
    /// use vip_netlink::{Vip, VipManager, VipOps};
    /// let vips = VipManager::new()?;
    /// vips.add(&Vip::new("eth0", "192.0.2.10".parse().unwrap(), 24)?).await?;
    /// # Ok(()) }
    /// ```
    pub fn new() -> Result<Self> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|e| Error::io("netlink socket", e))?;
        tokio::spawn(conn);
        Ok(VipManager { handle })
    }
}

#[async_trait]
impl VipOps for VipManager {
    async fn add(&self, vip: &Vip) -> Result<Change> {
        let _ = (vip, &self.handle);
        todo!("being implemented")
    }

    async fn remove(&self, vip: &Vip) -> Result<Change> {
        let _ = vip;
        todo!("being implemented")
    }

    async fn list(&self, interface: &str) -> Result<Vec<InterfaceAddress>> {
        let _ = interface;
        todo!("being implemented")
    }
}
