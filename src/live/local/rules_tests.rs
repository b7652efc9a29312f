//! The upstream server rules, one test (or a few) per rule, asserting the exact code and
//! message the real servers answer (see `shared/reference/server-rules.md`; each rule's source
//! is named in the code under test).

use super::*;
use crate::live::wire::cordium::workspace::spec as ws;

fn engine() -> Engine {
    engine_with(SpaceOwnership::default())
}

fn engine_with(space_ownership: SpaceOwnership) -> Engine {
    Engine::in_memory(EngineOptions { seed: Some(7), space_ownership, ..Default::default() })
        .unwrap()
}

fn md(name: &str) -> Option<meta::Metadata> {
    Some(meta::Metadata { name: name.into(), ..Default::default() })
}

fn space(name: &str) -> cordium::Space {
    cordium::Space { metadata: md(name), spec: Some(Default::default()), ..Default::default() }
}

fn space_with(name: &str, runtime: cordium::space::spec::Runtime) -> cordium::Space {
    let mut s = space(name);
    s.spec.as_mut().unwrap().runtime = Some(runtime);
    s
}

fn template(name: &str, spec: cordium::template::Spec) -> cordium::Template {
    cordium::Template { metadata: md(name), spec: Some(spec), ..Default::default() }
}

fn secret(name: &str, value: &str) -> cordium::Secret {
    cordium::Secret {
        metadata: md(name),
        spec: Some(Default::default()),
        data: Some(cordium::secret::Data {
            r#type: Some(cordium::secret::data::Type::Value(value.into())),
        }),
        ..Default::default()
    }
}

fn workspace(template: &str, spec: cordium::workspace::Spec) -> cordium::Workspace {
    cordium::Workspace {
        metadata: Some(meta::Metadata { display_name: "w".into(), ..Default::default() }),
        spec: Some(spec),
        status: Some(cordium::workspace::Status {
            template_ref: Some(meta::ObjectReference {
                name: template.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn env_secret(key: &str, secret: &str) -> ws::runtime::EnvVar {
    ws::runtime::EnvVar {
        key: key.into(),
        r#type: Some(ws::runtime::env_var::Type::FromSecret(secret.into())),
    }
}

fn env_value(key: &str, value: &str) -> ws::runtime::EnvVar {
    ws::runtime::EnvVar {
        key: key.into(),
        r#type: Some(ws::runtime::env_var::Type::Value(value.into())),
    }
}

fn runtime_env(env: Vec<ws::runtime::EnvVar>) -> cordium::template::Spec {
    cordium::template::Spec {
        runtime: Some(ws::Runtime { env_vars: env, ..Default::default() }),
        ..Default::default()
    }
}

fn by_name(n: &str) -> meta::GetOptions {
    meta::GetOptions { uid: String::new(), name: n.into() }
}

fn uid<T: store::Stored>(o: &T) -> String {
    o.meta().unwrap().uid.clone()
}

/// The code and message of a refusal.
fn err<T: std::fmt::Debug>(r: ApiResult<T>) -> (Code, String) {
    let e = r.expect_err("expected a refusal");
    (e.code, e.message)
}

fn invalid(m: &str) -> (Code, String) {
    (Code::InvalidArgument, m.to_string())
}

fn denied(m: &str) -> (Code, String) {
    (Code::PermissionDenied, m.to_string())
}

fn not_found(m: &str) -> (Code, String) {
    (Code::NotFound, m.to_string())
}

// ---- fromSecret: exact stored names ----------------------------------------------------

#[test]
fn from_secret_is_looked_up_by_its_exact_stored_name() {
    let e = engine();
    e.create_space("alice", space("ml.cordium")).unwrap();
    e.create_secret("alice", secret("wandb.ml.cordium", "k")).unwrap();
    // The short name is not expanded: NOT_FOUND, as the real server answers.
    let short = template("ta.ml.cordium", runtime_env(vec![env_secret("K", "wandb")]));
    assert_eq!(
        err(e.create_template("alice", short)),
        not_found("The Secret: wandb does not exist")
    );
    let full = template("tb.ml.cordium", runtime_env(vec![env_secret("K", "wandb.ml.cordium")]));
    e.create_template("alice", full).unwrap();
    // Update too.
    let mut upd = template("tb.ml.cordium", runtime_env(vec![env_secret("K", "nope")]));
    upd.status = Some(Default::default());
    assert_eq!(err(e.update_template("alice", upd)), not_found("The Secret: nope does not exist"));
    // Workspaces: Create and Update.
    let wsp = cordium::workspace::Spec {
        runtime: Some(ws::Runtime {
            env_vars: vec![env_secret("K", "wandb")],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        err(e.create_workspace("alice", workspace("tb.ml.cordium", wsp.clone()))),
        not_found("The Secret: wandb does not exist")
    );
    let mut ok = wsp.clone();
    ok.runtime.as_mut().unwrap().env_vars = vec![env_secret("K", "wandb.ml.cordium")];
    let w = e.create_workspace("alice", workspace("tb.ml.cordium", ok)).unwrap();
    let mut w2 = w.clone();
    w2.spec = Some(wsp);
    assert_eq!(err(e.update_workspace("alice", w2)), not_found("The Secret: wandb does not exist"));
}

#[test]
fn from_secret_of_another_space_is_not_found_in_templates() {
    let e = engine();
    e.create_space("alice", space("ml.cordium")).unwrap();
    e.create_space("alice", space("cv.cordium")).unwrap();
    e.create_secret("alice", secret("wandb.cv.cordium", "k")).unwrap();
    // The Secret list upstream validates against is the Template's Space's.
    let t = template("ta.ml.cordium", runtime_env(vec![env_secret("K", "wandb.cv.cordium")]));
    assert_eq!(err(e.create_template("alice", t)).0, Code::InvalidArgument);
}

#[test]
fn registry_and_repository_passwords_name_secrets_exactly() {
    let e = engine();
    e.create_space("alice", space("ml.cordium")).unwrap();
    e.create_secret("alice", secret("pw.ml.cordium", "k")).unwrap();
    let registry = |pw: &str| cordium::template::Spec {
        image: Some(ws::Image {
            r#type: Some(ws::image::Type::Registry(ws::image::Registry {
                url: "ghcr.io/org/img".into(),
                authentication: Some(ws::image::registry::Authentication {
                    username: "bot".into(),
                    password: Some(ws::image::registry::authentication::Password {
                        r#type: Some(
                            ws::image::registry::authentication::password::Type::FromSecret(
                                pw.into(),
                            ),
                        ),
                    }),
                }),
            })),
        }),
        ..Default::default()
    };
    assert_eq!(
        err(e.create_template("alice", template("tr.ml.cordium", registry("pw")))),
        not_found("The Secret: pw does not exist")
    );
    e.create_template("alice", template("tr.ml.cordium", registry("pw.ml.cordium"))).unwrap();
    let repo = |pw: &str| cordium::template::Spec {
        repository: Some(ws::Repository {
            url: "https://github.com/org/repo".into(),
            authentication: Some(ws::repository::Authentication {
                r#type: Some(ws::repository::authentication::Type::Http(
                    ws::repository::authentication::Http {
                        username: "bot".into(),
                        password: Some(ws::repository::authentication::http::Password {
                            r#type: Some(
                                ws::repository::authentication::http::password::Type::FromSecret(
                                    pw.into(),
                                ),
                            ),
                        }),
                    },
                )),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        err(e.create_template("alice", template("tg.ml.cordium", repo("pw")))),
        not_found("The Secret: pw does not exist")
    );
    e.create_template("alice", template("tg.ml.cordium", repo("pw.ml.cordium"))).unwrap();
}

#[test]
fn secrets_in_space_env_vars_need_an_organization_space() {
    let e = engine();
    let rt = cordium::space::spec::Runtime {
        env_vars: vec![env_secret("K", "wandb.ml.alice")],
        ..Default::default()
    };
    assert_eq!(
        err(e.create_space("alice", space_with("ml", rt.clone()))),
        denied("Secrets can only be used for ORGANIZATION Spaces")
    );
    // ORGANIZATION: accepted on create; on update the Secret is read by its exact name.
    let org = e.create_space("alice", space_with("ml.cordium", Default::default())).unwrap();
    let upd = |secret: &str| {
        space_with(
            "ml.cordium",
            cordium::space::spec::Runtime {
                env_vars: vec![env_secret("K", secret)],
                ..Default::default()
            },
        )
    };
    assert_eq!(
        err(e.update_space("alice", upd("wandb"))),
        not_found("cordium.v1.Secret wandb does not exist")
    );
    e.create_secret("alice", secret("wandb.ml.cordium", "k")).unwrap();
    e.update_space("alice", upd("wandb.ml.cordium")).unwrap();
    // A Secret of another Space.
    e.create_space("alice", space("cv.cordium")).unwrap();
    e.create_secret("alice", secret("other.cv.cordium", "k")).unwrap();
    assert_eq!(
        err(e.update_space("alice", upd("other.cv.cordium"))),
        invalid("The Secret does not exist: other.cv.cordium")
    );
    assert_eq!(
        err(e.update_space("alice", upd(""))),
        invalid("Empty Secret name for the env variable with key: K")
    );
    let _ = org;
}

// ---- validateSpace ----------------------------------------------------------------------

#[test]
fn space_env_vars_and_tasks_follow_validate_space() {
    use ws::runtime::task::Type as TaskType;
    let e = engine();
    let env = |v: Vec<ws::runtime::EnvVar>| {
        space_with("sp", cordium::space::spec::Runtime { env_vars: v, ..Default::default() })
    };
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value("K", "")]))),
        invalid("Empty value for env var: K")
    );
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value("", "v")]))),
        invalid("Env variable cannot have an empty key")
    );
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value("é", "v")]))),
        invalid("Invalid env var key")
    );
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value(&"K".repeat(65), "v")]))),
        invalid("Too long env var key")
    );
    let long = "v".repeat(1025);
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value("K", &long)]))),
        invalid(&format!("Empty value for env var: {long}"))
    );
    let none = ws::runtime::EnvVar { key: "K".into(), r#type: None };
    assert_eq!(
        err(e.create_space("alice", env(vec![none]))),
        invalid("No env variable value for the key: K")
    );
    assert_eq!(
        err(e.create_space("alice", env(vec![env_value("K", "v"); 129]))),
        invalid("Too many container env vars")
    );
    let task = |run: &str, ty: TaskType, dir: &str| ws::runtime::Task {
        run: run.into(),
        r#type: ty as i32,
        working_dir: dir.into(),
        ..Default::default()
    };
    let tasks = |t: Vec<ws::runtime::Task>| {
        space_with("sp", cordium::space::spec::Runtime { tasks: t, ..Default::default() })
    };
    assert_eq!(
        err(e.create_space("alice", tasks(vec![task("make", TaskType::Unknown, "")]))),
        invalid("The type of the container command: make must be set")
    );
    assert_eq!(
        err(e.create_space("alice", tasks(vec![task("", TaskType::OnCreate, "")]))),
        invalid("Empty container command")
    );
    assert_eq!(
        err(e.create_space("alice", tasks(vec![task(&"x".repeat(5001), TaskType::OnCreate, "")]))),
        invalid("Command is too large")
    );
    let dir = format!("/{}", "d".repeat(256));
    assert_eq!(
        err(e.create_space("alice", tasks(vec![task("make", TaskType::OnCreate, &dir)]))),
        invalid(&format!("Too long working dir path: {dir}"))
    );
    assert_eq!(
        err(e.create_space("alice", tasks(vec![task("make", TaskType::OnCreate, ""); 129]))),
        invalid("Too many tasks")
    );
    let caps = |add: &str| {
        space_with(
            "sp",
            cordium::space::spec::Runtime {
                capabilities: Some(ws::runtime::Capabilities {
                    add: vec![add.into()],
                    drop: vec![],
                }),
                ..Default::default()
            },
        )
    };
    assert_eq!(
        err(e.create_space("alice", caps("net_admin"))),
        invalid("Invalid capability: net_admin")
    );
    e.create_space("alice", caps("NET_ADMIN")).unwrap();
}

#[test]
fn space_names_owner_part_reserved_name_and_limits() {
    let e = engine();
    assert_eq!(err(e.create_space("alice", space("xx.bob"))), invalid("Invalid Space name"));
    assert_eq!(
        err(e.create_space("alice", space("octelium"))),
        invalid("The Space name octelium is reserved")
    );
    // Reserved only for USER Spaces.
    e.create_space("alice", space("octelium.cordium")).unwrap();
    let (c, m) = err(e.create_space("alice", space("Bad")));
    assert_eq!(c, Code::InvalidArgument);
    assert!(m.starts_with("Invalid Space name: rpc error: code = InvalidArgument desc = "), "{m}");
    let mut lim = space("lim");
    lim.spec.as_mut().unwrap().limit = Some(Default::default());
    assert_eq!(err(e.create_space("alice", lim)), denied("Cannot set Limits for USER Spaces"));
}

// ---- workspacevalidate ------------------------------------------------------------------

#[test]
fn workspace_and_template_specs_follow_validate_workspace() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    let t = |spec: cordium::template::Spec| e.create_template("alice", template("tt.sp", spec));
    let inline = |text: &str| cordium::template::Spec {
        image: Some(ws::Image {
            r#type: Some(ws::image::Type::Dockerfile(ws::image::Dockerfile {
                r#type: Some(ws::image::dockerfile::Type::Inline(text.into())),
            })),
        }),
        ..Default::default()
    };
    assert_eq!(err(t(inline(&"x".repeat(5001)))), invalid("Too large Dockerfile"));
    assert_eq!(err(t(inline(""))), invalid("Empty Dockerfile"));
    let repo = |url: &str| cordium::template::Spec {
        repository: Some(ws::Repository { url: url.into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(
        err(t(repo("http://github.com/org/repo"))),
        invalid(r#"Repo URL must have https scheme (e.g. "https://github.com/org/repo")"#)
    );
    assert_eq!(err(t(repo("not a url"))), invalid("Invalid repository URL: not a url"));
    assert_eq!(
        err(t(runtime_env(vec![env_value("K", "")]))),
        invalid("Empty value for env var: K")
    );
    let mounts = cordium::template::Spec {
        runtime: Some(ws::Runtime {
            volume_mounts: vec![ws::runtime::VolumeMount {
                volume_ref: Some(meta::ObjectReference {
                    name: "data".into(),
                    ..Default::default()
                }),
                mount_path: "/data".into(),
                read_only: false,
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(err(t(mounts)), invalid("The Volume does not exist: data"));
    let gp = cordium::template::Spec { git_provider: "gh.sp.alice".into(), ..Default::default() };
    assert_eq!(err(t(gp)), not_found("cordium.v1.GitProvider gh.sp.alice does not exist"));
    t(repo("https://github.com/org/repo")).unwrap();
    // Applications are a Workspace field (a Template does not carry them).
    let app =
        |name: &str, port: i32| ws::Application { name: name.into(), port, ..Default::default() };
    let w = |apps: Vec<ws::Application>| {
        e.create_workspace(
            "alice",
            workspace(
                "tt.sp.alice",
                cordium::workspace::Spec { applications: apps, ..Default::default() },
            ),
        )
    };
    assert_eq!(err(w(vec![app("Web", 80)])), invalid("Invalid Application name: Web"));
    assert_eq!(
        err(w(vec![app("web", 0)])),
        invalid("Port number must be set for Application: web")
    );
    assert_eq!(err(w(vec![app("web", 70000)])), invalid("Invalid Application port: 70000"));
    assert_eq!(
        err(w(vec![app("web", 80), app("web", 81)])),
        invalid("The Application name: web already exists")
    );
    w(vec![app("web", 80)]).unwrap();
    let limit = cordium::workspace::Spec {
        limit: Some(ws::Limit {
            cpu: Some(ws::limit::Cpu { millicores: 1_000_001 }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        err(e.create_workspace("alice", workspace("tt.sp.alice", limit))),
        invalid("CPU are too large: 1000001")
    );
}

// ---- permissions ------------------------------------------------------------------------

#[test]
fn space_roles_come_from_memberships() {
    let e = engine();
    let s = e.create_space("alice", space("sp")).unwrap();
    e.create_secret("alice", secret("kk.sp", "v")).unwrap();
    // Non-members: PERMISSION_DENIED, not NOT_FOUND.
    let not_member = denied("The User is not authorized to operation");
    let not_admin = denied("The User is not authorized to do this operation");
    assert_eq!(err(e.get_space("bob", by_name("sp.alice"))), not_member);
    assert_eq!(err(e.get_template("bob", by_name("default.sp.alice"))), not_member);
    assert_eq!(
        err(e.create_template("bob", template("tt.sp.alice", Default::default()))),
        not_admin
    );
    assert_eq!(err(e.create_secret("bob", secret("k2.sp.alice", "v"))), not_admin);
    assert_eq!(err(e.get_secret("bob", by_name("kk.sp.alice"))), not_admin);
    let list = cordium::ListTemplateOptions {
        space_ref: Some(meta::ObjectReference { name: "sp.alice".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(err(e.list_template("bob", list.clone())), not_member);
    // A Space that does not exist answers the same (membership is checked first).
    let ghost = cordium::ListSecretOptions {
        space_ref: Some(meta::ObjectReference { name: "ghost.alice".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(err(e.list_secret("bob", ghost)), not_member);
    // So does a reference by uid alone, even for the Space's owner: upstream finds the
    // Membership by the reference's name.
    let by_uid = cordium::ListTemplateOptions {
        space_ref: Some(meta::ObjectReference { uid: uid(&s), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(err(e.list_template("alice", by_uid)), not_member);
    // A MEMBER may read but not write; an ADMIN may write.
    e.set_membership("sp.alice", "bob", Role::User).unwrap();
    e.get_space("bob", by_name("sp.alice")).unwrap();
    e.list_template("bob", list).unwrap();
    assert_eq!(
        err(e.create_template("bob", template("tt.sp.alice", Default::default()))),
        not_admin
    );
    assert_eq!(err(e.get_secret("bob", by_name("kk.sp.alice"))), not_admin);
    let build = cordium::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference {
            name: "default.sp.alice".into(),
            ..Default::default()
        }),
        tags: vec![],
    };
    assert_eq!(err(e.build_template("bob", build.clone())), not_admin);
    e.set_membership("sp.alice", "bob", Role::Admin).unwrap();
    e.create_template("bob", template("tt.sp.alice", Default::default())).unwrap();
    e.get_secret("bob", by_name("kk.sp.alice")).unwrap();
    e.build_template("bob", build).unwrap();
    // UpdateSpace / DeleteSpace: the resource owner or the Space OWNER; an ADMIN is neither.
    assert_eq!(err(e.update_space("bob", space("sp.alice"))), not_admin);
    let del = meta::DeleteOptions { uid: uid(&s), name: String::new() };
    assert_eq!(err(e.delete_space("bob", del.clone())), not_admin);
    assert_eq!(
        err(e.delete_space("carol", del.clone())),
        denied("The User is not a Member in this Space")
    );
    // A Template's creator (an ADMIN) may delete it; so may the Space OWNER.
    let t2 = meta::DeleteOptions { uid: String::new(), name: "tt.sp.alice".into() };
    e.delete_template("bob", t2).unwrap();
    e.set_membership("sp.alice", "bob", Role::Owner).unwrap();
    e.delete_space("bob", del).unwrap();
}

#[test]
fn the_cluster_admin_has_no_pass_in_other_users_spaces() {
    // Upstream's Cordium checks read Memberships only: `admin` is treated like anyone.
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    assert_eq!(
        err(e.get_space("admin", by_name("sp.alice"))),
        denied("The User is not authorized to operation")
    );
}

#[test]
fn workspaces_are_their_owners_alone() {
    let e = engine();
    e.create_space("alice", space("sp.cordium")).unwrap();
    e.set_membership("sp.cordium", "bob", Role::User).unwrap();
    let w =
        e.create_workspace("alice", workspace("default.sp.cordium", Default::default())).unwrap();
    let by_uid = meta::GetOptions { uid: uid(&w), name: String::new() };
    assert_eq!(
        err(e.get_workspace("bob", by_uid)),
        denied("This Workspace is not owned by the User")
    );
    let mut upd = w.clone();
    upd.spec = Some(Default::default());
    assert_eq!(err(e.update_workspace("bob", upd)), denied("Workspace not owned by the User"));
    let del = meta::DeleteOptions { uid: uid(&w), name: String::new() };
    assert_eq!(err(e.delete_workspace("bob", del)), denied("Workspace is not owned by this User"));
    let list = e.list_workspace("bob", Default::default()).unwrap();
    assert!(list.items.is_empty(), "only the caller's own Workspaces are listed");
    // Bob, a member, may create his own there.
    e.create_workspace("bob", workspace("default.sp.cordium", Default::default())).unwrap();
}

#[test]
fn list_workspace_space_ref_resolves_a_name() {
    let e = engine();
    e.create_space("alice", space("sa")).unwrap();
    e.create_space("alice", space("sb")).unwrap();
    e.create_workspace("alice", workspace("default.sa.alice", Default::default())).unwrap();
    e.create_workspace("alice", workspace("default.sb.alice", Default::default())).unwrap();
    let opts = cordium::ListWorkspaceOptions {
        filter: Some(cordium::list_workspace_options::Filter::SpaceRef(meta::ObjectReference {
            name: "sa.alice".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(e.list_workspace("alice", opts).unwrap().items.len(), 1);
}

#[test]
fn list_space_filters_by_type_and_mode() {
    use cordium::space::status::Type;
    let e = engine();
    e.create_space("alice", space("mine")).unwrap();
    e.create_space("alice", space("org.cordium")).unwrap();
    e.create_space("bob", space("shared")).unwrap();
    e.set_membership("shared.bob", "alice", Role::User).unwrap();
    let list = |mode: i32, ty: Type| {
        let opts = cordium::ListSpaceOptions { mode, r#type: ty as i32, ..Default::default() };
        let l = e.list_space("alice", opts).unwrap();
        l.items.iter().map(|s| s.metadata.as_ref().unwrap().name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(list(0, Type::User), ["mine.alice"]);
    assert_eq!(list(0, Type::Organization), ["org.cordium"]);
    assert_eq!(list(0, Type::SpaceTypeUnset).len(), 2);
    assert_eq!(list(2, Type::SpaceTypeUnset), ["mine.alice", "org.cordium", "shared.bob"]);
}

// ---- CreateSpace ownership rules --------------------------------------------------------

#[test]
fn create_space_follows_the_ownership_rules() {
    let refused = denied("You are not allowed to create this Space");
    let e = engine_with(SpaceOwnership::none());
    assert_eq!(err(e.create_space("alice", space("sp"))), refused);
    let rules = |r: &[&str]| SpaceOwnership {
        rules: r.iter().map(|s| s.parse::<OwnershipRule>().unwrap()).collect(),
    };
    let e = engine_with(rules(&["allow:any", "deny:user=bob"]));
    e.create_space("alice", space("sp")).unwrap();
    assert_eq!(err(e.create_space("bob", space("sp"))), refused, "DENY first");
    let e = engine_with(rules(&["allow:space=organization"]));
    assert_eq!(err(e.create_space("alice", space("sp"))), refused);
    e.create_space("alice", space("sp.cordium")).unwrap();
    let e = engine_with(rules(&["allow:type=workload"]));
    assert_eq!(err(e.create_space("alice", space("sp"))), refused, "alice is HUMAN");
    e.create_space("root", space("sp")).unwrap();
    assert!("allow:everything".parse::<OwnershipRule>().is_err());
    assert_eq!("deny:user=bob".parse::<OwnershipRule>().unwrap().to_string(), "deny:user=bob");
}

#[test]
fn create_space_makes_the_owner_membership_and_default_template() {
    let e = engine();
    let s = e.create_space("alice", space("sp")).unwrap();
    let c = e.conn_for_tests();
    let alice = store::get_by_name::<core::User>(&c, "alice").unwrap().unwrap();
    assert_eq!(store::membership(&c, &uid(&s), &uid(&alice)).unwrap(), Some(Role::Owner as i32));
    drop(c);
    e.get_template("alice", by_name("default.sp")).unwrap();
}

// ---- quotas ------------------------------------------------------------------------------

#[test]
fn quotas_answer_as_upstream() {
    let e = engine();
    for i in 0..spaces::MAX_SPACES_PER_USER {
        e.create_space("alice", space(&format!("s{i}"))).unwrap();
    }
    assert_eq!(
        err(e.create_space("alice", space("one-more"))),
        denied("Number of Spaces per User has been exceeded")
    );
    // Active Workspaces: every Workspace here is created STOPPED; make 128 of them active.
    e.create_space("bob", space("sp")).unwrap();
    for _ in 0..workspaces::MAX_ACTIVE_WORKSPACES_PER_USER {
        let w = e.create_workspace("bob", workspace("default.sp.bob", Default::default())).unwrap();
        e.force_workspace_state(&uid(&w), cordium::workspace::status::State::Running);
    }
    let build = cordium::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference {
            name: "default.sp.bob".into(),
            ..Default::default()
        }),
        tags: vec![],
    };
    assert_eq!(
        err(e.build_template("bob", build)),
        denied("Maximum limit of active Workspaces exceeded")
    );
}

#[test]
fn secret_value_size_and_count() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    assert_eq!(
        err(e.create_secret("alice", secret("big.sp", &"x".repeat(1501)))),
        invalid("Secret data is too large")
    );
    e.create_secret("alice", secret("ok.sp", &"x".repeat(1500))).unwrap();
}

// ---- DeleteSpace cascade -------------------------------------------------------------------

#[test]
fn delete_space_cascades_to_workspaces_of_every_owner_and_memberships() {
    let e = engine();
    let s = e.create_space("alice", space("sp.cordium")).unwrap();
    e.set_membership("sp.cordium", "bob", Role::User).unwrap();
    let wa =
        e.create_workspace("alice", workspace("default.sp.cordium", Default::default())).unwrap();
    let wb =
        e.create_workspace("bob", workspace("default.sp.cordium", Default::default())).unwrap();
    e.create_secret("alice", secret("kk.sp.cordium", "v")).unwrap();
    let missing =
        meta::DeleteOptions { uid: uuid::Uuid::new_v4().to_string(), name: String::new() };
    assert_eq!(err(e.delete_space("alice", missing)).0, Code::NotFound);
    e.delete_space("alice", meta::DeleteOptions { uid: uid(&s), name: String::new() }).unwrap();
    for (who, w) in [("alice", &wa), ("bob", &wb)] {
        let get = meta::GetOptions { uid: uid(w), name: String::new() };
        assert_eq!(err(e.get_workspace(who, get)).0, Code::NotFound, "{who}'s Workspace");
    }
    let c = e.conn_for_tests();
    assert_eq!(store::count_memberships(&c, &uid(&s)).unwrap(), 0);
}

// ---- Users ---------------------------------------------------------------------------------

fn user(name: &str, ty: core::user::spec::Type) -> core::User {
    core::User {
        metadata: md(name),
        spec: Some(core::user::Spec { r#type: ty as i32, ..Default::default() }),
        ..Default::default()
    }
}

/// How `serr.InvalidArgWithErr` prints a validateUser refusal.
fn wrapped(m: &str) -> (Code, String) {
    invalid(&format!("rpc error: code = InvalidArgument desc = {m}"))
}

#[test]
fn users_follow_admin_user_go() {
    use crate::live::wire::core::user::spec::Type;
    let e = engine();
    assert_eq!(
        err(e.create_core("admin", user("u1", Type::Unknown))),
        wrapped("You must set the User type (i.e. either `HUMAN` or `WORKLOAD`)")
    );
    let mut w = user("u1", Type::Workload);
    w.spec.as_mut().unwrap().email = "a@b.io".into();
    assert_eq!(err(e.create_core("admin", w)), wrapped("Email is only allowed for HUMAN Users"));
    let mut h = user("u1", Type::Human);
    h.spec.as_mut().unwrap().email = "A@b.io".into();
    assert_eq!(err(e.create_core("admin", h.clone())), wrapped("Email must be lowercase: A@b.io"));
    let long = format!("{}@b.io", "a".repeat(150));
    h.spec.as_mut().unwrap().email = long.clone();
    assert_eq!(
        err(e.create_core("admin", h.clone())),
        wrapped(&format!("Email is too long: {long}"))
    );
    h.spec.as_mut().unwrap().email = "a@b.io".into();
    e.create_core("admin", h).unwrap();
    let mut dup = user("u2", Type::Human);
    dup.spec.as_mut().unwrap().email = "a@b.io".into();
    assert_eq!(
        err(e.create_core("admin", dup)),
        invalid("The email `a@b.io` already exists for another User")
    );
    let mut g = user("u3", Type::Human);
    g.spec.as_mut().unwrap().groups = vec!["devs".into()];
    assert_eq!(err(e.create_core("admin", g.clone())), invalid("The Group devs does not exist"));
    e.create_core(
        "admin",
        core::Group { metadata: md("devs"), spec: Some(Default::default()), ..Default::default() },
    )
    .unwrap();
    e.create_core("admin", g).unwrap();
    let mut p = user("u4", Type::Human);
    p.spec.as_mut().unwrap().authorization = Some(core::user::spec::Authorization {
        policies: vec!["nope".into()],
        ..Default::default()
    });
    assert_eq!(err(e.create_core("admin", p.clone())), invalid("The Policy nope is not found"));
    // The genesis Policies exist from the start.
    p.spec.as_mut().unwrap().authorization.as_mut().unwrap().policies = vec!["allow-all".into()];
    e.create_core("admin", p).unwrap();
    let mut idp = user("u5", Type::Human);
    idp.spec.as_mut().unwrap().authentication = Some(core::user::spec::Authentication {
        identities: vec![core::user::spec::authentication::Identity {
            identity_provider: "github".into(),
            identifier: "x".into(),
        }],
        ..Default::default()
    });
    assert_eq!(
        err(e.create_core("admin", idp)),
        invalid("The Identity Provider github does not exist")
    );
    assert_eq!(
        err(e.create_core("admin", user("u1", Type::Human))),
        (Code::AlreadyExists, "The User u1 already exists".into())
    );
}

#[test]
fn attrs_keys_are_camel_case() {
    use crate::live::wire::core::user::spec::Type;
    use prost_types::{value::Kind, Struct, Value};
    let e = engine();
    let attrs = |k: &str| {
        let inner = Struct {
            fields: [(k.to_string(), Value { kind: Some(Kind::NumberValue(1.0)) })].into(),
        };
        Struct {
            fields: [("outer".to_string(), Value { kind: Some(Kind::StructValue(inner)) })].into(),
        }
    };
    let mut u = user("u1", Type::Workload);
    u.spec.as_mut().unwrap().attrs = Some(attrs("snake_case"));
    assert_eq!(
        err(e.create_core("admin", u.clone())),
        wrapped("attrs map keys must be in camelCase")
    );
    u.spec.as_mut().unwrap().attrs = Some(attrs("camelCase2"));
    e.create_core("admin", u).unwrap();
}

#[test]
fn a_fresh_cluster_holds_the_genesis_objects() {
    let e = engine();
    let users = e.list_core::<core::User>("admin", None).unwrap();
    let names: Vec<_> =
        users.items.iter().map(|u| u.metadata.as_ref().unwrap().name.as_str()).collect();
    for u in GENESIS_USERS {
        assert!(names.contains(&u), "{u} in {names:?}");
    }
    for u in &users.items {
        let name = u.metadata.as_ref().unwrap().name.as_str();
        if GENESIS_USERS.contains(&name) {
            assert_eq!(u.spec.as_ref().unwrap().r#type(), core::user::spec::Type::Workload);
        }
    }
    let policies = e.list_core::<core::Policy>("admin", None).unwrap();
    let names: Vec<_> =
        policies.items.iter().map(|p| p.metadata.as_ref().unwrap().name.clone()).collect();
    assert_eq!(names, GENESIS_POLICIES);
    assert!(e.list_core::<core::Group>("admin", None).unwrap().items.is_empty(), "no Groups");
    // `octelium` is a system User: neither updated nor deleted.
    let del = meta::DeleteOptions { uid: String::new(), name: "octelium".into() };
    assert_eq!(err(e.delete_core::<core::User>("admin", del)), denied("This is a System Resource"));
    let upd = user("octelium", core::user::spec::Type::Workload);
    assert_eq!(err(e.update_core("admin", upd)), denied("This is a System Resource"));
    // Seeded once: a deleted genesis Policy stays deleted.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    e.delete_core::<core::Policy>(
        "admin",
        meta::DeleteOptions { uid: String::new(), name: "deny-all".into() },
    )
    .unwrap();
    drop(e);
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    assert_eq!(err(e.get_core::<core::Policy>("admin", by_name("deny-all"))).0, Code::NotFound);
}

#[test]
fn users_may_not_delete_themselves() {
    let e = engine();
    let me = meta::DeleteOptions { uid: String::new(), name: "admin".into() };
    assert_eq!(
        err(e.delete_core::<core::User>("admin", me)),
        denied("You cannot delete your own User account")
    );
}

// ---- writes ---------------------------------------------------------------------------------

#[test]
fn status_writes_bump_the_resource_version_and_updates_find_by_name() {
    let clock = ManualClock::new(std::time::UNIX_EPOCH + std::time::Duration::from_secs(10));
    let e = Engine::in_memory(EngineOptions {
        clock: std::sync::Arc::new(clock.clone()),
        builds: BuildSettings { duration: std::time::Duration::from_secs(5), ..Default::default() },
        ..Default::default()
    })
    .unwrap();
    e.create_space("alice", space("sp")).unwrap();
    let t = e.create_template("alice", template("tt.sp", Default::default())).unwrap();
    let build = cordium::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference { name: "tt.sp".into(), ..Default::default() }),
        tags: vec![],
    };
    let started = e.build_template("alice", build).unwrap();
    let rv = |t: &cordium::Template| t.metadata.as_ref().unwrap().resource_version.clone();
    assert!(rv(&started) > rv(&t), "a build start is a write");
    clock.advance(std::time::Duration::from_secs(6));
    let done = e.get_template("alice", by_name("tt.sp")).unwrap();
    assert!(rv(&done) > rv(&started), "the build finishing is a status write");
    // Update by name: a stale uid and resourceVersion in the request are ignored.
    let mut upd = template("tt.sp", Default::default());
    upd.status = Some(Default::default());
    let m = upd.metadata.as_mut().unwrap();
    m.uid = uuid::Uuid::new_v4().to_string();
    m.resource_version = "stale".into();
    m.display_name = "new".into();
    let u = e.update_template("alice", upd).unwrap();
    assert_eq!(u.metadata.as_ref().unwrap().display_name, "new");
    assert!(rv(&u) > rv(&done));
}

#[test]
fn workspace_labels_description_annotations_and_tags_are_dropped() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    let mut w = workspace("default.sp.alice", Default::default());
    let m = w.metadata.as_mut().unwrap();
    m.labels.insert("team".into(), "ml".into());
    m.annotations.insert("note".into(), "x".into());
    m.description = "d".into();
    m.tags = vec!["tag".into()];
    let created = e.create_workspace("alice", w.clone()).unwrap();
    let cm = created.metadata.as_ref().unwrap();
    assert!(cm.labels.is_empty() && cm.annotations.is_empty() && cm.tags.is_empty());
    assert_eq!(cm.description, "");
    let mut upd = created.clone();
    upd.metadata.as_mut().unwrap().labels.insert("team".into(), "ml".into());
    let u = e.update_workspace("alice", upd).unwrap();
    assert!(u.metadata.unwrap().labels.is_empty());
}

#[test]
fn build_tags_and_cancel_without_a_running_build() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    let build = |tags: Vec<&str>| cordium::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference {
            name: "default.sp".into(),
            ..Default::default()
        }),
        tags: tags.into_iter().map(String::from).collect(),
    };
    assert_eq!(err(e.build_template("alice", build(vec!["x"]))), invalid("Invalid Tag"));
    assert_eq!(err(e.build_template("alice", build(vec!["é1"]))), invalid("Invalid Tag"));
    assert_eq!(err(e.build_template("alice", build(vec!["ab"; 11]))), invalid("Too many tags"));
    let cancel = cordium::CancelBuildTemplateRequest {
        template_ref: Some(meta::ObjectReference {
            name: "default.sp".into(),
            ..Default::default()
        }),
    };
    let before = e.get_template("alice", by_name("default.sp")).unwrap();
    let after = e.cancel_build_template("alice", cancel).unwrap();
    assert_eq!(before, after, "nothing to cancel: OK, nothing written");
}

#[test]
fn email_uniqueness_holds_among_many_users() {
    use crate::live::wire::core::user::spec::Type;
    let e = engine();
    for i in 0..1000 {
        let mut u = user(&format!("u{i:04}"), Type::Human);
        u.spec.as_mut().unwrap().email = format!("u{i}@example.com");
        e.create_core("admin", u).unwrap();
    }
    let mut dup = user("late", Type::Human);
    dup.spec.as_mut().unwrap().email = "u999@example.com".into();
    assert_eq!(
        err(e.create_core("admin", dup)),
        invalid("The email `u999@example.com` already exists for another User")
    );
    // Updating a User keeps its own email.
    let mut same = user("u0999", Type::Human);
    same.spec.as_mut().unwrap().email = "u999@example.com".into();
    e.update_core("admin", same).unwrap();
}

#[test]
fn workspace_and_secret_counts_are_capped() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    for _ in 0..workspaces::MAX_WORKSPACES_PER_USER {
        e.create_workspace("alice", workspace("default.sp.alice", Default::default())).unwrap();
    }
    assert_eq!(
        err(e.create_workspace("alice", workspace("default.sp.alice", Default::default()))),
        invalid("Number of Workspaces per User has been exceeded")
    );
    for i in 0..secrets::MAX_SECRETS_PER_SPACE {
        e.create_secret("alice", secret(&format!("s{i}.sp"), "v")).unwrap();
    }
    assert_eq!(
        err(e.create_secret("alice", secret("late.sp", "v"))),
        denied("Number of Secrets per Space has been exceeded")
    );
}
