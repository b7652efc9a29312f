//! Render tests on hand-made plans: every action's symbol, masking kept, multi-line diffs,
//! Markdown truncation that never hides a destroy or a replace.

use serde_json::json;

use super::{human, markdown, PlanDoc, Style};
use crate::diff::LiveRef;
use crate::model::Address;
use crate::plan::{
    Action, BuildAction, BuildReason, Plan, PlannedBuild, PlannedChange, PlannedField, TargetInfo,
};

fn change(addr: &str, action: Action, fields: Vec<PlannedField>) -> PlannedChange {
    PlannedChange {
        cascade: None,
        replace_order: None,
        moved_from: None,
        imported: None,
        address: addr.parse::<Address>().expect("address"),
        action,
        reason: match action {
            Action::Replace => "template cannot change in place".into(),
            Action::Delete => "no longer in the config (prune)".into(),
            _ => "because".into(),
        },
        fields,
        forced_by: if action == Action::Replace { vec!["template".into()] } else { vec![] },
        live: (action != Action::Create).then(|| LiveRef {
            name: "abc".into(),
            uid: "u".into(),
            resource_version: "1".into(),
            fingerprint: String::new(),
            masked: Vec::new(),
        }),
    }
}

fn field(
    path: &str,
    old: Option<serde_json::Value>,
    new: Option<serde_json::Value>,
    sensitive: bool,
) -> PlannedField {
    PlannedField {
        path: path.into(),
        old,
        new,
        sensitive,
        config_path: None,
        at: None,
        changed_by: None,
    }
}

fn plan(changes: Vec<PlannedChange>) -> Plan {
    Plan {
        format_version: 1,
        tool_version: "0.1.0".into(),
        stack: "demo".into(),
        target: TargetInfo {
            display: "local:.cordium/local.db".into(),
            username: "admin".into(),
            implicit_local: true,
        },
        config_digest: "d".into(),
        changes,
        builds: vec![PlannedBuild {
            template: "template.ml.gpu".parse().expect("address"),
            tag: "c0123456789abcd".into(),
            action: BuildAction::Build,
            reason: Some(BuildReason::NeverBuilt),
            build_id: None,
            estimate_secs: Some(180),
            timeout_secs: 1800,
        }],
        steps: vec![],
        excluded: vec![],
        snapshots: None,
        origin: Default::default(),
    }
}

fn sample() -> Plan {
    plan(vec![
        change(
            "space.ml",
            Action::Create,
            vec![field("metadata.displayName", None, Some(json!("ML")), false)],
        ),
        change(
            "template.ml.gpu",
            Action::Update,
            vec![
                field(
                    "spec.image.dockerfile.inline",
                    Some(json!("FROM a\nRUN x\nRUN y\n")),
                    Some(json!("FROM a\nRUN z\nRUN y\n")),
                    false,
                ),
                field(
                    "spec.runtime.envVars[TOKEN].value",
                    Some(json!("(sensitive)")),
                    Some(json!("(sensitive)")),
                    true,
                ),
            ],
        ),
        change(
            "workspace.ml.box",
            Action::Replace,
            vec![field("template", Some(json!("a")), Some(json!("b")), false)],
        ),
        change("space.old", Action::Delete, vec![]),
    ])
}

#[test]
fn human_output_shows_every_action_and_the_line_diff() {
    let text = human::plan(&PlanDoc::from_plan(&sample()), Style::default());
    assert!(text.contains("no target configured: using the embedded local cluster"), "{text}");
    assert!(text.contains("  + space.ml {"), "{text}");
    assert!(text.contains("  ~ template.ml.gpu"), "{text}");
    assert!(text.contains("-/+ workspace.ml.box"), "{text}");
    assert!(text.contains("  - space.old"), "{text}");
    assert!(text.contains("# forces replacement"), "{text}");
    assert!(text.contains("- RUN x") && text.contains("+ RUN z"), "{text}");
    assert!(text.contains("snapshot will be built: never built"), "{text}");
    assert!(
        text.contains(
            "Plan: 1 to create, 1 to update, 1 to replace, 1 to destroy, 1 snapshot build."
        ),
        "{text}"
    );
    assert!(text.contains("Will destroy: space.old"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour without a TTY");
}

#[test]
fn colour_is_only_added_when_asked() {
    let text = human::plan(&PlanDoc::from_plan(&sample()), Style { color: true, unicode: true });
    assert!(text.contains('\u{1b}'));
}

#[test]
fn markdown_truncation_never_hides_destroys_or_replaces() {
    let mut changes = Vec::new();
    for i in 0..2000 {
        changes.push(change(
            &format!("template.ml.t{i}"),
            Action::Update,
            vec![field(
                "spec.runtime.cmd",
                Some(json!("a".repeat(50))),
                Some(json!("b".repeat(50))),
                false,
            )],
        ));
    }
    changes.push(change("space.zz-doomed", Action::Delete, vec![]));
    changes.push(change(
        "workspace.zz.replaced",
        Action::Replace,
        vec![field("template", Some(json!("a")), Some(json!("b")), false)],
    ));
    let md = markdown::plan(&PlanDoc::from_plan(&plan(changes)));
    assert!(md.len() <= markdown::LIMIT, "{} chars", md.len());
    assert!(md.contains("`space.zz-doomed`"));
    assert!(md.contains("`workspace.zz.replaced`"));
    assert!(md.contains("were cut to fit the comment limit"));
    // Destroy and replace details come first, so they survive the cut too.
    assert!(md.contains("<code>- space.zz-doomed</code>"));
}

#[test]
fn markdown_without_changes_says_so() {
    let mut p = plan(vec![change("space.ml", Action::NoOp, vec![])]);
    p.builds.clear();
    let md = markdown::plan(&PlanDoc::from_plan(&p));
    assert!(md.contains("**No changes.**"), "{md}");
}

#[test]
fn json_document_carries_summary_and_masking() {
    let doc = PlanDoc::from_plan(&sample());
    let v: serde_json::Value = serde_json::from_str(&doc.to_json()).expect("json");
    assert_eq!(v["format_version"], "1.3");
    assert_eq!(v["summary"]["replace"], 1);
    let masked = &v["resource_changes"][1]["fields"][1];
    assert_eq!(masked["sensitive"], true);
    assert_eq!(masked["new"], "(sensitive)");
}
