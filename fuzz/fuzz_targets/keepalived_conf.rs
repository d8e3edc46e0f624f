#![no_main]
//! Arbitrary bytes through the keepalived.conf reader with small limits: every input must give a
//! tree or an error, never a panic, and stay within the limits. Includes are refused
//! (`max_include_depth: 0`) so the target never walks the file system.
//! `tests/keepalived_conf.rs` replays fuzz/corpus/keepalived_conf and the artifacts on stable.
use hakit::keepalived_conf::{Limits, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = Limits {
        max_include_depth: 0,
        max_file_size: 64 << 10,
        max_total_size: 64 << 10,
        max_nodes: 2000,
        max_lines: 20_000,
        max_line_len: 512,
    };
    let reader = Reader::new()
        .host(Some("node1"))
        .random_seed(1)
        .limits(limits);
    if let Ok(conf) = reader.read_str(&text, "/nonexistent/fuzz/keepalived.conf") {
        fn count(nodes: &[hakit::keepalived_conf::Node]) -> usize {
            nodes.iter().map(|n| 1 + count(&n.children)).sum()
        }
        assert!(count(&conf.nodes) <= 2000);
    }
});
