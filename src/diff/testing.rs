//! Test helpers: the live form of a model, as apply would write it and the cluster store it.
//! Each resource is sent with [`convert::to_wire`], stored under the name the server gives it
//! (`ml.alice`, `gpu.ml.alice`; a server-chosen one for Workspaces), and read back with
//! [`convert::from_wire`] into the [`LiveDoc`] diff compares.

use super::LiveDoc;
use crate::live::convert::{self, LiveResource, Naming};
use crate::model::{Kind, Model, Resource};

/// The caller every helper names objects for.
pub(crate) const USER: &str = "alice";

/// One resource as the cluster holds it after apply created it (`n` makes its uid unique).
pub(crate) fn live_resource(r: &Resource, naming: &Naming, stack: &str, n: usize) -> LiveResource {
    let mut object = convert::to_wire(r, naming, stack);
    let md = object.metadata_mut();
    md.name = match r.kind() {
        Kind::Workspace => format!("ws{n}x7k2"),
        _ => naming.stored_name(&r.address).expect("named kinds have a stored name"),
    };
    md.uid = format!("uid-{n}");
    md.resource_version = "1".into();
    convert::from_wire(&object)
}

/// Every resource of `model` as the cluster holds it after apply, in diff's form.
pub(crate) fn live_form(model: &Model, stack: &str) -> Vec<LiveDoc> {
    let naming = Naming::for_model(USER, model);
    model
        .resources
        .iter()
        .enumerate()
        .map(|(n, r)| LiveDoc::from_live(&live_resource(r, &naming, stack, n)))
        .collect()
}
