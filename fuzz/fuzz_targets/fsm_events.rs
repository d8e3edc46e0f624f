#![no_main]
//! Thin wrapper: the body lives in `vrrp_fsm::fuzzing::fsm_events`, so
//! `vrrp-fsm/tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vrrp_fsm::fuzzing::fsm_events(data));
