//! The servers' own limits, checked before any cluster is asked: every rule here is one a real
//! server applies on create/update with no cluster state, read from upstream (the file and
//! function are named at each rule), so `validate` refuses what the server would refuse halfway
//! through an apply. Messages never quote a value (it may come from a sensitive variable); they
//! name the field. Pure: no I/O.

use std::sync::OnceLock;

use regex::Regex;

use super::Ctx;
use crate::model::spec::{
    AdditionalRepository, Application, Capabilities, Devcontainers, EnvVar, Image, Repository,
    Runtime, SpaceSpec, Task, UserSpec, UserType,
};

/// Most env vars in one runtime, and most tasks (`workspacevalidate.go`, `space.go`).
pub const MAX_ENV_VARS: usize = 128;
pub const MAX_TASKS: usize = 128;
/// Longest env var key and value, in bytes.
pub const MAX_ENV_KEY: usize = 64;
pub const MAX_ENV_VALUE: usize = 1024;
/// Longest task `run`, and task working directory, in bytes.
pub const MAX_TASK_RUN: usize = 5000;
pub const MAX_PATH: usize = 256;
/// Longest inline Dockerfile, in bytes.
pub const MAX_DOCKERFILE: usize = 5000;
/// Longest `cmd` / `entrypoint`, in bytes.
pub const MAX_CMD: usize = 1024;
/// Longest registry or repository username, in bytes.
pub const MAX_USERNAME: usize = 150;
/// Most additional repositories, and applications.
pub const MAX_ADDITIONAL_REPOSITORIES: usize = 32;
pub const MAX_APPLICATIONS: usize = 128;
/// Longest application display name, in bytes.
pub const MAX_APPLICATION_DISPLAY_NAME: usize = 128;
/// Devcontainer features: how many, and the longest reference / option key or value.
pub const MAX_FEATURES: usize = 100;
pub const MAX_FEATURE_OPTIONS: usize = 32;
/// Most `octelium.serveServices`.
pub const MAX_SERVE_SERVICES: usize = 128;
/// Most capabilities added or dropped.
pub const MAX_CAPABILITIES: usize = 100;
/// A User's email: the longest, in bytes; info fields likewise.
pub const MAX_EMAIL: usize = 150;
pub const MAX_USER_INFO: usize = 256;
/// Identities per User, and the longest identifier / identity provider name.
pub const MAX_IDENTITIES: usize = 100;
/// The longest `attrs` key.
pub const MAX_ATTRS_KEY: usize = 100;
/// The USER Space name the server keeps for its agent (octelium/cordium `mains/agent.go`,
/// `agentSpaceBaseName`; refused in `mains/space.go` `CreateSpace`).
pub const RESERVED_SPACE: &str = "octelium";

fn capability_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Invariant: a constant, valid pattern (octelium/cordium `mains/space.go`,
    // `k8sCapabilityRegex`).
    #[allow(clippy::unwrap_used)]
    RE.get_or_init(|| Regex::new(r"^(ALL|[A-Z][A-Z0-9_]{0,29})$").unwrap())
}

/// A runtime's env vars and tasks: octelium/cordium `cluster/common/wsutils/workspacevalidate.go`
/// (`ValidateWorkspace`, Templates and Workspaces) and `mains/space.go` (`validateSpace`, a
/// Space's runtime), which apply the same limits.
pub(super) fn runtime_limits(c: &mut Ctx<'_>, env: &[EnvVar], tasks: &[Task], base: &str) {
    if env.len() > MAX_ENV_VARS {
        c.error(
            "too-many",
            &format!("{base}.envVars"),
            format!(
                "{} environment variables; the server accepts at most {MAX_ENV_VARS}",
                env.len()
            ),
        );
    }
    for (i, e) in env.iter().enumerate() {
        let at = format!("{base}.envVars[{i}]");
        env_key(c, &e.key, &at);
        match (&e.value, &e.from_secret) {
            (None, None) if !e.key.is_empty() => {
                c.error(
                    "required",
                    &at,
                    format!("the variable `{}` needs a `value` or `fromSecret`", e.key),
                )
                .help("the server refuses a variable with neither (`No env variable value`)");
            }
            (Some(v), None) => env_value(c, v, &e.key, &format!("{at}.value")),
            _ => {}
        }
    }
    if tasks.len() > MAX_TASKS {
        c.error(
            "too-many",
            &format!("{base}.tasks"),
            format!("{} tasks; the server accepts at most {MAX_TASKS}", tasks.len()),
        );
    }
    for (i, t) in tasks.iter().enumerate() {
        let at = format!("{base}.tasks[{i}]");
        if t.run.len() > MAX_TASK_RUN {
            c.error(
                "too-long",
                &format!("{at}.run"),
                format!(
                    "this task's `run` is {} bytes; the server accepts at most {MAX_TASK_RUN}",
                    t.run.len()
                ),
            )
            .help("put a long script in a file in the repository and run that");
        }
        if !t.working_dir.is_empty() {
            path(c, &t.working_dir, &format!("{at}.workingDir"), "a task's `workingDir`");
        }
        if t.env_vars.len() > MAX_ENV_VARS {
            c.error(
                "too-many",
                &format!("{at}.envVars"),
                format!(
                    "{} environment variables in one task; the server accepts at most \
                     {MAX_ENV_VARS}",
                    t.env_vars.len()
                ),
            );
        }
        for (j, e) in t.env_vars.iter().enumerate() {
            let at = format!("{at}.envVars[{j}]");
            env_key(c, &e.key, &at);
            if !e.key.is_empty() {
                env_value(c, &e.value, &e.key, &format!("{at}.value"));
            }
        }
    }
}

/// An env var key: ASCII, at most 64 bytes (emptiness is reported by the spec rules).
fn env_key(c: &mut Ctx<'_>, key: &str, at: &str) {
    if !key.is_ascii() {
        c.error("env-var", &format!("{at}.key"), "an environment variable key must be ASCII");
    } else if key.len() > MAX_ENV_KEY {
        c.error(
            "too-long",
            &format!("{at}.key"),
            format!(
                "the key `{key}` is {} bytes; the server accepts at most {MAX_ENV_KEY}",
                key.len()
            ),
        );
    }
}

/// An env var value: not empty, at most 1024 bytes. Never quoted.
fn env_value(c: &mut Ctx<'_>, value: &str, key: &str, at: &str) {
    if value.is_empty() {
        c.error("empty-value", at, format!("the variable `{key}` has an empty value"))
            .help("the server refuses empty values (`Empty value for env var`): give it a value or remove it");
    } else if value.len() > MAX_ENV_VALUE {
        c.error(
            "too-long",
            at,
            format!(
                "the value of `{key}` is {} bytes; the server accepts at most {MAX_ENV_VALUE}",
                value.len()
            ),
        )
        .help("keep large values in a Secret or a file in the repository");
    }
}

/// A unix path of at most 256 bytes (govalidator `IsUnixFilePath` refuses only NUL bytes).
fn path(c: &mut Ctx<'_>, p: &str, at: &str, what: &str) {
    if p.contains('\0') {
        c.error("path", at, format!("{what} contains a NUL byte"));
    } else if p.len() > MAX_PATH {
        c.error(
            "too-long",
            at,
            format!("{what} is {} bytes; the server accepts at most {MAX_PATH}", p.len()),
        );
    }
}

/// A Template's or Workspace's image, runtime, repositories and applications:
/// octelium/cordium `cluster/common/wsutils/workspacevalidate.go` (`ValidateWorkspace`).
pub(super) fn workload_limits(
    c: &mut Ctx<'_>,
    image: Option<&Image>,
    runtime: Option<&Runtime>,
    repository: Option<&Repository>,
    additional: &[AdditionalRepository],
    applications: &[Application],
) {
    if let Some(img) = image {
        image_limits(c, img);
    }
    if let Some(rt) = runtime {
        runtime_limits(c, &rt.env_vars, &rt.tasks, "spec.runtime");
        for (field, v) in [("cmd", &rt.cmd), ("entrypoint", &rt.entrypoint)] {
            if v.len() > MAX_CMD {
                c.error(
                    "too-long",
                    &format!("spec.runtime.{field}"),
                    format!("`{field}` is {} bytes; the server accepts at most {MAX_CMD}", v.len()),
                );
            }
        }
        if let Some(d) = &rt.devcontainers {
            devcontainer_limits(c, d);
        }
        // Newer upstream (`workspacevalidate.go` at 3c58c9aa) checks a Template's or Workspace's
        // capabilities as `validateSpace` does, and caps `octelium.serveServices` at 128.
        if let Some(caps) = &rt.capabilities {
            capabilities(c, caps, "spec.runtime.capabilities");
        }
        if let Some(o) = &rt.octelium {
            if o.serve_services.len() > MAX_SERVE_SERVICES {
                c.error(
                    "too-many",
                    "spec.runtime.octelium.serveServices",
                    format!(
                        "{} services; the server accepts at most {MAX_SERVE_SERVICES}",
                        o.serve_services.len()
                    ),
                );
            }
        }
    }
    if let Some(r) = repository {
        repository_limits(c, r, "spec.repository");
    }
    if additional.len() > MAX_ADDITIONAL_REPOSITORIES {
        c.error(
            "too-many",
            "spec.additionalRepositories",
            format!(
                "{} additional repositories; the server accepts at most \
                 {MAX_ADDITIONAL_REPOSITORIES}",
                additional.len()
            ),
        );
    }
    for (i, a) in additional.iter().enumerate() {
        if let Some(r) = &a.repository {
            repository_limits(c, r, &format!("spec.additionalRepositories[{i}].repository"));
        }
    }
    if applications.len() > MAX_APPLICATIONS {
        c.error(
            "too-many",
            "spec.applications",
            format!(
                "{} applications; the server accepts at most {MAX_APPLICATIONS}",
                applications.len()
            ),
        );
    }
    for (i, a) in applications.iter().enumerate() {
        if a.display_name.len() > MAX_APPLICATION_DISPLAY_NAME {
            c.error(
                "too-long",
                &format!("spec.applications[{i}].displayName"),
                format!(
                    "the display name of application `{}` is longer than \
                     {MAX_APPLICATION_DISPLAY_NAME} bytes",
                    a.name
                ),
            );
        }
    }
}

fn image_limits(c: &mut Ctx<'_>, img: &Image) {
    if let Some(inline) = img.dockerfile.as_ref().and_then(|d| d.inline.as_ref()) {
        let at = "spec.image.dockerfile.inline";
        if inline.is_empty() {
            c.error("dockerfile", at, "the inline Dockerfile is empty");
        } else if inline.len() > MAX_DOCKERFILE {
            c.error(
                "dockerfile",
                at,
                format!(
                    "the inline Dockerfile is {} bytes; the server accepts at most \
                     {MAX_DOCKERFILE} (`Too large Dockerfile`)",
                    inline.len()
                ),
            )
            .help("keep it in the repository and point `dockerfile.url`, or a repository image, at it");
        }
    }
    if let Some(auth) = img.registry.as_ref().and_then(|r| r.authentication.as_ref()) {
        let base = "spec.image.registry.authentication";
        username(c, &auth.username, base);
        if auth.password.is_none() {
            c.error("required", base, "registry authentication needs a `password`")
                .help("write `password: {fromSecret: NAME}`");
        }
    }
    if let Some(d) = img.repository.as_ref().and_then(|r| r.dockerfile.as_ref()) {
        path(c, &d.path, "spec.image.repository.dockerfile.path", "the Dockerfile path");
        path(c, &d.context, "spec.image.repository.dockerfile.context", "the Dockerfile context");
    }
}

/// A registry's or repository's username: set, ASCII, at most 150 bytes.
fn username(c: &mut Ctx<'_>, name: &str, base: &str) {
    let at = format!("{base}.username");
    if name.is_empty() {
        c.error("required", base, "authentication needs a `username`");
    } else if !name.is_ascii() {
        c.error("username", &at, "the username must be ASCII");
    } else if name.len() > MAX_USERNAME {
        c.error(
            "too-long",
            &at,
            format!(
                "the username is {} bytes; the server accepts at most {MAX_USERNAME}",
                name.len()
            ),
        );
    }
}

fn repository_limits(c: &mut Ctx<'_>, r: &Repository, base: &str) {
    if let Some(h) = r.authentication.as_ref().and_then(|a| a.http.as_ref()) {
        let at = format!("{base}.authentication.http");
        username(c, &h.username, &at);
        if h.password.is_none() {
            c.error("required", &at, "http authentication needs a `password`")
                .help("write `password: {fromSecret: NAME}`");
        }
    }
}

fn devcontainer_limits(c: &mut Ctx<'_>, d: &Devcontainers) {
    let base = "spec.runtime.devcontainers.features";
    if d.features.len() > MAX_FEATURES {
        c.error(
            "too-many",
            base,
            format!(
                "{} devcontainer features; the server accepts at most {MAX_FEATURES}",
                d.features.len()
            ),
        );
    }
    for (i, f) in d.features.iter().enumerate() {
        let at = format!("{base}[{i}]");
        text_field(c, &f.reference, &format!("{at}.reference"), "a feature's `reference`");
        if f.options.len() > MAX_FEATURE_OPTIONS {
            c.error(
                "too-many",
                &format!("{at}.options"),
                format!(
                    "{} options; the server accepts at most {MAX_FEATURE_OPTIONS}",
                    f.options.len()
                ),
            );
        }
        for (j, o) in f.options.iter().enumerate() {
            text_field(c, &o.key, &format!("{at}.options[{j}].key"), "an option's `key`");
            text_field(c, &o.value, &format!("{at}.options[{j}].value"), "an option's `value`");
        }
    }
}

/// Set, ASCII, at most 256 bytes (devcontainer features and their options).
fn text_field(c: &mut Ctx<'_>, v: &str, at: &str, what: &str) {
    if v.is_empty() {
        c.error("required", at, format!("{what} is empty"));
    } else if !v.is_ascii() {
        c.error("devcontainer", at, format!("{what} must be ASCII"));
    } else if v.len() > MAX_PATH {
        c.error("too-long", at, format!("{what} is longer than {MAX_PATH} bytes"));
    }
}

/// A Space: octelium/cordium `mains/space.go` (`CreateSpace`: the reserved USER Space name;
/// `validateSpace`: the runtime's env vars, tasks and capabilities).
pub(super) fn space_rules(c: &mut Ctx<'_>, organization: bool, name: &str, spec: &SpaceSpec) {
    if !organization && name == RESERVED_SPACE {
        c.error(
            "reserved-name",
            "metadata.name",
            format!("the Space name `{RESERVED_SPACE}` is reserved for the server's agent"),
        )
        .help("choose another name, or make it an organisation Space (`<space>.cordium`)");
    }
    if let Some(rt) = &spec.runtime {
        runtime_limits(c, &rt.env_vars, &rt.tasks, "spec.runtime");
        if let Some(caps) = &rt.capabilities {
            capabilities(c, caps, "spec.runtime.capabilities");
        }
    }
}

fn capabilities(c: &mut Ctx<'_>, caps: &Capabilities, base: &str) {
    for (field, list) in [("add", &caps.add), ("drop", &caps.drop)] {
        if list.len() > MAX_CAPABILITIES {
            c.error(
                "too-many",
                &format!("{base}.{field}"),
                format!(
                    "{} capabilities; the server accepts at most {MAX_CAPABILITIES}",
                    list.len()
                ),
            );
        }
        for (i, cap) in list.iter().enumerate() {
            if !capability_re().is_match(cap) {
                c.error(
                    "capability",
                    &format!("{base}.{field}[{i}]"),
                    format!("`{cap}` is not a capability name"),
                )
                .help("write `ALL` or the name without `CAP_` in capitals, e.g. `NET_ADMIN`");
            }
        }
    }
}

/// A User: octelium `cluster/apiserver/apiserver/admin/user.go` (`validateUser`) and
/// `cluster/common/apivalidation/apivalidation.go` (`ValidateAttrs`, `isMapCamelCase`).
pub(super) fn user_rules(c: &mut Ctx<'_>, spec: &UserSpec) {
    if spec.r#type == UserType::Unknown {
        c.error("required", "spec.type", "a User needs a `type`: HUMAN or WORKLOAD")
            .help("people are HUMAN; CI and services are WORKLOAD");
    }
    if !spec.email.is_empty() {
        let at = "spec.email";
        if spec.r#type != UserType::Human {
            c.error("email", at, "only a HUMAN User can have an `email`")
                .help("remove the email, or set `type` to HUMAN");
        }
        if !spec.email.is_ascii() || !is_email(&spec.email) {
            c.error("email", at, "`email` is not an email address");
        } else if spec.email.chars().any(|ch| ch.is_ascii_uppercase()) {
            c.error("email", at, "`email` must be lowercase");
        }
        if spec.email.len() > MAX_EMAIL {
            c.error("too-long", at, format!("`email` is longer than {MAX_EMAIL} bytes"));
        }
    }
    if let Some(info) = &spec.info {
        let fields = [
            ("locale", &info.locale),
            ("phone", &info.phone),
            ("firstName", &info.first_name),
            ("middleName", &info.middle_name),
            ("lastName", &info.last_name),
            ("website", &info.website),
            ("country", &info.country),
        ];
        for (field, v) in fields {
            if v.len() > MAX_USER_INFO {
                c.error(
                    "too-long",
                    &format!("spec.info.{field}"),
                    format!("`info.{field}` is longer than {MAX_USER_INFO} bytes"),
                );
            }
        }
    }
    if let Some(auth) = &spec.authentication {
        if auth.identities.len() > MAX_IDENTITIES {
            c.error(
                "too-many",
                "spec.authentication.identities",
                format!(
                    "{} identities; the server accepts at most {MAX_IDENTITIES}",
                    auth.identities.len()
                ),
            );
        }
        for (i, id) in auth.identities.iter().enumerate() {
            let at = format!("spec.authentication.identities[{i}]");
            for (field, v) in
                [("identifier", &id.identifier), ("identityProvider", &id.identity_provider)]
            {
                if v.is_empty() {
                    c.error("required", &at, format!("an identity needs an `{field}`"));
                } else if v.len() > MAX_PATH {
                    c.error(
                        "too-long",
                        &format!("{at}.{field}"),
                        format!("`{field}` is longer than {MAX_PATH} bytes"),
                    );
                }
            }
        }
    }
    if let Some(attrs) = &spec.attrs {
        attrs_keys(c, attrs, "spec.attrs", 0);
    }
}

/// What govalidator's `IsEmail` needs at least: one `@` with text on both sides and a dot in
/// the domain, no spaces.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// Every key of `attrs`, nested maps included, in camelCase: a lowercase letter, then letters
/// and digits, at most 100 characters.
fn attrs_keys(
    c: &mut Ctx<'_>,
    map: &serde_json::Map<String, serde_json::Value>,
    at: &str,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for (k, v) in map {
        if !is_camel_case(k) || k.chars().count() > MAX_ATTRS_KEY {
            c.error("attrs", &format!("{at}.{k}"), format!("the attrs key `{k}` is not camelCase"))
                .help("start with a lowercase letter, then letters and digits only, e.g. `costCenter`");
        }
        if let serde_json::Value::Object(inner) = v {
            attrs_keys(c, inner, &format!("{at}.{k}"), depth + 1);
        }
    }
}

fn is_camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() => {
            chars.all(|ch| ch.is_alphabetic() || ch.is_numeric())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_as_upstream() {
        for ok in ["a", "costCenter", "x1", "élan"] {
            assert!(is_camel_case(ok), "{ok}");
        }
        for bad in ["", "Cost", "cost_center", "cost-center", "1a", "a b"] {
            assert!(!is_camel_case(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@example.com"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.de", "a@.co", "a@b."] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn capability_names_as_upstream() {
        for ok in ["ALL", "NET_ADMIN", "SYS_PTRACE", "A"] {
            assert!(capability_re().is_match(ok), "{ok}");
        }
        for bad in ["net_admin", "CAP NET", "_X", "1X", &"A".repeat(31)] {
            assert!(!capability_re().is_match(bad), "{bad}");
        }
    }
}
