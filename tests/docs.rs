//! Generated docs stay in step with the code (issue 15): the configuration reference
//! (`docs/reference/`, from the model's schemas; `BLESS=1` refreshes it) and the man page
//! (`cordium man`, from the clap definitions).

use std::path::PathBuf;
use std::process::Command;

use cordium::model::Kind;
use cordium::render::reference;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_configuration_reference_is_up_to_date() {
    let dir = root().join("docs/reference");
    let bless = std::env::var_os("BLESS").is_some();
    let mut pages: Vec<(PathBuf, String)> = Kind::ALL
        .iter()
        .map(|k| (dir.join(format!("{}.md", k.keyword())), reference::markdown(*k)))
        .collect();
    pages.push((dir.join("README.md"), reference::index()));
    let mut stale = Vec::new();
    for (path, want) in pages {
        if bless {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&path, &want).expect("write");
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != want {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale reference pages (BLESS=1 cargo test --test main docs): {stale:?}"
    );
    // Every kind's page names its spec fields (a page of headings only would pass the above).
    let template = reference::markdown(Kind::Template);
    for field in ["`spec.image.registry.url`", "`image.registry.url`", "`spec.limit`"] {
        assert!(template.contains(field), "template reference lacks {field}");
    }
}

#[test]
fn the_man_page_covers_every_command() {
    let o = Command::new(env!("CARGO_BIN_EXE_cordium")).arg("man").output().expect("runs");
    assert!(o.status.success());
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.starts_with(".ie") || page.contains(".TH cordium"), "{page}");
    for sub in ["plan", "apply", "promote", "serve", "man"] {
        assert!(page.contains(sub), "the man page lacks {sub}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(o.status.success());
    let promote =
        std::fs::read_to_string(dir.path().join("cordium-promote.1")).expect("a page per command");
    assert!(promote.contains("require\\-tested"), "{promote}");
}
