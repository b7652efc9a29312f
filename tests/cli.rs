//! The command line itself: every command answers `--help`, completions cover every command.

use std::process::Command;

const COMMANDS: &[&str] =
    &["validate", "plan", "apply", "destroy", "show", "graph", "fmt", "serve", "completions"];

#[test]
fn every_command_has_help() {
    for c in COMMANDS {
        let out =
            Command::new(env!("CARGO_BIN_EXE_cordium")).args([c, "--help"]).output().expect("runs");
        assert!(out.status.success(), "{c} --help failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: cordium"), "{c}: {text}");
    }
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completion lacks {c}");
        }
        // fish writes long flags without their dashes (`-l detailed-exitcode`).
        assert!(script.contains("detailed-exitcode"), "{shell} completion lacks plan's flags");
    }
}

#[test]
fn a_usage_error_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["plan", "--no-such-flag"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}
