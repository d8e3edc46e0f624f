#![no_main]
//! Thin wrapper: the body lives in `healthcheck::fuzzing::checker_replies`, so
//! `tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| healthcheck::fuzzing::checker_replies(data));
