//! Every `tests/*.rs` file must be a module of `tests/main.rs`, or its tests never run.

#[test]
fn every_test_file_is_wired_into_main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/main.rs is readable");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/ is readable") {
        let path = entry.expect("dir entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        let is_module = path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").exists();
        if !is_module || stem == "main" {
            continue;
        }
        if !main.contains(&format!("mod {stem};")) {
            missing.push(stem.to_string());
        }
    }
    assert!(missing.is_empty(), "not wired into tests/main.rs: {missing:?}");
}
