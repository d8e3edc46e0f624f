//! Replays every file under `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` of the fuzz
//! targets whose bodies live in hakit, healthcheck and vip-netlink (`daemon_config`,
//! `vip_words`, `checker_replies`, `rtnetlink_replies`) through the functions the targets call,
//! so each input a fuzzer kept, and each crash it found, stays a regression test on stable.
use std::path::Path;

/// Runs `run` on each kept input of `target`; how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            let hidden = path
                .file_name()
                .is_some_and(|f| f.as_encoded_bytes()[0] == b'.');
            if hidden || !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{} panics", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn daemon_config_corpus() {
    let n = replay("daemon_config", hakit::fuzzing::daemon_config);
    assert!(n >= 3, "seed corpus missing ({n} files)");
}

#[test]
fn vip_words_corpus() {
    let n = replay("vip_words", hakit::fuzzing::vip_words);
    assert!(n >= 10, "seed corpus missing ({n} files)");
}

#[test]
fn checker_replies_corpus() {
    let n = replay("checker_replies", hakit::health::fuzzing::checker_replies);
    assert!(n >= 10, "seed corpus missing ({n} files)");
}

#[test]
fn rtnetlink_replies_corpus() {
    let n = replay("rtnetlink_replies", hakit::vip::fuzzing::rtnetlink_replies);
    assert!(n >= 10, "seed corpus missing ({n} files)");
}
