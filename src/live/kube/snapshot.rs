//! Our VolumeSnapshot (`snapshot.storage.k8s.io/v1`, a CRD k8s-openapi does not have): only
//! the fields we read, and the pure functions that say what state an observed object is in.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// A CSI VolumeSnapshot, as far as we read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeSnapshot {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VolumeSnapshotStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
    /// A quantity (`10Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<VolumeSnapshotError>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeSnapshotError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

impl kube::Resource for VolumeSnapshot {
    type DynamicType = ();
    type Scope = kube::core::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "VolumeSnapshot".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "snapshot.storage.k8s.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "volumesnapshots".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// What a Template's snapshot is, as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotState {
    /// No such object (yet).
    Missing,
    /// It exists and is not `readyToUse` yet.
    Pending,
    /// `status.readyToUse = true`: new Workspaces restore from it.
    Ready {
        #[serde(skip_serializing_if = "Option::is_none")]
        restore_size: Option<String>,
    },
    /// `status.error` is set (and it is not ready).
    Failed { message: String },
}

impl SnapshotState {
    /// `ready (10Gi)`, `pending`, `missing`, `failed: …`.
    pub fn describe(&self) -> String {
        match self {
            SnapshotState::Missing => "missing".into(),
            SnapshotState::Pending => "pending".into(),
            SnapshotState::Ready { restore_size: Some(s) } => format!("ready ({s})"),
            SnapshotState::Ready { restore_size: None } => "ready".into(),
            SnapshotState::Failed { message } => format!("failed: {message}"),
        }
    }

    /// The state's one word.
    pub fn word(&self) -> &'static str {
        match self {
            SnapshotState::Missing => "missing",
            SnapshotState::Pending => "pending",
            SnapshotState::Ready { .. } => "ready",
            SnapshotState::Failed { .. } => "failed",
        }
    }
}

/// The state of an observed snapshot (`None`: not found). Ready wins over an error the
/// snapshotter reported earlier and recovered from.
pub fn snapshot_state(object: Option<&VolumeSnapshot>) -> SnapshotState {
    let Some(object) = object else { return SnapshotState::Missing };
    let status = object.status.as_ref();
    if status.and_then(|s| s.ready_to_use) == Some(true) {
        let restore_size = status.and_then(|s| s.restore_size.as_ref()).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        return SnapshotState::Ready { restore_size };
    }
    if let Some(e) = status.and_then(|s| s.error.as_ref()) {
        let message = e.message.clone().filter(|m| !m.trim().is_empty());
        return SnapshotState::Failed {
            message: message.unwrap_or_else(|| "status.error is set without a message".into()),
        };
    }
    SnapshotState::Pending
}

/// The condition "ready to use" (a `kube::runtime::wait::Condition`).
pub fn is_ready(object: Option<&VolumeSnapshot>) -> bool {
    matches!(snapshot_state(object), SnapshotState::Ready { .. })
}

/// The condition "failed" (a `kube::runtime::wait::Condition`).
pub fn has_failed(object: Option<&VolumeSnapshot>) -> bool {
    matches!(snapshot_state(object), SnapshotState::Failed { .. })
}

/// The snapshot name of a Template's ready build: `<templateUID>-<buildID>`.
pub fn snapshot_name(template_uid: &str, build_id: &str) -> String {
    format!("{template_uid}-{build_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::wait::Condition;

    fn parse(json: &str) -> VolumeSnapshot {
        serde_json::from_str(json).expect("an example object")
    }

    #[test]
    fn states_of_example_objects() {
        let fresh = parse(
            r#"{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
            "metadata":{"name":"u-b","namespace":"octelium"},"spec":{"source":{"persistentVolumeClaimName":"ws-x"}}}"#,
        );
        assert_eq!(snapshot_state(Some(&fresh)), SnapshotState::Pending);
        let pending = parse(
            r#"{"metadata":{"name":"u-b"},"status":{"readyToUse":false,"boundVolumeSnapshotContentName":"c"}}"#,
        );
        assert_eq!(snapshot_state(Some(&pending)), SnapshotState::Pending);
        let ready = parse(
            r#"{"metadata":{"name":"u-b"},"status":{"readyToUse":true,"restoreSize":"10Gi","creationTime":"2026-12-01T10:00:00Z"}}"#,
        );
        assert_eq!(
            snapshot_state(Some(&ready)),
            SnapshotState::Ready { restore_size: Some("10Gi".into()) }
        );
        let failed = parse(
            r#"{"metadata":{"name":"u-b"},"status":{"readyToUse":false,"error":{"message":"Failed to check and update snapshot content: rpc error","time":"2026-12-01T10:00:00Z"}}}"#,
        );
        assert_eq!(
            snapshot_state(Some(&failed)),
            SnapshotState::Failed {
                message: "Failed to check and update snapshot content: rpc error".into()
            }
        );
        let empty_error = parse(r#"{"metadata":{"name":"u-b"},"status":{"error":{}}}"#);
        assert!(has_failed(Some(&empty_error)));
        // An error the snapshotter recovered from: ready wins.
        let recovered = parse(
            r#"{"metadata":{"name":"u-b"},"status":{"readyToUse":true,"error":{"message":"old"}}}"#,
        );
        assert!(is_ready(Some(&recovered)));
        assert!(!has_failed(Some(&recovered)));
        assert_eq!(snapshot_state(None), SnapshotState::Missing);
        assert!(!is_ready(None) && !has_failed(None));
    }

    #[test]
    fn the_conditions_are_kube_runtime_conditions() {
        let ready = parse(r#"{"metadata":{"name":"u-b"},"status":{"readyToUse":true}}"#);
        let settled = is_ready.or(has_failed);
        assert!(settled.matches_object(Some(&ready)));
        assert!(!settled.matches_object(None));
        assert_eq!(snapshot_name("3f2a", "b7c9d1"), "3f2a-b7c9d1");
    }
}
