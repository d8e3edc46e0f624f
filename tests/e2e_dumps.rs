//! keepalived's state dumps, side by side with keepalived 2.2.7 (root, network namespaces):
//! the same configuration runs under keepalived in one namespace and under hakitd in another;
//! both get SIGUSR1 (data), SIGUSR2 (stats) and keepalived's JSON signal, and the files, read
//! by one parser of keepalived's formats, hold the same instances, states and counters.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{Fam, Scenario};
use common::peer::ka_instance;
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

fn hakitd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hakitd"))
}

/// keepalived's JSON dump signal, as `keepalived --signum=JSON` prints it.
fn json_signal() -> libc::c_int {
    libc::SIGRTMIN() + 2
}

/// The "VRRP Topology" blocks of a data dump: instance -> (key -> value), `Virtual IP (n):`'s
/// lines under the key `vip`.
fn parse_data(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut in_topology = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("------<") {
            in_topology = line.contains("VRRP Topology");
            current = None;
            continue;
        }
        if !in_topology {
            continue;
        }
        if let Some(name) = line.strip_prefix(" VRRP Instance = ") {
            current = Some(name.to_string());
            out.insert(name.to_string(), BTreeMap::new());
            continue;
        }
        let Some(name) = &current else { continue };
        let fields: &mut BTreeMap<String, String> = out.get_mut(name).unwrap();
        if let Some(vip) = line.strip_prefix("     ") {
            fields.insert("vip".into(), vip.trim().to_string());
        } else if let Some((k, v)) = line.trim().split_once(" = ") {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// A stats dump: instance -> ("Section/Key" -> count).
fn parse_stats(text: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let (mut current, mut section) = (None::<String>, String::new());
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("VRRP Instance: ") {
            current = Some(name.to_string());
            out.insert(name.to_string(), BTreeMap::new());
            continue;
        }
        let Some(name) = &current else { continue };
        let (key, value) = line.trim().split_once(':').unwrap_or((line.trim(), ""));
        let value = value.trim();
        if value.is_empty() {
            section = key.to_string();
            continue;
        }
        let full = if line.starts_with("    ") {
            format!("{section}/{key}")
        } else {
            key.to_string()
        };
        out.get_mut(name)
            .unwrap()
            .insert(full, value.parse().expect("a count"));
    }
    out
}

/// A JSON dump: instance -> (data, stats).
fn parse_json(text: &str) -> BTreeMap<String, (serde_json::Value, serde_json::Value)> {
    let v: serde_json::Value = serde_json::from_str(text).expect("the JSON dump parses");
    v.as_array()
        .expect("an array")
        .iter()
        .map(|i| {
            (
                i["data"]["iname"].as_str().unwrap().to_string(),
                (i["data"].clone(), i["stats"].clone()),
            )
        })
        .collect()
}

/// Every `"key":` of a JSON text, in order.
fn key_order(text: &str) -> Vec<String> {
    text.split('"')
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[1].starts_with(':'))
        .map(|w| w[0].to_string())
        .collect()
}

fn read_when_written(path: &Path) -> String {
    assert!(
        wait_until(Duration::from_secs(5), || std::fs::metadata(path)
            .map(|m| m.len() > 0)
            .unwrap_or(false)),
        "{} was not written",
        path.display()
    );
    // Written in one go; a moment for the writer to finish.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::read_to_string(path).unwrap()
}

/// Adverts sent differ by when each daemon got the signal: within 25 % (and 3).
fn close(a: u64, b: u64) -> bool {
    a.abs_diff(b) <= 3 + a.max(b) / 4
}

#[test]
fn dumps_match_keepalived_on_the_same_configuration() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    // Each alone on its own link: both become Master of the same instance.
    let (ka_topo, our_topo) = (Topology::new(1), Topology::new(1));
    let dir = TempDir::new(&format!("{}-dumps", ka_topo.prefix));
    let ka_dir = dir.join("ka");
    std::fs::create_dir_all(&ka_dir).unwrap();
    let conf = ka_instance(&sc, &ka_topo, 0, 150).config("ka");
    std::fs::write(ka_dir.join("ka.conf"), conf).unwrap();
    // keepalived 2.2.7 always dumps to /tmp: give it a /tmp of its own (a private mount
    // namespace with our directory bound there).
    let script = "mount --bind \"$0\" /tmp && exec /usr/sbin/keepalived -n -l -D --vrrp \
                  -f /tmp/ka.conf -p /tmp/ka.pid -r /tmp/ka.vrrp.pid -c /tmp/ka.chk.pid \
                  -b /tmp/ka.bfd.pid";
    let mut ka = Daemon::spawn(
        "keepalived",
        &ka_topo.nodes[0].ns.name,
        Path::new("/usr/bin/unshare"),
        &[
            "-m".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            script.into(),
            ka_dir.display().to_string(),
        ],
        &dir.join("keepalived.log"),
    );
    let ours_files = ["data", "stats", "json"].map(|k| dir.join(&format!("hakit.{k}")));
    let mut args = sc.args(&our_topo, 0, 150, &[]);
    for (flag, path) in ["--data-file", "--stats-file", "--json-file"]
        .iter()
        .zip(&ours_files)
    {
        args.extend([flag.to_string(), path.display().to_string()]);
    }
    let mut ours = Daemon::spawn(
        "hakitd",
        &our_topo.nodes[0].ns.name,
        &hakitd(),
        &args,
        &dir.join("hakitd.log"),
    );
    let vip = sc.fam.vip();
    assert!(
        wait_until(Duration::from_secs(10), || ka_topo.nodes[0].has_addr(vip)
            && our_topo.nodes[0].has_addr(vip)),
        "both did not become Master; keepalived log:\n{}",
        std::fs::read_to_string(dir.join("keepalived.log")).unwrap_or_default()
    );
    // Some adverts on each side.
    std::thread::sleep(Duration::from_secs(1));
    let ka_files = ["data", "stats", "json"].map(|k| ka_dir.join(format!("keepalived.{k}")));
    for (sig, (k, o)) in [libc::SIGUSR1, libc::SIGUSR2, json_signal()]
        .into_iter()
        .zip(ka_files.iter().zip(&ours_files))
    {
        ka.signal(sig);
        ours.signal(sig);
        read_when_written(k);
        read_when_written(o);
    }

    let (kd, od) = (
        parse_data(&read_when_written(&ka_files[0])),
        parse_data(&read_when_written(&ours_files[0])),
    );
    assert_eq!(
        kd.keys().collect::<Vec<_>>(),
        od.keys().collect::<Vec<_>>(),
        "instances"
    );
    let name = format!("VI_{}", sc.vrid);
    let (k, o) = (&kd[&name], &od[&name]);
    for key in [
        "VRRP Version",
        "State",
        "Wantstate",
        "Interface",
        "Virtual Router ID",
        "Priority",
        "Effective priority",
        "Total priority",
        "Advert interval",
        "Preempt",
        "Accept",
        "vip",
    ] {
        assert_eq!(k.get(key), o.get(key), "data dump, {key}");
    }
    assert_eq!(o["State"], "MASTER");

    let (ks, os) = (
        parse_stats(&read_when_written(&ka_files[1])),
        parse_stats(&read_when_written(&ours_files[1])),
    );
    assert_eq!(ks.keys().collect::<Vec<_>>(), os.keys().collect::<Vec<_>>());
    let (k, o) = (&ks[&name], &os[&name]);
    assert_eq!(
        k.keys().collect::<Vec<_>>(),
        o.keys().collect::<Vec<_>>(),
        "stats dump: the same counters"
    );
    for (key, kv) in k {
        if key == "Advertisements/Sent" {
            assert!(close(*kv, o[key]), "adverts sent: {kv} vs {}", o[key]);
        } else {
            assert_eq!(*kv, o[key], "stats dump, {key}");
        }
    }
    assert_eq!(o["Became master"], 1);

    let (kj, oj) = (
        parse_json(&read_when_written(&ka_files[2])),
        parse_json(&read_when_written(&ours_files[2])),
    );
    assert_eq!(kj.keys().collect::<Vec<_>>(), oj.keys().collect::<Vec<_>>());
    let ((kdata, kstats), (odata, ostats)) = (&kj[&name], &oj[&name]);
    // The same keys in the same order: keepalived's writer's (serde_json keeps the order of
    // the text with `preserve_order` only, so read the keys from the text itself).
    assert_eq!(
        key_order(&read_when_written(&ka_files[2])),
        key_order(&read_when_written(&ours_files[2])),
        "JSON dump: keys and their order"
    );
    for key in [
        "iname",
        "ifp_ifname",
        "vrid",
        "base_priority",
        "effective_priority",
        "vipset",
        "adver_int",
        "state",
        "wantstate",
        "version",
        "nopreempt",
        "accept",
        "vips",
    ] {
        assert_eq!(kdata[key], odata[key], "JSON data, {key}");
    }
    let (kstats, ostats) = (kstats.as_object().unwrap(), ostats.as_object().unwrap());
    assert_eq!(
        kstats.keys().collect::<Vec<_>>(),
        ostats.keys().collect::<Vec<_>>(),
        "JSON stats: the same counters"
    );
    for (key, kv) in kstats {
        let (kv, ov) = (kv.as_u64().unwrap(), ostats[key].as_u64().unwrap());
        if key == "advert_sent" {
            assert!(close(kv, ov), "advert_sent: {kv} vs {ov}");
        } else {
            assert_eq!(kv, ov, "JSON stats, {key}");
        }
    }

    ours.signal(libc::SIGTERM);
    assert!(ours.wait_exit(Duration::from_secs(10)).is_some());
    ka.signal(libc::SIGTERM);
    if ka.wait_exit(Duration::from_secs(10)).is_none() {
        ka.kill();
    }
}
