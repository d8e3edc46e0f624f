//! The blocking IPVS handle: family resolution, requests, dumps and pipelined batches.

use std::time::Duration;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use tracing::{debug, trace, warn};

use crate::constants::IPVS_GENL_NAME;
use crate::error::{Error, OpKind, Result};
use crate::message::{IpvsAttr, IpvsCmd, IpvsMessage};
use crate::reply::{parse_datagram, Reply};
use crate::{
    Destination, DestinationKey, Info, Operation, Service, ServiceKey, SyncDaemon, SyncState,
    Timeouts,
};

/// Operations per `sendmsg` in a batch. Only the last one asks for an ack; failures are
/// reported by the kernel anyway. 128 keeps even an all-failing chunk's error replies well
/// inside the receive buffer.
const CHUNK: usize = 128;
/// Receive buffer: one datagram (dump replies are at most a few pages).
const RECV_BUF: usize = 256 * 1024;
/// Socket receive queue we ask for.
const SO_RCVBUF_BYTES: usize = 1 << 20;
/// How long to wait for the kernel before giving up on a reply.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters of a handle's activity, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandleCounters {
    /// Netlink requests sent (batched operations count one each).
    pub requests: u64,
    /// `sendmsg` calls.
    pub sends: u64,
    /// Requests the kernel answered with an error.
    pub kernel_errors: u64,
    /// Replies that could not be decoded.
    pub decode_errors: u64,
}

/// What a batch did: one result per operation, in order.
#[derive(Debug)]
pub struct BatchReport {
    /// `results[i]` is the outcome of `ops[i]`.
    pub results: Vec<Result<()>>,
}

impl BatchReport {
    /// True if every operation succeeded.
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|r| r.is_ok())
    }

    /// Indices and errors of the operations that failed.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Error)> {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
    }
}

/// A blocking handle on the kernel's IPVS table over one generic netlink socket.
///
/// It is `Send`; share it between threads behind a `Mutex`, or run it in
/// `tokio::task::spawn_blocking` from async code. Operations need `CAP_NET_ADMIN`.
///
/// ```no_run
/// use ipvs_netlink::{Destination, IpvsHandle, Scheduler, Service};
/// let mut ipvs = IpvsHandle::new()?;
/// let svc = Service::tcp("192.0.2.1:80".parse().unwrap()).scheduler(Scheduler::Wrr);
/// ipvs.add_service(&svc)?;
/// ipvs.add_destination(&svc.key, &Destination::new("198.51.100.2:80".parse().unwrap()))?;
/// for s in ipvs.services()? {
///     println!("{} {}", s.key, s.scheduler);
/// }
/// # Ok::<(), ipvs_netlink::Error>(())
/// ```
pub struct IpvsHandle {
    socket: Socket,
    family_id: u16,
    seq: u32,
    buf: Vec<u8>,
    counters: HandleCounters,
}

impl std::fmt::Debug for IpvsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsHandle")
            .field("family_id", &self.family_id)
            .field("counters", &self.counters)
            .finish()
    }
}

impl IpvsHandle {
    /// Opens a socket and resolves the "IPVS" family.
    ///
    /// Returns [`Error::FamilyNotFound`] when the kernel has no IPVS.
    pub fn new() -> Result<Self> {
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // Errors only carry the request header, not the whole request.
        socket.set_cap_ack(true)?;
        if socket.set_rx_buf_sz(SO_RCVBUF_BYTES).is_err() {
            debug!("could not enlarge the netlink receive buffer");
        }
        set_recv_timeout(&socket, RECV_TIMEOUT)?;
        let mut h = IpvsHandle {
            socket,
            family_id: 0,
            seq: std::process::id().wrapping_mul(1000),
            buf: Vec::with_capacity(RECV_BUF),
            counters: HandleCounters::default(),
        };
        h.family_id = h.resolve_family()?;
        debug!(
            family_id = h.family_id,
            "resolved IPVS generic netlink family"
        );
        Ok(h)
    }

    /// The resolved generic netlink family id.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Activity counters.
    pub fn counters(&self) -> HandleCounters {
        self.counters
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    fn recv_datagram(&mut self) -> Result<()> {
        self.buf.clear();
        let n = self.socket.recv(&mut self.buf, 0)?;
        trace!(bytes = n, "netlink datagram");
        Ok(())
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let seq = self.next_seq();
        let mut genl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_string())],
        });
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut id = None;
        loop {
            self.recv_datagram()?;
            let mut at = 0;
            while at < self.buf.len() {
                let m = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&self.buf[at..])
                    .map_err(|e| {
                        self.counters.decode_errors += 1;
                        Error::Decode(e.to_string())
                    })?;
                at += (m.header.length as usize + 3) & !3;
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => {
                        for a in g.payload.nlas {
                            if let GenlCtrlAttrs::FamilyId(v) = a {
                                id = Some(v);
                            }
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => id.ok_or(Error::FamilyNotFound),
                            Some(c) if c.get() == -libc::ENOENT => Err(Error::FamilyNotFound),
                            Some(c) => Err(Error::Kernel {
                                op: "resolve generic netlink family IPVS".into(),
                                errno: -c.get(),
                            }),
                        };
                    }
                    _ => {}
                }
                if m.header.length == 0 {
                    break;
                }
            }
        }
    }

    fn encode(&self, msg: IpvsMessage, flags: u16, seq: u32, out: &mut Vec<u8>) {
        let mut genl = GenlMessage::from_payload(msg);
        genl.set_resolved_family_id(self.family_id);
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = flags;
        nl.header.sequence_number = seq;
        nl.finalize();
        let start = out.len();
        out.resize(start + nl.buffer_len(), 0);
        nl.serialize(&mut out[start..]);
    }

    /// Sends one request and collects its replies until the ack or the end of the dump.
    fn request(
        &mut self,
        msg: IpvsMessage,
        dump: bool,
        on_error: impl FnOnce(i32) -> Error,
    ) -> Result<Vec<IpvsMessage>> {
        let seq = self.next_seq();
        let flags = NLM_F_REQUEST | NLM_F_ACK | if dump { NLM_F_DUMP } else { 0 };
        let mut out = Vec::with_capacity(128);
        self.encode(msg, flags, seq, &mut out);
        self.socket.send(&out, 0)?;
        self.counters.requests += 1;
        self.counters.sends += 1;
        let mut messages = Vec::new();
        let mut first_decode_error = None;
        loop {
            self.recv_datagram()?;
            let replies = match parse_datagram(&self.buf) {
                Ok(r) => r,
                Err(e) => {
                    // Keep reading to the end of this request so the socket stays in step.
                    self.counters.decode_errors += 1;
                    warn!(error = %e, "undecodable IPVS reply");
                    first_decode_error.get_or_insert(Error::Decode(e.to_string()));
                    let done = crate::reply::scan_terminator(&self.buf, seq);
                    if done {
                        break;
                    }
                    continue;
                }
            };
            let mut finished = false;
            for r in replies {
                match r {
                    Reply::Message { seq: s, message } if s == seq => messages.push(message),
                    Reply::Done { seq: s } if s == seq => finished = true,
                    Reply::Ack { seq: s, errno } if s == seq => {
                        if errno != 0 {
                            self.counters.kernel_errors += 1;
                            return Err(on_error(errno));
                        }
                        if !dump {
                            finished = true;
                        }
                    }
                    other => trace!(?other, "stale netlink reply ignored"),
                }
            }
            if finished {
                break;
            }
        }
        match first_decode_error {
            Some(e) => Err(e),
            None => Ok(messages),
        }
    }

    /// Runs one operation and waits for its ack.
    pub fn run(&mut self, op: &Operation) -> Result<()> {
        let msg = op.to_message()?;
        self.request(msg, false, |errno| op.error(errno))
            .map(|_| ())
    }

    /// Runs many operations pipelined over the socket: up to 128 requests per `sendmsg`, only
    /// the last of each asking for an ack (failures are reported whatever the flags). Returns one
    /// result per operation; `Err` only for socket failures.
    pub fn execute(&mut self, ops: &[Operation]) -> Result<BatchReport> {
        let mut results: Vec<Option<Result<()>>> = (0..ops.len()).map(|_| None).collect();
        let mut out = Vec::with_capacity(CHUNK * 160);
        let mut start = 0;
        while start < ops.len() {
            let end = (start + CHUNK).min(ops.len());
            out.clear();
            // (seq, op index) of what went into this datagram
            let mut sent: Vec<(u32, usize)> = Vec::with_capacity(end - start);
            let mut encoded = Vec::with_capacity(end - start);
            for (i, op) in ops.iter().enumerate().take(end).skip(start) {
                match op.to_message() {
                    Ok(m) => encoded.push((i, m)),
                    Err(e) => results[i] = Some(Err(e)),
                }
            }
            let last = encoded.len().saturating_sub(1);
            for (n, (i, m)) in encoded.into_iter().enumerate() {
                let seq = self.next_seq();
                let flags = NLM_F_REQUEST | if n == last { NLM_F_ACK } else { 0 };
                self.encode(m, flags, seq, &mut out);
                sent.push((seq, i));
            }
            start = end;
            if sent.is_empty() {
                continue;
            }
            self.socket.send(&out, 0)?;
            self.counters.sends += 1;
            self.counters.requests += sent.len() as u64;
            let first_seq = sent[0].0;
            let last_seq = sent[sent.len() - 1].0;
            let index_of = |s: u32| -> Option<usize> {
                let off = s.wrapping_sub(first_seq) as usize;
                sent.get(off).filter(|(q, _)| *q == s).map(|(_, i)| *i)
            };
            let mut undecodable = false;
            'chunk: loop {
                if let Err(e) = self.recv_datagram() {
                    if e.errno() == Some(libc::ENOBUFS) {
                        // The queue overran: some answers are gone. Mark the unknown ones and
                        // resynchronise on a fresh request.
                        warn!("netlink receive queue overran during a batch");
                        for &(_, i) in &sent {
                            if results[i].is_none() {
                                results[i] = Some(Err(Error::ReplyLost {
                                    op: ops[i].to_string(),
                                }));
                            }
                        }
                        self.request(IpvsMessage::new(IpvsCmd::GetInfo, vec![]), false, |errno| {
                            Error::from_errno(errno, OpKind::Other, "resync".into(), None)
                        })?;
                        break 'chunk;
                    }
                    return Err(e);
                }
                let replies = match parse_datagram(&self.buf) {
                    Ok(r) => r,
                    Err(e) => {
                        // It may have been an error report: what it said is unknown, so the
                        // operations without an answer are reported as lost, not as done.
                        self.counters.decode_errors += 1;
                        warn!(error = %e, "undecodable reply in a batch");
                        undecodable = true;
                        if crate::reply::scan_terminator(&self.buf, last_seq) {
                            break 'chunk;
                        }
                        continue;
                    }
                };
                for r in replies {
                    if let Reply::Ack { seq, errno } = r {
                        let Some(i) = index_of(seq) else { continue };
                        if errno != 0 {
                            self.counters.kernel_errors += 1;
                            results[i] = Some(Err(ops[i].error(errno)));
                        } else {
                            results[i] = Some(Ok(()));
                        }
                        if seq == last_seq {
                            break 'chunk;
                        }
                    }
                }
            }
            for &(_, i) in &sent {
                if results[i].is_none() {
                    results[i] = Some(if undecodable {
                        Err(Error::ReplyLost {
                            op: ops[i].to_string(),
                        })
                    } else {
                        Ok(())
                    });
                }
            }
        }
        Ok(BatchReport {
            results: results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect(),
        })
    }

    /// Version and connection table size.
    pub fn info(&mut self) -> Result<Info> {
        let replies = self.request(IpvsMessage::new(IpvsCmd::GetInfo, vec![]), false, |e| {
            Error::from_errno(e, OpKind::Other, "get info".into(), None)
        })?;
        let mut info = Info {
            version: 0,
            conn_table_size: 0,
        };
        for m in replies {
            for a in m.attrs {
                match a {
                    IpvsAttr::InfoVersion(v) => info.version = v,
                    IpvsAttr::InfoConnTableSize(v) => info.conn_table_size = v,
                    _ => {}
                }
            }
        }
        Ok(info)
    }

    /// Every virtual service, with stats, in one dump.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        let replies = self.request(IpvsMessage::new(IpvsCmd::GetService, vec![]), true, |e| {
            Error::from_errno(e, OpKind::Other, "list services".into(), None)
        })?;
        let mut out = Vec::with_capacity(replies.len());
        for m in replies {
            for a in m.attrs {
                if let IpvsAttr::Service(s) = a {
                    out.push(Service::from_attrs(&s).inspect_err(|_| {
                        self.counters.decode_errors += 1;
                    })?);
                }
            }
        }
        Ok(out)
    }

    /// One service ([`Error::ServiceNotFound`] if it does not exist).
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service> {
        let msg = IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(key.to_attrs())]);
        let replies = self.request(msg, false, |e| {
            Error::from_errno(e, OpKind::Service, format!("get service {key}"), None)
        })?;
        for m in replies {
            for a in m.attrs {
                if let IpvsAttr::Service(s) = a {
                    return Service::from_attrs(&s);
                }
            }
        }
        Err(Error::Decode(format!(
            "get service {key}: reply without a service"
        )))
    }

    /// Adds a service.
    pub fn add_service(&mut self, svc: &Service) -> Result<()> {
        self.run(&Operation::AddService(svc.clone()))
    }

    /// Replaces a service's settings.
    pub fn edit_service(&mut self, svc: &Service) -> Result<()> {
        self.run(&Operation::EditService(svc.clone()))
    }

    /// Deletes a service and its destinations.
    pub fn delete_service(&mut self, key: &ServiceKey) -> Result<()> {
        self.run(&Operation::DeleteService(*key))
    }

    /// The destinations of a service, with stats, in one dump.
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>> {
        let msg = IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(key.to_attrs())]);
        let replies = self.request(msg, true, |e| {
            Error::from_errno(
                e,
                OpKind::Service,
                format!("list destinations of {key}"),
                None,
            )
        })?;
        let family = key.family();
        let mut out = Vec::with_capacity(replies.len());
        for m in replies {
            for a in m.attrs {
                if let IpvsAttr::Destination(d) = a {
                    out.push(Destination::from_attrs(&d, family).inspect_err(|_| {
                        self.counters.decode_errors += 1;
                    })?);
                }
            }
        }
        Ok(out)
    }

    /// Adds a destination.
    pub fn add_destination(&mut self, svc: &ServiceKey, dest: &Destination) -> Result<()> {
        self.run(&Operation::AddDestination(*svc, dest.clone()))
    }

    /// Replaces a destination's settings.
    pub fn edit_destination(&mut self, svc: &ServiceKey, dest: &Destination) -> Result<()> {
        self.run(&Operation::EditDestination(*svc, dest.clone()))
    }

    /// Deletes a destination.
    pub fn delete_destination(&mut self, svc: &ServiceKey, dest: &DestinationKey) -> Result<()> {
        self.run(&Operation::DeleteDestination(*svc, *dest))
    }

    /// The whole table: every service with its destinations (one dump per service).
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Destination>)>> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for s in services {
            let d = self.destinations(&s.key)?;
            out.push((s, d));
        }
        Ok(out)
    }

    /// Connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let replies = self.request(IpvsMessage::new(IpvsCmd::GetConfig, vec![]), false, |e| {
            Error::from_errno(e, OpKind::Other, "get timeouts".into(), None)
        })?;
        let mut t = Timeouts::default();
        for m in replies {
            for a in m.attrs {
                match a {
                    IpvsAttr::TimeoutTcp(v) => t.tcp = v,
                    IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = v,
                    IpvsAttr::TimeoutUdp(v) => t.udp = v,
                    _ => {}
                }
            }
        }
        Ok(t)
    }

    /// Sets connection timeouts (0 leaves a value unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.run(&Operation::SetTimeouts(*t))
    }

    /// Deletes every service.
    pub fn flush(&mut self) -> Result<()> {
        self.run(&Operation::Flush)
    }

    /// Zeroes the counters of one service, or all.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<()> {
        self.run(&Operation::Zero(key.copied()))
    }

    /// Starts a sync daemon ([`Error::Busy`] if one with that role runs).
    ///
    /// The kernel refuses ([`Error::InvalidArgument`]) while any service has a destination of
    /// the other address family (mixed-family tunnels): its sync protocol cannot carry them.
    pub fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        self.run(&Operation::StartSyncDaemon(d.clone()))
    }

    /// Stops the sync daemon with this role.
    pub fn stop_sync_daemon(&mut self, state: SyncState) -> Result<()> {
        self.run(&Operation::StopSyncDaemon(state))
    }

    /// Running sync daemons.
    pub fn sync_daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        let replies = self.request(IpvsMessage::new(IpvsCmd::GetDaemon, vec![]), true, |e| {
            Error::from_errno(e, OpKind::Daemon, "list sync daemons".into(), None)
        })?;
        let mut out = Vec::new();
        for m in replies {
            for a in m.attrs {
                if let IpvsAttr::Daemon(d) = a {
                    out.push(SyncDaemon::from_attrs(&d)?);
                }
            }
        }
        Ok(out)
    }
}

fn set_recv_timeout(socket: &Socket, t: Duration) -> Result<()> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: t.as_secs() as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: the fd is a live socket owned by `socket`; `tv` is a valid timeval that outlives
    // the call and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}
