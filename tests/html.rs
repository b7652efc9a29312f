//! The review page (`plan --output html`, `--html FILE`; issue 15): one self-contained file
//! (no script, no external asset, no URL fetched) with the summary, the dependency graph drawn
//! as SVG with the changed nodes marked, one `<details>` per resource, and the same masking as
//! every output: a sensitive variable's sentinel is absent. Rendered in headless Chromium
//! (Debian's `chromium`, installed by `.ci/run`): the DOM Chromium builds has the graph's
//! nodes, and a screenshot is taken. Without Chromium the test says so; under `CI=true` it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::apply::text;
use crate::support::cordium_as_admin;

const SENTINEL: &str = "html-sentinel-value-5kd8";

fn config(dir: &Path) {
    std::fs::write(
        dir.join("main.hcl"),
        "variable \"greeting\" {\n  sensitive = true\n}\n\n\
         space \"web\" {}\n\n\
         template \"site\" {\n  space = space.web\n  image {\n    registry {\n      url = \"nginx:1.27\"\n    }\n  }\n  var \"GREETING\" {\n    value = var.greeting\n  }\n}\n\n\
         workspace \"preview\" {\n  space    = space.web\n  template = template.web.site\n}\n",
    )
    .expect("write");
}

fn plan(dir: &Path, args: &[&str]) -> Output {
    cordium_as_admin()
        .current_dir(dir)
        .args(["plan", "--local", "local.db"])
        .args(args)
        .env("CORDIUM_VAR_greeting", SENTINEL)
        .output()
        .expect("cordium runs")
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    })
}

/// Runs Chromium headless on `page`, killed after two minutes.
fn headless(bin: &Path, profile: &Path, args: &[String]) -> Output {
    let mut child = Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

#[test]
#[allow(clippy::print_stderr)] // says when Chromium is absent, rather than passing silently
fn the_review_page_is_self_contained_masked_and_renders_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    config(d);
    let o = plan(d, &["--output", "html"]);
    assert!(o.status.success(), "{}", text(&o));
    let page = String::from_utf8(o.stdout.clone()).expect("utf-8");
    // The same page through --html FILE, beside the human output.
    let o = plan(d, &["--html", "plan.html"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(d.join("plan.html")).expect("page"), page);

    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains(SENTINEL), "the page holds the sentinel");
    assert!(page.contains("(sensitive)"), "the masked value is shown as masked");
    // Self-contained: no script, no external reference of any kind.
    for banned in ["<script", "src=", "href=", "@import", "url(http", "<link"] {
        assert!(!page.contains(banned), "the page has {banned}");
    }
    assert!(page.contains("<p id=\"summary\"><strong>Plan: 3 to create, 0 to update"), "{page}");
    // What the other views say beside the changes is on the page too.
    assert!(page.contains("environment <code>none</code>"), "{page}");
    assert!(page.contains("<ul id=\"notes\">\n<li>Note: Workspaces: "), "{page}");
    for a in ["space.web", "template.web.site", "workspace.web.preview"] {
        assert!(page.contains(&format!("<g class=\"node changed\" data-address=\"{a}\"")), "{a}");
        assert!(page.contains(&format!("<details class=\"resource\" id=\"r-{a}\" open>")), "{a}");
    }
    // The workspace needs the template and the space, the template the space: three edges.
    assert_eq!(page.matches("<path class=\"edge\"").count(), 3, "{page}");

    let Some(bin) = chromium() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is required under CI (.ci/run installs Debian's chromium)"
        );
        eprintln!(
            "NOTE: chromium is not installed: the page was checked as text only, not rendered \
             (apt-get install chromium)"
        );
        return;
    };
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", d.join("plan.html").display());
    let o = headless(&bin, profile.path(), &["--dump-dom".into(), url.clone()]);
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "chromium --dump-dom failed: {}", text(&o));
    assert!(dom.contains("<svg id=\"graph\""), "no graph in the rendered DOM: {dom}");
    assert_eq!(dom.matches("class=\"node changed\"").count(), 3, "{dom}");
    assert!(dom.contains("<details class=\"resource\""), "{dom}");
    assert!(!dom.contains(SENTINEL));
    let shot = d.join("plan.png");
    let o = headless(
        &bin,
        profile.path(),
        &[format!("--screenshot={}", shot.display()), "--window-size=1280,1000".into(), url],
    );
    assert!(o.status.success(), "chromium --screenshot failed: {}", text(&o));
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    // Kept for a person to look at (CI uploads target/ artifacts as it likes).
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-page.png");
    let _ = std::fs::copy(&shot, keep);
}
