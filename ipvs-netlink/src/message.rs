//! The IPVS generic netlink message: a command plus top-level attributes.

use std::fmt::Debug;

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use crate::constants::*;
use crate::nla::{emit_nested, nested_len, parse_nested, parse_u32_ne};
use crate::nla::{DaemonAttr, DestinationAttr, ServiceAttr};

/// An IPVS command (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    /// Add a virtual service.
    NewService,
    /// Edit a virtual service.
    SetService,
    /// Delete a virtual service.
    DelService,
    /// Get one virtual service, or dump all.
    GetService,
    /// Add a destination (real server).
    NewDest,
    /// Edit a destination.
    SetDest,
    /// Delete a destination.
    DelDest,
    /// Dump the destinations of a service.
    GetDest,
    /// Start a sync daemon.
    NewDaemon,
    /// Stop a sync daemon.
    DelDaemon,
    /// Dump the sync daemons.
    GetDaemon,
    /// Set the TCP / TCP FIN / UDP timeouts.
    SetConfig,
    /// Get the timeouts.
    GetConfig,
    /// Unused by the kernel.
    SetInfo,
    /// Get version and connection-table size.
    GetInfo,
    /// Zero counters (of one service, or all).
    Zero,
    /// Delete every service.
    Flush,
    /// A command this crate does not know.
    Other(u8),
}

impl From<u8> for IpvsCmd {
    fn from(v: u8) -> Self {
        match v {
            IPVS_CMD_NEW_SERVICE => Self::NewService,
            IPVS_CMD_SET_SERVICE => Self::SetService,
            IPVS_CMD_DEL_SERVICE => Self::DelService,
            IPVS_CMD_GET_SERVICE => Self::GetService,
            IPVS_CMD_NEW_DEST => Self::NewDest,
            IPVS_CMD_SET_DEST => Self::SetDest,
            IPVS_CMD_DEL_DEST => Self::DelDest,
            IPVS_CMD_GET_DEST => Self::GetDest,
            IPVS_CMD_NEW_DAEMON => Self::NewDaemon,
            IPVS_CMD_DEL_DAEMON => Self::DelDaemon,
            IPVS_CMD_GET_DAEMON => Self::GetDaemon,
            IPVS_CMD_SET_CONFIG => Self::SetConfig,
            IPVS_CMD_GET_CONFIG => Self::GetConfig,
            IPVS_CMD_SET_INFO => Self::SetInfo,
            IPVS_CMD_GET_INFO => Self::GetInfo,
            IPVS_CMD_ZERO => Self::Zero,
            IPVS_CMD_FLUSH => Self::Flush,
            other => Self::Other(other),
        }
    }
}

impl From<IpvsCmd> for u8 {
    fn from(c: IpvsCmd) -> u8 {
        match c {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(v) => v,
        }
    }
}

/// A top-level attribute of an IPVS message (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in a
/// `GET_INFO` reply, which shares the number space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsAttr {
    /// Nested service attributes.
    Service(Vec<ServiceAttr>),
    /// Nested destination attributes.
    Destination(Vec<DestinationAttr>),
    /// Nested sync daemon attributes.
    Daemon(Vec<DaemonAttr>),
    /// TCP established timeout, seconds.
    TimeoutTcp(u32),
    /// TCP FIN_WAIT timeout, seconds.
    TimeoutTcpFin(u32),
    /// UDP timeout, seconds.
    TimeoutUdp(u32),
    /// IPVS version (`GET_INFO` reply), e.g. `0x010201` for 1.2.1.
    InfoVersion(u32),
    /// Connection hash table size (`GET_INFO` reply).
    InfoConnTableSize(u32),
    /// Unknown attribute, kept as is.
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(n) => nested_len(n),
            Self::Destination(n) => nested_len(n),
            Self::Daemon(n) => nested_len(n),
            Self::TimeoutTcp(_)
            | Self::TimeoutTcpFin(_)
            | Self::TimeoutUdp(_)
            | Self::InfoVersion(_)
            | Self::InfoConnTableSize(_) => 4,
            Self::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Service(_) => IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED,
            Self::Destination(_) => IPVS_CMD_ATTR_DEST | NLA_F_NESTED,
            Self::Daemon(_) => IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED,
            Self::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Self::InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            Self::InfoConnTableSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(n) => emit_nested(n, buffer),
            Self::Destination(n) => emit_nested(n, buffer),
            Self::Daemon(n) => emit_nested(n, buffer),
            Self::TimeoutTcp(v)
            | Self::TimeoutTcpFin(v)
            | Self::TimeoutUdp(v)
            | Self::InfoVersion(v)
            | Self::InfoConnTableSize(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(n) => n.emit_value(buffer),
        }
    }
}

impl IpvsAttr {
    /// Parses one top-level attribute; `cmd` selects the number space (`GET_INFO` replies use
    /// `IPVS_INFO_ATTR_*`).
    pub fn parse_for(buf: &NlaBuffer<&[u8]>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        let v = buf.value();
        // The kernel answers GET_INFO with cmd SET_INFO; both carry IPVS_INFO_ATTR_*.
        if matches!(cmd, IpvsCmd::GetInfo | IpvsCmd::SetInfo) {
            return Ok(match buf.kind() {
                IPVS_INFO_ATTR_VERSION => Self::InfoVersion(parse_u32_ne(v)?),
                IPVS_INFO_ATTR_CONN_TAB_SIZE => Self::InfoConnTableSize(parse_u32_ne(v)?),
                _ => Self::Other(DefaultNla::parse(buf)?),
            });
        }
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => Self::Service(parse_nested(v)?),
            IPVS_CMD_ATTR_DEST => Self::Destination(parse_nested(v)?),
            IPVS_CMD_ATTR_DAEMON => Self::Daemon(parse_nested(v)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => Self::TimeoutTcp(parse_u32_ne(v)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => Self::TimeoutTcpFin(parse_u32_ne(v)?),
            IPVS_CMD_ATTR_TIMEOUT_UDP => Self::TimeoutUdp(parse_u32_ne(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The generic netlink payload of the IPVS family.
///
/// Use it with [`netlink_packet_generic::GenlMessage`]; the family id is resolved at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// Top-level attributes.
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    /// A message with the given command and attributes.
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        nested_len(&self.attrs)
    }

    fn emit(&self, buffer: &mut [u8]) {
        emit_nested(&self.attrs, buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let mut attrs = Vec::new();
        for nla in NlasIterator::new(buf) {
            attrs.push(IpvsAttr::parse_for(&nla?, cmd)?);
        }
        Ok(IpvsMessage { cmd, attrs })
    }
}
