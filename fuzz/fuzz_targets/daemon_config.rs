#![no_main]
//! Thin wrapper: the body lives in `hakit::fuzzing::daemon_config`, so
//! `tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hakit::fuzzing::daemon_config(data));
