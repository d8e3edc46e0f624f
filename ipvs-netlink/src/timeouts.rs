//! Connection timeouts (ipvsadm `--set`, keepalived `lvs_timeouts`).

/// TCP, TCP FIN_WAIT and UDP connection timeouts in seconds. When setting, 0 leaves a value
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP connections after FIN.
    pub tcp_fin: u32,
    /// UDP "connections".
    pub udp: u32,
}
