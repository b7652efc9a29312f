//! Model ↔ wire: turning a declared [`Resource`] into the wire [`Object`] to send, the names it
//! will have on the server ([`Naming`]), and turning a live [`Object`] into a model-shaped
//! [`LiveResource`] that `diff` can compare with the desired state.
//!
//! Owns the name rules of `reference/cordium-api.md` §3 as seen from a client, the
//! `cordium-stack` ownership label, and the field-by-field spec conversion (one file per kind;
//! the pieces Workspace, Template and Space share are in `shared`). Pure: no I/O, and it decides
//! nothing about what to change. Every spec field converts both ways without loss; the
//! reflection test in `coverage` fails when a proto field is added and not converted.

mod cordium;
mod core;
mod pbstruct;
mod secret;
mod shared;
mod space;
mod template;
mod user;
mod workspace;

#[cfg(test)]
mod coverage;

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

pub use cordium::membership_request;
pub use pbstruct::{from_struct, to_struct};
pub use secret::set_secret_value;

use crate::live::wire::meta;
use crate::live::Object;
use crate::model::{Address, Body, Kind, Metadata, Model, Resource};

pub use crate::model::STACK_LABEL;
/// The owner part of organisation Space names (`ml.cordium`).
pub const ORGANIZATION_OWNER: &str = "cordium";
/// The Template every Space gets on creation, used by Workspaces that name none.
pub const DEFAULT_TEMPLATE: &str = "default";
pub use crate::kind::{CORDIUM_API_VERSION, CORE_API_VERSION};

/// A model type that has a wire counterpart `W`: converts both ways, field by field.
pub(crate) trait Wire<W>: Sized {
    fn to_wire(&self) -> W;
    fn from_wire(w: &W) -> Self;
}

/// A boxed spec part (one that is usually absent, boxed to keep its parent small) converts as
/// the part does.
impl<W, M: Wire<W>> Wire<W> for Box<M> {
    fn to_wire(&self) -> W {
        M::to_wire(self)
    }
    fn from_wire(w: &W) -> Self {
        Box::new(M::from_wire(w))
    }
}

fn to_opt<M: Wire<W>, W>(m: &Option<M>) -> Option<W> {
    m.as_ref().map(M::to_wire)
}

fn to_vec<M: Wire<W>, W>(m: &[M]) -> Vec<W> {
    m.iter().map(M::to_wire).collect()
}

fn from_opt<M: Wire<W>, W>(w: &Option<W>) -> Option<M> {
    w.as_ref().map(M::from_wire)
}

fn from_vec<M: Wire<W>, W>(w: &[W]) -> Vec<M> {
    w.iter().map(M::from_wire).collect()
}

/// How config names become server names: who the caller is (the owner of USER Spaces) and which
/// declared Spaces are organisation Spaces (owner `cordium`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    username: String,
    organization_spaces: BTreeSet<String>,
}

impl Naming {
    /// Naming for a caller with no organisation Spaces known.
    pub fn new(username: impl Into<String>) -> Self {
        Naming { username: username.into(), organization_spaces: BTreeSet::new() }
    }

    /// Naming for a caller and every organisation Space the model declares. A Space the model
    /// does not declare is taken to be the caller's own (USER) Space unless added with
    /// [`Naming::with_organization_space`].
    pub fn for_model(username: impl Into<String>, model: &Model) -> Self {
        let mut naming = Naming::new(username);
        for r in model.of_kind(Kind::Space) {
            if let Body::Space { organization: true, .. } = r.body {
                naming.organization_spaces.insert(r.address.name.clone());
            }
        }
        naming
    }

    pub fn with_organization_space(mut self, space: impl Into<String>) -> Self {
        self.organization_spaces.insert(space.into());
        self
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn is_organization(&self, space: &str) -> bool {
        self.organization_spaces.contains(space)
    }

    /// The owner part of a Space's stored name: `cordium` or the caller.
    pub fn space_owner(&self, space: &str) -> &str {
        if self.is_organization(space) {
            ORGANIZATION_OWNER
        } else {
            &self.username
        }
    }

    /// A Space's stored name: `ml.alice` or `ml.cordium`.
    pub fn space_name(&self, space: &str) -> String {
        format!("{space}.{}", self.space_owner(space))
    }

    /// A Template's stored name (3 parts); `None` means the Space's default Template.
    pub fn template_name(&self, space: &str, template: Option<&str>) -> String {
        format!("{}.{}", template.unwrap_or(DEFAULT_TEMPLATE), self.space_name(space))
    }

    /// The stored (fully qualified) name an address will have; `None` for Workspaces, which the
    /// server names (they are matched by `displayName`, see `live/identity`).
    pub fn stored_name(&self, address: &Address) -> Option<String> {
        let space = address.space.as_deref().unwrap_or_default();
        match address.kind {
            Kind::User | Kind::Group | Kind::Policy => Some(address.name.clone()),
            Kind::Space => Some(self.space_name(&address.name)),
            Kind::Template | Kind::Secret => {
                Some(format!("{}.{}", address.name, self.space_name(space)))
            }
            // A Membership is `<username>.<space>` (cordium `GetMembershipName`).
            Kind::Membership | Kind::GitProvider | Kind::Volume => {
                Some(format!("{}.{}", address.name, self.space_name(space)))
            }
            Kind::Workspace => None,
        }
    }

    /// The name a create or update request carries. USER Spaces and their children are sent
    /// short and the server adds the caller (`ml`, `gpu.ml`); organisation Spaces and their
    /// children are sent in full (`ml.cordium`, `gpu.ml.cordium`), as a short name would be
    /// expanded to the caller's Space. Workspaces: empty (the server picks the name).
    pub fn request_name(&self, address: &Address) -> String {
        let space = address.space.as_deref().unwrap_or_default();
        match address.kind {
            Kind::User | Kind::Group | Kind::Policy => address.name.clone(),
            Kind::Space if self.is_organization(&address.name) => self.space_name(&address.name),
            Kind::Space => address.name.clone(),
            Kind::Template | Kind::Secret if self.is_organization(space) => {
                format!("{}.{}", address.name, self.space_name(space))
            }
            Kind::Template | Kind::Secret => format!("{}.{space}", address.name),
            Kind::GitProvider | Kind::Volume if self.is_organization(space) => {
                format!("{}.{}", address.name, self.space_name(space))
            }
            Kind::GitProvider | Kind::Volume => format!("{}.{space}", address.name),
            // Found by its stored name (an update is bound to the live uid anyway).
            Kind::Membership => format!("{}.{}", address.name, self.space_name(space)),
            Kind::Workspace => String::new(),
        }
    }
}

/// The metadata a resource is sent with: as declared, plus the stack label; a Workspace's
/// `displayName` is its config name (how it is found again). `diff` compares this with
/// [`LiveResource::metadata`].
pub fn desired_metadata(resource: &Resource, stack: &str) -> Metadata {
    let mut md = resource.metadata.clone();
    md.labels.insert(STACK_LABEL.to_string(), stack.to_string());
    if resource.kind().server_named() {
        md.display_name = resource.address.name.clone();
    }
    md
}

/// The wire object to send for a declared resource (create or update). Secrets carry no value:
/// apply adds it with [`set_secret_value`] at the last moment.
pub fn to_wire(resource: &Resource, naming: &Naming, stack: &str) -> Object {
    let md = metadata_to_wire(
        &desired_metadata(resource, stack),
        naming.request_name(&resource.address),
    );
    let space = resource.address.space.as_deref().unwrap_or_default();
    match &resource.body {
        Body::Space { spec, .. } => Object::Space(space::object(md, spec)),
        Body::Template { spec, .. } => Object::Template(template::object(md, spec)),
        Body::User { spec } => Object::User(user::object(md, spec)),
        Body::Workspace { template, spec } => Object::Workspace(workspace::object(
            md,
            spec,
            naming.space_name(space),
            naming.template_name(space, template.as_deref()),
        )),
        Body::Secret { .. } => Object::Secret(secret::object(md)),
        Body::Group { spec } => Object::Group(core::group_object(md, spec)),
        Body::Policy { spec } => Object::Policy(core::policy_object(md, spec)),
        Body::Membership { spec } => Object::Membership(cordium::membership(
            md,
            spec,
            &resource.address.name,
            naming.space_name(space),
        )),
        Body::GitProvider { spec } => Object::GitProvider(cordium::git_provider(md, spec)),
        Body::Volume { spec } => Object::Volume(cordium::volume(md, spec)),
    }
}

/// Points an update at the live object it replaces: its uid, and for a Workspace its
/// server-chosen name (servers identify Workspaces by uid; the request name is otherwise empty).
pub fn bind_to_live(object: &mut Object, live: &LiveResource) {
    let md = object.metadata_mut();
    md.uid = live.uid.clone();
    if live.kind.server_named() {
        md.name = live.wire_name.clone();
    }
}

fn metadata_to_wire(md: &Metadata, name: String) -> meta::Metadata {
    meta::Metadata {
        name,
        display_name: md.display_name.clone(),
        description: md.description.clone(),
        labels: md.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        annotations: md.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        tags: md.tags.clone(),
        pic_url: md.pic_url.clone(),
        ..meta::Metadata::default()
    }
}

fn metadata_from_wire(md: &meta::Metadata) -> Metadata {
    let sorted = |m: &HashMap<String, String>| -> crate::model::StrMap {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    Metadata {
        display_name: md.display_name.clone(),
        description: md.description.clone(),
        labels: sorted(&md.labels),
        annotations: sorted(&md.annotations),
        tags: md.tags.clone(),
        pic_url: md.pic_url.clone(),
    }
}

/// A live object, model-shaped: what `diff` compares and `plan` records.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveResource {
    pub kind: Kind,
    /// The config address this object corresponds to, derived from its stored name (Workspaces:
    /// `displayName` and Space). Two live objects may share an address (e.g. `ml.alice` and
    /// `ml.cordium` are both `space.ml`); match on [`LiveResource::wire_name`] for named kinds.
    pub address: Address,
    /// The stored name (`ml.alice`, `gpu.ml.cordium`; the server-chosen one for Workspaces).
    pub wire_name: String,
    pub uid: String,
    pub resource_version: String,
    /// The mutable metadata, labels included (see [`LiveResource::stack`]).
    pub metadata: Metadata,
    /// The spec as protojson through the model spec types (what `Resource::spec_json` gives for
    /// the desired side). Secrets: `{}` (values are never returned).
    pub spec_json: serde_json::Value,
    /// The stored name of the Space it lives in (a Space: itself).
    pub space: Option<String>,
    /// Spaces: stored as an organisation Space (`<space>.cordium`).
    pub organization: bool,
    /// Templates: pre-builds.
    pub build_info: Option<BuildInfo>,
    /// Workspaces: the stored name of the Template it was created from.
    pub template_ref: Option<String>,
    /// Server-owned (`isSystem`) or hidden (build Workspaces): never planned for.
    pub system: bool,
    /// Workspaces: the run state the server reports (`RUNNING`, `STOPPED`, ...).
    pub run_state: Option<String>,
}

impl LiveResource {
    /// The value of the `cordium-stack` label, if any.
    pub fn stack(&self) -> Option<&str> {
        self.metadata.labels.get(STACK_LABEL).map(String::as_str)
    }
}

/// A Template's pre-builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// Newest first.
    pub builds: Vec<Build>,
    /// The build new Workspaces restore from (empty: none).
    pub current_ready_build_id: String,
    /// The build in progress (empty: none).
    pub current_running_build_id: String,
}

impl BuildInfo {
    pub fn build(&self, id: &str) -> Option<&Build> {
        self.builds.iter().find(|b| b.id == id)
    }

    /// The build new Workspaces restore from.
    pub fn current_ready(&self) -> Option<&Build> {
        self.build(&self.current_ready_build_id)
    }
}

/// One pre-build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: String,
    pub tags: Vec<String>,
    pub state: BuildState,
    pub started_at: Option<SystemTime>,
    pub done_at: Option<SystemTime>,
    pub is_canceled: bool,
    /// Why it failed, as the server put it.
    pub failure: Option<String>,
}

impl Build {
    /// How long it took (finished builds only).
    pub fn duration(&self) -> Option<std::time::Duration> {
        self.done_at?.duration_since(self.started_at?).ok()
    }
}

/// `Template.Status.BuildInfo.Build.State`: what live reads and what plan decides builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildState {
    Unknown,
    Running,
    Ready,
    /// Failed or cancelled.
    Failed,
}

impl BuildState {
    pub fn from_number(n: i32) -> Self {
        match n {
            1 => BuildState::Running,
            2 => BuildState::Ready,
            3 => BuildState::Failed,
            _ => BuildState::Unknown,
        }
    }
}

/// Reads a live object into its model-shaped view.
pub fn from_wire(object: &Object) -> LiveResource {
    let none = meta::Metadata::default();
    let md = object.metadata().unwrap_or(&none);
    let mut live = LiveResource {
        kind: object.kind(),
        address: Address::user(String::new()),
        wire_name: md.name.clone(),
        uid: md.uid.clone(),
        resource_version: md.resource_version.clone(),
        metadata: metadata_from_wire(md),
        spec_json: serde_json::Value::Object(Default::default()),
        space: None,
        organization: false,
        build_info: None,
        template_ref: None,
        system: md.is_system || md.is_user_hidden || md.is_system_hidden,
        run_state: None,
    };
    match object {
        Object::Space(o) => space::read(o, &mut live),
        Object::Template(o) => template::read(o, &mut live),
        Object::Workspace(o) => workspace::read(o, &mut live),
        Object::Secret(o) => secret::read(o, &mut live),
        Object::User(o) => user::read(o, &mut live),
        Object::Group(o) => core::read_group(o, &mut live),
        Object::Policy(o) => core::read_policy(o, &mut live),
        Object::Membership(o) => cordium::read_membership(o, &mut live),
        Object::GitProvider(o) => cordium::read_git_provider(o, &mut live),
        Object::Volume(o) => cordium::read_volume(o, &mut live),
    }
    live
}

/// The first dot segment of a name (`gpu` of `gpu.ml.alice`).
fn segment(name: &str, i: usize) -> Option<&str> {
    name.split('.').nth(i).filter(|s| !s.is_empty())
}

/// Serialises a model spec as protojson.
fn json<T: serde::Serialize>(spec: &T) -> serde_json::Value {
    // Invariant: spec types are plain data whose serialisation cannot fail.
    serde_json::to_value(spec).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> Naming {
        Naming::new("alice").with_organization_space("org")
    }

    #[test]
    fn stored_names_follow_the_server_rules() {
        let n = naming();
        let cases = [
            (Address::space("ml"), Some("ml.alice")),
            (Address::space("org"), Some("org.cordium")),
            (Address::in_space(Kind::Template, "ml", "gpu"), Some("gpu.ml.alice")),
            (Address::in_space(Kind::Template, "org", "gpu"), Some("gpu.org.cordium")),
            (Address::in_space(Kind::Secret, "ml", "k"), Some("k.ml.alice")),
            (Address::user("agent-1"), Some("agent-1")),
            (Address::in_space(Kind::Workspace, "ml", "box"), None),
        ];
        for (a, want) in cases {
            assert_eq!(n.stored_name(&a).as_deref(), want, "{a}");
        }
    }

    #[test]
    fn request_names_leave_user_spaces_to_the_server() {
        let n = naming();
        assert_eq!(n.request_name(&Address::space("ml")), "ml");
        assert_eq!(n.request_name(&Address::space("org")), "org.cordium");
        assert_eq!(n.request_name(&Address::in_space(Kind::Template, "ml", "gpu")), "gpu.ml");
        assert_eq!(
            n.request_name(&Address::in_space(Kind::Template, "org", "gpu")),
            "gpu.org.cordium"
        );
        assert_eq!(n.request_name(&Address::in_space(Kind::Workspace, "ml", "box")), "");
        assert_eq!(n.template_name("ml", None), "default.ml.alice");
        assert_eq!(n.template_name("org", Some("gpu")), "gpu.org.cordium");
    }

    fn resource(address: Address, body: Body) -> Resource {
        let span = crate::diag::Span::new(crate::diag::FileId(0), 0, 0);
        Resource {
            address,
            metadata: Metadata { display_name: "ignored".into(), ..Metadata::default() },
            body,
            lifecycle: Default::default(),
            origin: crate::model::Origin::bare(span),
        }
    }

    #[test]
    fn a_workspace_is_sent_by_display_name_with_its_full_template_name() {
        let ws = resource(
            Address::in_space(Kind::Workspace, "org", "box"),
            Body::Workspace { template: Some("gpu".into()), spec: Default::default() },
        );
        let Object::Workspace(w) = to_wire(&ws, &naming(), "prod") else { panic!("workspace") };
        let md = w.metadata.clone().unwrap_or_default();
        assert_eq!((md.name.as_str(), md.display_name.as_str()), ("", "box"));
        assert_eq!(md.labels.get(STACK_LABEL).map(String::as_str), Some("prod"));
        let status = w.status.clone().unwrap_or_default();
        assert_eq!(status.template_ref.map(|r| r.name).as_deref(), Some("gpu.org.cordium"));
        // Read back, it has the same address and metadata the plan expects.
        let mut stored = w;
        if let Some(m) = stored.metadata.as_mut() {
            m.name = "x1y2z".into();
        }
        let live = from_wire(&Object::Workspace(stored));
        assert_eq!(live.address, ws.address);
        assert_eq!(live.space.as_deref(), Some("org.cordium"));
        assert_eq!(live.metadata, desired_metadata(&ws, "prod"));
        assert_eq!(live.stack(), Some("prod"));
        assert_eq!(live.spec_json, ws.spec_json());
    }

    #[test]
    fn live_templates_carry_their_builds_and_address() {
        use crate::live::wire::cordium::{self as wc, template::status};
        let t = wc::Template {
            metadata: Some(meta::Metadata { name: "gpu.ml.cordium".into(), ..Default::default() }),
            status: Some(wc::template::Status {
                build_info: Some(status::BuildInfo {
                    builds: vec![status::build_info::Build {
                        id: "b1".into(),
                        state: 2,
                        started_at: Some(prost_types::Timestamp { seconds: 100, nanos: 0 }),
                        done_at: Some(prost_types::Timestamp { seconds: 160, nanos: 0 }),
                        ..Default::default()
                    }],
                    current_ready_build_id: "b1".into(),
                    current_running_build_id: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let live = from_wire(&Object::Template(t));
        assert_eq!(live.address, Address::in_space(Kind::Template, "ml", "gpu"));
        assert_eq!(live.space.as_deref(), Some("ml.cordium"));
        let info = live.build_info.expect("build info");
        let ready = info.current_ready().expect("ready build");
        assert_eq!(ready.state, BuildState::Ready);
        assert_eq!(ready.duration(), Some(std::time::Duration::from_secs(60)));
    }

    #[test]
    fn organisation_spaces_are_recognised_and_sent_in_full() {
        let space = resource(
            Address::space("org"),
            Body::Space { organization: true, spec: Default::default() },
        );
        let model = Model { resources: vec![space.clone()], ..Model::default() };
        let n = Naming::for_model("alice", &model);
        assert!(n.is_organization("org"));
        let obj = to_wire(&space, &n, "s");
        assert_eq!(obj.name(), "org.cordium");
        assert!(from_wire(&obj).organization);
    }

    #[test]
    fn build_state_maps_by_number() {
        assert_eq!(BuildState::from_number(2), BuildState::Ready);
        assert_eq!(BuildState::from_number(42), BuildState::Unknown);
    }
}
