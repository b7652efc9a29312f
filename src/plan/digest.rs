//! The config digest a plan records: SHA-256 over every desired document in address order, with
//! sensitive values masked (a digest must not let anyone confirm a guessed secret). A saved plan
//! is applied only to the configuration it was made from.

use sha2::{Digest, Sha256};

use crate::config::tree::{parse_path, PathSeg};
use crate::diff;
use crate::model::Model;

use super::MASK;

/// The digest of `model` as stack `stack` would write it.
pub fn config_digest(model: &Model, stack: &str) -> String {
    let mut h = Sha256::new();
    for r in &model.resources {
        let mut doc = diff::desired_doc(r, stack);
        for path in &r.origin.sensitive {
            mask_path(&mut doc, path);
        }
        h.update(r.address.to_string().as_bytes());
        h.update(b"\0");
        h.update(serde_json::to_vec(&doc).unwrap_or_default());
        h.update(b"\0");
    }
    hex::encode(h.finalize())
}

/// Replaces the value at `path` (`spec.runtime.envVars[0].value`) with the mask; absent paths
/// are left alone.
pub fn mask_path(doc: &mut serde_json::Value, path: &str) {
    let mut node = doc;
    for seg in parse_path(path) {
        let next = match seg {
            PathSeg::Key(k) => node.get_mut(&k),
            PathSeg::Index(i) => node.get_mut(i),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    *node = serde_json::Value::String(MASK.into());
}
