//! `GrpcCluster` against a real `cordium serve` on 127.0.0.1 (ephemeral port): every `Cluster`
//! operation over the wire, auth failures as the client sees them, session renewal before
//! expiry, and retries of transient reads (never of writes).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordium::diag::{FileId, Span};
use cordium::live::auth::{Credentials, Token};
use cordium::live::convert::{self, Naming};
use cordium::live::grpc::{GrpcCluster, GrpcOptions};
use cordium::live::retry::RetryPolicy;
use cordium::live::{Cluster, ErrorCode, Object, ObjectKey, Scope};
use cordium::model::{
    spec, Address, Body, Kind, Lifecycle, Metadata, Origin, Resource, SecretSource,
};

const TOKEN: &str = "tok-3f9a1c77e2b54d08";

/// A `cordium serve --in-memory` child process, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let auth = format!("admin:{TOKEN}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args(["serve", "--listen", "127.0.0.1:0", "--in-memory", "--auth-token", &auth])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cordium serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let url = line.trim().strip_prefix("listening on ").map(str::to_string);
        let Some(url) = url else {
            let _ = child.kill();
            panic!("cordium serve did not print `listening on URL` first; got {line:?}");
        };
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(serve: &Serve, credentials: Credentials) -> GrpcOptions {
    let mut o = GrpcOptions::new(serve.url.clone(), credentials);
    o.call_timeout = Duration::from_secs(10);
    o
}

async fn client(serve: &Serve) -> GrpcCluster {
    GrpcCluster::connect(options(serve, Credentials::AuthToken(Token::new(TOKEN))))
        .await
        .expect("client")
}

fn resource(address: Address, body: Body) -> Resource {
    let span = Span::new(FileId(0), 0, 0);
    Resource {
        address,
        metadata: Metadata { description: "made by a test".into(), ..Metadata::default() },
        body,
        lifecycle: Lifecycle::default(),
        origin: Origin::bare(span),
    }
}

fn template_spec() -> spec::TemplateSpec {
    spec::TemplateSpec {
        image: Some(spec::Image {
            registry: Some(Box::new(spec::ImageRegistry {
                url: "python:3.12".into(),
                authentication: None,
            })),
            ..spec::Image::default()
        }),
        vars: vec![spec::Var { name: "TASK".into(), value: "${{ vars.BRANCH }}".into() }],
        ..spec::TemplateSpec::default()
    }
}

fn name(key: &str) -> ObjectKey {
    ObjectKey::Name(key.to_string())
}

#[tokio::test]
async fn every_cluster_operation_works_over_grpc() {
    let serve = Serve::start(&[]);
    let c = client(&serve).await;
    let naming = Naming::new("admin");

    // Space: create, identity from what the server now holds, get, list, update.
    let space = resource(
        Address::space("ml"),
        Body::Space { organization: false, spec: Default::default() },
    );
    let created = c.create(convert::to_wire(&space, &naming, "test")).await.expect("CreateSpace");
    assert_eq!(created.name(), "ml.admin");
    let me = c.identity().await.expect("identity");
    assert_eq!(me.username, "admin");
    assert_eq!(me.target, serve.url);
    let got = c.get(Kind::Space, &name("ml.admin")).await.expect("GetSpace");
    let live = convert::from_wire(&got);
    assert_eq!(live.address, Address::space("ml"));
    assert_eq!(live.stack(), Some("test"));
    let spaces = c.list(Kind::Space, &Scope::All).await.expect("ListSpace");
    assert!(spaces.iter().any(|s| s.name() == "ml.admin"));
    let mut changed = space.clone();
    changed.metadata.description = "changed".into();
    let updated = c.update(convert::to_wire(&changed, &naming, "test")).await.expect("UpdateSpace");
    assert_eq!(convert::from_wire(&updated).metadata.description, "changed");

    // Template: create, list in the Space, build, cancel.
    let tmpl = resource(
        Address::in_space(Kind::Template, "ml", "gpu"),
        Body::Template { spec: Box::new(template_spec()), prebuild: None },
    );
    let created = c.create(convert::to_wire(&tmpl, &naming, "test")).await.expect("CreateTemplate");
    assert_eq!(created.name(), "gpu.ml.admin");
    let live = convert::from_wire(&created);
    assert_eq!(live.spec_json, tmpl.spec_json());
    let listed =
        c.list(Kind::Template, &Scope::Space("ml.admin".into())).await.expect("ListTemplate");
    assert!(listed.iter().any(|t| t.name() == "gpu.ml.admin"));
    let built = c.build_template(&name("gpu.ml.admin"), &["abc123".into()]).await.expect("Build");
    let info = built.status.and_then(|s| s.build_info).expect("build info");
    assert_eq!(info.builds[0].tags, ["abc123"]);
    assert_eq!(info.current_running_build_id, info.builds[0].id);
    c.cancel_build(&name("gpu.ml.admin")).await.expect("CancelBuildTemplate");

    // Secret: create with a value, list, no update.
    let secret = resource(
        Address::in_space(Kind::Secret, "ml", "wandb"),
        Body::Secret { source: SecretSource::Env("WANDB".into()) },
    );
    let mut obj = convert::to_wire(&secret, &naming, "test");
    convert::set_secret_value(&mut obj, "value-1".into());
    let created = c.create(obj.clone()).await.expect("CreateSecret");
    assert_eq!(created.name(), "wandb.ml.admin");
    let Object::Secret(s) = &created else { panic!("a Secret") };
    assert!(s.data.is_none(), "secret values are never returned");
    let secrets = c.list(Kind::Secret, &Scope::Space("ml.admin".into())).await.expect("ListSecret");
    assert_eq!(secrets.len(), 1);
    let err = c.update(obj).await.expect_err("no UpdateSecret");
    assert_eq!(err.code, ErrorCode::InvalidArgument);

    // Workspace: server-named, found again by displayName.
    let ws = resource(
        Address::in_space(Kind::Workspace, "ml", "box"),
        Body::Workspace { template: Some("gpu".into()), spec: Default::default() },
    );
    let created = c.create(convert::to_wire(&ws, &naming, "test")).await.expect("CreateWorkspace");
    let live = convert::from_wire(&created);
    assert_ne!(live.wire_name, "");
    assert_eq!(live.address, Address::in_space(Kind::Workspace, "ml", "box"));
    assert_eq!(live.template_ref.as_deref(), Some("gpu.ml.admin"));
    let all =
        c.list(Kind::Workspace, &Scope::Space("ml.admin".into())).await.expect("ListWorkspace");
    assert!(all.iter().any(|w| convert::from_wire(w).address == ws.address), "{all:#?}");
    let mut obj = convert::to_wire(&ws, &naming, "test");
    convert::bind_to_live(&mut obj, &live);
    c.update(obj).await.expect("UpdateWorkspace");
    let by_uid =
        c.get(Kind::Workspace, &ObjectKey::Uid(live.uid.clone())).await.expect("Get by uid");
    assert_eq!(by_uid.name(), live.wire_name);

    // User.
    let user = resource(
        Address::user("agent-1"),
        Body::User {
            spec: Box::new(spec::UserSpec {
                r#type: spec::UserType::Workload,
                ..Default::default()
            }),
        },
    );
    c.create(convert::to_wire(&user, &naming, "test")).await.expect("CreateUser");
    c.update(convert::to_wire(&user, &naming, "test")).await.expect("UpdateUser");
    let users = c.list(Kind::User, &Scope::All).await.expect("ListUser");
    assert!(users.iter().any(|u| u.name() == "agent-1"));
    c.delete(Kind::User, &name("agent-1")).await.expect("DeleteUser");

    // Deletes, then NotFound.
    c.delete(Kind::Workspace, &ObjectKey::Uid(live.uid)).await.expect("DeleteWorkspace");
    c.delete(Kind::Secret, &name("wandb.ml.admin")).await.expect("DeleteSecret");
    c.delete(Kind::Template, &name("gpu.ml.admin")).await.expect("DeleteTemplate");
    c.delete(Kind::Space, &name("ml.admin")).await.expect("DeleteSpace by name");
    let err = c.get(Kind::Space, &name("ml.admin")).await.expect_err("gone");
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(c.calls() > 20, "{}", c.calls());
}

#[tokio::test]
async fn lists_page_through_everything() {
    let serve = Serve::start(&[]);
    let mut o = options(&serve, Credentials::AuthToken(Token::new(TOKEN)));
    o.page_size = 2;
    let c = GrpcCluster::connect(o).await.expect("client");
    let whole = GrpcCluster::connect(options(&serve, Credentials::AuthToken(Token::new(TOKEN))))
        .await
        .expect("client");
    let naming = Naming::new("admin");
    // More pages than are fetched at once after the first.
    for i in 0..25 {
        let s = resource(
            Address::space(format!("s{i}")),
            Body::Space { organization: false, spec: Default::default() },
        );
        c.create(convert::to_wire(&s, &naming, "test")).await.expect("CreateSpace");
    }
    let names = |list: Vec<Object>| list.iter().map(|o| o.name().to_string()).collect::<Vec<_>>();
    let one_page = names(whole.list(Kind::Space, &Scope::All).await.expect("ListSpace"));
    assert!(one_page.len() >= 25, "{}", one_page.len());
    let before = c.calls();
    let paged = names(c.list(Kind::Space, &Scope::All).await.expect("ListSpace"));
    // Every object once, in the server's order, though the pages came back concurrently.
    assert_eq!(paged, one_page);
    assert_eq!(c.calls() - before, one_page.len().div_ceil(2) as u64, "one call per page");
    // Page by page: the same objects in the same order, handed over a page at a time as the
    // pages arrive (plan keeps a compact form of each; the whole list is never held).
    let (mut sizes, mut each) = (Vec::new(), Vec::new());
    c.list_each(Kind::Space, &Scope::All, &mut |page| {
        sizes.push(page.len());
        each.extend(names(page));
    })
    .await
    .expect("ListSpace page by page");
    assert_eq!(each, one_page);
    assert_eq!(sizes.len(), one_page.len().div_ceil(2), "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 2), "{sizes:?}");
}

/// A writer the test can read back: captures every log line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_bad_token_is_a_clear_error_that_never_shows_the_token() {
    let serve = Serve::start(&[]);
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let bad = "wrong-token-7d1e5b0c9a";
    let (errors, debug) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let mut out = Vec::new();
            let mut debug = Vec::new();
            for creds in
                [Credentials::AuthToken(Token::new(bad)), Credentials::AccessToken(Token::new(bad))]
            {
                let c = GrpcCluster::connect(options(&serve, creds.clone())).await.expect("client");
                let err = c.list(Kind::Space, &Scope::All).await.expect_err("refused");
                assert_eq!(err.code, ErrorCode::Unauthenticated, "{err}");
                debug.push(format!("{c:?} {creds:?} {err:?}"));
                out.push(err.to_string());
            }
            (out, debug)
        })
    });
    for e in &errors {
        assert!(e.contains("OCTELIUM_AUTH_TOKEN"), "the error says what to check: {e}");
    }
    let logs = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
    for text in errors.iter().chain(debug.iter()).chain([&logs]) {
        assert!(!text.contains(bad), "the token leaked: {text}");
    }
}

#[tokio::test]
async fn the_right_token_also_never_leaks_into_logs_or_debug() {
    let serve = Serve::start(&[]);
    let c = client(&serve).await;
    c.list(Kind::Space, &Scope::All).await.expect("ListSpace");
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[tokio::test]
async fn sessions_are_renewed_before_they_expire() {
    let serve = Serve::start(&["--access-token-ttl", "2s"]);
    let c = client(&serve).await;
    c.list(Kind::Space, &Scope::All).await.expect("first call authenticates");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = c.calls();
    c.list(Kind::Space, &Scope::All).await.expect("a call after the access token expired");
    // A renewal ahead of the call is 2 RPCs (refresh + list); a call refused for an expired token
    // and repeated after authenticating again would be 3.
    assert_eq!(c.calls() - before, 2, "the session was renewed before use");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        c.list(Kind::Space, &Scope::All).await.expect("calls keep working");
    }
}

#[tokio::test]
async fn transient_read_failures_are_retried_and_writes_are_not() {
    let serve = Serve::start(&["--error-rate", "0.4", "--error-mode", "before", "--seed", "7"]);
    let mut o = options(&serve, Credentials::AuthToken(Token::new(TOKEN)));
    o.retry = RetryPolicy {
        max_attempts: 12,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        max_elapsed: Duration::from_secs(10),
    };
    let c = GrpcCluster::connect(o).await.expect("client");
    // Auth itself may hit an injected error; it is retried like a read.
    for _ in 0..15 {
        c.list(Kind::Space, &Scope::All).await.expect("reads ride out injected failures");
    }
    assert!(c.calls() > 16, "some reads needed a retry: {} calls", c.calls());

    let naming = Naming::new("admin");
    let mut transient = 0;
    for i in 0..15 {
        let s = resource(
            Address::space(format!("w{i}")),
            Body::Space { organization: false, spec: Default::default() },
        );
        let before = c.calls();
        match c.create(convert::to_wire(&s, &naming, "test")).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code, ErrorCode::Transient, "{e}");
                assert_eq!(c.calls() - before, 1, "a failed write is not retried");
                transient += 1;
            }
        }
    }
    assert!(transient > 0, "with a 40% error rate some of 15 creates fail");
}

#[tokio::test]
async fn plaintext_to_a_non_loopback_address_is_refused() {
    let o = GrpcOptions::new("http://192.0.2.1:4000", Credentials::None);
    let err = GrpcCluster::connect(o).await.expect_err("refused");
    assert!(err.message.contains("plaintext"), "{err}");
}
