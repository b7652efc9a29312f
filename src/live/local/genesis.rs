//! What a fresh installation already holds, seeded into a new store: the builtin Policies
//! (octelium `cluster/genesis/genesis/builtin_policies.go` @ 2918ec0e, `getBuiltinPolicies`) and
//! the Users `root` and `octelium`, both WORKLOAD, `octelium` a system User (`cmd_init.go`,
//! `createUsersGroups`). No Groups. Namespaces and Services are not kinds here.

use std::time::SystemTime;

use rusqlite::Connection;

use super::engine::Engine;
use super::error::ApiResult;
use super::store;
use crate::live::wire::{core, meta};

use core::policy::spec::enforcement_rule::Effect as Enforce;
use core::policy::spec::rule::Effect;
use core::policy::spec::{EnforcementRule, Rule};

/// The Policies a fresh cluster holds.
pub const POLICIES: [&str; 5] = [
    "allow-all",
    "deny-all",
    "octelium-api-full-access",
    "octelium-api-read-only",
    "http-read-only",
];

/// The Users a fresh cluster holds.
pub const USERS: [&str; 2] = ["root", "octelium"];

fn any() -> Option<core::Condition> {
    Some(core::Condition { r#type: Some(core::condition::Type::MatchAny(true)) })
}

fn expr(e: &str) -> core::Condition {
    core::Condition { r#type: Some(core::condition::Type::Match(e.into())) }
}

fn rule(name: &str, effect: Effect, priority: i32, condition: Option<core::Condition>) -> Rule {
    Rule { name: name.into(), effect: effect as i32, priority, condition }
}

const OCTELIUM_API_GRPC: &str =
    r#"ctx.namespace.metadata.name == "octelium-api" && ctx.service.spec.mode == "GRPC""#;

fn policy(name: &str, description: &str, spec: core::policy::Spec) -> core::Policy {
    core::Policy {
        metadata: Some(meta::Metadata {
            name: name.into(),
            description: description.into(),
            ..Default::default()
        }),
        spec: Some(spec),
        status: Some(Default::default()),
        ..Default::default()
    }
}

fn builtin_policies() -> Vec<core::Policy> {
    let deny_otherwise = rule("deny-otherwise", Effect::Deny, 0, any());
    vec![
        policy(
            "allow-all",
            "",
            core::policy::Spec {
                rules: vec![rule("main", Effect::Allow, 0, any())],
                ..Default::default()
            },
        ),
        policy(
            "deny-all",
            "",
            core::policy::Spec {
                rules: vec![rule("main", Effect::Deny, 0, any())],
                ..Default::default()
            },
        ),
        policy(
            "octelium-api-full-access",
            "Full access to all Octelium APIs",
            core::policy::Spec {
                rules: vec![rule("main", Effect::Allow, -1, Some(expr(OCTELIUM_API_GRPC)))],
                ..Default::default()
            },
        ),
        policy(
            "octelium-api-read-only",
            "Allow access to read-only methods, namely methods that start with Get or List",
            core::policy::Spec {
                enforcement_rules: vec![
                    EnforcementRule {
                        condition: Some(core::Condition {
                            r#type: Some(core::condition::Type::All(core::condition::All {
                                of: vec![
                                    expr(OCTELIUM_API_GRPC),
                                    core::Condition {
                                        r#type: Some(core::condition::Type::Not(
                                            r#"ctx.request.grpc.serviceFullName in ["octelium.api.main.auth.v1.MainService", "octelium.api.main.user.v1.MainService"]"#.into(),
                                        )),
                                    },
                                ],
                            })),
                        }),
                        effect: Enforce::Enforce as i32,
                    },
                    EnforcementRule { condition: any(), effect: Enforce::Ignore as i32 },
                ],
                rules: vec![
                    rule(
                        "allowed-methods",
                        Effect::Allow,
                        -1,
                        Some(expr(
                            r#"["Get", "List"].exists(x, ctx.request.grpc.method.startsWith(x))"#,
                        )),
                    ),
                    deny_otherwise.clone(),
                ],
                ..Default::default()
            },
        ),
        policy(
            "http-read-only",
            "Allow access to read HTTP methods, namely GET, HEAD an OPTIONS",
            core::policy::Spec {
                enforcement_rules: vec![EnforcementRule {
                    condition: Some(core::Condition {
                        r#type: Some(core::condition::Type::Not(
                            r#"ctx.service.spec.mode in ["HTTP", "WEB"]"#.into(),
                        )),
                    }),
                    effect: Enforce::Ignore as i32,
                }],
                rules: vec![
                    rule(
                        "allowed-methods",
                        Effect::Allow,
                        -1,
                        Some(expr(r#"ctx.request.http.method in ["GET", "HEAD", "OPTIONS"]"#)),
                    ),
                    deny_otherwise,
                ],
                ..Default::default()
            },
        ),
    ]
}

fn workload(name: &str, is_system: bool) -> core::User {
    core::User {
        metadata: Some(meta::Metadata { name: name.into(), is_system, ..Default::default() }),
        spec: Some(core::user::Spec {
            r#type: core::user::spec::Type::Workload as i32,
            ..Default::default()
        }),
        status: Some(Default::default()),
        ..Default::default()
    }
}

impl Engine {
    /// Seeds the genesis objects once, into a store that has never been seeded (a counter row
    /// remembers it, so deleting a seeded Policy does not bring it back on the next open).
    pub(super) fn seed_genesis(&self) -> ApiResult<()> {
        self.tx(|c, now| {
            if store::flag(c, "genesis")? {
                return Ok(());
            }
            self.seed_into(c, now)?;
            store::set_flag(c, "genesis")
        })
    }

    fn seed_into(&self, c: &Connection, now: SystemTime) -> ApiResult<()> {
        for mut p in builtin_policies() {
            let name = p.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
            if !store::name_taken(c, "Policy", &name)? {
                self.save_new(c, now, &mut p)?;
            }
        }
        for (name, system) in [("root", false), ("octelium", true)] {
            if !store::name_taken(c, "User", name)? {
                self.save_new(c, now, &mut workload(name, system))?;
            }
        }
        Ok(())
    }
}
