//! JSON Schemas of the document kinds, generated from the types in [`super::document`].
//!
//! The same schemas are written to `schemas/` (for editors, via `yaml-language-server`) and
//! used by the decoder to check documents and by the HCL lowering to know each field's shape.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

use super::document::{
    GitProviderDoc, GroupDoc, MembershipDoc, PolicyDoc, SecretDoc, SpaceDoc, TemplateDoc, UserDoc,
    VolumeDoc, WorkspaceDoc,
};
use super::Kind;

fn generate<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    value
}

/// Optional fields are absent, never null, in protojson: removes the `null` alternatives
/// schemars adds for `Option<T>`.
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alts)) = map.get_mut(key) {
                    alts.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                    if alts.len() == 1 {
                        let only = alts.remove(0);
                        map.remove(key);
                        if let Value::Object(inner) = only {
                            for (k, val) in inner {
                                map.entry(k).or_insert(val);
                            }
                        }
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// The JSON Schema of one kind's document. Generated once per process and shared: the decoder
/// and the HCL lowering consult it for every document.
pub fn for_kind(kind: Kind) -> &'static Value {
    use std::sync::OnceLock;
    static SCHEMAS: [OnceLock<Value>; Kind::ALL.len()] =
        [const { OnceLock::new() }; Kind::ALL.len()];
    let make: fn() -> Value = match kind {
        Kind::Space => generate::<SpaceDoc>,
        Kind::Template => generate::<TemplateDoc>,
        Kind::User => generate::<UserDoc>,
        Kind::Workspace => generate::<WorkspaceDoc>,
        Kind::Secret => generate::<SecretDoc>,
        Kind::Group => generate::<GroupDoc>,
        Kind::Policy => generate::<PolicyDoc>,
        Kind::Membership => generate::<MembershipDoc>,
        Kind::GitProvider => generate::<GitProviderDoc>,
        Kind::Volume => generate::<VolumeDoc>,
    };
    // One slot per kind, by its place in `Kind::ALL`.
    let slot = Kind::ALL.iter().position(|k| *k == kind).unwrap_or_default();
    SCHEMAS[slot].get_or_init(make)
}

/// The file name of a kind's schema under `schemas/`, e.g. `template.schema.json`.
pub fn file_name(kind: Kind) -> String {
    format!("{}.schema.json", kind.keyword())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_forbid_unknown_fields_and_name_enums() {
        let s = for_kind(Kind::Template);
        let text = s.to_string();
        assert!(text.contains("\"additionalProperties\":false"), "{text}");
        assert!(text.contains("ON_CREATE"), "enum names are in the schema");
        assert!(!text.contains("\"null\""), "optional fields are not nullable");
    }
}
