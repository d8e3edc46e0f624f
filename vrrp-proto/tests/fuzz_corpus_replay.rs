//! Replays every file under `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` for the
//! three vrrp-proto fuzz targets through the same functions the targets call, so each input a
//! fuzzer kept, and each crash it found, stays a regression test on the stable toolchain.
use std::path::PathBuf;

/// `None` outside the hakit repository (e.g. in the packaged crate, which has no `fuzz/`).
fn replay(target: &str, run: fn(&[u8])) -> Option<usize> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    if !root.join("Cargo.toml").is_file() {
        eprintln!("no fuzz/ beside vrrp-proto: nothing to replay");
        return None;
    }
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        let d = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if !path.is_file()
                || path
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{} panics", path.display());
            n += 1;
        }
    }
    Some(n)
}

#[test]
fn vrrp_ipv4_packet_corpus() {
    if let Some(n) = replay("vrrp_ipv4_packet", vrrp_proto::fuzzing::vrrp_ipv4_packet) {
        assert!(n >= 2, "seed corpus missing ({n} files)");
    }
}

#[test]
fn vrrp_ipv6_payload_corpus() {
    if let Some(n) = replay("vrrp_ipv6_payload", vrrp_proto::fuzzing::vrrp_ipv6_payload) {
        assert!(n >= 1, "seed corpus missing ({n} files)");
    }
}

#[test]
fn vrrp_roundtrip_corpus() {
    if let Some(n) = replay("vrrp_roundtrip", vrrp_proto::fuzzing::vrrp_roundtrip) {
        assert!(n >= 3, "seed corpus missing ({n} files)");
    }
}
