//! Proto coverage (ARCHITECTURE.md §3, "no field may be lost"): for each managed kind's Spec
//! message, reflection builds messages that set EVERY field (recursively; each oneof variant in
//! turn; repeated and map fields with two items; non-default scalars), then checks
//! wire → model → wire gives the same message and model → wire → model the same model. A field
//! added to a `.proto` and not to the conversion fails here.

use std::collections::{BTreeSet, HashMap};

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, Value};

use super::Wire;
use crate::live::wire::{cordium, core, DESCRIPTOR_SET};
use crate::model::spec as m;

/// Deep enough for every non-recursive path of the spec messages; recursive ones (`Condition`,
/// `google.protobuf.Value`) stop here.
const MAX_DEPTH: usize = 9;

struct Filler {
    round: usize,
    /// Visits per oneof: each visit takes the next variant, so nested oneofs cycle too.
    visits: HashMap<String, usize>,
    /// Full names of the fields set so far.
    seen: BTreeSet<String>,
}

impl Filler {
    fn message(&mut self, desc: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut msg = DynamicMessage::new(desc.clone());
        let mut chosen = BTreeSet::new();
        for oneof in desc.oneofs() {
            let fields: Vec<_> = oneof
                .fields()
                .filter(|f| depth < MAX_DEPTH || !matches!(f.kind(), Kind::Message(_)))
                .collect();
            if !fields.is_empty() {
                let key = format!("{}/{}", oneof.full_name(), fields.len());
                let visit = self.visits.entry(key).or_default();
                chosen.insert(fields[*visit % fields.len()].number());
                *visit += 1;
            }
        }
        for field in desc.fields() {
            if field.containing_oneof().is_some() && !chosen.contains(&field.number()) {
                continue;
            }
            let is_message = matches!(field.kind(), Kind::Message(_));
            if depth >= MAX_DEPTH && (is_message || field.is_list()) {
                continue;
            }
            let value = if field.is_map() {
                let Kind::Message(entry) = field.kind() else { continue };
                let vkind = entry.map_entry_value_field().kind();
                let map: HashMap<MapKey, Value> = (0..2)
                    .map(|i| {
                        let key = MapKey::String(format!("{}-key-{i}", field.name()));
                        (key, self.single(&vkind, field.name(), i, depth))
                    })
                    .collect();
                Value::Map(map)
            } else if field.is_list() {
                Value::List(
                    (0..2).map(|i| self.single(&field.kind(), field.name(), i, depth)).collect(),
                )
            } else {
                self.single(&field.kind(), field.name(), 0, depth)
            };
            self.seen.insert(field.full_name().to_string());
            msg.set_field(&field, value);
        }
        msg
    }

    fn single(&mut self, kind: &Kind, name: &str, i: usize, depth: usize) -> Value {
        let n = (i + self.round + 3) as u32;
        match kind {
            Kind::Double => Value::F64(n as f64 + 0.5),
            Kind::Float => Value::F32(n as f32 + 0.5),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(-(n as i32)),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(-(n as i64)),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(n),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(n as u64),
            Kind::Bool => Value::Bool(true),
            Kind::String => Value::String(format!("{name}-{i}-{}", self.round)),
            Kind::Bytes => Value::Bytes(format!("{name}-{i}").into_bytes().into()),
            Kind::Message(desc) => Value::Message(self.message(desc, depth + 1)),
            Kind::Enum(e) => Value::EnumNumber(e.values().map(|v| v.number()).max().unwrap_or(0)),
        }
    }
}

/// Every message reachable from `desc`, and every field in them.
fn reachable_fields(
    desc: &MessageDescriptor,
    out: &mut BTreeSet<String>,
    seen: &mut BTreeSet<String>,
) {
    if !seen.insert(desc.full_name().to_string()) {
        return;
    }
    for field in desc.fields() {
        out.insert(field.full_name().to_string());
        if let Kind::Message(m) = field.kind() {
            if m.is_map_entry() {
                if let Kind::Message(v) = m.map_entry_value_field().kind() {
                    reachable_fields(&v, out, seen);
                }
            } else {
                reachable_fields(&m, out, seen);
            }
        }
    }
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(DESCRIPTOR_SET).expect("the descriptor set decodes")
}

/// Checks one Spec message through `convert` (wire → model → wire); `Err` says what was lost.
fn check<P, M>(name: &str, convert: impl Fn(&P) -> P) -> Result<usize, String>
where
    P: Message + Default + PartialEq + std::fmt::Debug,
    M: Wire<P> + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    let pool = pool();
    let desc = pool.get_message_by_name(name).ok_or(format!("no message {name}"))?;
    let max_oneof = pool
        .all_messages()
        .flat_map(|m| m.oneofs().map(|o| o.fields().len()).collect::<Vec<_>>())
        .max()
        .unwrap_or(1);
    let mut filler = Filler { round: 0, visits: HashMap::new(), seen: BTreeSet::new() };
    for round in 0..max_oneof.max(1) {
        filler.round = round;
        let dynamic = filler.message(&desc, 0);
        let bytes = dynamic.encode_to_vec();
        let wire = P::decode(bytes.as_slice()).map_err(|e| format!("{name}: decode: {e}"))?;
        // The generated type holds every field the reflection set.
        let back = DynamicMessage::decode(desc.clone(), wire.encode_to_vec().as_slice())
            .map_err(|e| format!("{name}: re-decode: {e}"))?;
        if back != dynamic {
            return Err(format!("{name}: the generated type drops fields (round {round})"));
        }
        let model = M::from_wire(&wire);
        let again = convert(&wire);
        if again != wire {
            return Err(format!(
                "{name}: wire → model → wire lost data (round {round})\n  before: {wire:?}\n  after:  {again:?}"
            ));
        }
        let model_again = M::from_wire(&M::to_wire(&model));
        if model_again != model {
            return Err(format!("{name}: model → wire → model lost data (round {round})"));
        }
        let json = serde_json::to_value(&model).map_err(|e| e.to_string())?;
        let from_json: M =
            serde_json::from_value(json).map_err(|e| format!("{name}: json: {e}"))?;
        if from_json != model {
            return Err(format!("{name}: model → protojson → model lost data (round {round})"));
        }
    }
    let mut all = BTreeSet::new();
    reachable_fields(&desc, &mut all, &mut BTreeSet::new());
    let missed: Vec<_> = all.difference(&filler.seen).collect();
    if !missed.is_empty() {
        return Err(format!("{name}: fields never set by the generator: {missed:?}"));
    }
    Ok(all.len())
}

fn through_model<P, M: Wire<P>>(p: &P) -> P {
    M::from_wire(p).to_wire()
}

#[test]
fn every_space_spec_field_round_trips() {
    let n = check::<cordium::space::Spec, m::SpaceSpec>(
        "octelium.api.main.cordium.v1.Space.Spec",
        through_model::<_, m::SpaceSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 10, "{n}");
}

#[test]
fn every_template_spec_field_round_trips() {
    let n = check::<cordium::template::Spec, m::TemplateSpec>(
        "octelium.api.main.cordium.v1.Template.Spec",
        through_model::<_, m::TemplateSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 50, "{n}");
}

#[test]
fn every_workspace_spec_field_round_trips() {
    let n = check::<cordium::workspace::Spec, m::WorkspaceSpec>(
        "octelium.api.main.cordium.v1.Workspace.Spec",
        through_model::<_, m::WorkspaceSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 50, "{n}");
}

#[test]
fn every_user_spec_field_round_trips() {
    let n = check::<core::user::Spec, m::UserSpec>(
        "octelium.api.main.core.v1.User.Spec",
        through_model::<_, m::UserSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 30, "{n}");
}

#[test]
fn every_group_spec_field_round_trips() {
    let n = check::<core::group::Spec, m::GroupSpec>(
        "octelium.api.main.core.v1.Group.Spec",
        through_model::<_, m::GroupSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= 1, "{n}");
}

#[test]
fn every_membership_spec_field_round_trips() {
    let n = check::<cordium::membership::Spec, m::MembershipSpec>(
        "octelium.api.main.cordium.v1.Membership.Spec",
        through_model::<_, m::MembershipSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= 1, "{n}");
}

#[test]
fn every_git_provider_spec_field_round_trips() {
    let n = check::<cordium::git_provider::Spec, m::GitProviderSpec>(
        "octelium.api.main.cordium.v1.GitProvider.Spec",
        through_model::<_, m::GitProviderSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 10, "{n}");
}

#[test]
fn every_policy_spec_field_round_trips() {
    let n = check::<core::policy::Spec, m::PolicySpec>(
        "octelium.api.main.core.v1.Policy.Spec",
        through_model::<_, m::PolicySpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 10, "{n}");
}

#[test]
fn every_volume_spec_field_round_trips() {
    let n = check::<cordium::volume::Spec, m::VolumeSpec>(
        "octelium.api.main.cordium.v1.Volume.Spec",
        through_model::<_, m::VolumeSpec>,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= 3, "{n}");
}

#[test]
fn the_coverage_check_catches_a_dropped_field() {
    // Guard against a check that cannot fail: a conversion that forgets one deep field.
    let lossy = |p: &cordium::template::Spec| {
        let mut p = through_model::<_, m::TemplateSpec>(p);
        if let Some(c) = p.repository.as_mut().and_then(|r| r.clone_options.as_mut()) {
            c.disable_lazy_unshallow = false;
        }
        p
    };
    let r = check::<cordium::template::Spec, m::TemplateSpec>(
        "octelium.api.main.cordium.v1.Template.Spec",
        lossy,
    );
    assert!(r.is_err_and(|e| e.contains("lost data")));
}
