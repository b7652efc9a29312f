//! Per-resource spec rules the schema cannot say: oneofs (at most one variant set), required
//! parts (an env var's key, a task's name, run and type), unique names within lists, limits in
//! range, absolute paths, https URLs, CIDRs, durations, and kind-specific rules (a Space limit
//! and `fromSecret` in a Space runtime need an organisation Space). Pure: no I/O.
//!
//! Limit bounds (documented in `docs/`): CPU 1–1,000,000 millicores (1,000 cores); memory
//! 1–4,194,304 MB (4 TiB); storage 1–16,777,216 MB (16 TiB).

use std::collections::BTreeSet;

use crate::diag::{Diagnostic, Diagnostics};

use super::spec::{
    AdditionalRepository, Application, Condition, EnforcementEffect, EnvVar, GitProviderSpec,
    Image, InlinePolicy, Limit, NetworkRule, PolicySpec, Repository, RuleAction, RuleEffect,
    Runtime, SpaceSpec, Task, TaskType, Var, VolumeSpec,
};
use super::{Body, Resource, SecretSource};

/// CPU limit bounds, in millicores.
pub const CPU_MILLICORES: (u32, u32) = (1, 1_000_000);
/// Memory limit bounds, in megabytes.
pub const MEMORY_MEGABYTES: (u32, u32) = (1, 4 * 1024 * 1024);
/// Storage limit bounds, in megabytes.
pub const STORAGE_MEGABYTES: (u32, u32) = (1, 16 * 1024 * 1024);

struct Ctx<'a> {
    r: &'a Resource,
    out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn error(&mut self, code: &'static str, path: &str, message: impl Into<String>) -> &mut Self {
        let span = self.r.origin.span_of(path);
        self.out.push(Diagnostic::error(code, message).at(span));
        self
    }

    /// The item at `at` must have a name (`what` is "a task", "an application"...) that no
    /// earlier item in `seen` had. Returns false when it had none or a repeated one.
    fn unique_name<'n>(
        &mut self,
        seen: &mut BTreeSet<&'n str>,
        name: &'n str,
        at: &str,
        what: &str,
    ) -> bool {
        if name.trim().is_empty() {
            self.error("required", at, format!("{what} needs a `name`"));
            false
        } else if !seen.insert(name) {
            let noun = what.split_once(' ').map(|(_, n)| n).unwrap_or(what);
            self.error(
                "duplicate-name",
                &format!("{at}.name"),
                format!("the {noun} `{name}` is listed twice"),
            );
            false
        } else {
            true
        }
    }

    fn warning(&mut self, code: &'static str, path: &str, message: impl Into<String>) -> &mut Self {
        let span = self.r.origin.span_of(path);
        self.out.push(Diagnostic::warning(code, message).at(span));
        self
    }

    /// Adds a hint to the diagnostic just pushed.
    fn help(&mut self, help: impl Into<String>) {
        if let Some(last) = self.out.last_mut() {
            last.help = Some(help.into());
        }
    }
}

/// Checks one resource's spec (and `prebuild`, `lifecycle`, Secret source).
pub fn check(r: &Resource, diags: &mut Diagnostics) {
    let mut c = Ctx { r, out: Vec::new() };
    match &r.body {
        Body::Space { organization, spec } => {
            check_space(&mut c, *organization, spec);
            server::space_rules(&mut c, *organization, &r.address.name, spec);
        }
        Body::Template { spec, prebuild } => {
            workload(
                &mut c,
                spec.image.as_ref(),
                spec.runtime.as_ref(),
                spec.repository.as_deref(),
                &spec.additional_repositories,
                spec.limit.as_ref(),
                &spec.vars,
            );
            server::workload_limits(
                &mut c,
                spec.image.as_ref(),
                spec.runtime.as_ref(),
                spec.repository.as_deref(),
                &spec.additional_repositories,
                &[],
            );
            if let Some(t) = prebuild.as_ref().and_then(|p| p.timeout.as_deref()) {
                check_prebuild_timeout(&mut c, t);
            }
        }
        Body::Workspace { spec, .. } => {
            workload(
                &mut c,
                spec.image.as_ref(),
                spec.runtime.as_ref(),
                spec.repository.as_deref(),
                &spec.additional_repositories,
                spec.limit.as_ref(),
                &spec.vars,
            );
            applications(&mut c, &spec.applications);
            server::workload_limits(
                &mut c,
                spec.image.as_ref(),
                spec.runtime.as_ref(),
                spec.repository.as_deref(),
                &spec.additional_repositories,
                &spec.applications,
            );
            dropped_workspace_metadata(&mut c, &r.metadata);
        }
        Body::User { spec } => {
            server::user_rules(&mut c, spec);
            if let Some(auth) = &spec.authorization {
                inline_policies(&mut c, &auth.inline_policies);
            }
        }
        Body::Secret { source } => check_secret_source(&mut c, source),
        Body::Group { spec } => {
            if let Some(auth) = &spec.authorization {
                inline_policies(&mut c, &auth.inline_policies);
            }
        }
        Body::Policy { spec } => policy_spec(&mut c, spec, "spec"),
        Body::Membership { .. } => {}
        Body::GitProvider { spec } => check_git_provider(&mut c, spec),
        Body::Volume { spec } => check_volume(&mut c, spec),
    }
    check_ignore_changes(&mut c, &r.lifecycle.ignore_changes);
    if r.lifecycle.create_before_destroy.is_some() && r.kind() != crate::kind::Kind::Workspace {
        c.error(
            "create-before-destroy",
            "lifecycle.createBeforeDestroy",
            format!(
                "only a Workspace can be created before it is destroyed: a {}'s name is taken \
                 until the old one is deleted",
                r.kind().api_kind()
            ),
        )
        .help("remove create_before_destroy from this lifecycle");
    }
    for k in r.metadata.annotations.keys().filter(|k| super::is_workspace_record_key(k)) {
        c.error(
            "reserved-annotation",
            &format!("metadata.annotations.{k}"),
            format!("`{k}` is a cordium Workspace ownership record key"),
        )
        .help("name the annotation otherwise: `cws-` followed by 32 hex digits is reserved");
    }
    if r.metadata.annotations.contains_key(super::APPLIED_ANNOTATION) {
        c.error(
            "reserved-annotation",
            &format!("metadata.annotations.{}", super::APPLIED_ANNOTATION),
            format!(
                "`{}` is reserved: apply sets it to a digest of what it wrote",
                super::APPLIED_ANNOTATION
            ),
        )
        .help("name the annotation otherwise");
    }
    for d in c.out {
        diags.push(d);
    }
}

/// The smallest and largest Volume (cordium `mains/volume.go` `checkVolumeSize`: "A Volume must
/// be at least 1000 MB", "The Volume size is too large: %d MB"), in megabytes.
pub const VOLUME_MEGABYTES: (u32, u32) = (1000, 10_000_000);

fn check_volume(c: &mut Ctx<'_>, spec: &VolumeSpec) {
    let mb = spec.size.as_ref().map(|s| s.megabytes).unwrap_or_default();
    let (min, max) = VOLUME_MEGABYTES;
    if mb < min {
        c.error(
            "volume-size",
            "spec.size.megabytes",
            format!("a Volume must be at least {min} MB"),
        )
        .help("the server refuses it: \"A Volume must be at least 1000 MB\"");
    } else if mb > max {
        c.error(
            "volume-size",
            "spec.size.megabytes",
            format!("the Volume size is too large: {mb} MB (at most {max} MB)"),
        );
    }
}

/// cordium `mains/gitprovider.go` `validateGitProvider` / `validateSecretOwner`: one type, a
/// client secret from a Secret, at most 10 scopes (an OAuth2 provider at least one, and its
/// auth and token URLs).
fn check_git_provider(c: &mut Ctx<'_>, spec: &GitProviderSpec) {
    let set = [spec.github.is_some(), spec.gitlab.is_some(), spec.oauth2.is_some()];
    match set.iter().filter(|b| **b).count() {
        0 => {
            c.error(
                "git-provider-type",
                "spec",
                "a GitProvider needs one of `github`, `gitlab` or `oauth2`",
            )
            .help("the server refuses it: \"You must provide a GitProvider type\"");
            return;
        }
        1 => {}
        _ => {
            c.error(
                "oneof",
                "spec",
                "a GitProvider is one of `github`, `gitlab` or `oauth2`, not several",
            );
            return;
        }
    }
    let (base, client_id, secret, scopes, oauth2) = if let Some(g) = &spec.github {
        ("spec.github", &g.client_id, &g.client_secret, &g.scopes, None)
    } else if let Some(g) = &spec.gitlab {
        ("spec.gitlab", &g.client_id, &g.client_secret, &g.scopes, None)
    } else if let Some(o) = &spec.oauth2 {
        ("spec.oauth2", &o.client_id, &o.client_secret, &o.scopes, Some(o))
    } else {
        return;
    };
    if client_id.trim().is_empty() || !client_id.is_ascii() {
        c.error(
            "required",
            &format!("{base}.clientID"),
            "a GitProvider needs a `clientID` (ASCII)",
        );
    }
    match secret.as_ref().map(|s| s.from_secret.as_str()) {
        None => {
            c.error("required", base, "a GitProvider needs `clientSecret.fromSecret`")
                .help("the server refuses it: \"You must set fromSecret\"");
        }
        Some("") => {
            c.error(
                "required",
                &format!("{base}.clientSecret"),
                "`clientSecret.fromSecret` is empty",
            );
        }
        Some(_) => {}
    }
    if scopes.len() > 10 {
        c.error("too-many", &format!("{base}.scopes"), "a GitProvider has at most 10 scopes");
    }
    for (i, scope) in scopes.iter().enumerate() {
        if scope.trim().is_empty() || !scope.is_ascii() {
            c.error("scope", &format!("{base}.scopes[{i}]"), format!("invalid scope `{scope}`"));
        }
    }
    if let Some(o) = oauth2 {
        if o.scopes.is_empty() {
            c.error("required", "spec.oauth2", "an OAuth2 GitProvider needs at least one scope")
                .help("the server refuses it: \"You must provide at least one scope\"");
        }
        for (field, url, what) in
            [("authURL", &o.auth_url, "auth"), ("tokenURL", &o.token_url, "token")]
        {
            if !is_url(url) {
                c.error(
                    "url",
                    &format!("spec.oauth2.{field}"),
                    format!("invalid {what} URL `{url}`"),
                );
            }
        }
    }
}

/// A URL the server's `govalidator.IsURL` would take, roughly: a scheme and a host.
fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.starts_with('/')
}

/// Metadata the server drops from a Workspace on create and update (octelium/cordium
/// `mains/workspace.go` `CreateWorkspace` ~L81-85 and `UpdateWorkspace` ~L796-797): set, it is
/// never stored (and plan does not compare it). A warning: the Workspace itself is fine.
fn dropped_workspace_metadata(c: &mut Ctx<'_>, m: &super::Metadata) {
    for (field, set) in [
        ("labels", !m.labels.is_empty()),
        ("description", !m.description.is_empty()),
        ("annotations", !m.annotations.is_empty()),
        ("tags", !m.tags.is_empty()),
    ] {
        if set {
            c.warning(
                "dropped-metadata",
                &format!("metadata.{field}"),
                format!("the server drops a Workspace's `{field}`: it will not be stored"),
            )
            .help("remove it; set it on the Template or the Space instead");
        }
    }
}

/// A Space: only an organisation Space may have a limit or `fromSecret` in its runtime.
fn check_space(c: &mut Ctx<'_>, organization: bool, spec: &SpaceSpec) {
    if let (false, Some(_)) = (organization, &spec.limit) {
        c.error("space-limit", "spec.limit", "only an organisation Space can have a limit")
            .help("name the Space `<space>.cordium` to make it an organisation Space");
    }
    if let Some(limit) = &spec.limit {
        if let Some(l) = &limit.default_limit {
            check_limit(c, l, "spec.limit.defaultLimit");
        }
        if let Some(l) = &limit.max_limit {
            check_limit(c, l, "spec.limit.maxLimit");
        }
    }
    if let Some(rt) = &spec.runtime {
        env_vars(c, &rt.env_vars, "spec.runtime.envVars");
        tasks(c, &rt.tasks, "spec.runtime.tasks");
        if !organization {
            for (i, e) in rt.env_vars.iter().enumerate() {
                if e.from_secret.is_some() {
                    c.error(
                        "space-secret",
                        &format!("spec.runtime.envVars[{i}].fromSecret"),
                        "`fromSecret` in a Space runtime needs an organisation Space",
                    )
                    .help("name the Space `<space>.cordium`, or set the variable on a Template");
                }
            }
        }
    }
}

/// A Template's `prebuild.timeout`: a duration longer than zero.
fn check_prebuild_timeout(c: &mut Ctx<'_>, t: &str) {
    match humantime::parse_duration(t) {
        Ok(d) if d.as_secs() > 0 => {}
        Ok(_) => {
            c.error(
                "prebuild-timeout",
                "prebuild.timeout",
                "a build timeout must be longer than zero",
            );
        }
        Err(e) => {
            c.error(
                "prebuild-timeout",
                "prebuild.timeout",
                format!("`{t}` is not a duration: {e}"),
            )
            .help("write a duration such as `45m` or `1h30m`");
        }
    }
}

/// A User's inline policies: every rule's and enforcement rule's condition.
fn inline_policies(c: &mut Ctx<'_>, policies: &[InlinePolicy]) {
    for (i, p) in policies.iter().enumerate() {
        let base = format!("spec.authorization.inlinePolicies[{i}].spec");
        let Some(ps) = &p.spec else { continue };
        policy_spec(c, ps, &base);
    }
}

/// A `Policy.Spec` (a Policy's own, or an inline one at `base`): one form per condition, and
/// the server's rule checks (octelium `cluster/apiserver/apiserver/admin/policy.go`
/// `validatePolicySpec`: every rule has an effect and a condition, priority in -4..=4, every
/// enforcement rule ENFORCE or IGNORE).
fn policy_spec(c: &mut Ctx<'_>, ps: &PolicySpec, base: &str) {
    for (j, rule) in ps.rules.iter().enumerate() {
        let at = format!("{base}.rules[{j}]");
        match &rule.condition {
            Some(cond) => condition(c, cond, &format!("{at}.condition"), 0),
            None => {
                c.error("required", &at, "a rule needs a `condition`")
                    .help("`condition: {matchAny: true}` matches every request");
            }
        }
        if rule.effect == RuleEffect::Unknown {
            c.error("required", &at, "a rule needs an `effect`: ALLOW or DENY");
        }
        if !(-POLICY_PRIORITY_MAX..=POLICY_PRIORITY_MAX).contains(&rule.priority) {
            c.error(
                "out-of-range",
                &format!("{at}.priority"),
                format!(
                    "a rule's priority is between -{POLICY_PRIORITY_MAX} and {POLICY_PRIORITY_MAX}, not {}",
                    rule.priority
                ),
            );
        }
    }
    for (j, rule) in ps.enforcement_rules.iter().enumerate() {
        let at = format!("{base}.enforcementRules[{j}]");
        match &rule.condition {
            Some(cond) => condition(c, cond, &format!("{at}.condition"), 0),
            None => {
                c.error("required", &at, "an enforcement rule needs a `condition`");
            }
        }
        if rule.effect == EnforcementEffect::Unknown {
            c.error("required", &at, "an enforcement rule needs an `effect`: ENFORCE or IGNORE");
        }
    }
}

/// The largest priority magnitude a Policy rule may have (upstream `priorityMaxVal`).
pub const POLICY_PRIORITY_MAX: i32 = 4;

/// A Secret's `fromEnv` or `fromFile` must not be empty.
fn check_secret_source(c: &mut Ctx<'_>, source: &SecretSource) {
    let (field, value) = match source {
        SecretSource::Env(v) => ("fromEnv", v),
        SecretSource::File(v) => ("fromFile", v),
    };
    if value.trim().is_empty() {
        c.error("secret-source", field, format!("`{field}` is empty"));
    }
}

/// `lifecycle.ignoreChanges`: every path under `spec` or `metadata`.
fn check_ignore_changes(c: &mut Ctx<'_>, paths: &[String]) {
    for (i, p) in paths.iter().enumerate() {
        if !(p == "spec" || p.starts_with("spec.") || p.starts_with("metadata.")) {
            c.error(
                "ignore-changes",
                &format!("lifecycle.ignoreChanges[{i}]"),
                format!("`{p}` is not a path under `spec` or `metadata`"),
            )
            .help("write a path such as `spec.runtime.envVars` or `metadata.labels`");
        }
    }
}

fn workload(
    c: &mut Ctx<'_>,
    image: Option<&Image>,
    runtime: Option<&Runtime>,
    repository: Option<&Repository>,
    additional: &[AdditionalRepository],
    limit: Option<&Limit>,
    vars: &[Var],
) {
    if let Some(img) = image {
        check_image(c, img);
    }
    if let Some(rt) = runtime {
        check_runtime(c, rt);
    }
    if let Some(repo) = repository {
        check_repository(c, repo, "spec.repository");
    }
    let mut names = BTreeSet::new();
    for (i, a) in additional.iter().enumerate() {
        let base = format!("spec.additionalRepositories[{i}]");
        c.unique_name(&mut names, &a.name, &base, "an additional repository");
        if !a.clone_path.is_empty() && !a.clone_path.starts_with('/') {
            c.error(
                "path",
                &format!("{base}.clonePath"),
                format!("`{}` is not an absolute path", a.clone_path),
            )
            .help(format!("write it from the root, e.g. `/workspace/additional-repos/{}`", a.name));
        }
        match &a.repository {
            Some(repo) => check_repository(c, repo, &format!("{base}.repository")),
            None => {
                c.error(
                    "required",
                    &base,
                    "an additional repository needs a `repository` with a `url`",
                );
            }
        }
    }
    if let Some(l) = limit {
        check_limit(c, l, "spec.limit");
    }
    let mut names = BTreeSet::new();
    for (i, v) in vars.iter().enumerate() {
        c.unique_name(&mut names, &v.name, &format!("spec.vars[{i}]"), "a var");
    }
}

fn check_image(c: &mut Ctx<'_>, img: &Image) {
    let set: Vec<&str> = [
        ("dockerfile", img.dockerfile.is_some()),
        ("registry", img.registry.is_some()),
        ("git", img.git.is_some()),
        ("repository", img.repository.is_some()),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| n)
    .collect();
    if set.len() > 1 {
        c.error(
            "oneof",
            "spec.image",
            format!("an image takes one source, found {}", set.join(" and ")),
        )
        .help("keep one of dockerfile, registry, git or repository");
    }
    if let Some(d) = &img.dockerfile {
        match (&d.inline, &d.url) {
            (Some(_), Some(_)) => {
                c.error(
                    "oneof",
                    "spec.image.dockerfile",
                    "a Dockerfile is `inline` or a `url`, not both",
                );
            }
            (None, None) => {
                c.error(
                    "required",
                    "spec.image.dockerfile",
                    "a Dockerfile needs `inline` text or a `url`",
                );
            }
            _ => {}
        }
    }
    if let Some(r) = &img.registry {
        if r.url.trim().is_empty() {
            c.error(
                "required",
                "spec.image.registry",
                "a registry image needs a `url`, e.g. `ubuntu:24.04`",
            );
        }
        if let Some(p) = r.authentication.as_ref().and_then(|a| a.password.as_ref()) {
            if p.from_secret.as_deref().is_none_or(str::is_empty) {
                c.error(
                    "required",
                    "spec.image.registry.authentication.password",
                    "a password needs `fromSecret`: the name of a Secret",
                )
                .help("write `password: {fromSecret: NAME}`");
            }
        }
    }
    if let Some(g) = &img.git {
        if g.url.trim().is_empty() {
            c.error("required", "spec.image.git", "a git image needs a `url`");
        } else if !g.url.starts_with("https://") {
            c.error("url", "spec.image.git.url", format!("`{}` is not an https URL", g.url));
        }
    }
    if let Some(r) = &img.repository {
        if r.devcontainer.is_some() && r.dockerfile.is_some() {
            c.error(
                "oneof",
                "spec.image.repository",
                "a repository image is `devcontainer` or `dockerfile`, not both",
            );
        }
    }
}

fn check_repository(c: &mut Ctx<'_>, repo: &Repository, base: &str) {
    if repo.url.trim().is_empty() {
        c.error("required", base, "a repository needs a `url`");
    } else if !repo.url.starts_with("https://") {
        c.error("url", &format!("{base}.url"), format!("`{}` is not an https URL", repo.url))
            .help("repositories are cloned over https, e.g. `https://github.com/org/repo`");
    }
    if let Some(p) =
        repo.authentication.as_ref().and_then(|a| a.http.as_ref()).and_then(|h| h.password.as_ref())
    {
        if p.from_secret.as_deref().is_none_or(str::is_empty) {
            c.error(
                "required",
                &format!("{base}.authentication.http.password"),
                "a password needs `fromSecret`: the name of a Secret",
            )
            .help("write `password: {fromSecret: NAME}`");
        }
    }
}

fn check_runtime(c: &mut Ctx<'_>, rt: &Runtime) {
    env_vars(c, &rt.env_vars, "spec.runtime.envVars");
    tasks(c, &rt.tasks, "spec.runtime.tasks");
    if let Some(egress) = rt.network.as_ref().and_then(|n| n.egress.as_ref()) {
        for (i, rule) in egress.rules.iter().enumerate() {
            network_rule(c, rule, &format!("spec.runtime.network.egress.rules[{i}]"));
        }
    }
    for (i, m) in rt.volume_mounts.iter().enumerate() {
        let base = format!("spec.runtime.volumeMounts[{i}]");
        if m.mount_path.is_empty() {
            c.error("required", &base, "a volume mount needs a `mountPath`");
        } else if !m.mount_path.starts_with('/') {
            c.error(
                "path",
                &format!("{base}.mountPath"),
                format!("`{}` is not an absolute path", m.mount_path),
            );
        } else if m.mount_path.trim_end_matches('/').is_empty() {
            c.error("path", &format!("{base}.mountPath"), "a volume cannot be mounted at `/`");
        }
        if m.volume_ref.as_ref().is_none_or(|v| v.name.is_empty() && v.uid.is_empty()) {
            c.error("required", &base, "a volume mount needs a `volumeRef` with a `name`");
        }
    }
}

fn env_vars(c: &mut Ctx<'_>, vars: &[EnvVar], base: &str) {
    for (i, e) in vars.iter().enumerate() {
        let at = format!("{base}[{i}]");
        if e.key.trim().is_empty() {
            c.error("required", &at, "an environment variable needs a `key`");
        }
        match (&e.value, &e.from_secret) {
            (Some(_), Some(_)) => {
                c.error(
                    "oneof",
                    &format!("{at}.fromSecret"),
                    format!("the variable `{}` has both `value` and `fromSecret`", e.key),
                )
                .help("keep one: a literal `value` or a Secret's name in `fromSecret`");
            }
            (None, Some(s)) if s.is_empty() => {
                c.error(
                    "required",
                    &format!("{at}.fromSecret"),
                    "`fromSecret` is empty: name a Secret in this Space",
                );
            }
            _ => {}
        }
    }
}

fn tasks(c: &mut Ctx<'_>, tasks: &[Task], base: &str) {
    let mut names = BTreeSet::new();
    for (i, t) in tasks.iter().enumerate() {
        let at = format!("{base}[{i}]");
        if !c.unique_name(&mut names, &t.name, &at, "a task") && !t.name.trim().is_empty() {
            c.help("task names are unique within a runtime");
        }
        let which = if t.name.is_empty() {
            "this task".to_string()
        } else {
            format!("the task `{}`", t.name)
        };
        if t.run.trim().is_empty() {
            c.error("required", &at, format!("{which} needs a `run` command"));
        }
        if t.r#type == TaskType::Unknown {
            c.error("required", &at, format!("{which} needs a `type`"))
                .help("use one of ON_CREATE, POST_START, PRE_STOP");
        }
        for (j, e) in t.env_vars.iter().enumerate() {
            if e.key.trim().is_empty() {
                c.error(
                    "required",
                    &format!("{at}.envVars[{j}]"),
                    "an environment variable needs a `key`",
                );
            }
        }
    }
}

fn network_rule(c: &mut Ctx<'_>, rule: &NetworkRule, base: &str) {
    if rule.cidrs.is_empty() {
        c.error("required", base, "a network rule needs at least one CIDR in `cidrs`");
    }
    for (i, cidr) in rule.cidrs.iter().enumerate() {
        if !is_cidr(cidr) {
            c.error("cidr", &format!("{base}.cidrs[{i}]"), format!("`{cidr}` is not a CIDR"))
                .help("write an address and a prefix length, e.g. `10.0.0.0/8`");
        }
    }
    if rule.action == RuleAction::Unset {
        c.error("required", base, "a network rule needs an `action`: ALLOW or DENY");
    }
    for (i, p) in rule.ports.iter().enumerate() {
        if *p == 0 || *p > 65535 {
            c.error(
                "out-of-range",
                &format!("{base}.ports[{i}]"),
                format!("port {p} is not between 1 and 65535"),
            );
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else { return false };
    let Ok(len) = len.parse::<u8>() else { return false };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

fn check_limit(c: &mut Ctx<'_>, l: &Limit, base: &str) {
    let parts = [
        (l.cpu.as_ref().map(|x| x.millicores), "cpu.millicores", CPU_MILLICORES),
        (l.memory.as_ref().map(|x| x.megabytes), "memory.megabytes", MEMORY_MEGABYTES),
        (l.storage.as_ref().map(|x| x.megabytes), "storage.megabytes", STORAGE_MEGABYTES),
    ];
    for (value, field, (min, max)) in parts {
        let Some(v) = value else { continue };
        if v < min || v > max {
            let path = format!("{base}.{field}");
            c.error(
                "out-of-range",
                &path,
                format!("`{path}` is {v}; it must be between {min} and {max}"),
            );
        }
    }
}

fn applications(c: &mut Ctx<'_>, apps: &[Application]) {
    let mut names = BTreeSet::new();
    let mut default: Option<usize> = None;
    for (i, a) in apps.iter().enumerate() {
        let at = format!("spec.applications[{i}]");
        c.unique_name(&mut names, &a.name, &at, "an application");
        if !(1..=65535).contains(&a.port) {
            c.error(
                "out-of-range",
                &at,
                format!("the application `{}` needs a `port` between 1 and 65535", a.name),
            );
        }
        if a.is_default {
            if let Some(first) = default {
                c.error(
                    "oneof",
                    &format!("{at}.isDefault"),
                    "only one application can be the default",
                )
                .help(format!("`spec.applications[{first}]` is already the default"));
            } else {
                default = Some(i);
            }
        }
    }
}

fn condition(c: &mut Ctx<'_>, cond: &Condition, path: &str, depth: usize) {
    if depth > 32 {
        return;
    }
    let set: Vec<&str> = [
        ("matchAny", cond.match_any.is_some()),
        ("match", cond.r#match.is_some()),
        ("all", cond.all.is_some()),
        ("any", cond.any.is_some()),
        ("not", cond.not.is_some()),
        ("none", cond.none.is_some()),
        ("opa", cond.opa.is_some()),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| n)
    .collect();
    if set.len() > 1 {
        c.error("oneof", path, format!("a condition takes one form, found {}", set.join(" and ")))
            .help("combine conditions with `all: {of: [...]}` or `any: {of: [...]}`");
    }
    for (name, list) in [("all", &cond.all), ("any", &cond.any), ("none", &cond.none)] {
        if let Some(list) = list {
            for (i, inner) in list.of.iter().enumerate() {
                condition(c, inner, &format!("{path}.{name}.of[{i}]"), depth + 1);
            }
        }
    }
}

mod server;
#[cfg(test)]
mod tests;
