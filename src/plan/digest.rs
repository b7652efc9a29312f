//! The config digest a plan records: SHA-256 over every desired document in address order, with
//! sensitive values masked (a digest must not let anyone confirm a guessed secret). A saved plan
//! is applied only to the configuration it was made from.

use sha2::{Digest, Sha256};

use crate::diff;
use crate::model::Model;

use super::MASK;

/// The digest of `model` as stack `stack` would write it.
pub fn config_digest(model: &Model, stack: &str) -> String {
    let mut h = Sha256::new();
    for r in &model.resources {
        let mut doc = diff::desired_doc(r, stack);
        for path in &r.origin.sensitive {
            crate::config::tree::mask_path(&mut doc, path, MASK);
        }
        h.update(r.address.to_string().as_bytes());
        h.update(b"\0");
        h.update(serde_json::to_vec(&doc).unwrap_or_default());
        h.update(b"\0");
    }
    hex::encode(h.finalize())
}

/// HMAC-SHA256 under `key` of `parts` joined by NUL bytes, in hex: the keyed digest saved plans
/// keep of sensitive variables and apply records of sensitive values (never the values).
pub fn keyed_hex(key: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b"\0");
        }
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}
