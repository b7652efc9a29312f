//! Spec types: the `spec` of every managed kind, in the wire's shape.
//!
//! Field for field these follow the upstream messages (`reference/wire-tables.md`), with protojson
//! names (camelCase, enums by name, oneofs flattened into optional fields of which at most one is
//! set). Serialising a spec gives exactly the JSON the official tools read and write, which is
//! what YAML files hold, what HCL lowers to, and what `diff` compares. Pure data: no I/O.
//!
//! One file per part of the wire: `enums` (wire enums), `image`, `runtime` and `repository`
//! (what Workspace, Template and Space specs share), `workload` (the Space, Template and
//! Workspace specs themselves), `user`, `group`, `policy` and `cordium` (Membership, GitProvider
//! and Volume). Everything is re-exported here, so callers
//! name `model::spec::X` and never a submodule.

mod cordium;
mod enums;
mod group;
mod image;
mod policy;
mod repository;
mod runtime;
mod user;
mod workload;

pub use cordium::*;
pub use enums::*;
pub use group::*;
pub use image::*;
pub use policy::*;
pub use repository::*;
pub use runtime::*;
pub use user::*;
pub use workload::*;

// `skip_serializing_if` predicates the submodules share.

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_names_and_numbers() {
        for (i, name) in TaskType::NAMES.iter().enumerate() {
            let t = TaskType::from_number(i as i32);
            assert_eq!(t.name(), *name);
            assert_eq!(t.number(), i as i32);
        }
        assert_eq!(TaskType::from_number(99), TaskType::Unknown);
    }

    #[test]
    fn specs_serialise_as_protojson() {
        let spec = WorkspaceSpec {
            runtime: Some(Runtime {
                env_vars: vec![EnvVar {
                    key: "K".into(),
                    from_secret: Some("s".into()),
                    value: None,
                }],
                tasks: vec![Task {
                    name: "t".into(),
                    r#type: TaskType::OnCreate,
                    on_failure: TaskOnFailure::Abort,
                    ..Task::default()
                }],
                ..Runtime::default()
            }),
            limit: Some(Limit {
                storage: Some(LimitMegabytes { megabytes: 10 }),
                ..Limit::default()
            }),
            ..WorkspaceSpec::default()
        };
        let json = serde_json::to_value(&spec).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "runtime": {
                    "envVars": [{"key": "K", "fromSecret": "s"}],
                    "tasks": [{"name": "t", "type": "ON_CREATE", "onFailure": "ON_FAILURE_ABORT"}]
                },
                "limit": {"storage": {"megabytes": 10}}
            })
        );
        let back: WorkspaceSpec = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, spec);
        let auth = serde_json::to_value(SpaceAuthorization { disable_ssh: true }).expect("ser");
        assert_eq!(auth, serde_json::json!({"disableSSH": true}));
    }
}
