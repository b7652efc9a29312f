//! Every `tests/*.rs` file must be a module of `tests/main.rs`, or its tests never run.

use std::collections::BTreeSet;

/// The modules `main.rs` really declares: `mod x;` items, not commented-out ones (`// mod x;`,
/// `/* mod x; */`) nor ones inside a doc comment.
fn declared_modules(main: &str) -> BTreeSet<String> {
    let mut code = String::new();
    let mut rest = main;
    // Strip block comments, then line comments.
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start + 2..].find("*/").map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    code.push_str(rest);
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.find("//").map_or(line, |i| &line[..i]);
        let mut items: Vec<&str> = line.split(';').collect();
        items.pop(); // what follows the last `;` is not a finished item
        for item in items {
            let words: Vec<&str> = item.split_whitespace().collect();
            if let ["mod", name] | ["pub", "mod", name] | ["pub(crate)", "mod", name] =
                words.as_slice()
            {
                out.insert((*name).to_string());
            }
        }
    }
    out
}

#[test]
fn every_test_file_is_wired_into_main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/main.rs is readable");
    let declared = declared_modules(&main);
    let mut missing = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/ is readable") {
        let path = entry.expect("dir entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        let is_module = path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").exists();
        if !is_module || stem == "main" {
            continue;
        }
        files += 1;
        if !declared.contains(stem) {
            missing.push(stem.to_string());
        }
    }
    assert!(files > 0, "no test files found beside tests/main.rs");
    assert!(missing.is_empty(), "not wired into tests/main.rs: {missing:?}");
}

#[test]
fn commented_out_modules_do_not_count() {
    let main = "//! mod doc;\n#![allow(x)]\n\nmod apply;\npub mod cli; // the CLI\n// mod hcl;\n  //mod plan;\n/* mod serve; */\n/*\nmod wiring;\n*/\nmod  support ;\nmod a; mod b;\nmod unfinished\n";
    let got: Vec<String> = declared_modules(main).into_iter().collect();
    assert_eq!(got, ["a", "apply", "b", "cli", "support"]);
}
