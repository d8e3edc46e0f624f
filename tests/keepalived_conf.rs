//! keepalived.conf front end: every lexical rule and error path, and the sample configurations
//! Debian's keepalived package ships.
use std::path::{Path, PathBuf};

use hakit::keepalived_conf::{ConfFile, Error, IncludeCheck, Limits, Node, Reader};

fn reader() -> Reader {
    Reader::new().host(Some("node1")).random_seed(1)
}

fn read(text: &str) -> ConfFile {
    reader()
        .read_str(text, "/nonexistent/keepalived.conf")
        .unwrap()
}

fn err(text: &str) -> Error {
    reader()
        .read_str(text, "/nonexistent/keepalived.conf")
        .unwrap_err()
}

/// keyword and args of each node, children indented.
fn dump(nodes: &[Node]) -> Vec<String> {
    fn walk(n: &Node, depth: usize, out: &mut Vec<String>) {
        let mut s = format!("{}{}", "  ".repeat(depth), n.keyword);
        for a in &n.args {
            s.push_str(&format!(" [{a}]"));
        }
        out.push(s);
        for c in &n.children {
            walk(c, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    for n in nodes {
        walk(n, 0, &mut out);
    }
    out
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hakit-kaconf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn comments_whole_line_trailing_and_quoted() {
    let c = read("! c1\n# c2\n  global_defs { # c3\n router_id R1 ! c4\n notification_email_from \"a#b!c\" # x\n }\n");
    assert_eq!(
        dump(&c.nodes),
        [
            "global_defs",
            "  router_id [R1]",
            "  notification_email_from [a#b!c]"
        ]
    );
    assert_eq!(dump(&read("auth_pass a\\#b").nodes), ["auth_pass [a#b]"]);
}

#[test]
fn quoted_strings_keep_spaces() {
    let c = read("script \"/usr/bin/check --x 1\" extra");
    assert_eq!(c.nodes[0].args, ["/usr/bin/check --x 1", "extra"]);
    let c = read("x \"a { b } c\"");
    assert_eq!(c.nodes[0].args, ["a { b } c"]);
}

#[test]
fn braces_anywhere() {
    let same = dump(&read("vrrp_instance VI_1 {\n state MASTER\n}\n").nodes);
    assert_eq!(
        dump(&read("vrrp_instance VI_1\n{\n state MASTER\n}\n").nodes),
        same
    );
    assert_eq!(
        dump(&read("vrrp_instance VI_1 { state MASTER }").nodes),
        same
    );
    assert_eq!(dump(&read("vrrp_instance VI_1{state MASTER}").nodes), same);
    let c = read("a { x } b { y { z } }\nvirtual_ipaddress { 10.0.0.1/24 dev eth0 }\nempty {}");
    assert_eq!(
        dump(&c.nodes),
        [
            "a",
            "  x",
            "b",
            "  y",
            "    z",
            "virtual_ipaddress",
            "  10.0.0.1/24 [dev] [eth0]",
            "empty"
        ]
    );
    assert_eq!(c.nodes[2].children[0].location.line, 2);
}

#[test]
fn brace_errors() {
    assert!(matches!(err("{\n"), Error::UnexpectedOpenBrace { location } if location.line == 1));
    assert!(
        matches!(err("a { }\n{ }"), Error::UnexpectedOpenBrace { location } if location.line == 2)
    );
    assert!(matches!(err("a {\n}\n}"), Error::ExtraCloseBrace { location } if location.line == 3));
    match err("a {\n b {\n }\n") {
        Error::MissingCloseBrace { location, keyword } => {
            assert_eq!((keyword.as_str(), location.line), ("a", 1));
            assert_eq!(location.file, Path::new("/nonexistent/keepalived.conf"));
        }
        e => panic!("{e}"),
    }
}

#[test]
fn unterminated_quotes() {
    assert!(
        matches!(err("a\nscript \"/bin/x"), Error::UnterminatedQuote { location } if location.line == 2)
    );
    // balanced for the comment rules, not for word splitting (keepalived does not unescape \")
    assert!(matches!(
        err("x \"a\\\"b\""),
        Error::UnterminatedQuote { .. }
    ));
    // a quote opened by a substituted value
    assert!(matches!(
        err("$Q=\"\nx $Q"),
        Error::UnterminatedQuote { .. }
    ));
}

#[test]
fn definitions_and_substitution() {
    let c = read("$IF=eth0\n$PRIO=150\nvrrp_instance V {\n interface $IF\n priority ${PRIO}\n x ${IF}.10 $IF.10 $UNDEF\n}");
    assert_eq!(
        dump(&c.nodes),
        [
            "vrrp_instance [V]",
            "  interface [eth0]",
            "  priority [150]",
            "  x [eth0.10] [$IF.10] [$UNDEF]"
        ]
    );
    // a value may hold braces and comments are gone before it is stored
    let c = read("$VIPS=virtual_ipaddress { 10.0.0.1 } ! c\nvrrp_instance V {\n $VIPS\n}");
    assert_eq!(
        dump(&c.nodes),
        ["vrrp_instance [V]", "  virtual_ipaddress", "    10.0.0.1"]
    );
    // redefinition; standard definitions
    let c = read("$A=1\n$A=2\nx $A ${_INSTANCE} \"${_HASH}\" ${_BANG}");
    assert_eq!(c.nodes[0].args, ["2", "node1", "#"]);
    assert_eq!(read("x ${_PWD}").nodes[0].args, ["/nonexistent"]);
    assert!(matches!(err("$L=$L\n$L"), Error::SubstitutionLoop { location } if location.line == 2));
    assert!(matches!(err("$G=x $G\n$G"), Error::LineTooLong { .. }));
}

#[test]
fn multiline_definitions() {
    let text = "$INST= \\\nvrrp_instance VI_${NUM} { \\\n  interface eth${NUM} \\\n  @node1 priority 130 \\\n  @^node1 priority 120 \\\n}\n\n$NUM=0\n$INST\n$NUM=1\n$INST\n";
    let c = read(text);
    assert_eq!(
        dump(&c.nodes),
        [
            "vrrp_instance [VI_0]",
            "  interface [eth0]",
            "  priority [130]",
            "vrrp_instance [VI_1]",
            "  interface [eth1]",
            "  priority [130]"
        ]
    );
    assert_eq!(c.nodes[1].location.line, 11);
    // an empty line ends the definition; a first line on the $NAME= line
    let c = read("$M=a \\\nb \\\n\nc\nx $M");
    assert_eq!(dump(&c.nodes), ["c", "x [a]", "b"]);
    // a multi-line definition is used only at the end of a line
    assert_eq!(dump(&read("$M=a \\\nb\nx $M y").nodes), ["x [$M] [y]"]);
    // nested
    let c = read("$IN=i1 \\\ni2\n$OUT=o1 \\\n$IN \\\no2\n$OUT");
    assert_eq!(dump(&c.nodes), ["o1", "i1", "i2", "o2"]);
}

#[test]
fn no_general_line_continuation() {
    assert_eq!(read("a b \\\nc").nodes.len(), 2);
}

#[test]
fn host_conditions() {
    let text = "@node1 a 1\n@^node1 b 2\n@node2 c 3\n@^node2 d 4\n@node1\n";
    assert_eq!(dump(&read(text).nodes), ["a [1]", "d [4]"]);
    let none = Reader::new().host(None).read_str(text, "k.conf").unwrap();
    assert_eq!(dump(&none.nodes), ["b [2]", "d [4]"]);
    assert_eq!(
        dump(&read("@node1 $X=1\n@node2 $X=2\nx $X").nodes),
        ["x [1]"]
    );
}

#[test]
fn sequences() {
    let c = read("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1");
    assert_eq!(
        c.nodes
            .iter()
            .map(|n| n.args[0].as_str())
            .collect::<Vec<_>>(),
        ["10.0.0.1", "10.0.1.1", "10.0.2.1", "10.0.3.1"]
    );
    assert!(c.nodes.iter().all(|n| n.location.line == 1));
    let c = read("~SEQx(S, 0x90, 0x10, 0xc0) ip fe80::20:${S}:1");
    assert_eq!(c.nodes[3].args, ["fe80::20:c0:1"]);
    let c = read("virtual_ipaddress {\n ~SEQ(A, 1, 2) ~SEQ(B, 3, -1, 2) 10.${A}.${B}\n}");
    assert_eq!(
        dump(&c.nodes),
        [
            "virtual_ipaddress",
            "  10.1.3",
            "  10.1.2",
            "  10.2.3",
            "  10.2.2"
        ]
    );
    // parameters may be definitions; a block per value
    let c = read("$N=2\n~SEQ(I, $N) vrrp_instance VI_$I { priority ${I}0 }");
    assert_eq!(
        dump(&c.nodes),
        [
            "vrrp_instance [VI_1]",
            "  priority [10]",
            "vrrp_instance [VI_2]",
            "  priority [20]"
        ]
    );
    // repeating a multi-line definition
    let c = read("$B=b ${I} { \\\n x \\\n}\n~SEQ(I, 2) $B");
    assert_eq!(dump(&c.nodes), ["b [1]", "  x", "b [2]", "  x"]);
    let c = read("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}");
    assert_eq!(
        dump(&c.nodes),
        [
            "192.168.10.1",
            "192.170.10.1",
            "192.168.20.4",
            "192.170.20.4"
        ]
    );
    for bad in [
        "~SEQ(I, 1, 0, 5) x",
        "~SEQ(I) x",
        "~SEQ(I, 1 x",
        "~SEQx(I, -1) x",
        "~LST(I 1) x",
        "~LST({A,B}, {1,2,3}) x",
    ] {
        assert!(
            matches!(err(bad), Error::InvalidSequence { location, .. } if location.line == 1),
            "{bad}"
        );
    }
    // other ~ lines are plain lines
    assert_eq!(read("~other $X").nodes[0].keyword, "~other");
}

#[test]
fn includes() {
    let dir = tmpdir("inc");
    std::fs::create_dir(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("conf.d/b.conf"), "b 1\n").unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), "a 1\ninclude ../leaf.inc\n").unwrap();
    std::fs::write(dir.join("conf.d/c.txt"), "c 1\n").unwrap();
    std::fs::write(dir.join("leaf.inc"), "leaf\n}\n").unwrap();
    std::fs::write(
        dir.join("main.conf"),
        "$X=x\nvrrp_instance V {\n include conf.d/*.conf\n include {none,missing}.conf\nz $X\n",
    )
    .unwrap();
    let c = reader().read_file(dir.join("main.conf")).unwrap();
    assert_eq!(
        dump(&c.nodes),
        ["vrrp_instance [V]", "  a [1]", "  leaf", "b [1]", "z [x]"]
    );
    assert_eq!(
        c.nodes[0].children[1].location.file,
        dir.join("conf.d/../leaf.inc")
    );
    assert_eq!(c.nodes[0].children[1].location.line, 1);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].location.line, 4);

    // strict forms and include_check make missing files errors naming file and line
    let main = dir.join("strict.conf");
    std::fs::write(&main, "x\nincludem nothere.conf\n").unwrap();
    match reader().read_file(&main).unwrap_err() {
        Error::Include {
            location, pattern, ..
        } => {
            assert_eq!(
                (location.file.as_path(), location.line, pattern.as_str()),
                (main.as_path(), 2, "nothere.conf")
            )
        }
        e => panic!("{e}"),
    }
    std::fs::write(&main, "include conf.d/*.none\n").unwrap();
    assert!(reader().read_file(&main).is_ok());
    assert!(matches!(
        reader().include_check(IncludeCheck::ALL).read_file(&main),
        Err(Error::Include { .. })
    ));
    std::fs::write(
        &main,
        "global_defs {\n include_check\n}\ninclude conf.d/*.none\n",
    )
    .unwrap();
    assert!(matches!(
        reader().read_file(&main),
        Err(Error::Include { .. })
    ));
    std::fs::write(&main, "includer conf.d\n").unwrap();
    assert!(matches!(
        reader().read_file(&main),
        Err(Error::Include { .. })
    ));

    // loops and depth
    std::fs::write(dir.join("loop.conf"), "x\ninclude loop.conf\n").unwrap();
    assert!(
        matches!(reader().read_file(dir.join("loop.conf")), Err(Error::IncludeLoop { location, .. }) if location.line == 2)
    );
    std::fs::write(dir.join("d3.conf"), "d3\n").unwrap();
    std::fs::write(dir.join("d2.conf"), "include d3.conf\n").unwrap();
    std::fs::write(dir.join("d1.conf"), "include d2.conf\n").unwrap();
    let shallow = reader().limits(Limits {
        max_include_depth: 1,
        ..Limits::default()
    });
    assert!(matches!(
        shallow.read_file(dir.join("d1.conf")),
        Err(Error::IncludeDepth { .. })
    ));
    assert_eq!(
        dump(&reader().read_file(dir.join("d1.conf")).unwrap().nodes),
        ["d3"]
    );

    // read_str resolves includes from the pretend path's directory
    let c = reader()
        .read_str("include d3.conf", dir.join("virtual.conf"))
        .unwrap();
    assert_eq!(dump(&c.nodes), ["d3"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn io_errors_and_limits() {
    assert!(matches!(
        reader().read_file("/nonexistent/keepalived.conf"),
        Err(Error::Io { .. })
    ));
    let small = |l: Limits| reader().limits(l);
    let text = "a\nb\nc { d }\n";
    assert!(matches!(
        small(Limits {
            max_nodes: 3,
            ..Limits::default()
        })
        .read_str(text, "k"),
        Err(Error::TooManyNodes { .. })
    ));
    assert!(matches!(
        small(Limits {
            max_file_size: 4,
            ..Limits::default()
        })
        .read_str(text, "k"),
        Err(Error::FileTooLarge { .. })
    ));
    assert!(matches!(
        small(Limits {
            max_lines: 3,
            ..Limits::default()
        })
        .read_str(text, "k"),
        Err(Error::TooManyLines { .. })
    ));
    assert!(matches!(
        small(Limits {
            max_lines: 1000,
            ..Limits::default()
        })
        .read_str("~SEQ(I, 0, 1, 9223372036854775807) @nothere x", "k"),
        Err(Error::TooManyLines { .. })
    ));
    assert!(
        matches!(small(Limits { max_line_len: 8, ..Limits::default() }).read_str("short\nrather long line", "k"), Err(Error::LineTooLong { location, .. }) if location.line == 2)
    );
    assert!(matches!(err("a\0b"), Error::EmbeddedNul { .. }));
    let dir = tmpdir("total");
    std::fs::write(dir.join("inc.conf"), "0123456789\n").unwrap();
    let r = small(Limits {
        max_total_size: 20,
        ..Limits::default()
    });
    assert!(matches!(
        r.read_str("include inc.conf\ninclude inc.conf\n", dir.join("k")),
        Err(Error::TotalSizeExceeded { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_display_file_and_line() {
    let e = err("a {\n}\n}\n");
    assert_eq!(
        e.to_string(),
        "/nonexistent/keepalived.conf:3: extra '}' found"
    );
    assert_eq!(e.location().line, 3);
}

/// Every sample configuration Debian's keepalived package ships parses to a non-empty tree.
#[test]
fn debian_samples_parse() {
    let dir = Path::new("/usr/share/doc/keepalived/samples");
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!(
            "skipped: {} is absent (apt-get install keepalived)",
            dir.display()
        );
        return;
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let mut n = 0;
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The directory also holds shell scripts (one gzipped); only the configurations count.
        if !name.starts_with("keepalived.conf") {
            continue;
        }
        let conf = reader()
            .read_file(&path)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!conf.nodes.is_empty(), "{name}: empty tree");
        // The fuzz target's invariants hold on the real files too: the mapped configuration
        // prints as TOML that reads back to itself and validates alike.
        hakit::fuzzing::keepalived_conf(&std::fs::read(&path).unwrap());
        println!(
            "{name}: {} top-level nodes, {} warnings",
            conf.nodes.len(),
            conf.warnings.len()
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} samples");
}

/// The fuzz target's body (`hakit::fuzzing::keepalived_conf`) on stable: replays the seed
/// corpus and any artifacts kept after a fix.
#[test]
fn fuzz_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus/keepalived_conf", "artifacts/keepalived_conf"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            hakit::fuzzing::keepalived_conf(&std::fs::read(entry.path()).unwrap());
            n += 1;
        }
    }
    assert!(n >= 3, "the keepalived_conf seed corpus is missing");
}
