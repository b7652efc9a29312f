//! The spec rules, each through the real loader: one document breaking one rule gives that
//! rule's diagnostic (and the same document without the break gives none).

use crate::model::testing::{errors, load_yaml};

const SPACES: &str = "kind: Space\nmetadata: {name: ml}\n---\nkind: Space\nmetadata: {name: org.cordium}\n---\nkind: Secret\nmetadata: {name: tok.ml}\nfromEnv: T\n---\n";

/// The errors of a config made of the two Spaces and `doc`.
fn errors_of(doc: &str) -> Vec<String> {
    let (_, diags) = load_yaml(&format!("{SPACES}{doc}"));
    errors(&diags)
}

fn template(spec: &str) -> String {
    format!("kind: Template\nmetadata: {{name: gpu.ml}}\nspec:\n{spec}")
}

fn workspace(spec: &str) -> String {
    format!("kind: Workspace\nmetadata: {{name: box.ml}}\nspec:\n{spec}")
}

/// `doc` has exactly one error, with `code`, whose message contains `fragment`.
#[track_caller]
fn one(doc: &str, code: &str, fragment: &str) {
    let errs = errors_of(doc);
    assert_eq!(errs.len(), 1, "{doc}\n{errs:?}");
    assert!(errs[0].starts_with(&format!("{code}: ")), "{doc}\n{errs:?}");
    assert!(errs[0].contains(fragment), "{doc}\n{errs:?}");
}

#[track_caller]
fn clean(doc: &str) {
    let errs = errors_of(doc);
    assert!(errs.is_empty(), "{doc}\n{errs:?}");
}

#[test]
fn a_valid_config_has_no_errors() {
    clean(&template(
        "  image: {registry: {url: 'python:3.12', authentication: {username: u, password: {fromSecret: tok}}}}\n  repository: {url: 'https://github.com/x/y'}\n  runtime:\n    envVars:\n      - {key: A, value: '1'}\n      - {key: B, fromSecret: tok}\n    tasks:\n      - {name: t, type: ON_CREATE, run: make}\n    network: {egress: {rules: [{cidrs: ['10.0.0.0/8', 'fd00::/8'], action: ALLOW, ports: [1, 65535]}]}}\n    volumeMounts: [{mountPath: /data, volumeRef: {name: v}}]\n  additionalRepositories: [{name: extra, clonePath: /src/extra, repository: {url: 'https://github.com/x/z'}}]\n  limit: {cpu: {millicores: 1}, memory: {megabytes: 4194304}, storage: {megabytes: 16777216}}\n  vars: [{name: A, value: x}]\nprebuild: {timeout: 45m}\nlifecycle: {ignoreChanges: [spec.runtime, metadata.labels]}\n",
    ));
    clean("kind: Space\nmetadata: {name: big.cordium}\nspec:\n  limit: {maxLimit: {cpu: {millicores: 1000000}}}\n  runtime: {envVars: [{key: K, fromSecret: s}]}\n");
}

#[test]
fn image_sources_are_one_of() {
    one(
        &template("  image: {registry: {url: a}, git: {url: 'https://x'}}\n"),
        "oneof",
        "found registry and git",
    );
    one(&template("  image: {dockerfile: {inline: x, url: y}}\n"), "oneof", "not both");
    one(&template("  image: {dockerfile: {}}\n"), "required", "`inline` text or a `url`");
    one(&template("  image: {registry: {url: ' '}}\n"), "required", "needs a `url`");
    one(&template("  image: {git: {url: 'http://x'}}\n"), "url", "not an https URL");
    one(
        &template("  image: {repository: {devcontainer: {}, dockerfile: {}}}\n"),
        "oneof",
        "`devcontainer` or `dockerfile`",
    );
    one(
        &template("  image: {registry: {url: a, authentication: {username: u, password: {}}}}\n"),
        "required",
        "needs `fromSecret`",
    );
}

#[test]
fn repositories_need_an_https_url_and_secret_passwords() {
    one(&template("  repository: {url: 'git@github.com:x/y'}\n"), "url", "not an https URL");
    one(
        &template("  repository: {url: 'https://x', authentication: {http: {username: u, password: {fromSecret: ''}}}}\n"),
        "required",
        "needs `fromSecret`",
    );
    one(
        &template("  additionalRepositories: [{name: a, clonePath: rel/path, repository: {url: 'https://x'}}]\n"),
        "path",
        "not an absolute path",
    );
    one(&template("  additionalRepositories: [{name: a}]\n"), "required", "needs a `repository`");
    one(
        &template("  additionalRepositories: [{name: a, repository: {url: 'https://x'}}, {name: a, repository: {url: 'https://y'}}]\n"),
        "duplicate-name",
        "`a` is listed twice",
    );
}

#[test]
fn env_vars_and_tasks_need_their_parts() {
    one(&template("  runtime: {envVars: [{value: x}]}\n"), "required", "needs a `key`");
    one(
        &template("  runtime: {envVars: [{key: A, value: x, fromSecret: tok}]}\n"),
        "oneof",
        "both `value` and `fromSecret`",
    );
    one(
        &template("  runtime: {envVars: [{key: A, fromSecret: ''}]}\n"),
        "required",
        "`fromSecret` is empty",
    );
    one(
        &template("  runtime: {tasks: [{type: ON_CREATE, run: make}]}\n"),
        "required",
        "a task needs a `name`",
    );
    one(
        &template("  runtime: {tasks: [{name: t, type: ON_CREATE}]}\n"),
        "required",
        "needs a `run` command",
    );
    one(&template("  runtime: {tasks: [{name: t, run: make}]}\n"), "required", "needs a `type`");
    one(
        &template("  runtime: {tasks: [{name: t, type: ON_CREATE, run: a}, {name: t, type: ON_CREATE, run: b}]}\n"),
        "duplicate-name",
        "the task `t` is listed twice",
    );
    one(
        &template(
            "  runtime: {tasks: [{name: t, type: ON_CREATE, run: a, envVars: [{value: x}]}]}\n",
        ),
        "required",
        "needs a `key`",
    );
    one(&template("  vars: [{name: A}, {name: A}]\n"), "duplicate-name", "`A` is listed twice");
}

#[test]
fn network_rules_and_mounts_are_checked() {
    let rule =
        |r: &str| template(&format!("  runtime: {{network: {{egress: {{rules: [{r}]}}}}}}\n"));
    one(&rule("{action: ALLOW}"), "required", "at least one CIDR");
    one(&rule("{cidrs: ['10.0.0.0/33'], action: ALLOW}"), "cidr", "`10.0.0.0/33` is not a CIDR");
    one(&rule("{cidrs: ['10.0.0.0'], action: ALLOW}"), "cidr", "not a CIDR");
    one(&rule("{cidrs: ['10.0.0.0/8']}"), "required", "needs an `action`");
    one(&rule("{cidrs: ['10.0.0.0/8'], action: DENY, ports: [0]}"), "out-of-range", "port 0");
    one(
        &rule("{cidrs: ['10.0.0.0/8'], action: DENY, ports: [65536]}"),
        "out-of-range",
        "port 65536",
    );
    let mount = |m: &str| template(&format!("  runtime: {{volumeMounts: [{m}]}}\n"));
    one(&mount("{volumeRef: {name: v}}"), "required", "needs a `mountPath`");
    one(&mount("{mountPath: data, volumeRef: {name: v}}"), "path", "not an absolute path");
    one(&mount("{mountPath: /, volumeRef: {name: v}}"), "path", "cannot be mounted at `/`");
    one(&mount("{mountPath: /data}"), "required", "needs a `volumeRef`");
}

#[test]
fn limits_are_in_range_at_both_ends() {
    for (field, max) in [
        ("cpu: {millicores", 1_000_000u64),
        ("memory: {megabytes", 4_194_304),
        ("storage: {megabytes", 16_777_216),
    ] {
        clean(&template(&format!("  limit: {{{field}: {max}}}}}\n")));
        clean(&template(&format!("  limit: {{{field}: 1}}}}\n")));
        one(
            &template(&format!("  limit: {{{field}: {}}}}}\n", max + 1)),
            "out-of-range",
            &format!("is {}", max + 1),
        );
        one(&template(&format!("  limit: {{{field}: 0}}}}\n")), "out-of-range", "is 0");
    }
}

#[test]
fn spaces_need_organisation_for_limits_and_secrets() {
    one(
        "kind: Space\nmetadata: {name: small}\nspec: {limit: {maxLimit: {cpu: {millicores: 10}}}}\n",
        "space-limit",
        "only an organisation Space",
    );
    one(
        "kind: Space\nmetadata: {name: big.cordium}\nspec: {limit: {defaultLimit: {cpu: {millicores: 0}}}}\n",
        "out-of-range",
        "spec.limit.defaultLimit.cpu.millicores",
    );
    one(
        "kind: Space\nmetadata: {name: small}\nspec: {runtime: {envVars: [{key: K, fromSecret: s}]}}\n",
        "space-secret",
        "needs an organisation Space",
    );
}

#[test]
fn workspace_applications_are_unique_in_range_and_have_one_default() {
    let apps = |a: &str| workspace(&format!("  applications: [{a}]\n"));
    clean(&apps("{name: web, port: 3000, isDefault: true}, {name: api, port: 8080}"));
    one(&apps("{name: web, port: 0}"), "out-of-range", "`web` needs a `port`");
    one(&apps("{name: web, port: 65536}"), "out-of-range", "between 1 and 65535");
    one(
        &apps("{name: web, port: 1}, {name: web, port: 2}"),
        "duplicate-name",
        "`web` is listed twice",
    );
    one(
        &apps("{name: a, port: 1, isDefault: true}, {name: b, port: 2, isDefault: true}"),
        "oneof",
        "only one application can be the default",
    );
}

#[test]
fn policy_conditions_take_one_form_at_every_depth() {
    let user = |cond: &str| {
        format!("kind: User\nmetadata: {{name: agent}}\nspec:\n  type: WORKLOAD\n  authorization: {{inlinePolicies: [{{name: p, spec: {{rules: [{{effect: ALLOW, condition: {cond}}}]}}}}]}}\n")
    };
    clean(&user("{match: 'true'}"));
    one(&user("{match: 'true', matchAny: true}"), "oneof", "found matchAny and match");
    one(
        &user("{all: {of: [{match: a}, {any: {of: [{match: b, not: c}]}}]}}"),
        "oneof",
        "found match and not",
    );
}

#[test]
fn prebuild_timeouts_secret_sources_and_ignore_paths() {
    one(
        &template("  image: {registry: {url: a}}\nprebuild: {timeout: 0s}\n"),
        "prebuild-timeout",
        "longer than zero",
    );
    one(
        &template("  image: {registry: {url: a}}\nprebuild: {timeout: soon}\n"),
        "prebuild-timeout",
        "`soon` is not a duration",
    );
    one(
        "kind: Secret\nmetadata: {name: key.ml}\nfromEnv: ' '\n",
        "secret-source",
        "`fromEnv` is empty",
    );
    one(
        &template("  image: {registry: {url: a}}\nlifecycle: {ignoreChanges: [status.x]}\n"),
        "ignore-changes",
        "`status.x` is not a path under `spec` or `metadata`",
    );
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

// octelium/cordium `cluster/common/wsutils/workspacevalidate.go` (`ValidateWorkspace`).
#[test]
fn env_vars_within_the_server_limits() {
    let env = |vars: &str| template(&format!("  runtime:\n    envVars: {vars}\n"));
    one(&env("[{key: A, value: ''}]"), "empty-value", "`A` has an empty value");
    one(&env("[{key: A}]"), "required", "needs a `value` or `fromSecret`");
    one(&env(&format!("[{{key: {}, value: v}}]", long(65))), "too-long", "at most 64");
    clean(&env(&format!("[{{key: {}, value: v}}]", long(64))));
    one(&env("[{key: 'É', value: v}]"), "env-var", "must be ASCII");
    one(&env(&format!("[{{key: A, value: {}}}]", long(1025))), "too-long", "at most 1024");
    clean(&env(&format!("[{{key: A, value: {}}}]", long(1024))));
    let many: Vec<String> = (0..129).map(|i| format!("{{key: K{i}, value: v}}")).collect();
    one(&env(&format!("[{}]", many.join(", "))), "too-many", "at most 128");
    let enough: Vec<String> = (0..128).map(|i| format!("{{key: K{i}, value: v}}")).collect();
    clean(&env(&format!("[{}]", enough.join(", "))));
    // The same limits hold in a Space's runtime (`mains/space.go` `validateSpace`).
    one(
        "kind: Space\nmetadata: {name: sp.cordium}\nspec: {runtime: {envVars: [{key: A, value: ''}]}}\n",
        "empty-value",
        "empty value",
    );
}

#[test]
fn a_sensitive_value_is_never_quoted() {
    let value = format!("s3cret-{}", long(1100));
    let errs =
        errors_of(&template(&format!("  runtime:\n    envVars: [{{key: A, value: {value}}}]\n")));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(!errs[0].contains("s3cret"), "{errs:?}");
}

#[test]
fn tasks_within_the_server_limits() {
    let task = |t: &str| template(&format!("  runtime:\n    tasks: [{t}]\n"));
    one(
        &task(&format!("{{name: t, type: ON_CREATE, run: {}}}", long(5001))),
        "too-long",
        "at most 5000",
    );
    clean(&task(&format!("{{name: t, type: ON_CREATE, run: {}}}", long(5000))));
    one(
        &task(&format!("{{name: t, type: ON_CREATE, run: make, workingDir: /{}}}", long(256))),
        "too-long",
        "at most 256",
    );
    one(
        &task("{name: t, type: ON_CREATE, run: make, envVars: [{key: A, value: ''}]}"),
        "empty-value",
        "empty value",
    );
    let many: Vec<String> =
        (0..129).map(|i| format!("{{name: t{i}, type: ON_CREATE, run: make}}")).collect();
    one(&task(&many.join(", ")), "too-many", "at most 128");
}

#[test]
fn images_and_repositories_within_the_server_limits() {
    one(
        &template(&format!("  image: {{dockerfile: {{inline: {}}}}}\n", long(5001))),
        "dockerfile",
        "at most 5000",
    );
    clean(&template(&format!("  image: {{dockerfile: {{inline: {}}}}}\n", long(5000))));
    one(&template("  image: {dockerfile: {inline: ''}}\n"), "dockerfile", "empty");
    one(
        &template("  image: {registry: {url: a, authentication: {password: {fromSecret: tok}}}}\n"),
        "required",
        "needs a `username`",
    );
    one(
        &template(&format!(
            "  image: {{registry: {{url: a, authentication: {{username: {}, password: {{fromSecret: tok}}}}}}}}\n",
            long(151)
        )),
        "too-long",
        "at most 150",
    );
    one(
        &template("  image: {registry: {url: a, authentication: {username: u}}}\n"),
        "required",
        "needs a `password`",
    );
    one(
        &template("  repository: {url: 'https://x', authentication: {http: {username: u}}}\n"),
        "required",
        "needs a `password`",
    );
    one(&template(&format!("  runtime: {{cmd: {}}}\n", long(1025))), "too-long", "at most 1024");
    let many: Vec<String> =
        (0..33).map(|i| format!("{{name: r{i}, repository: {{url: 'https://x/{i}'}}}}")).collect();
    one(
        &template(&format!("  additionalRepositories: [{}]\n", many.join(", "))),
        "too-many",
        "at most 32",
    );
}

// octelium/cordium `mains/space.go` (`CreateSpace`, `validateSpace`).
#[test]
fn space_rules_from_the_server() {
    one("kind: Space\nmetadata: {name: octelium}\n", "reserved-name", "`octelium` is reserved");
    clean("kind: Space\nmetadata: {name: octelium.cordium}\n");
    let caps = |list: &str| {
        format!("kind: Space\nmetadata: {{name: sp.cordium}}\nspec: {{runtime: {{capabilities: {{add: {list}}}}}}}\n")
    };
    one(&caps("[net_admin]"), "capability", "`net_admin` is not a capability name");
    one(&caps("[CAP NET]"), "capability", "not a capability name");
    clean(&caps("[ALL, NET_ADMIN, SYS_PTRACE]"));
    // And in a Template's runtime (`workspacevalidate.go`).
    one(
        &template("  runtime: {capabilities: {drop: [NET_RAW, net_raw]}}\n"),
        "capability",
        "`net_raw`",
    );
}

// octelium `cluster/apiserver/apiserver/admin/user.go` (`validateUser`) and
// `cluster/common/apivalidation/apivalidation.go` (`ValidateAttrs`).
#[test]
fn user_rules_from_the_server() {
    let user = |spec: &str| format!("kind: User\nmetadata: {{name: agent}}\nspec: {spec}\n");
    one(&user("{}"), "required", "needs a `type`");
    clean(&user("{type: WORKLOAD}"));
    one(&user("{type: WORKLOAD, email: a@b.co}"), "email", "only a HUMAN User");
    clean(&user("{type: HUMAN, email: a@b.co}"));
    one(&user("{type: HUMAN, email: A@b.co}"), "email", "lowercase");
    one(&user("{type: HUMAN, email: not-an-email}"), "email", "not an email address");
    one(&user(&format!("{{type: HUMAN, email: {}@b.co}}", long(150))), "too-long", "150");
    one(&user("{type: HUMAN, attrs: {cost_center: x}}"), "attrs", "`cost_center` is not camelCase");
    one(&user("{type: HUMAN, attrs: {team: {Lead: x}}}"), "attrs", "`Lead`");
    clean(&user("{type: HUMAN, attrs: {costCenter: x, team: {lead: y}}}"));
    one(&user(&format!("{{type: HUMAN, info: {{firstName: {}}}}}", long(257))), "too-long", "256");
}

// octelium/cordium `mains/workspace.go`: labels, description, annotations and tags are dropped.
#[test]
fn a_workspace_with_metadata_the_server_drops_is_warned_not_refused() {
    let doc =
        "kind: Workspace\nmetadata: {name: box.ml, description: d, labels: {team: ml}}\nspec: {}\n";
    clean(doc);
    let (_, diags) = load_yaml(&format!("{SPACES}{doc}"));
    let warned: Vec<&str> =
        diags.iter().filter(|d| d.code == "dropped-metadata").map(|d| d.message.as_str()).collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned.iter().any(|m| m.contains("`labels`"))
            && warned.iter().any(|m| m.contains("`description`"))
    );
}
