//! The README's library quick start is `examples/custom_service.rs`, word for word (the doc
//! test compiles the README's copy; the e2e test runs the example), in at most 40 lines.

#[test]
fn the_quick_start_is_the_custom_service_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/custom_service.rs")).unwrap();
    let code = &example[example.find("use hakit").expect("the example's first use")..];
    assert!(
        readme.contains(&format!("```rust,no_run\n{code}```")),
        "README's quick start differs from examples/custom_service.rs"
    );
    let lines = example.lines().count();
    assert!(lines <= 40, "custom_service.rs has {lines} lines");
}
