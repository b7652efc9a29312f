//! The plan file: a [`Plan`] as versioned JSON. Written by `plan --out`, read by `apply FILE` and
//! `show FILE`. Holds no secret value: the plan is masked when it is made.

use std::path::Path;

use super::Plan;

/// Largest plan file read (a plan of thousands of changes is a few MiB).
pub const MAX_PLAN_FILE_BYTES: u64 = 256 << 20;

/// Bumped on any incompatible change to the plan file.
pub const FILE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}")]
    Read {
        path: String,
        #[source]
        source: crate::config::read::ReadError,
    },
    #[error("cannot write plan file {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a cordium plan file")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} has plan format {found}; this cordium reads format {FILE_FORMAT_VERSION}")]
    Version { path: String, found: u64 },
}

pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let text = serde_json::to_string_pretty(plan)
        .map_err(|source| PlanFileError::Parse { path: path.display().to_string(), source })?;
    std::fs::write(path, text + "\n")
        .map_err(|source| PlanFileError::Write { path: path.display().to_string(), source })
}

pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    let p = path.display().to_string();
    let text = crate::config::read::regular_text(path, MAX_PLAN_FILE_BYTES)
        .map_err(|source| PlanFileError::Read { path: p.clone(), source })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|source| PlanFileError::Parse { path: p.clone(), source })?;
    let found = value.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(0);
    if found != u64::from(FILE_FORMAT_VERSION) {
        return Err(PlanFileError::Version { path: p, found });
    }
    serde_json::from_value(value).map_err(|source| PlanFileError::Parse { path: p, source })
}
