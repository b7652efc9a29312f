//! Names on the wire: the reference fields a server resolves by exact stored name, rewritten
//! from the short form people write (`wandb`) to the stored form (`wandb.ml.cordium`).
//!
//! Upstream looks every `fromSecret` up by the Secret's exact `metadata.name`, with no
//! expansion of a short name: env vars, registry and repository passwords in
//! octelium/cordium `cluster/common/wsutils/workspacevalidate.go` (`ValidateWorkspace`,
//! `ucordiumv1.ToSecretList(...).GetByName`), reached from `mains/template.go`
//! (`validateAndSetTemplate`) and `mains/workspacevalidation.go` (`validateAndSetWorkspace`);
//! a Space's runtime env vars in `mains/space.go` (`validateSpace`, `GetSecret(Name:
//! fromSecret)`). A short name is answered NOT_FOUND `The Secret: %s does not exist`. A
//! Template's `gitProvider` likewise (`mains/template.go` `validateAndSetTemplate`:
//! `GetGitProvider(Name: spec.gitProvider)`, then the same Space), stored as
//! `<provider>.<space>.<owner>`.
//!
//! The model is rewritten once the caller is known (the owner of USER Spaces), before it is
//! diffed and sent, so what is compared with the cluster is what the cluster stores and a
//! converged stack plans as no-ops. Pure: no I/O.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Body, Kind, Model, Resource};

/// The stored name of the Secret a `fromSecret` names, given its Space's stored name
/// (`ml.cordium`): `wandb` → `wandb.ml.cordium`. A name that already has dots is taken to be
/// stored already and kept as written (Secret names are single segments).
pub fn stored_secret_name(name: &str, space_stored: &str) -> String {
    if name.is_empty() || name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.{space_stored}")
    }
}

/// The Space (config name) whose Secrets a resource's `fromSecret`s name: a Space its own, a
/// Template, Workspace or GitProvider its Space's.
pub fn secret_space(r: &Resource) -> Option<&str> {
    match r.kind() {
        Kind::Space => Some(r.address.name.as_str()),
        Kind::Template | Kind::Workspace => r.address.space.as_deref(),
        // A GitProvider's `clientSecret.fromSecret` (cordium `mains/gitprovider.go`
        // `validateSecretOwner`: `GetSecret(Name: fromSecret)`, then the same Space).
        Kind::GitProvider => r.address.space.as_deref(),
        Kind::User
        | Kind::Secret
        | Kind::Group
        | Kind::Policy
        | Kind::Membership
        | Kind::Volume => None,
    }
}

/// Rewrites every `fromSecret` under every spec, and every Template's `gitProvider`, to its
/// stored form. `space_stored` gives a Space's stored name from its config name (`ml` →
/// `ml.alice` or `ml.cordium`).
pub fn references(model: &mut Model, space_stored: &dyn Fn(&str) -> String) {
    for r in &mut model.resources {
        let Some(space) = secret_space(r).map(space_stored) else { continue };
        // The spec was decoded from the document's tree: without a `fromSecret` in the tree
        // there is none in the spec, and its round trip through JSON is skipped.
        let secrets = r.origin.secret_refs().next().is_some();
        match &mut r.body {
            Body::Template { spec, .. } if !secrets => {
                spec.git_provider = stored_secret_name(&spec.git_provider, &space);
            }
            Body::Space { .. } | Body::Workspace { .. } | Body::GitProvider { .. } if !secrets => {}
            Body::Space { spec, .. } => rewrite(spec, &space),
            Body::Template { spec, .. } => {
                rewrite(spec, &space);
                // Same form as a Secret's: one segment, in the Template's Space.
                spec.git_provider = stored_secret_name(&spec.git_provider, &space);
            }
            Body::Workspace { spec, .. } => rewrite(spec, &space),
            Body::GitProvider { spec } => rewrite(spec, &space),
            Body::User { .. } | Body::Secret { .. } => {}
            Body::Membership { .. } | Body::Volume { .. } => {}
            Body::Group { .. } | Body::Policy { .. } => {}
        }
    }
}

/// Every `fromSecret` string in `spec`, wherever the spec types put one (found by the field's
/// wire name, so a password field added later is covered too).
fn rewrite<T: Serialize + DeserializeOwned>(spec: &mut T, space: &str) {
    let Ok(mut v) = serde_json::to_value(&*spec) else { return };
    if !walk(&mut v, space) {
        return;
    }
    // Invariant: the value came from `T` and only strings changed, so it reads back.
    if let Ok(back) = serde_json::from_value(v) {
        *spec = back;
    }
}

/// Rewrites in place; whether anything changed.
fn walk(v: &mut Value, space: &str) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            for (k, child) in map.iter_mut() {
                if k == "fromSecret" {
                    if let Value::String(s) = child {
                        let stored = stored_secret_name(s, space);
                        if stored != *s {
                            *s = stored;
                            changed = true;
                        }
                    }
                } else {
                    changed |= walk(child, space);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, i| walk(i, space) | c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::yaml as model_of;

    fn stored(space: &str) -> String {
        if space == "org" {
            format!("{space}.cordium")
        } else {
            format!("{space}.alice")
        }
    }

    #[test]
    fn every_from_secret_gets_its_stored_name() {
        let model = model_of(
            "kind: Space\nmetadata: {name: org.cordium}\nspec:\n  runtime:\n    envVars: [{key: A, fromSecret: aa}]\n\
---\nkind: Secret\nmetadata: {name: aa.org}\nfromEnv: A\n\
---\nkind: Secret\nmetadata: {name: aa.lab}\nfromEnv: A\n\
---\nkind: Space\nmetadata: {name: lab}\n\
---\nkind: Template\nmetadata: {name: tp.org}\nspec:\n  image: {registry: {url: 'x:1', authentication: {username: u, password: {fromSecret: aa}}}}\n  repository: {url: 'https://e/r', authentication: {http: {username: u, password: {fromSecret: aa}}}}\n  additionalRepositories: [{name: two, repository: {url: 'https://e/s', authentication: {http: {username: u, password: {fromSecret: aa}}}}}]\n  runtime: {envVars: [{key: B, fromSecret: aa}, {key: C, value: c}]}\n  gitProvider: gh\n\
---\nkind: Workspace\nmetadata: {name: ws.lab}\nspec:\n  runtime: {envVars: [{key: B, fromSecret: aa}, {key: D, fromSecret: aa.other.bob}]}\n",
        );
        let mut model = model;
        references(&mut model, &stored);
        let mut found = Vec::new();
        for r in &model.resources {
            collect(&r.spec_json(), &mut found);
        }
        found.sort();
        let want = [
            "aa.lab.alice",
            "aa.org.cordium",
            "aa.org.cordium",
            "aa.org.cordium",
            "aa.org.cordium",
            "aa.org.cordium",
            "aa.other.bob",
        ];
        assert_eq!(found, want);
        // Values are not names: left alone.
        let t = model.resources.iter().find(|r| r.address.name == "tp").expect("template");
        assert_eq!(t.spec_json()["runtime"]["envVars"][1]["value"], "c");
        assert_eq!(t.spec_json()["gitProvider"], "gh.org.cordium");
    }

    #[test]
    fn rewriting_twice_changes_nothing_more() {
        let mut model = model_of(
            "kind: Space\nmetadata: {name: lab}\n---\nkind: Workspace\nmetadata: {name: ws.lab}\nspec: {runtime: {envVars: [{key: B, fromSecret: aa}]}}\n",
        );
        references(&mut model, &stored);
        let once = model.clone();
        references(&mut model, &stored);
        assert_eq!(model, once);
    }

    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    match (k.as_str(), c) {
                        ("fromSecret", Value::String(s)) => out.push(s.clone()),
                        _ => collect(c, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|i| collect(i, out)),
            _ => {}
        }
    }
}
