//! Replays `fuzz/corpus/fsm_events/*` and `fuzz/artifacts/fsm_events/*` (inputs that once broke
//! an invariant, kept after the fix) through the fuzz target's body, plus a fixed-seed sweep of
//! pseudo-random inputs, so the fuzz checks run on stable in every `cargo test`.
use std::path::Path;

use vrrp_fsm::fuzzing;

fn replay_dir(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        if let Err(e) = fuzzing::run(&data) {
            panic!("{}: {e}", path.display());
        }
        n += 1;
    }
    n
}

#[test]
fn corpus_and_artifacts_replay_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = replay_dir(&root.join("corpus/fsm_events"));
    let artifacts = replay_dir(&root.join("artifacts/fsm_events"));
    assert!(corpus > 0, "the fsm_events seed corpus is missing");
    println!("replayed {corpus} corpus and {artifacts} artifact inputs");
}

#[test]
fn pseudo_random_inputs_hold_the_invariants() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for case in 0..400 {
        let len = 16 + case % 300;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        if let Err(e) = fuzzing::run(&data) {
            panic!("case {case} ({data:?}): {e}");
        }
    }
}
