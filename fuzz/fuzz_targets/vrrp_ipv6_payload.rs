#![no_main]
//! Thin wrapper: the body lives in `vrrp_proto::fuzzing::vrrp_ipv6_payload`, so
//! `vrrp-proto/tests/fuzz_corpus_replay.rs` replays this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vrrp_proto::fuzzing::vrrp_ipv6_payload(data));
