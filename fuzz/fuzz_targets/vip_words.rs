#![no_main]
//! Thin wrapper: the body lives in `hakit::fuzzing::vip_words`, so
//! `tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hakit::fuzzing::vip_words(data));
