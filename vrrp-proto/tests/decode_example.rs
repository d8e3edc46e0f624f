//! Runs `cargo run -p vrrp-proto --example decode` on the golden vectors (as arguments and on
//! stdin) and checks each printed JSON object against the vector's `expect` fields.
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn example(args: &[&str], stdin: &str) -> Vec<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut child = Command::new(cargo)
        .args([
            "run",
            "-q",
            "--manifest-path",
            manifest,
            "--example",
            "decode",
            "--",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn vectors() -> Vec<Value> {
    include_str!("data/keepalived.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn decode_example_prints_the_expected_fields() {
    let vs = vectors();
    let v4: Vec<&str> = vs
        .iter()
        .filter(|v| v["family"] == "v4")
        .map(|v| v["hex"].as_str().unwrap())
        .collect();
    let six = vs.iter().find(|v| v["family"] == "v6").unwrap();
    // IPv4 packets as arguments, plus a corrupted one.
    let mut bad = v4[1].to_string();
    bad.replace_range(bad.len() - 2.., "65"); // last address octet changed
    let mut args: Vec<&str> = v4.clone();
    args.push(&bad);
    let out = example(&args, "");
    assert_eq!(out.len(), 3);
    for (o, v) in out.iter().zip(vs.iter().filter(|v| v["family"] == "v4")) {
        for (k, want) in v["expect"].as_object().unwrap() {
            assert_eq!(&o[k], want, "{}: {k}", v["name"]);
        }
    }
    assert_eq!(out[2], serde_json::json!({"error": "checksum"}));

    // An IPv6 payload on stdin, with --src.
    let line = format!("v6:{}\n", six["hex"].as_str().unwrap());
    let out = example(&["--src", six["src"].as_str().unwrap()], &line);
    assert_eq!(out.len(), 1);
    for (k, want) in six["expect"].as_object().unwrap() {
        assert_eq!(&out[0][k], want, "v6: {k}");
    }
    // Hop limit 1 is rejected with the variant's snake_case name.
    let out = example(&["--src", "fe80::1", "--hop-limit", "1"], &line);
    assert_eq!(out[0], serde_json::json!({"error": "ip_ttl"}));
}
