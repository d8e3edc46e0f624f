//! Decodes replies captured from a real 6.1 kernel (`scripts/ipvs-vm/capture-corpus.sh`, stored
//! as the fuzz seed corpus) and checks them against the table the capture program built.
use std::path::PathBuf;

use ipvs_netlink::reply::{parse_datagram, Reply};
use ipvs_netlink::*;

fn capture(name: &str) -> Vec<Reply> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/ipvs_reply")
        .join(name);
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    parse_datagram(&data).unwrap()
}

fn messages(name: &str) -> Vec<IpvsMessage> {
    capture(name)
        .into_iter()
        .filter_map(|r| match r {
            Reply::Message { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

fn services(name: &str) -> Vec<Service> {
    messages(name)
        .iter()
        .flat_map(|m| m.attrs.iter())
        .filter_map(|a| match a {
            IpvsAttr::Service(s) => Some(Service::from_attrs(s).unwrap()),
            _ => None,
        })
        .collect()
}

fn dests(name: &str, family: Family) -> Vec<Destination> {
    messages(name)
        .iter()
        .flat_map(|m| m.attrs.iter())
        .filter_map(|a| match a {
            IpvsAttr::Destination(d) => Some(Destination::from_attrs(d, family).unwrap()),
            _ => None,
        })
        .collect()
}

fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

#[test]
fn service_dump() {
    let mut all = services("kernel-services-0");
    all.extend(services("kernel-services-1"));
    assert_eq!(all.len(), 4);
    let want = [
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
    for w in &want {
        let g = all
            .iter()
            .find(|g| g.key == w.key)
            .expect("service in dump");
        assert!(g.same_config(w), "{g:?}\n{w:?}");
        assert!(g.flags.contains(ServiceFlags::HASHED));
        assert_eq!(g.stats, Some(Stats::default()));
    }
    // the dump ends with NLMSG_DONE
    assert!(capture("kernel-services-1")
        .iter()
        .any(|r| matches!(r, Reply::Done { .. })));
}

#[test]
fn single_service_get() {
    let s = services("kernel-service2-0");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].persistence_engine.as_deref(), Some("sip"));
    assert!(matches!(
        capture("kernel-service2-1")[0],
        Reply::Ack { errno: 0, .. }
    ));
}

#[test]
fn destination_dump_with_tunnels_and_mixed_family() {
    let d = dests("kernel-dests0-0", Family::Inet);
    assert_eq!(d.len(), 3);
    let nat = d
        .iter()
        .find(|d| d.port == 80 && d.addr.to_string() == "198.51.100.2")
        .unwrap();
    assert_eq!(
        (nat.weight, nat.upper_threshold, nat.lower_threshold),
        (3, 9, 2)
    );
    assert_eq!(nat.forward, ForwardMethod::Masquerade);
    let gue = d
        .iter()
        .find(|d| d.addr.to_string() == "198.51.100.4")
        .unwrap();
    assert_eq!(
        gue.forward,
        ForwardMethod::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM
        })
    );
    let mixed = dests("kernel-dests_mixed-0", Family::Inet);
    let v6 = mixed
        .iter()
        .find(|d| d.addr.is_ipv6())
        .expect("IPv6 destination of an IPv4 service");
    assert_eq!(v6.addr.to_string(), "2001:db8:1::2");
}

#[test]
fn daemons_info_config_and_errors() {
    let mut daemons = Vec::new();
    for m in messages("kernel-daemons-0") {
        for a in m.attrs {
            if let IpvsAttr::Daemon(d) = a {
                daemons.push(d);
            }
        }
    }
    assert_eq!(daemons.len(), 2);
    let info = messages("kernel-info-0");
    assert!(info[0].attrs.contains(&IpvsAttr::InfoVersion(0x010201)));
    assert!(info[0].attrs.contains(&IpvsAttr::InfoConnTableSize(4096)));
    let cfg = messages("kernel-config-0");
    assert!(cfg[0]
        .attrs
        .iter()
        .any(|a| matches!(a, IpvsAttr::TimeoutTcp(900))));
    assert!(matches!(
        capture("kernel-error_eexist-0")[0],
        Reply::Ack { errno: 17, .. }
    ));
    assert!(matches!(
        capture("kernel-error_esrch-0")[0],
        Reply::Ack { errno: 3, .. }
    ));
}
