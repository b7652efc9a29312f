//! The command line itself: every command answers `--help`, completions cover every command.

use std::process::Command;

use clap::CommandFactory;

/// Every subcommand clap knows, so a new command is covered without editing this file.
fn commands() -> Vec<String> {
    let names: Vec<String> =
        cordium::cli::Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
    assert!(names.iter().any(|n| n == "plan"), "the clap command lists no `plan`: {names:?}");
    names
}

#[test]
fn every_command_has_help() {
    for c in &commands() {
        let out = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args([c.as_str(), "--help"])
            .output()
            .expect("runs");
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
        for c in &commands() {
            assert!(script.contains(c.as_str()), "{shell} completion lacks {c}");
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

// Regression (issue 10): `--parallelism 0` was accepted (and meant 1).
#[test]
fn parallelism_zero_is_refused() {
    for command in ["apply", "destroy"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args([command, "--parallelism", "0", "--auto-approve"])
            .current_dir(dir.path())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--parallelism") && err.contains("at least one"), "{err}");
        assert!(!dir.path().join(".cordium").exists(), "{command} touched nothing");
    }
}
