//! The desired-state planner, on the host: given the kernel's table and the wanted one, the
//! operations computed are the minimal set, in a safe order.
use ipvs_netlink::*;

fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

fn rs(n: u8) -> Destination {
    Destination::new(sa(&format!("198.51.100.{n}:80")))
}

#[test]
fn empty_kernel_gets_everything_services_first() {
    let web = Service::tcp(sa("192.0.2.1:80"));
    let dns = Service::udp(sa("192.0.2.1:53"));
    let want = DesiredTable {
        services: vec![
            DesiredService::new(web.clone())
                .destination(rs(2), true)
                .destination(rs(3), false),
            DesiredService::new(dns.clone()).destination(rs(4), true),
        ],
        remove_unlisted: true,
    };
    let ops = plan(&[], &want);
    assert_eq!(
        ops,
        vec![
            Operation::AddService(web.clone()),
            Operation::AddService(dns.clone()),
            Operation::AddDestination(web.key, rs(2)),
            Operation::AddDestination(dns.key, rs(4)),
        ]
    );
}

#[test]
fn identical_table_is_a_noop_even_with_kernel_only_fields() {
    let web = Service::tcp(sa("192.0.2.1:80")).scheduler(Scheduler::Wrr);
    let mut kernel_svc = web.clone();
    kernel_svc.flags |= ServiceFlags::HASHED;
    kernel_svc.stats = Some(Stats {
        connections: 9,
        ..Stats::default()
    });
    let mut kernel_rs = rs(2).weight(3);
    kernel_rs.active_conns = 4;
    kernel_rs.stats = Some(Stats::default());
    let want = DesiredTable {
        services: vec![DesiredService::new(web).destination(rs(2).weight(3), true)],
        remove_unlisted: true,
    };
    assert!(plan(&[(kernel_svc, vec![kernel_rs])], &want).is_empty());
}

#[test]
fn failed_destination_quiesced_or_removed() {
    let web = Service::tcp(sa("192.0.2.1:80"));
    let current = vec![(web.clone(), vec![rs(2).weight(5), rs(3)])];
    let mut svc = DesiredService::new(web.clone())
        .destination(rs(2).weight(5), false)
        .destination(rs(3), true)
        .on_failure(FailureAction::Quiesce);
    let t = |s: &DesiredService| DesiredTable {
        services: vec![s.clone()],
        remove_unlisted: false,
    };
    assert_eq!(
        plan(&current, &t(&svc)),
        vec![Operation::EditDestination(web.key, rs(2).weight(0))]
    );
    svc.on_failure = FailureAction::Remove;
    assert_eq!(
        plan(&current, &t(&svc)),
        vec![Operation::DeleteDestination(web.key, rs(2).key())]
    );
    // a quiesced destination that is still failed stays as it is
    let quiesced = vec![(web.clone(), vec![rs(2).weight(0), rs(3)])];
    svc.on_failure = FailureAction::Quiesce;
    assert!(plan(&quiesced, &t(&svc)).is_empty());
    // and comes back with its configured weight when healthy
    svc.destinations[0].healthy = true;
    assert_eq!(
        plan(&quiesced, &t(&svc)),
        vec![Operation::EditDestination(web.key, rs(2).weight(5))]
    );
}

#[test]
fn unlisted_services_only_removed_when_asked_and_deletes_come_first() {
    let web = Service::tcp(sa("192.0.2.1:80"));
    let other = Service::udp(sa("192.0.2.1:53"));
    let current = vec![
        (web.clone(), vec![rs(2), rs(3)]),
        (other.clone(), vec![rs(9)]),
    ];
    let mut want = DesiredTable {
        services: vec![DesiredService::new(web.clone().scheduler(Scheduler::Rr))
            .destination(rs(3).forward(ForwardMethod::DirectRoute), true)
            .destination(rs(4), true)],
        remove_unlisted: false,
    };
    let ops = plan(&current, &want);
    assert_eq!(
        ops,
        vec![
            Operation::EditService(web.clone().scheduler(Scheduler::Rr)),
            Operation::DeleteDestination(web.key, rs(2).key()),
            Operation::EditDestination(web.key, rs(3).forward(ForwardMethod::DirectRoute)),
            Operation::AddDestination(web.key, rs(4)),
        ]
    );
    want.remove_unlisted = true;
    let ops = plan(&current, &want);
    assert_eq!(ops[0], Operation::DeleteService(other.key));
    assert_eq!(ops.len(), 5);
}

#[test]
fn one_percent_change_of_ten_thousand_is_one_hundred_edits() {
    let web = Service::tcp(sa("192.0.2.1:80"));
    let dest = |i: u32| {
        Destination::new(std::net::SocketAddr::new(
            [10, 0, (i / 250) as u8, (i % 250) as u8 + 1].into(),
            80,
        ))
    };
    let current = vec![(web.clone(), (0..10_000).map(dest).collect::<Vec<_>>())];
    let mut svc = DesiredService::new(web).on_failure(FailureAction::Quiesce);
    for i in 0..10_000 {
        // 1%: 50 fail (quiesce) and 50 get a new weight
        let d = if i % 200 == 1 {
            dest(i).weight(7)
        } else {
            dest(i)
        };
        svc = svc.destination(d, i % 200 != 0);
    }
    let ops = plan(
        &current,
        &DesiredTable {
            services: vec![svc],
            remove_unlisted: true,
        },
    );
    assert_eq!(ops.len(), 100);
    assert!(ops
        .iter()
        .all(|o| matches!(o, Operation::EditDestination(..))));
}
