//! The Group and Policy rules of the Octelium core API as `cordium serve` answers them: the same
//! code and message as octelium `cluster/apiserver/apiserver/admin/group.go` and `policy.go`
//! @ 2918ec0e (cited per rule below; `docs/serve.md`, "Server rules").

use cordium::live::wire::core;
use tonic::Code;

use super::{by_name, del_name, md, workload_user};
use crate::support::Serve;

use core::policy::spec::{enforcement_rule, rule, EnforcementRule, Rule};

fn refusal<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    let s = r.expect_err("expected a refusal");
    (s.code(), s.message().to_string())
}

fn cond(t: core::condition::Type) -> Option<core::Condition> {
    Some(core::Condition { r#type: Some(t) })
}

fn allow_all() -> Rule {
    Rule {
        effect: rule::Effect::Allow as i32,
        condition: cond(core::condition::Type::MatchAny(true)),
        ..Default::default()
    }
}

fn policy(name: &str, rules: Vec<Rule>) -> core::Policy {
    core::Policy {
        metadata: md(name),
        spec: Some(core::policy::Spec { rules, ..Default::default() }),
        ..Default::default()
    }
}

fn group(name: &str, policies: &[&str]) -> core::Group {
    core::Group {
        metadata: md(name),
        spec: Some(core::group::Spec {
            authorization: Some(core::group::spec::Authorization {
                policies: policies.iter().map(|p| p.to_string()).collect(),
                inline_policies: vec![],
            }),
            attrs: None,
        }),
        ..Default::default()
    }
}

/// `policy.go` `validatePolicySpec` / `validateConditionAtDepth`, answered through
/// `serr.InvalidArgWithErr(grpcutils.InvalidArgWithErr(..))`: the inner status printed twice.
#[tokio::test(flavor = "multi_thread")]
async fn policy_specs_are_validated_as_upstream() {
    let serve = Serve::start(&[]);
    let mut cl = serve.core().await;
    let twice = |m: &str| {
        format!(
            "rpc error: code = InvalidArgument desc = rpc error: code = InvalidArgument desc = {m}"
        )
    };
    let no_effect = Rule { effect: 0, ..allow_all() };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![no_effect])).await),
        (Code::InvalidArgument, twice("Rule's effect must be set"))
    );
    let high = Rule { priority: 5, ..allow_all() };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![high])).await),
        (Code::InvalidArgument, twice("Rule's priority cannot be higher than 4"))
    );
    let low = Rule { priority: -5, ..allow_all() };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![low])).await),
        (Code::InvalidArgument, twice("Rule's priority cannot be lower than -4"))
    );
    let no_condition = Rule { condition: None, ..allow_all() };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![no_condition])).await),
        (Code::InvalidArgument, twice("Condition is not set"))
    );
    let empty_match =
        Rule { condition: cond(core::condition::Type::Match(" ".into())), ..allow_all() };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![empty_match])).await),
        (Code::InvalidArgument, twice("Empty match expression"))
    );
    let empty_all = Rule {
        condition: cond(core::condition::Type::All(core::condition::All { of: vec![] })),
        ..allow_all()
    };
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![empty_all])).await),
        (Code::InvalidArgument, twice("Empty allOf array"))
    );
    let mut bad_enforcement = policy("p1", vec![allow_all()]);
    bad_enforcement.spec.as_mut().unwrap().enforcement_rules = vec![EnforcementRule {
        effect: enforcement_rule::Effect::Unknown as i32,
        condition: cond(core::condition::Type::MatchAny(true)),
    }];
    assert_eq!(
        refusal(cl.create_policy(bad_enforcement).await),
        (Code::InvalidArgument, twice("Unknown effect. It must be either `ENFORCE` or `IGNORE`"))
    );
    let too_many = policy("p1", (0..101).map(|_| allow_all()).collect());
    assert_eq!(
        refusal(cl.create_policy(too_many).await),
        (Code::InvalidArgument, twice("Too many rules"))
    );
    // A valid one is stored; its name is then taken (`CreatePolicy`: AlreadyExists).
    cl.create_policy(policy("p1", vec![allow_all()])).await.unwrap();
    assert_eq!(
        refusal(cl.create_policy(policy("p1", vec![allow_all()])).await),
        (Code::AlreadyExists, "The Policy p1 already exists".into())
    );
}

/// `group.go` `validateGroup` → `policy.go` `validatePolicyOwner`, `CreateGroup`, `DeleteGroup`.
#[tokio::test(flavor = "multi_thread")]
async fn groups_need_their_policies_and_keep_their_users() {
    let serve = Serve::start(&[]);
    let mut cl = serve.core().await;
    assert_eq!(
        refusal(cl.create_group(group("ops", &["nowhere"])).await),
        (Code::InvalidArgument, "The Policy nowhere does not exist".into())
    );
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        refusal(cl.create_group(group("ops", &many)).await),
        (Code::InvalidArgument, "Too many Policies".into())
    );
    let mut bad_inline = group("ops", &[]);
    bad_inline.spec.as_mut().unwrap().authorization.as_mut().unwrap().inline_policies =
        vec![core::InlinePolicy {
            name: "inl".into(),
            spec: Some(core::policy::Spec {
                rules: vec![Rule { effect: 0, ..allow_all() }],
                ..Default::default()
            }),
        }];
    // An inline Policy's spec error is returned as it is (no wrapping in `validateGroup`).
    assert_eq!(
        refusal(cl.create_group(bad_inline).await),
        (Code::InvalidArgument, "Rule's effect must be set".into())
    );
    let mut no_spec = group("ops", &[]);
    no_spec.spec = None;
    assert_eq!(refusal(cl.create_group(no_spec).await), (Code::InvalidArgument, "Nil spec".into()));
    // Genesis Policies count as existing.
    cl.create_group(group("ops", &["allow-all"])).await.unwrap();
    assert_eq!(
        refusal(cl.create_group(group("ops", &[])).await),
        (Code::AlreadyExists, "The Group ops already exists".into())
    );
    let mut member = workload_user("agent");
    member.spec.as_mut().unwrap().groups = vec!["ops".into()];
    cl.create_user(member).await.unwrap();
    assert_eq!(
        refusal(cl.delete_group(del_name("ops")).await),
        (
            Code::InvalidArgument,
            "There are Users belonging to this Group. You must delete all its Users first.".into()
        )
    );
    cl.delete_user(del_name("agent")).await.unwrap();
    cl.delete_group(del_name("ops")).await.unwrap();
    assert_eq!(refusal(cl.get_group(by_name("ops")).await).0, Code::NotFound);
}
