//! Replays every file under `fuzz/corpus/ipvs_reply/` and `fuzz/artifacts/ipvs_reply/` through
//! the function the fuzz target calls, so each kept input and each crash found stays a
//! regression test on the stable toolchain.
use std::path::PathBuf;

fn files(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(dir)
        .join("ipvs_reply");
    let Ok(entries) = std::fs::read_dir(&d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
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
        out.push((path, data));
    }
    out
}

#[test]
fn ipvs_reply_corpus_and_artifacts_do_not_panic() {
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        for (path, data) in files(dir) {
            let r = std::panic::catch_unwind(|| ipvs_netlink::fuzzing::ipvs_reply(&data));
            assert!(r.is_ok(), "{} panics", path.display());
            // every truncation of every input is handled too
            for cut in [
                1,
                3,
                4,
                16,
                20,
                21,
                data.len() / 2,
                data.len().saturating_sub(1),
            ] {
                let part = &data[..cut.min(data.len())];
                let r = std::panic::catch_unwind(|| ipvs_netlink::fuzzing::ipvs_reply(part));
                assert!(r.is_ok(), "{} cut at {cut} panics", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 20, "seed corpus missing ({n} files)");
}
