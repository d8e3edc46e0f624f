//! Records real kernel replies for the `ipvs_reply` fuzz corpus. Runs inside the IPVS VM:
//!
//! ```text
//! scripts/ipvs-vm/capture-corpus.sh
//! ```
//!
//! Builds a table with every kind of service, destination and daemon, then sends dumps and
//! requests on a raw generic netlink socket and prints each received datagram as
//! `CAPTURE <name> <hex>`.

use netlink_packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use ipvs_netlink::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut h = IpvsHandle::new()?;
    h.flush()?;
    let sa = |s: &str| -> std::net::SocketAddr { s.parse().unwrap() };
    let svcs = [
        Service::tcp(sa("192.0.2.1:80"))
            .scheduler(Scheduler::Sh)
            .flags(ServiceFlags::SH_PORT)
            .persistent(300),
        Service::udp(sa("[2001:db8::1]:53")).scheduler(Scheduler::Mh),
        Service::sctp(sa("192.0.2.1:5000"))
            .persistent(60)
            .persistence_engine("sip"),
        Service::fwmark(Family::Inet6, 7),
    ];
    for s in &svcs {
        h.add_service(s)?;
    }
    let k = svcs[0].key;
    h.add_destination(
        &k,
        &Destination::new(sa("198.51.100.2:80"))
            .weight(3)
            .thresholds(9, 2),
    )?;
    h.add_destination(
        &k,
        &Destination::new(sa("198.51.100.3:80")).forward(ForwardMethod::DirectRoute),
    )?;
    h.add_destination(
        &k,
        &Destination::new(sa("198.51.100.4:80")).forward(ForwardMethod::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM,
        })),
    )?;
    h.add_destination(&svcs[1].key, &Destination::new(sa("[2001:db8:1::2]:53")))?;
    let mut d = SyncDaemon::new(SyncState::Master, "veth0", 7);
    d.group = Some("224.0.0.99".parse().unwrap());
    d.ttl = Some(3);
    d.port = Some(8849);
    d.max_len = Some(1400);
    h.start_sync_daemon(&d)?;
    h.start_sync_daemon(&SyncDaemon::new(SyncState::Backup, "veth0", 4))?;

    let family = h.family_id();
    let mut sock = Socket::new(NETLINK_GENERIC)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    let mut seq = 1;
    let mut ask = |name: &str, msg: IpvsMessage, flags: u16| -> std::io::Result<()> {
        let mut genl = GenlMessage::from_payload(msg);
        genl.set_resolved_family_id(family);
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = flags;
        nl.header.sequence_number = seq;
        seq += 1;
        nl.finalize();
        let mut out = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut out);
        sock.send(&out, 0)?;
        loop {
            let mut buf = Vec::with_capacity(65536);
            sock.recv(&mut buf, 0)?;
            let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
            println!("CAPTURE {name} {hex}");
            // stop at NLMSG_DONE or NLMSG_ERROR (the last message of the datagram)
            let mut at = 0;
            let mut last_type = 0;
            while at + 16 <= buf.len() {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                last_type = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap());
                if len < 16 {
                    break;
                }
                at += (len + 3) & !3;
            }
            if last_type == 2 || last_type == 3 {
                return Ok(());
            }
        }
    };
    let req = NLM_F_REQUEST | NLM_F_ACK;
    ask(
        "services",
        IpvsMessage::new(IpvsCmd::GetService, vec![]),
        req | NLM_F_DUMP,
    )?;
    for (i, s) in svcs.iter().enumerate() {
        let m = IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(s.key.to_attrs())]);
        ask(&format!("dests{i}"), m, req | NLM_F_DUMP)?;
        let m = IpvsMessage::new(
            IpvsCmd::GetService,
            vec![IpvsAttr::Service(s.key.to_attrs())],
        );
        ask(&format!("service{i}"), m, req)?;
    }
    ask(
        "daemons",
        IpvsMessage::new(IpvsCmd::GetDaemon, vec![]),
        req | NLM_F_DUMP,
    )?;
    // The kernel refuses mixed-family destinations while sync daemons run.
    h.stop_sync_daemon(SyncState::Master)?;
    h.stop_sync_daemon(SyncState::Backup)?;
    h.add_destination(
        &k,
        &Destination::new(sa("[2001:db8:1::2]:80"))
            .forward(ForwardMethod::Tunnel(Tunnel::default())),
    )?;
    let m = IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(k.to_attrs())]);
    ask("dests_mixed", m, req | NLM_F_DUMP)?;
    ask("info", IpvsMessage::new(IpvsCmd::GetInfo, vec![]), req)?;
    ask("config", IpvsMessage::new(IpvsCmd::GetConfig, vec![]), req)?;
    let dup = Operation::AddService(svcs[0].clone()).to_message()?;
    ask("error_eexist", dup, req)?;
    let missing = ServiceKey::tcp(sa("192.0.2.9:1"));
    let m = IpvsMessage::new(
        IpvsCmd::GetService,
        vec![IpvsAttr::Service(missing.to_attrs())],
    );
    ask("error_esrch", m, req)?;
    h.flush()?;
    Ok(())
}
