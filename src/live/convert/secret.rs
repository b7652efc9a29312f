//! Secret ↔ wire: the object sent (name `<name>.<space>`, or in full for organisation Spaces),
//! the value set at apply time, and the live view (presence only: values are never returned).
//! Pure.

use super::{segment, LiveResource};
use crate::live::wire::cordium::secret;
use crate::live::wire::{cordium, meta};
use crate::live::Object;
use crate::model::{Address, Kind};

pub(super) fn object(metadata: meta::Metadata) -> cordium::Secret {
    cordium::Secret {
        api_version: Kind::Secret.api_version().to_string(),
        kind: Kind::Secret.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(secret::Spec {}),
        status: None,
        data: None,
    }
}

/// Puts a Secret's value into the object to create. Apply calls this last, just before the
/// request; other objects are left alone.
pub fn set_secret_value(object: &mut Object, value: String) {
    if let Object::Secret(s) = object {
        s.data = Some(secret::Data { r#type: Some(secret::data::Type::Value(value)) });
    }
}

pub(super) fn read(o: &cordium::Secret, live: &mut LiveResource) {
    let name = live.wire_name.clone();
    let space_ref = o
        .status
        .as_ref()
        .and_then(|s| s.space_ref.as_ref())
        .map(|r| r.name.clone())
        .filter(|s| !s.is_empty());
    live.space = match name.split_once('.') {
        Some((_, space)) if space.contains('.') => Some(space.to_string()),
        _ => space_ref,
    };
    let space = live.space.as_deref().and_then(|s| segment(s, 0)).unwrap_or_default();
    live.address = Address::in_space(Kind::Secret, space, segment(&name, 0).unwrap_or(&name));
}
