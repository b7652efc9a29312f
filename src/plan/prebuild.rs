//! Snapshot pre-build decisions (ARCHITECTURE.md §4). Pure.
//!
//! A Template's build inputs (image, repositories, tasks, vars, limit) are hashed into a short tag
//! that apply passes to `BuildTemplate`. A build is needed when the Template's current ready build
//! does not carry the desired tag; the reason says why, and the estimate comes from past builds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::diff::FieldChange;
use crate::model::spec::TemplateSpec;

/// Prefix of our input-hash tags, so they are told apart from user tags.
pub const TAG_PREFIX: &str = "c";

/// The spec paths whose values go into the build hash.
pub const INPUT_PATHS: &[&str] = &[
    "spec.image",
    "spec.repository",
    "spec.additionalRepositories",
    "spec.runtime.tasks",
    "spec.vars",
    "spec.limit",
];

/// The build-input tag of a Template spec: `c` + 15 hex digits of a SHA-256 of the inputs in
/// canonical JSON (16 characters: the server allows 2–16).
pub fn input_tag(spec: &TemplateSpec) -> String {
    let mut inputs = Map::new();
    let json = serde_json::to_value(spec).unwrap_or_default();
    for path in INPUT_PATHS {
        let mut node = &json;
        for seg in path.split('.').skip(1) {
            node = node.get(seg).unwrap_or(&Value::Null);
        }
        inputs.insert((*path).to_string(), node.clone());
    }
    // serde_json maps keep insertion order, and spec types serialise deterministically.
    let bytes = serde_json::to_vec(&Value::Object(inputs)).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("{TAG_PREFIX}{}", &hex::encode(digest)[..15])
}

pub use crate::live::convert::BuildState;

/// One past build of a Template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastBuild {
    pub id: String,
    pub tags: Vec<String>,
    pub state: BuildState,
    /// Seconds from start to done, for finished builds.
    pub duration_secs: Option<u64>,
}

/// A Template's build history (newest first) and pointers, as read from the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildHistory {
    pub builds: Vec<PastBuild>,
    pub current_ready: Option<String>,
    pub current_running: Option<String>,
}

/// Why a build is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BuildReason {
    /// The Template has no ready build.
    NeverBuilt,
    /// The Template's build inputs change in this plan.
    InputsChanged { fields: Vec<String> },
    /// The ready build was made from other inputs (changed outside this config, or before it
    /// was managed).
    ReadyBuildOutdated { build_id: String },
    /// The last build of these inputs failed.
    LastBuildFailed { build_id: String },
}

impl BuildReason {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            BuildReason::NeverBuilt => "never built".into(),
            BuildReason::InputsChanged { fields } => {
                format!("inputs changed: {}", fields.join(", "))
            }
            BuildReason::ReadyBuildOutdated { build_id } => {
                format!("the ready snapshot (build {build_id}) was built from other inputs")
            }
            BuildReason::LastBuildFailed { build_id } => format!("last build ({build_id}) failed"),
        }
    }
}

/// The decision for one Template with `prebuild`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildDecision {
    /// A ready build carries the desired tag.
    UpToDate {
        build_id: String,
    },
    /// A build of exactly these inputs is running: apply waits for it instead of starting one.
    Running {
        build_id: String,
    },
    Needed {
        reason: BuildReason,
    },
}

/// Decides whether a Template needs a build. `history` is `None` for a Template not yet on the
/// cluster; `changed` are this plan's field changes to the Template.
pub fn decide(tag: &str, history: Option<&BuildHistory>, changed: &[FieldChange]) -> BuildDecision {
    let input_changes: Vec<String> = changed
        .iter()
        .filter(|f| {
            INPUT_PATHS.iter().any(|p| {
                f.path == *p
                    || f.path.starts_with(&format!("{p}."))
                    || f.path.starts_with(&format!("{p}["))
            })
        })
        .map(|f| f.path.clone())
        .collect();
    let Some(history) = history else {
        return BuildDecision::Needed { reason: BuildReason::NeverBuilt };
    };
    let has_tag = |b: &PastBuild| b.tags.iter().any(|t| t == tag);
    if let Some(ready) = history.current_ready.as_deref() {
        if history.builds.iter().any(|b| b.id == ready && has_tag(b)) {
            return BuildDecision::UpToDate { build_id: ready.to_string() };
        }
    }
    if let Some(running) = history.current_running.as_deref() {
        if history
            .builds
            .iter()
            .any(|b| b.id == running && has_tag(b) && b.state == BuildState::Running)
        {
            return BuildDecision::Running { build_id: running.to_string() };
        }
    }
    if !input_changes.is_empty() {
        return BuildDecision::Needed {
            reason: BuildReason::InputsChanged { fields: input_changes },
        };
    }
    if let Some(last) = history.builds.iter().find(|b| has_tag(b)) {
        if last.state == BuildState::Failed {
            return BuildDecision::Needed {
                reason: BuildReason::LastBuildFailed { build_id: last.id.clone() },
            };
        }
    }
    match history.current_ready.as_deref() {
        Some(ready) => BuildDecision::Needed {
            reason: BuildReason::ReadyBuildOutdated { build_id: ready.to_string() },
        },
        None => BuildDecision::Needed { reason: BuildReason::NeverBuilt },
    }
}

/// Estimated build time: the mean of the Template's past successful builds, if any.
pub fn estimate_secs(history: Option<&BuildHistory>) -> Option<u64> {
    let durations: Vec<u64> = history?
        .builds
        .iter()
        .filter(|b| b.state == BuildState::Ready)
        .filter_map(|b| b.duration_secs)
        .collect();
    if durations.is_empty() {
        return None;
    }
    Some(durations.iter().sum::<u64>() / durations.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::{Image, ImageRegistry};

    fn spec(url: &str) -> TemplateSpec {
        TemplateSpec {
            image: Some(Image {
                registry: Some(Box::new(ImageRegistry { url: url.into(), authentication: None })),
                ..Image::default()
            }),
            ..TemplateSpec::default()
        }
    }

    fn build(id: &str, tag: &str, state: BuildState, secs: Option<u64>) -> PastBuild {
        PastBuild { id: id.into(), tags: vec![tag.into()], state, duration_secs: secs }
    }

    #[test]
    fn tags_are_stable_short_and_input_sensitive() {
        let a = input_tag(&spec("python:3.12"));
        assert_eq!(a, input_tag(&spec("python:3.12")));
        assert_ne!(a, input_tag(&spec("python:3.13")));
        assert_eq!(a.len(), 16);
        let mut with_git_provider = spec("python:3.12");
        with_git_provider.git_provider = "gh".into();
        assert_eq!(a, input_tag(&with_git_provider), "gitProvider is not a build input");
    }

    #[test]
    fn decisions_cover_every_reason() {
        let tag = "cabc";
        assert_eq!(
            decide(tag, None, &[]),
            BuildDecision::Needed { reason: BuildReason::NeverBuilt }
        );
        let empty = BuildHistory::default();
        assert_eq!(
            decide(tag, Some(&empty), &[]),
            BuildDecision::Needed { reason: BuildReason::NeverBuilt }
        );

        let ready = BuildHistory {
            builds: vec![build("b1", tag, BuildState::Ready, Some(60))],
            current_ready: Some("b1".into()),
            current_running: None,
        };
        assert_eq!(
            decide(tag, Some(&ready), &[]),
            BuildDecision::UpToDate { build_id: "b1".into() }
        );

        let outdated = BuildHistory {
            builds: vec![build("b1", "cother", BuildState::Ready, Some(60))],
            ..ready.clone()
        };
        assert_eq!(
            decide(tag, Some(&outdated), &[]),
            BuildDecision::Needed {
                reason: BuildReason::ReadyBuildOutdated { build_id: "b1".into() }
            }
        );
        let change = FieldChange { path: "spec.image.registry.url".into(), old: None, new: None };
        assert_eq!(
            decide(tag, Some(&outdated), std::slice::from_ref(&change)),
            BuildDecision::Needed {
                reason: BuildReason::InputsChanged {
                    fields: vec!["spec.image.registry.url".into()]
                }
            }
        );

        let failed = BuildHistory {
            builds: vec![
                build("b2", tag, BuildState::Failed, None),
                build("b1", "cother", BuildState::Ready, Some(60)),
            ],
            current_ready: Some("b1".into()),
            current_running: None,
        };
        assert_eq!(
            decide(tag, Some(&failed), &[]),
            BuildDecision::Needed {
                reason: BuildReason::LastBuildFailed { build_id: "b2".into() }
            }
        );

        let running = BuildHistory {
            builds: vec![build("b3", tag, BuildState::Running, None)],
            current_ready: None,
            current_running: Some("b3".into()),
        };
        assert_eq!(
            decide(tag, Some(&running), &[]),
            BuildDecision::Running { build_id: "b3".into() }
        );
    }

    #[test]
    fn estimates_average_successful_builds_only() {
        let h = BuildHistory {
            builds: vec![
                build("a", "t", BuildState::Ready, Some(100)),
                build("b", "t", BuildState::Failed, Some(5)),
                build("c", "t", BuildState::Ready, Some(200)),
            ],
            ..BuildHistory::default()
        };
        assert_eq!(estimate_secs(Some(&h)), Some(150));
        assert_eq!(estimate_secs(None), None);
    }
}
