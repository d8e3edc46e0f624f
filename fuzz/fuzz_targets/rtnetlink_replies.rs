#![no_main]
//! Thin wrapper: the body lives in `vip_netlink::fuzzing::rtnetlink_replies`, so
//! `tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
//! Seed corpus: real kernel replies and events captured by `scripts/rtnetlink-corpus/capture.sh`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vip_netlink::fuzzing::rtnetlink_replies(data));
