//! The target flags every cluster-facing command flattens in (`--local`, `--endpoint`,
//! `--domain`), and reading the target and auth settings from the environment. Resolution itself
//! is `live::target::resolve`.

use std::path::PathBuf;

use crate::live::auth::{AuthEnv, Token};
use crate::live::target::{TargetEnv, TargetFlags};
use crate::ops::EnvSettings;

/// Which cluster to talk to. With none of these, `CORDIUM_ENDPOINT`, `OCTELIUM_DOMAIN` or the
/// stack file's environment decides; failing that, the embedded local cluster
/// (`.cordium/local.db`) is used and every output says so (refused when `CI=true`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// Use the embedded local cluster stored in this SQLite file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["endpoint", "domain"])]
    pub local: Option<PathBuf>,

    /// Talk gRPC to this endpoint: `https://host[:port]`, or `http://127.0.0.1:PORT` for a
    /// local `cordium serve` (plaintext is refused for anything but loopback addresses).
    #[arg(long, value_name = "URL", conflicts_with = "domain")]
    pub endpoint: Option<String>,

    /// Talk to the cluster of this domain, at `https://octelium-api.<DOMAIN>:443`.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,

    /// Log in with an OIDC assertion (workload identity) when no token is set, as
    /// `OCTELIUM_AUTH_ASSERTION` does: `[IDP:]TYPE[:k=v,...]` with TYPE `github-actions`
    /// (`audience=AUD`; the token is asked of the runner), `k8s` (the service-account token
    /// file; `file=PATH`) or `jwt` (`env=VAR` or `file=PATH`). See docs/auth.md.
    #[arg(long, value_name = "SPEC")]
    pub auth_assertion: Option<String>,
}

/// Kubernetes access (docs/kubernetes.md): where the VolumeSnapshots of Template pre-builds
/// and the apply lock's Lease are. Without a kubeconfig (these flags, the stack file's
/// environment, `KUBECONFIG`) or a pod's service account, snapshot readiness is not verified.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KubeArgs {
    /// The kubeconfig of the Kubernetes cluster behind the target (beats the stack file's
    /// `kubeconfig` and `KUBECONFIG`).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// The namespace of the VolumeSnapshots and of the Lease (default `octelium`).
    #[arg(long, value_name = "NAME")]
    pub kube_namespace: Option<String>,
    /// How long apply waits, after a build is READY, for its VolumeSnapshot to appear and be
    /// `readyToUse` (with Kubernetes access; default 10m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub snapshot_timeout: Option<std::time::Duration>,
}

impl KubeArgs {
    pub fn flags(&self) -> crate::live::kube::KubeFlags {
        crate::live::kube::KubeFlags {
            kubeconfig: self.kubeconfig.clone(),
            context: self.kube_context.clone(),
            namespace: self.kube_namespace.clone(),
            snapshot_timeout: self.snapshot_timeout,
        }
    }
}

impl TargetArgs {
    /// The flags as plain values for `live::target::resolve`.
    pub fn flags(&self) -> TargetFlags {
        TargetFlags {
            local: self.local.clone(),
            endpoint: self.endpoint.clone(),
            domain: self.domain.clone(),
        }
    }

    /// `--auth-assertion` over `OCTELIUM_AUTH_ASSERTION`.
    pub fn apply_auth(&self, auth: &mut AuthEnv) {
        if let Some(spec) = &self.auth_assertion {
            auth.assertion = Some(assertion(spec));
        }
    }
}

/// Reads `CORDIUM_ENDPOINT`, `OCTELIUM_DOMAIN`, `OCTELIUM_AUTH_TOKEN`, `OCTELIUM_ACCESS_TOKEN`,
/// `CORDIUM_USERNAME`, `CORDIUM_CACHE_DIR` (else `XDG_CACHE_HOME`, else `HOME`),
/// `CORDIUM_LOGOUT`, `CI`, `CORDIUM_STACK`, `CORDIUM_PLAN_KEY`, `KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, the CI run URL (`GITHUB_RUN_ID` and the like), and who is running (`USER`/`USERNAME` at the host name, for lock
/// holders). Empty values count as unset.
pub fn read_env() -> EnvSettings {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    EnvSettings {
        target: TargetEnv { endpoint: var("CORDIUM_ENDPOINT"), domain: var("OCTELIUM_DOMAIN") },
        auth: AuthEnv {
            auth_token: var("OCTELIUM_AUTH_TOKEN").map(token),
            access_token: var("OCTELIUM_ACCESS_TOKEN").map(token),
            username: var("CORDIUM_USERNAME"),
            cache_dir: cache_dir(var("CORDIUM_CACHE_DIR"), var("XDG_CACHE_HOME"), var("HOME")),
            logout: truthy(var("CORDIUM_LOGOUT")),
            assertion: var("OCTELIUM_AUTH_ASSERTION").map(|spec| assertion(&spec)),
        },
        ci: var("CI").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
        holder: holder(var("USER").or_else(|| var("USERNAME")), var("HOSTNAME"), ci_run(&var)),
        stack: var("CORDIUM_STACK"),
        kube: crate::live::kube::KubeEnv {
            kubeconfig: var("KUBECONFIG"),
            in_cluster: var("KUBERNETES_SERVICE_HOST").is_some(),
        },
        plan_key: var("CORDIUM_PLAN_KEY"),
    }
}

/// Where sessions are cached: `CORDIUM_CACHE_DIR` as given, else `$XDG_CACHE_HOME/cordium`,
/// else `$HOME/.cache/cordium` (the XDG base directory rule; relative XDG values are ignored,
/// as the spec says); none when there is no home.
fn cache_dir(
    explicit: Option<String>,
    xdg: Option<String>,
    home: Option<String>,
) -> Option<PathBuf> {
    if let Some(d) = explicit {
        return Some(PathBuf::from(d));
    }
    if let Some(x) = xdg.map(PathBuf::from).filter(|p| p.is_absolute()) {
        return Some(x.join("cordium"));
    }
    home.map(PathBuf::from).filter(|p| p.is_absolute()).map(|h| h.join(".cache").join("cordium"))
}

/// `user@host`: the host name from the kernel, else `$HOSTNAME`, else `localhost`.
/// The URL of the CI run this process belongs to, for lock holders: GitHub Actions
/// (`GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`/actions/runs/`GITHUB_RUN_ID`), GitLab (`CI_JOB_URL`),
/// Jenkins (`BUILD_URL`), CircleCI (`CIRCLE_BUILD_URL`), Buildkite (`BUILDKITE_BUILD_URL`).
fn ci_run(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let (Some(id), Some(repo)) = (var("GITHUB_RUN_ID"), var("GITHUB_REPOSITORY")) {
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        return Some(format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/')));
    }
    ["CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL", "BUILDKITE_BUILD_URL"]
        .iter()
        .find_map(|v| var(v))
}

/// `user@host`, and ` (CI run URL)` when there is one.
fn holder(user: Option<String>, hostname: Option<String>, run: Option<String>) -> String {
    let user = user.unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or(hostname)
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    match run {
        // Bounded: the holder is stored in a description of at most 1024 characters.
        Some(url) => format!("{user}@{host} ({})", url.chars().take(300).collect::<String>()),
        None => format!("{user}@{host}"),
    }
}

/// An assertion spec (`OCTELIUM_AUTH_ASSERTION`, `--auth-assertion`), with the variables it
/// names (`jwt:env=VAR`, GitHub's `ACTIONS_ID_TOKEN_REQUEST_*`) read now.
pub fn assertion(spec: &str) -> crate::live::auth::Assertion {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    crate::live::auth::Assertion::parse(spec, &var)
}

/// `CORDIUM_RECORD_KEY`: the key of an apply record's sensitive digests (never written).
pub fn record_key() -> Option<Token> {
    std::env::var("CORDIUM_RECORD_KEY").ok().filter(|v| !v.trim().is_empty()).map(token)
}

/// A token from the environment. A token never holds whitespace, so a trailing newline (a token
/// written to a file and read with `$(cat file)`, or pasted) is trimmed rather than sent.
fn token(value: String) -> Token {
    Token::new(value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn a_ci_run_url_is_named_from_each_ci_s_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let gh = env(&[("GITHUB_RUN_ID", "7"), ("GITHUB_REPOSITORY", "a/b")]);
        assert_eq!(ci_run(&gh).as_deref(), Some("https://github.com/a/b/actions/runs/7"));
        let gl = env(&[("CI_JOB_URL", "https://gitlab.example/j/1")]);
        assert_eq!(ci_run(&gl).as_deref(), Some("https://gitlab.example/j/1"));
        assert_eq!(ci_run(&env(&[("GITHUB_RUN_ID", "7")])), None, "no repository: no URL");
        let who = holder(Some("ci".into()), None, ci_run(&gl));
        assert!(who.starts_with("ci@") && who.ends_with(" (https://gitlab.example/j/1)"), "{who}");
    }

    #[test]
    fn a_token_with_a_trailing_newline_is_trimmed() {
        assert_eq!(token("abc.def\n".into()).expose(), "abc.def");
        assert_eq!(token(" abc\r\n".into()).expose(), "abc");
    }

    #[test]
    fn the_cache_dir_follows_xdg() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(cache_dir(s("/x"), s("/c"), s("/h")), Some(PathBuf::from("/x")));
        assert_eq!(cache_dir(None, s("/c"), s("/h")), Some(PathBuf::from("/c/cordium")));
        assert_eq!(cache_dir(None, s("rel"), s("/h")), Some(PathBuf::from("/h/.cache/cordium")));
        assert_eq!(cache_dir(None, None, None), None);
    }

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        target: TargetArgs,
    }

    #[test]
    fn target_flags_parse_and_exclude_each_other() {
        let p = Probe::try_parse_from(["x", "--endpoint", "http://127.0.0.1:1"]).expect("parses");
        assert_eq!(p.target.flags().endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert!(Probe::try_parse_from(["x", "--local", "a", "--domain", "b"]).is_err());
        assert!(Probe::try_parse_from(["x", "--endpoint", "a", "--domain", "b"]).is_err());
    }
}
