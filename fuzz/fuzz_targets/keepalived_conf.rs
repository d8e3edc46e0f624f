#![no_main]
//! Thin wrapper: the body lives in `hakit::fuzzing::keepalived_conf` (read, map to the daemon's
//! configuration, print as TOML, read back, validate), so `tests/keepalived_conf.rs` replays
//! this target's corpus and artifacts on stable.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hakit::fuzzing::keepalived_conf(data));
