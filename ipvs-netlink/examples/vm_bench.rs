//! Programming 10,000 destinations: this crate (batched, and one request at a time) against
//! `ipvsadm -R`, and the desired-state apply when 1% of them change. Runs inside the IPVS VM:
//!
//! ```text
//! scripts/ipvs-vm/bench.sh [runs] [scheduler]
//! ```
//!
//! Prints a Markdown table of medians over the runs, all measured in the same VM boot.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipvs_netlink::*;

const N: u32 = 10_000;

fn dest(i: u32) -> Destination {
    let ip = IpAddr::from([
        10,
        (i / 62_500) as u8,
        ((i / 250) % 250) as u8,
        (i % 250) as u8 + 1,
    ]);
    Destination::new(SocketAddr::new(ip, 80))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let sched = Scheduler::from(std::env::args().nth(2).as_deref().unwrap_or("wrr"));
    let mut h = IpvsHandle::new()?;
    let svc = Service::tcp("192.0.2.1:80".parse()?).scheduler(sched.clone());

    // ipvsadm -R input, written once
    let mut restore = format!("-A -t 192.0.2.1:80 -s {sched}\n");
    for i in 0..N {
        let d = dest(i);
        restore.push_str(&format!("-a -t 192.0.2.1:80 -r {}:80 -m -w 1\n", d.addr));
    }
    let mut ops = vec![Operation::AddService(svc.clone())];
    ops.extend((0..N).map(|i| Operation::AddDestination(svc.key, dest(i))));

    let (mut t_ipvsadm, mut t_batch, mut t_single, mut t_apply, mut t_dump, mut t_list) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut t_apply_cached = vec![];
    for run in 0..runs {
        // ipvsadm -R
        h.flush()?;
        let t = Instant::now();
        let mut child = Command::new("ipvsadm")
            .arg("-R")
            .stdin(Stdio::piped())
            .spawn()?;
        child.stdin.take().unwrap().write_all(restore.as_bytes())?;
        assert!(child.wait()?.success(), "ipvsadm -R failed");
        t_ipvsadm.push(t.elapsed());
        assert_eq!(h.destinations(&svc.key)?.len(), N as usize);

        // ipvsadm -Ln (listing 10k) for reference
        let t = Instant::now();
        let out = Command::new("ipvsadm").arg("-Ln").output()?;
        t_list.push(t.elapsed());
        assert!(out.status.success());

        // this crate, batched
        h.flush()?;
        let t = Instant::now();
        let report = h.execute(&ops)?;
        t_batch.push(t.elapsed());
        assert!(report.all_ok());
        let t = Instant::now();
        let table = h.table()?;
        t_dump.push(t.elapsed());
        assert_eq!(table[0].1.len(), N as usize);

        // desired state, 1% changed: 50 fail (quiesced), 50 get weight 3
        let mut want = DesiredService::new(svc.clone()).on_failure(FailureAction::Quiesce);
        for i in 0..N {
            let healthy = i % 200 != run as u32;
            let d = if i % 200 == (run as u32 + 100) % 200 {
                dest(i).weight(3)
            } else {
                dest(i)
            };
            want = want.destination(d, healthy);
        }
        let want = DesiredTable {
            services: vec![want],
            remove_unlisted: true,
        };
        let t = Instant::now();
        let report = h.apply(&want)?;
        t_apply.push(t.elapsed());
        assert_eq!(
            report.counts().destinations_edited,
            (N / 100) as usize,
            "{:?}",
            report.counts()
        );
        assert!(report.failed.is_empty());
        assert!(h.apply(&want)?.is_noop());

        // the same change back, against a table the caller already holds (no dump)
        let current = h.table()?;
        let mut back = DesiredService::new(svc.clone()).on_failure(FailureAction::Quiesce);
        for i in 0..N {
            back = back.destination(dest(i), true);
        }
        let back = DesiredTable {
            services: vec![back],
            remove_unlisted: true,
        };
        let t = Instant::now();
        let report = h.apply_against(&current, &back)?;
        t_apply_cached.push(t.elapsed());
        assert_eq!(report.applied.len(), (N / 100) as usize);

        // this crate, one request and ack per operation
        {
            h.flush()?;
            let t = Instant::now();
            for op in &ops {
                h.run(op)?;
            }
            t_single.push(t.elapsed());
        }
        eprintln!(
            "run {}: ipvsadm -R {}, batched {}, one by one {}, apply {}, apply_against {}",
            run + 1,
            ms(t_ipvsadm[run]),
            ms(t_batch[run]),
            ms(t_single[run]),
            ms(t_apply[run]),
            ms(t_apply_cached[run])
        );
    }
    h.flush()?;

    let (ipvsadm, batch) = (median(t_ipvsadm), median(t_batch));
    println!("| what ({N} destinations, one `{sched}` service, {runs} runs, medians) | time |");
    println!("|---|---|");
    println!("| `ipvsadm -R` | {} |", ms(ipvsadm));
    println!("| ipvs-netlink `execute` (batched) | {} |", ms(batch));
    println!(
        "| ipvs-netlink `run`, one request + ack at a time | {} |",
        ms(median(t_single))
    );
    println!(
        "| speed-up batched vs `ipvsadm -R` | {:.1}x |",
        ipvsadm.as_secs_f64() / batch.as_secs_f64()
    );
    println!(
        "| desired-state `apply`, 1% changed (dump + plan + 100 edits) | {} |",
        ms(median(t_apply))
    );
    println!(
        "| desired-state `apply_against` a held table, 1% changed (plan + 100 edits) | {} |",
        ms(median(t_apply_cached))
    );
    println!(
        "| ipvs-netlink `table()` dump of {N} | {} |",
        ms(median(t_dump))
    );
    println!("| `ipvsadm -Ln` listing of {N} | {} |", ms(median(t_list)));
    Ok(())
}
