//! References the server resolves when it is asked to write, checked against the desired state
//! and what was read from the cluster before anything is written. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Diagnostic;
use crate::model::graph::{core_refs, short};
use crate::model::qualify::{secret_space, stored_secret_name};
use crate::model::{Address, Kind, Model};

/// Every `fromSecret` naming a Secret that is neither declared in the stack nor on the cluster
/// (`live_secrets`: stored names). An error, not a warning: the server refuses the write
/// (NOT_FOUND `The Secret: %s does not exist`, octelium/cordium
/// `cluster/common/wsutils/workspacevalidate.go` `ValidateWorkspace`, for Templates and
/// Workspaces; `mains/space.go` `validateSpace` for a Space's runtime on update), so the apply
/// would stop half-way. `space_stored` gives a Space's stored name from its config name.
pub fn missing_secrets(
    model: &Model,
    space_stored: &dyn Fn(&str) -> String,
    live_secrets: &BTreeSet<String>,
) -> Vec<Diagnostic> {
    let declared: BTreeSet<String> = model
        .of_kind(Kind::Secret)
        .filter_map(|s| {
            let space = s.address.space.as_deref()?;
            Some(stored_secret_name(&s.address.name, &space_stored(space)))
        })
        .collect();
    let mut out = Vec::new();
    for r in &model.resources {
        let Some(space) = secret_space(r) else { continue };
        let space_name = space_stored(space);
        for secret in r.origin.secret_refs() {
            let name = secret.name.as_str();
            if name.is_empty() {
                continue; // reported by validate
            }
            let stored = stored_secret_name(name, &space_name);
            if declared.contains(&stored) || live_secrets.contains(&stored) {
                continue;
            }
            out.push(
                Diagnostic::error(
                    "missing-secret",
                    format!(
                        "the Secret `{name}` is neither declared in Space `{space}` nor on the \
                         cluster (as `{stored}`)"
                    ),
                )
                .at(secret.span)
                .address(r.address.to_string())
                .help(format!(
                    "declare it (`kind: Secret`, `metadata.name: {name}.{space}`) or create \
                     `{stored}` on the cluster first: the server refuses a `fromSecret` naming a \
                     Secret it does not have"
                )),
            );
        }
    }
    out
}

/// Every Group or Policy a User or Group names that is neither declared nor on the cluster
/// (`live`: the stored names of each kind that was listed; a kind not listed is not checked).
/// The server refuses the write: a User's missing Policy or Group is INVALID_ARGUMENT (octelium
/// `cluster/apiserver/apiserver/admin/user.go` `checkAndSetUser`: `The Group %s does not
/// exist`), a Group's missing Policy too (`policy.go` `validatePolicyOwner`: `The Policy %s does
/// not exist`); found here, at the reference, before anything is written.
pub fn missing_core_refs(
    model: &Model,
    live: &BTreeMap<Kind, BTreeSet<String>>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in &model.resources {
        for c in core_refs(r) {
            let Some(names) = live.get(&c.kind) else { continue };
            let declared =
                model.resources.iter().any(|d| d.kind() == c.kind && d.address.name == c.name);
            if declared || names.contains(&c.name) {
                continue;
            }
            let what = c.kind.api_kind();
            out.push(
                Diagnostic::error(
                    match c.kind {
                        Kind::Group => "missing-group",
                        _ => "missing-policy",
                    },
                    format!("the {what} `{}` is neither declared nor on the cluster", c.name),
                )
                .at(r.origin.span_of(&c.path))
                .address(r.address.to_string())
                .help(format!(
                    "declare it (`{} \"{}\" {{}}` in HCL, `kind: {what}` in YAML) or create it on \
                     the cluster first: the server refuses a {} naming a {what} it does not have",
                    c.kind.keyword(),
                    c.name,
                    r.kind().api_kind(),
                )),
            );
        }
    }
    out
}

/// Every Template's `gitProvider` and every Template's or Workspace's volume mount naming a
/// GitProvider or Volume of its Space that is neither declared nor on the cluster (`live`:
/// `(kind, stored name)` of what was read in each Space). The server refuses both: NOT_FOUND
/// `cordium.v1.GitProvider %s does not exist` (cordium `mains/template.go`
/// `validateAndSetTemplate`) and INVALID_ARGUMENT `The Volume does not exist: %s`
/// (`mains/workspacevalidation.go` `setWorkspaceVolumeMounts`).
pub fn missing_providers_and_volumes(
    model: &Model,
    space_stored: &dyn Fn(&str) -> String,
    live: &BTreeSet<(Kind, String)>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in model.resources.iter().filter(|r| matches!(r.kind(), Kind::Template | Kind::Workspace))
    {
        let Some(space) = r.address.space.as_deref() else { continue };
        let stored_space = space_stored(space);
        let refs = r.origin.git_provider_ref().into_iter().chain(r.origin.volume_refs());
        for reference in refs {
            let (kind, name) = (reference.kind, short(&reference.name));
            let declared = model.get(&Address::in_space(kind, space, name)).is_some();
            let stored = format!("{name}.{stored_space}");
            if declared || live.contains(&(kind, stored.clone())) {
                continue;
            }
            out.push(
                Diagnostic::error(
                    "missing-reference",
                    format!(
                        "the {} `{name}` is neither declared in Space `{space}` nor on the cluster \
                         (as `{stored}`)",
                        kind.api_kind()
                    ),
                )
                .at(reference.span)
                .address(r.address.to_string())
                .help(format!(
                    "declare `{}.{space}.{name}` or create `{stored}` on the cluster first: the \
                     server refuses a {} naming one it does not have",
                    kind.keyword(),
                    r.kind().api_kind()
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::yaml;

    fn stored(space: &str) -> String {
        format!("{space}.cordium")
    }

    const CONFIG: &str = "kind: Space\nmetadata: {name: ml.cordium}\n\
---\nkind: Secret\nmetadata: {name: declared.ml}\nfromEnv: X\n\
---\nkind: Template\nmetadata: {name: tp.ml}\nspec:\n  runtime:\n    envVars:\n      - {key: A, fromSecret: declared}\n      - {key: B, fromSecret: outside}\n      - {key: C, fromSecret: nowhere}\n";

    #[test]
    fn a_secret_neither_declared_nor_live_is_an_error_at_its_reference() {
        let model = yaml(CONFIG);
        let live: BTreeSet<String> = ["outside.ml.cordium".to_string()].into();
        let found = missing_secrets(&model, &stored, &live);
        assert_eq!(found.len(), 1, "{found:?}");
        let d = &found[0];
        assert!(d.is_error());
        assert_eq!(d.code, "missing-secret");
        assert!(d.message.contains("`nowhere`") && d.message.contains("nowhere.ml.cordium"));
        assert_eq!(d.address.as_deref(), Some("template.ml.tp"));
        let span = d.span.expect("a span");
        assert_eq!(&CONFIG[span.start..span.end], "nowhere", "the span is the reference");
    }

    #[test]
    fn a_group_or_policy_neither_declared_nor_live_is_an_error_at_its_reference() {
        let text = "kind: Policy\nmetadata: {name: declared}\n\
---\nkind: User\nmetadata: {name: bob}\nspec:\n  type: HUMAN\n  groups: [outside, nowhere]\n  authorization: {policies: [declared, gone]}\n";
        let model = yaml(text);
        let live: BTreeMap<Kind, BTreeSet<String>> =
            [(Kind::Group, ["outside".to_string()].into()), (Kind::Policy, BTreeSet::new())].into();
        let found = missing_core_refs(&model, &live);
        let codes: Vec<&str> = found.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["missing-policy", "missing-group"], "{found:?}");
        for (d, name) in found.iter().zip(["gone", "nowhere"]) {
            let span = d.span.expect("a span");
            assert_eq!(&text[span.start..span.end], name, "the span is the reference");
            assert_eq!(d.address.as_deref(), Some("user.bob"));
        }
        // A kind that was not listed is not checked.
        assert!(missing_core_refs(&model, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn a_secret_live_under_another_owner_is_still_missing() {
        let model = yaml(CONFIG);
        // The short name on the cluster, or under another owner, is not what the server looks up.
        let live: BTreeSet<String> =
            ["outside".to_string(), "outside.ml.alice".to_string(), "nowhere.ml.cordium".into()]
                .into();
        let found = missing_secrets(&model, &stored, &live);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("`outside`"));
    }
}
