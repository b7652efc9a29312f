//! The cordium.v1 and core.v1 gRPC services of `cordium serve`: each RPC takes the caller from
//! the auth interceptor, applies fault injection, and runs the matching [`Engine`] operation on a
//! blocking thread. Holds no server rules of its own.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::Caller;
use super::faults::{ErrorMode, Faults};
use crate::live::local::{ApiError, ApiResult, Code, Engine};
use crate::live::wire::{cordium, core, meta};

/// What both services share.
#[derive(Debug, Clone)]
pub struct Backend {
    pub engine: Arc<Engine>,
    pub faults: Arc<Faults>,
}

fn status(e: ApiError) -> Status {
    let code = match e.code {
        Code::NotFound => tonic::Code::NotFound,
        Code::AlreadyExists => tonic::Code::AlreadyExists,
        Code::InvalidArgument => tonic::Code::InvalidArgument,
        Code::PermissionDenied => tonic::Code::PermissionDenied,
        Code::Unauthenticated => tonic::Code::Unauthenticated,
        Code::FailedPrecondition => tonic::Code::FailedPrecondition,
        Code::Internal => tonic::Code::Internal,
    };
    Status::new(code, e.message)
}

impl Backend {
    /// Runs one RPC: caller, faults, the engine operation.
    async fn call<Q, R>(
        &self,
        request: Request<Q>,
        op: impl FnOnce(&Engine, &str, Q) -> ApiResult<R> + Send + 'static,
    ) -> Result<Response<R>, Status>
    where
        Q: Send + 'static,
        R: Send + 'static,
    {
        let Some(Caller { username: caller, .. }) = request.extensions().get::<Caller>().cloned()
        else {
            return Err(Status::unauthenticated("Unauthenticated User"));
        };
        let decision = self.faults.decide();
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        if decision.fail == Some(ErrorMode::Before) {
            return Err(decision.status());
        }
        let engine = self.engine.clone();
        let message = request.into_inner();
        let result = tokio::task::spawn_blocking(move || op(&engine, &caller, message))
            .await
            .map_err(|e| Status::internal(format!("the operation did not finish: {e}")))?;
        if decision.fail == Some(ErrorMode::After) {
            return Err(decision.status());
        }
        result.map(Response::new).map_err(status)
    }
}

fn done(r: ApiResult<()>) -> ApiResult<meta::OperationResult> {
    r.map(|()| meta::OperationResult {})
}

/// cordium.v1 MainService.
#[derive(Debug, Clone)]
pub struct CordiumService(pub Backend);

/// Implements a generated service trait: one line per RPC. (`async_trait` must see the
/// expanded methods, so the macro emits the whole impl.)
macro_rules! service {
    ($trait:path, $ty:ty, $( $name:ident($req:ty) -> $resp:ty = |$e:ident, $c:ident, $m:ident| $body:expr; )*) => {
        #[tonic::async_trait]
        impl $trait for $ty {
            $(
                async fn $name(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.0.call(request, move |$e: &Engine, $c: &str, $m: $req| $body).await
                }
            )*
        }
    };
}

service! {
    cordium::main_service_server::MainService, CordiumService,
    create_secret(cordium::Secret) -> cordium::Secret = |e, c, m| e.create_secret(c, m);
    list_secret(cordium::ListSecretOptions) -> cordium::SecretList = |e, c, m| e.list_secret(c, m);
    delete_secret(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_secret(c, m));
    get_secret(meta::GetOptions) -> cordium::Secret = |e, c, m| e.get_secret(c, m);
    create_template(cordium::Template) -> cordium::Template = |e, c, m| e.create_template(c, m);
    update_template(cordium::Template) -> cordium::Template = |e, c, m| e.update_template(c, m);
    delete_template(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_template(c, m));
    build_template(cordium::BuildTemplateRequest) -> cordium::Template = |e, c, m| e.build_template(c, m);
    cancel_build_template(cordium::CancelBuildTemplateRequest) -> cordium::Template = |e, c, m| e.cancel_build_template(c, m);
    create_space(cordium::Space) -> cordium::Space = |e, c, m| e.create_space(c, m);
    update_space(cordium::Space) -> cordium::Space = |e, c, m| e.update_space(c, m);
    delete_space(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_space(c, m));
    create_workspace(cordium::Workspace) -> cordium::Workspace = |e, c, m| e.create_workspace(c, m);
    update_workspace(cordium::Workspace) -> cordium::Workspace = |e, c, m| e.update_workspace(c, m);
    delete_workspace(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_workspace(c, m));
    list_workspace(cordium::ListWorkspaceOptions) -> cordium::WorkspaceList = |e, c, m| e.list_workspace(c, m);
    list_space(cordium::ListSpaceOptions) -> cordium::SpaceList = |e, c, m| e.list_space(c, m);
    list_template(cordium::ListTemplateOptions) -> cordium::TemplateList = |e, c, m| e.list_template(c, m);
    get_space(meta::GetOptions) -> cordium::Space = |e, c, m| e.get_space(c, m);
    get_workspace(meta::GetOptions) -> cordium::Workspace = |e, c, m| e.get_workspace(c, m);
    get_template(meta::GetOptions) -> cordium::Template = |e, c, m| e.get_template(c, m);
    create_membership(cordium::CreateMembershipRequest) -> cordium::Membership = |e, c, m| e.create_membership(c, m);
    update_membership(cordium::Membership) -> cordium::Membership = |e, c, m| e.update_membership(c, m);
    delete_membership(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_membership(c, m));
    get_membership(meta::GetOptions) -> cordium::Membership = |e, c, m| e.get_membership(c, m);
    list_membership(cordium::ListMembershipOptions) -> cordium::MembershipList = |e, c, m| e.list_membership(c, m);
    create_git_provider(cordium::GitProvider) -> cordium::GitProvider = |e, c, m| e.create_git_provider(c, m);
    update_git_provider(cordium::GitProvider) -> cordium::GitProvider = |e, c, m| e.update_git_provider(c, m);
    delete_git_provider(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_git_provider(c, m));
    get_git_provider(meta::GetOptions) -> cordium::GitProvider = |e, c, m| e.get_git_provider(c, m);
    list_git_provider(cordium::ListGitProviderOptions) -> cordium::GitProviderList = |e, c, m| e.list_git_provider(c, m);
    create_volume(cordium::Volume) -> cordium::Volume = |e, c, m| e.create_volume(c, m);
    update_volume(cordium::Volume) -> cordium::Volume = |e, c, m| e.update_volume(c, m);
    delete_volume(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_volume(c, m));
    get_volume(meta::GetOptions) -> cordium::Volume = |e, c, m| e.get_volume(c, m);
    list_volume(cordium::ListVolumeOptions) -> cordium::VolumeList = |e, c, m| e.list_volume(c, m);
}

/// core.v1 MainService.
#[derive(Debug, Clone)]
pub struct CoreService(pub Backend);

service! {
    core::main_service_server::MainService, CoreService,
    create_policy(core::Policy) -> core::Policy = |e, c, m| e.create_core(c, m);
    list_policy(core::ListPolicyOptions) -> core::PolicyList = |e, c, m| e.list_core::<core::Policy>(c, m.common);
    update_policy(core::Policy) -> core::Policy = |e, c, m| e.update_core(c, m);
    delete_policy(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_core::<core::Policy>(c, m));
    get_policy(meta::GetOptions) -> core::Policy = |e, c, m| e.get_core(c, m);
    create_user(core::User) -> core::User = |e, c, m| e.create_core(c, m);
    list_user(core::ListUserOptions) -> core::UserList = |e, c, m| e.list_core::<core::User>(c, m.common);
    update_user(core::User) -> core::User = |e, c, m| e.update_core(c, m);
    delete_user(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_core::<core::User>(c, m));
    get_user(meta::GetOptions) -> core::User = |e, c, m| e.get_core(c, m);
    create_group(core::Group) -> core::Group = |e, c, m| e.create_core(c, m);
    list_group(core::ListGroupOptions) -> core::GroupList = |e, c, m| e.list_core::<core::Group>(c, m.common);
    update_group(core::Group) -> core::Group = |e, c, m| e.update_core(c, m);
    delete_group(meta::DeleteOptions) -> meta::OperationResult = |e, c, m| done(e.delete_core::<core::Group>(c, m));
    get_group(meta::GetOptions) -> core::Group = |e, c, m| e.get_core(c, m);
}
