//! Spec validation of the local cluster, after upstream octelium/cordium: Space specs
//! (`cluster/apiserver/apiserver/mains/space.go` @ 54d80f2b, `validateSpace`) and Workspace /
//! Template specs (`cluster/common/wsutils/workspacevalidate.go` @ 3c58c9aa, `ValidateWorkspace`;
//! `mains/workspacevalidation.go` @ 580dcb4b, `setWorkspaceVolumeMounts`). Same checks, same
//! order, same codes and messages (typos and all). Secret references are resolved by the caller
//! through [`Secrets`], by exact stored name, never expanded.

use std::sync::LazyLock;

use regex::Regex;

use super::error::{ApiError, ApiResult};
use super::names;
use crate::live::wire::cordium;
use crate::live::wire::cordium::space::status::Type as SpaceType;

use cordium::workspace::spec as ws;

/// Where a Secret named by `fromSecret` is, as the validation needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretAt {
    /// No Secret has this exact stored name.
    Missing,
    /// It exists in the Space being validated.
    ThisSpace,
    /// It exists, in another Space.
    OtherSpace,
}

/// Looks a Secret up by its exact stored name (upstream `GetSecret(Name: …)` /
/// `(*SecretList).GetByName`: no expansion).
pub(super) trait Secrets {
    fn at(&self, name: &str) -> ApiResult<SecretAt>;
}

/// Upstream `k8sCapabilityRegex`.
static CAPABILITY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(ALL|[A-Z][A-Z0-9_]{0,29})$").ok());

fn is_capability(s: &str) -> bool {
    CAPABILITY.as_ref().is_some_and(|r| r.is_match(s))
}

/// govalidator `IsUnixFilePath`: its pattern accepts any string without a NUL byte.
fn is_unix_path(s: &str) -> bool {
    !s.contains('\0')
}

/// wsutils `isValidURL`: govalidator `IsURL` and at most 256 bytes. `IsURL` is approximated:
/// no whitespace, an optional `scheme://`, a host that is `localhost`, an IP or a dotted DNS
/// name, then an optional port and path.
pub(super) fn is_valid_url(s: &str) -> bool {
    if s.is_empty() || s.len() > 256 || s.starts_with('.') || s.chars().any(char::is_whitespace) {
        return false;
    }
    let rest = match s.split_once("://") {
        Some((scheme, rest)) => {
            let ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !ok {
                return false;
            }
            rest
        }
        None => s,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || host_port.starts_with('[') => {
            if !port.is_empty() && !port.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
            h
        }
        _ => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

fn has_scheme_https(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("https"))
}

/// One env-var key, as both upstream validators check it.
fn check_env_key(key: &str) -> ApiResult<()> {
    if key.is_empty() {
        return Err(ApiError::invalid("Env variable cannot have an empty key"));
    }
    if !key.is_ascii() {
        return Err(ApiError::invalid("Invalid env var key"));
    }
    if key.len() > 64 {
        return Err(ApiError::invalid("Too long env var key"));
    }
    Ok(())
}

/// A `fromSecret` reference: found by exact name in this Space, or refused as upstream.
/// An inline env var value: non-empty, at most 1024 bytes (`validateSpace` and
/// `ValidateWorkspace` alike).
fn check_env_value(key: &str, v: &str) -> ApiResult<()> {
    if v.is_empty() {
        return Err(ApiError::invalid(format!("Empty value for env var: {key}")));
    }
    if v.len() > 1024 {
        // Upstream prints the value here, not the key.
        return Err(ApiError::invalid(format!("Empty value for env var: {v}")));
    }
    Ok(())
}

fn check_from_secret(name: &str, secrets: &dyn Secrets) -> ApiResult<()> {
    match secrets.at(name)? {
        SecretAt::ThisSpace => Ok(()),
        SecretAt::Missing => Err(ApiError::not_found(format!("The Secret: {name} does not exist"))),
        SecretAt::OtherSpace => {
            Err(ApiError::invalid(format!("The Secret does not exist: {name}")))
        }
    }
}

/// Tasks and capabilities: the part of a runtime both validators check the same way.
fn check_tasks_and_capabilities(
    tasks: &[ws::runtime::Task],
    capabilities: Option<&ws::runtime::Capabilities>,
) -> ApiResult<()> {
    if tasks.len() > 128 {
        return Err(ApiError::invalid("Too many tasks"));
    }
    for t in tasks {
        if t.env_vars.len() > 256 {
            return Err(ApiError::invalid("Too large container env var list"));
        }
        if t.run.is_empty() {
            return Err(ApiError::invalid("Empty container command"));
        }
        if t.run.len() > 5000 {
            return Err(ApiError::invalid("Command is too large"));
        }
        if t.r#type == ws::runtime::task::Type::Unknown as i32 {
            return Err(ApiError::invalid(format!(
                "The type of the container command: {} must be set",
                t.run
            )));
        }
        if !t.working_dir.is_empty() {
            if !is_unix_path(&t.working_dir) {
                return Err(ApiError::invalid(format!(
                    "Invalid working dir path: {}",
                    t.working_dir
                )));
            }
            if t.working_dir.len() > 256 {
                return Err(ApiError::invalid(format!(
                    "Too long working dir path: {}",
                    t.working_dir
                )));
            }
        }
        if t.env_vars.len() > 128 {
            return Err(ApiError::invalid("Too many env vars"));
        }
        for e in &t.env_vars {
            check_env_key(&e.key)?;
            if e.value.is_empty() || e.value.len() > 1024 {
                return Err(ApiError::invalid(format!("Empty value for env var: {}", e.key)));
            }
        }
    }
    if let Some(caps) = capabilities {
        if caps.add.len() > 100 || caps.drop.len() > 100 {
            return Err(ApiError::invalid("Too many capabilities"));
        }
        for cap in caps.add.iter().chain(&caps.drop) {
            if !is_capability(cap) {
                return Err(ApiError::invalid(format!("Invalid capability: {cap}")));
            }
        }
    }
    Ok(())
}

/// Upstream `validateSpace` (`mains/space.go`). On update, a `fromSecret` must name an existing
/// Secret of this Space by its exact stored name.
pub(super) fn space_spec(
    spec: &cordium::space::Spec,
    ty: SpaceType,
    update: Option<&dyn Secrets>,
) -> ApiResult<()> {
    use ws::runtime::env_var::Type as Env;
    if spec.limit.is_some() && ty == SpaceType::User {
        return Err(ApiError::denied("Cannot set Limits for USER Spaces"));
    }
    let Some(rt) = &spec.runtime else { return Ok(()) };
    if rt.env_vars.len() > 128 {
        return Err(ApiError::invalid("Too many container env vars"));
    }
    for e in &rt.env_vars {
        check_env_key(&e.key)?;
        match &e.r#type {
            Some(Env::FromSecret(name)) => {
                if ty != SpaceType::Organization {
                    return Err(ApiError::denied(
                        "Secrets can only be used for ORGANIZATION Spaces",
                    ));
                }
                if let Some(secrets) = update {
                    if name.is_empty() {
                        return Err(ApiError::invalid(format!(
                            "Empty Secret name for the env variable with key: {}",
                            e.key
                        )));
                    }
                    // UpdateSpace reads the Secret with a plain GetSecret: a missing one is the
                    // store's NOT_FOUND, one of another Space is INVALID_ARGUMENT.
                    match secrets.at(name)? {
                        SecretAt::ThisSpace => {}
                        SecretAt::Missing => {
                            return Err(ApiError::not_found(format!(
                                "cordium.v1.Secret {name} does not exist"
                            )))
                        }
                        SecretAt::OtherSpace => {
                            return Err(ApiError::invalid(format!(
                                "The Secret does not exist: {name}"
                            )))
                        }
                    }
                }
            }
            Some(Env::Value(v)) => check_env_value(&e.key, v)?,
            None => {
                return Err(ApiError::invalid(format!(
                    "No env variable value for the key: {}",
                    e.key
                )))
            }
        }
    }
    check_tasks_and_capabilities(&rt.tasks, rt.capabilities.as_ref())
}

/// The Workspace spec fields a Template's spec carries (upstream `validateAndSetTemplate`
/// builds exactly this Workspace spec: no applications, no vars).
pub(super) fn template_as_workspace(spec: &cordium::template::Spec) -> cordium::workspace::Spec {
    cordium::workspace::Spec {
        image: spec.image.clone(),
        runtime: spec.runtime.clone(),
        repository: spec.repository.clone(),
        additional_repositories: spec.additional_repositories.clone(),
        limit: spec.limit,
        ..Default::default()
    }
}

fn check_image(image: &ws::Image, secrets: &dyn Secrets) -> ApiResult<()> {
    use ws::image::dockerfile::Type as Df;
    use ws::image::registry::authentication::password::Type as Pw;
    use ws::image::repository::Type as Repo;
    use ws::image::Type;
    match &image.r#type {
        Some(Type::Dockerfile(d)) => match &d.r#type {
            Some(Df::Inline(text)) => {
                if text.is_empty() {
                    return Err(ApiError::invalid("Empty Dockerfile"));
                }
                if text.len() > 5000 {
                    return Err(ApiError::invalid("Too large Dockerfile"));
                }
            }
            Some(Df::Url(u)) if !is_valid_url(u) => {
                return Err(ApiError::invalid("Dockerfile URL is not valid"))
            }
            _ => {}
        },
        Some(Type::Git(g)) => {
            if !is_valid_url(&g.url) {
                return Err(ApiError::invalid("Image git URL is not valid"));
            }
            if !g.dockerfile.is_empty() && !is_unix_path(&g.dockerfile) {
                return Err(ApiError::invalid("Invalid git Dockerfile path"));
            }
        }
        Some(Type::Registry(r)) => {
            if r.url.is_empty() {
                return Err(ApiError::invalid("Image URL is empty"));
            }
            if !is_unix_path(&r.url) && !is_valid_url(&r.url) {
                return Err(ApiError::invalid(format!("Invalid Image URL: {}", r.url)));
            }
            if let Some(auth) = &r.authentication {
                check_username(&auth.username, "registry authentication", "Registry")?;
                let Some(pw) = &auth.password else {
                    return Err(ApiError::invalid("Basic authentication password must be set"));
                };
                if let Some(Pw::FromSecret(name)) = &pw.r#type {
                    if name.is_empty() {
                        return Err(ApiError::invalid("Empty Secret name"));
                    }
                    check_from_secret(name, secrets)?;
                }
            }
        }
        Some(Type::Repository(r)) => match &r.r#type {
            Some(Repo::Devcontainer(d)) if !is_unix_path(&d.dir_path) => {
                return Err(ApiError::invalid("Invalid devcontainers dir path"))
            }
            Some(Repo::Dockerfile(d)) => {
                if !is_unix_path(&d.path) || d.path.len() > 256 {
                    return Err(ApiError::invalid("Invalid Dockerfile path"));
                }
                if !d.context.is_empty() {
                    if !is_unix_path(&d.context) {
                        return Err(ApiError::invalid("Invalid Dockerfile context"));
                    }
                    if d.context.len() > 256 {
                        return Err(ApiError::invalid("Invalid Dockerfile path"));
                    }
                }
            }
            _ => {}
        },
        None => {}
    }
    Ok(())
}

/// Username checks of registry and repository authentication (`what` in the messages).
fn check_username(username: &str, what: &str, capital: &str) -> ApiResult<()> {
    if username.is_empty() {
        return Err(ApiError::invalid(format!("Empty {what} username")));
    }
    if username.len() > 150 {
        return Err(ApiError::invalid(format!("{capital} authentication username is too long")));
    }
    if !username.is_ascii() {
        return Err(ApiError::invalid(format!("Invalid {what} username")));
    }
    Ok(())
}

fn check_runtime(rt: &ws::Runtime, secrets: &dyn Secrets) -> ApiResult<()> {
    use ws::runtime::env_var::Type as Env;
    if rt.env_vars.len() > 128 {
        return Err(ApiError::invalid("Too many container env vars"));
    }
    for e in &rt.env_vars {
        check_env_key(&e.key)?;
        match &e.r#type {
            Some(Env::FromSecret(name)) => {
                if name.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "Empty Secret name for the env variable with key: {}",
                        e.key
                    )));
                }
                check_from_secret(name, secrets)?;
            }
            Some(Env::Value(v)) => check_env_value(&e.key, v)?,
            None => {
                return Err(ApiError::invalid(format!(
                    "No env variable value for the key: {}",
                    e.key
                )))
            }
        }
    }
    if rt.cmd.len() > 1024 {
        return Err(ApiError::invalid(format!("Too long cmd: {}", rt.cmd)));
    }
    if rt.entrypoint.len() > 1024 {
        return Err(ApiError::invalid(format!("Too long cmd: {}", rt.entrypoint)));
    }
    check_tasks_and_capabilities(&rt.tasks, rt.capabilities.as_ref())?;
    if let Some(dc) = &rt.devcontainers {
        if dc.features.len() > 100 {
            return Err(ApiError::invalid("Too many features"));
        }
        for f in &dc.features {
            if f.reference.is_empty() {
                return Err(ApiError::invalid("Empty devcontainer feature reference"));
            }
            if !f.reference.is_ascii() {
                return Err(ApiError::invalid("Invalid env var key"));
            }
            if f.reference.len() > 256 {
                return Err(ApiError::invalid("Too long env var key"));
            }
            if f.options.len() > 32 {
                return Err(ApiError::invalid("Too many feature options"));
            }
            for o in &f.options {
                for (v, what) in [(&o.key, "key"), (&o.value, "value")] {
                    if v.is_empty() {
                        return Err(ApiError::invalid(format!("Empty feature option {what}")));
                    }
                    if !v.is_ascii() {
                        return Err(ApiError::invalid(format!("Invalid feature option {what}")));
                    }
                    if v.len() > 256 {
                        return Err(ApiError::invalid(format!("Too long feature option {what}")));
                    }
                }
            }
        }
    }
    if let Some(o) = &rt.octelium {
        if o.serve_services.len() > 128 {
            return Err(ApiError::invalid("Too many serveServices"));
        }
        for svc in &o.serve_services {
            // apivalidation.ValidateName(svc, 0, 2): one to three segments.
            let parts = svc.split('.').count();
            if !(1..=3).contains(&parts) || names::validate_name(svc, parts - 1).is_err() {
                return Err(ApiError::invalid(format!(
                    "Invalid serveService: Invalid name: {svc}"
                )));
            }
        }
    }
    Ok(())
}

fn check_repository(
    repo: &ws::Repository,
    must_have_url: bool,
    secrets: &dyn Secrets,
) -> ApiResult<()> {
    use ws::repository::authentication::http::password::Type as Pw;
    use ws::repository::authentication::Type as Auth;
    if repo.url.is_empty() && must_have_url {
        return Err(ApiError::invalid("Repository URL is empty"));
    }
    if !repo.url.is_empty() {
        if !is_valid_url(&repo.url) {
            return Err(ApiError::invalid(format!("Invalid repository URL: {}", repo.url)));
        }
        if !has_scheme_https(&repo.url) {
            return Err(ApiError::invalid(
                r#"Repo URL must have https scheme (e.g. "https://github.com/org/repo")"#,
            ));
        }
    }
    if let Some(Auth::Http(basic)) = repo.authentication.as_ref().and_then(|a| a.r#type.as_ref()) {
        check_username(&basic.username, "basic authentication", "Basic")?;
        let Some(pw) = &basic.password else {
            return Err(ApiError::invalid("Basic authentication password must be set"));
        };
        if let Some(Pw::FromSecret(name)) = &pw.r#type {
            if name.is_empty() {
                return Err(ApiError::invalid("Empty Secret name"));
            }
            check_from_secret(name, secrets)?;
        }
    }
    Ok(())
}

/// Upstream `ValidateWorkspace` (wsutils). The mounts are resolved after it, as upstream's
/// `setWorkspaceVolumeMounts` does (`volumes::set_volume_mounts`).
pub(super) fn workspace_spec(
    spec: &cordium::workspace::Spec,
    secrets: &dyn Secrets,
) -> ApiResult<()> {
    if let Some(image) = &spec.image {
        check_image(image, secrets)?;
    }
    if let Some(rt) = &spec.runtime {
        check_runtime(rt, secrets)?;
    }
    if let Some(repo) = &spec.repository {
        check_repository(repo, false, secrets)?;
    }
    if spec.additional_repositories.len() > 32 {
        return Err(ApiError::invalid("Too many additional repositories"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for a in &spec.additional_repositories {
        if a.name.is_empty() {
            return Err(ApiError::invalid("Empty additional repository name"));
        }
        if !names::is_segment(&a.name) {
            return Err(ApiError::invalid(format!(
                "Invalid additional repository name: {}",
                a.name
            )));
        }
        if seen.contains(&a.name.as_str()) {
            return Err(ApiError::invalid(format!(
                "The additional repository name: {} already exists",
                a.name
            )));
        }
        seen.push(&a.name);
        let Some(repo) = &a.repository else {
            return Err(ApiError::invalid(format!(
                "Repository details are not set for the additional Repository: {}",
                a.name
            )));
        };
        check_repository(repo, true, secrets)?;
    }
    check_applications(&spec.applications)?;
    if let Some(l) = &spec.limit {
        if let Some(c) = l.cpu.as_ref().filter(|c| c.millicores > 1_000_000) {
            return Err(ApiError::invalid(format!("CPU are too large: {}", c.millicores)));
        }
        if let Some(m) = l.memory.as_ref().filter(|m| m.megabytes > 10_000_000) {
            return Err(ApiError::invalid(format!("Memory is too large: {}", m.megabytes)));
        }
        if let Some(s) = l.storage.as_ref().filter(|s| s.megabytes > 10_000_000) {
            return Err(ApiError::invalid(format!("Storage is too large: {}", s.megabytes)));
        }
    }
    Ok(())
}

fn check_applications(apps: &[ws::Application]) -> ApiResult<()> {
    if apps.len() > 128 {
        return Err(ApiError::invalid("Too many applications"));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut has_default = false;
    for app in apps {
        if app.name.is_empty() {
            return Err(ApiError::invalid("Application name cannot be empty"));
        }
        if !names::is_segment(&app.name) {
            return Err(ApiError::invalid(format!("Invalid Application name: {}", app.name)));
        }
        if seen.contains(&app.name.as_str()) {
            return Err(ApiError::invalid(format!(
                "The Application name: {} already exists",
                app.name
            )));
        }
        seen.push(&app.name);
        if app.port == 0 {
            return Err(ApiError::invalid(format!(
                "Port number must be set for Application: {}",
                app.name
            )));
        }
        if app.port < 0 || app.port > 65535 {
            return Err(ApiError::invalid(format!("Invalid Application port: {}", app.port)));
        }
        if app.display_name.len() > 128 {
            return Err(ApiError::invalid(format!(
                "Description is too long: {}",
                app.display_name
            )));
        }
        if app.is_default && has_default {
            return Err(ApiError::invalid("Can only have one default Application"));
        }
        has_default |= app.is_default;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_govalidator_roughly_sees_them() {
        for ok in [
            "https://github.com/org/repo",
            "github.com/org/repo",
            "http://localhost:8080/x",
            "https://10.0.0.1/r.git",
            "https://user@host.example.com/r",
        ] {
            assert!(is_valid_url(ok), "{ok}");
        }
        for bad in ["", "not a url", "https://nodot/x", "https://", "ftp//x", &"a".repeat(300)] {
            assert!(!is_valid_url(bad), "{bad}");
        }
    }

    #[test]
    fn capabilities_follow_the_kubernetes_pattern() {
        assert!(is_capability("NET_ADMIN"));
        assert!(is_capability("ALL"));
        assert!(!is_capability("net_admin"));
        assert!(!is_capability("CAP-X"));
        assert!(!is_capability(&format!("A{}", "B".repeat(30))));
    }
}
