#![no_main]
//! Thin wrapper: the body lives in `ipvs_netlink::fuzzing::ipvs_reply`, so
//! `ipvs-netlink/tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
//! Seed corpus: real kernel replies captured by `scripts/ipvs-vm/capture-corpus.sh`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ipvs_netlink::fuzzing::ipvs_reply(data));
