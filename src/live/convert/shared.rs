//! The spec pieces Workspace, Template and Space share (`Workspace.Spec.*`): image, runtime,
//! repository, limit, vars, applications, field by field in both directions.
//!
//! Oneofs: the model holds one optional field per variant; the first one set (in wire order)
//! is sent. Validation guarantees at most one is set. Pure.

use super::{from_opt, from_vec, to_opt, to_vec, Wire};
use crate::live::wire::cordium::workspace::spec as w;
use crate::live::wire::meta;
use crate::model::spec as m;

impl Wire<w::Image> for m::Image {
    fn to_wire(&self) -> w::Image {
        use w::image::Type;
        let r#type = if let Some(d) = &self.dockerfile {
            Some(Type::Dockerfile(d.to_wire()))
        } else if let Some(r) = &self.registry {
            Some(Type::Registry(r.to_wire()))
        } else if let Some(g) = &self.git {
            Some(Type::Git(g.to_wire()))
        } else {
            self.repository.as_ref().map(|r| Type::Repository(r.to_wire()))
        };
        w::Image { r#type }
    }

    fn from_wire(w: &w::Image) -> Self {
        use w::image::Type;
        let mut m = m::Image::default();
        match &w.r#type {
            Some(Type::Dockerfile(d)) => m.dockerfile = Some(Wire::from_wire(d)),
            Some(Type::Registry(r)) => m.registry = Some(Wire::from_wire(r)),
            Some(Type::Git(g)) => m.git = Some(Wire::from_wire(g)),
            Some(Type::Repository(r)) => m.repository = Some(Wire::from_wire(r)),
            None => {}
        }
        m
    }
}

impl Wire<w::image::Dockerfile> for m::ImageDockerfile {
    fn to_wire(&self) -> w::image::Dockerfile {
        use w::image::dockerfile::Type;
        let r#type = match (&self.inline, &self.url) {
            (Some(i), _) => Some(Type::Inline(i.clone())),
            (None, Some(u)) => Some(Type::Url(u.clone())),
            (None, None) => None,
        };
        w::image::Dockerfile { r#type }
    }

    fn from_wire(w: &w::image::Dockerfile) -> Self {
        use w::image::dockerfile::Type;
        match &w.r#type {
            Some(Type::Inline(i)) => m::ImageDockerfile { inline: Some(i.clone()), url: None },
            Some(Type::Url(u)) => m::ImageDockerfile { inline: None, url: Some(u.clone()) },
            None => m::ImageDockerfile::default(),
        }
    }
}

impl Wire<w::image::Registry> for m::ImageRegistry {
    fn to_wire(&self) -> w::image::Registry {
        w::image::Registry { url: self.url.clone(), authentication: to_opt(&self.authentication) }
    }

    fn from_wire(w: &w::image::Registry) -> Self {
        m::ImageRegistry { url: w.url.clone(), authentication: from_opt(&w.authentication) }
    }
}

impl Wire<w::image::registry::Authentication> for m::RegistryAuthentication {
    fn to_wire(&self) -> w::image::registry::Authentication {
        w::image::registry::Authentication {
            username: self.username.clone(),
            password: to_opt(&self.password),
        }
    }

    fn from_wire(w: &w::image::registry::Authentication) -> Self {
        m::RegistryAuthentication { username: w.username.clone(), password: from_opt(&w.password) }
    }
}

impl Wire<w::image::registry::authentication::Password> for m::SecretRef {
    fn to_wire(&self) -> w::image::registry::authentication::Password {
        use w::image::registry::authentication::password::Type;
        w::image::registry::authentication::Password {
            r#type: self.from_secret.clone().map(Type::FromSecret),
        }
    }

    fn from_wire(w: &w::image::registry::authentication::Password) -> Self {
        use w::image::registry::authentication::password::Type;
        m::SecretRef {
            from_secret: w.r#type.as_ref().map(|t| match t {
                Type::FromSecret(s) => s.clone(),
            }),
        }
    }
}

impl Wire<w::repository::authentication::http::Password> for m::SecretRef {
    fn to_wire(&self) -> w::repository::authentication::http::Password {
        use w::repository::authentication::http::password::Type;
        w::repository::authentication::http::Password {
            r#type: self.from_secret.clone().map(Type::FromSecret),
        }
    }

    fn from_wire(w: &w::repository::authentication::http::Password) -> Self {
        use w::repository::authentication::http::password::Type;
        m::SecretRef {
            from_secret: w.r#type.as_ref().map(|t| match t {
                Type::FromSecret(s) => s.clone(),
            }),
        }
    }
}

impl Wire<w::image::Git> for m::ImageGit {
    fn to_wire(&self) -> w::image::Git {
        w::image::Git {
            url: self.url.clone(),
            checkout: self.checkout.clone(),
            dockerfile: self.dockerfile.clone(),
            context: self.context.clone(),
        }
    }

    fn from_wire(w: &w::image::Git) -> Self {
        m::ImageGit {
            url: w.url.clone(),
            checkout: w.checkout.clone(),
            dockerfile: w.dockerfile.clone(),
            context: w.context.clone(),
        }
    }
}

impl Wire<w::image::Repository> for m::ImageRepository {
    fn to_wire(&self) -> w::image::Repository {
        use w::image::repository::{Devcontainer, Dockerfile, Type};
        let r#type = match (&self.devcontainer, &self.dockerfile) {
            (Some(d), _) => Some(Type::Devcontainer(Devcontainer { dir_path: d.dir_path.clone() })),
            (None, Some(d)) => Some(Type::Dockerfile(Dockerfile {
                path: d.path.clone(),
                context: d.context.clone(),
            })),
            (None, None) => None,
        };
        w::image::Repository { r#type }
    }

    fn from_wire(w: &w::image::Repository) -> Self {
        use w::image::repository::Type;
        let mut m = m::ImageRepository::default();
        match &w.r#type {
            Some(Type::Devcontainer(d)) => {
                m.devcontainer =
                    Some(m::ImageRepositoryDevcontainer { dir_path: d.dir_path.clone() })
            }
            Some(Type::Dockerfile(d)) => {
                m.dockerfile = Some(m::ImageRepositoryDockerfile {
                    path: d.path.clone(),
                    context: d.context.clone(),
                })
            }
            None => {}
        }
        m
    }
}

impl Wire<w::Runtime> for m::Runtime {
    fn to_wire(&self) -> w::Runtime {
        w::Runtime {
            env_vars: to_vec(&self.env_vars),
            tasks: to_vec(&self.tasks),
            disable_init: self.disable_init,
            cmd: self.cmd.clone(),
            entrypoint: self.entrypoint.clone(),
            devcontainers: to_opt(&self.devcontainers),
            octelium: to_opt(&self.octelium),
            network: to_opt(&self.network),
            filesystem: self
                .filesystem
                .as_ref()
                .map(|f| w::runtime::Filesystem { read_only: f.read_only }),
            capabilities: to_opt(&self.capabilities),
            timeout: self.timeout.as_ref().map(|t| w::runtime::Timeout { mode: t.mode.number() }),
            auto_stop: self.auto_stop,
            volume_mounts: to_vec(&self.volume_mounts),
        }
    }

    fn from_wire(w: &w::Runtime) -> Self {
        m::Runtime {
            env_vars: from_vec(&w.env_vars),
            tasks: from_vec(&w.tasks),
            disable_init: w.disable_init,
            cmd: w.cmd.clone(),
            entrypoint: w.entrypoint.clone(),
            devcontainers: from_opt(&w.devcontainers),
            octelium: from_opt(&w.octelium),
            network: from_opt(&w.network),
            filesystem: w
                .filesystem
                .as_ref()
                .map(|f| Box::new(m::Filesystem { read_only: f.read_only })),
            capabilities: from_opt(&w.capabilities),
            timeout: w
                .timeout
                .as_ref()
                .map(|t| Box::new(m::Timeout { mode: m::TimeoutMode::from_number(t.mode) })),
            auto_stop: w.auto_stop,
            volume_mounts: from_vec(&w.volume_mounts),
        }
    }
}

impl Wire<w::runtime::EnvVar> for m::EnvVar {
    fn to_wire(&self) -> w::runtime::EnvVar {
        use w::runtime::env_var::Type;
        let r#type = match (&self.value, &self.from_secret) {
            (Some(v), _) => Some(Type::Value(v.clone())),
            (None, Some(s)) => Some(Type::FromSecret(s.clone())),
            (None, None) => None,
        };
        w::runtime::EnvVar { key: self.key.clone(), r#type }
    }

    fn from_wire(w: &w::runtime::EnvVar) -> Self {
        use w::runtime::env_var::Type;
        let (value, from_secret) = match &w.r#type {
            Some(Type::Value(v)) => (Some(v.clone()), None),
            Some(Type::FromSecret(s)) => (None, Some(s.clone())),
            None => (None, None),
        };
        m::EnvVar { key: w.key.clone(), value, from_secret }
    }
}

impl Wire<w::runtime::Task> for m::Task {
    fn to_wire(&self) -> w::runtime::Task {
        w::runtime::Task {
            name: self.name.clone(),
            run: self.run.clone(),
            r#type: self.r#type.number(),
            env_vars: to_vec(&self.env_vars),
            working_dir: self.working_dir.clone(),
            is_background: self.is_background,
            on_failure: self.on_failure.number(),
            run_as_root: self.run_as_root,
        }
    }

    fn from_wire(w: &w::runtime::Task) -> Self {
        m::Task {
            name: w.name.clone(),
            run: w.run.clone(),
            r#type: m::TaskType::from_number(w.r#type),
            env_vars: from_vec(&w.env_vars),
            working_dir: w.working_dir.clone(),
            is_background: w.is_background,
            on_failure: m::TaskOnFailure::from_number(w.on_failure),
            run_as_root: w.run_as_root,
        }
    }
}

impl Wire<w::runtime::task::EnvVar> for m::TaskEnvVar {
    fn to_wire(&self) -> w::runtime::task::EnvVar {
        w::runtime::task::EnvVar { key: self.key.clone(), value: self.value.clone() }
    }

    fn from_wire(w: &w::runtime::task::EnvVar) -> Self {
        m::TaskEnvVar { key: w.key.clone(), value: w.value.clone() }
    }
}

impl Wire<w::runtime::Devcontainers> for m::Devcontainers {
    fn to_wire(&self) -> w::runtime::Devcontainers {
        w::runtime::Devcontainers { features: to_vec(&self.features) }
    }

    fn from_wire(w: &w::runtime::Devcontainers) -> Self {
        m::Devcontainers { features: from_vec(&w.features) }
    }
}

impl Wire<w::runtime::devcontainers::Feature> for m::DevcontainerFeature {
    fn to_wire(&self) -> w::runtime::devcontainers::Feature {
        w::runtime::devcontainers::Feature {
            reference: self.reference.clone(),
            options: self
                .options
                .iter()
                .map(|o| w::runtime::devcontainers::feature::Option {
                    key: o.key.clone(),
                    value: o.value.clone(),
                })
                .collect(),
        }
    }

    fn from_wire(w: &w::runtime::devcontainers::Feature) -> Self {
        m::DevcontainerFeature {
            reference: w.reference.clone(),
            options: w
                .options
                .iter()
                .map(|o| m::KeyValue { key: o.key.clone(), value: o.value.clone() })
                .collect(),
        }
    }
}

impl Wire<w::runtime::Octelium> for m::RuntimeOctelium {
    fn to_wire(&self) -> w::runtime::Octelium {
        w::runtime::Octelium {
            serve_services: self.serve_services.clone(),
            serve_all: self.serve_all,
        }
    }

    fn from_wire(w: &w::runtime::Octelium) -> Self {
        m::RuntimeOctelium { serve_services: w.serve_services.clone(), serve_all: w.serve_all }
    }
}

impl Wire<w::runtime::Network> for m::Network {
    fn to_wire(&self) -> w::runtime::Network {
        w::runtime::Network {
            egress: self.egress.as_ref().map(|e| w::runtime::network::Egress {
                rules: to_vec(&e.rules),
                default_action: e.default_action.number(),
            }),
        }
    }

    fn from_wire(w: &w::runtime::Network) -> Self {
        m::Network {
            egress: w.egress.as_ref().map(|e| m::Egress {
                rules: from_vec(&e.rules),
                default_action: m::EgressDefaultAction::from_number(e.default_action),
            }),
        }
    }
}

impl Wire<w::runtime::network::Rule> for m::NetworkRule {
    fn to_wire(&self) -> w::runtime::network::Rule {
        w::runtime::network::Rule {
            cidrs: self.cidrs.clone(),
            action: self.action.number(),
            ports: self.ports.clone(),
        }
    }

    fn from_wire(w: &w::runtime::network::Rule) -> Self {
        m::NetworkRule {
            cidrs: w.cidrs.clone(),
            action: m::RuleAction::from_number(w.action),
            ports: w.ports.clone(),
        }
    }
}

impl Wire<w::runtime::Capabilities> for m::Capabilities {
    fn to_wire(&self) -> w::runtime::Capabilities {
        w::runtime::Capabilities { add: self.add.clone(), drop: self.drop.clone() }
    }

    fn from_wire(w: &w::runtime::Capabilities) -> Self {
        m::Capabilities { add: w.add.clone(), drop: w.drop.clone() }
    }
}

impl Wire<w::runtime::VolumeMount> for m::VolumeMount {
    fn to_wire(&self) -> w::runtime::VolumeMount {
        w::runtime::VolumeMount {
            volume_ref: to_opt(&self.volume_ref),
            mount_path: self.mount_path.clone(),
            read_only: self.read_only,
        }
    }

    fn from_wire(w: &w::runtime::VolumeMount) -> Self {
        m::VolumeMount {
            volume_ref: from_opt(&w.volume_ref),
            mount_path: w.mount_path.clone(),
            read_only: w.read_only,
        }
    }
}

impl Wire<meta::ObjectReference> for m::ObjectRef {
    fn to_wire(&self) -> meta::ObjectReference {
        meta::ObjectReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            uid: self.uid.clone(),
            name: self.name.clone(),
            resource_version: self.resource_version.clone(),
        }
    }

    fn from_wire(w: &meta::ObjectReference) -> Self {
        m::ObjectRef {
            api_version: w.api_version.clone(),
            kind: w.kind.clone(),
            uid: w.uid.clone(),
            name: w.name.clone(),
            resource_version: w.resource_version.clone(),
        }
    }
}

impl Wire<w::Repository> for m::Repository {
    fn to_wire(&self) -> w::Repository {
        w::Repository {
            url: self.url.clone(),
            clone_options: self.clone_options.as_ref().map(|c| w::repository::CloneOptions {
                branch: c.branch.clone(),
                depth: c.depth,
                single_branch: c.single_branch,
                shallow_submodules: c.shallow_submodules,
                checkout: c.checkout.clone(),
                disable_lazy_unshallow: c.disable_lazy_unshallow,
            }),
            authentication: self.authentication.as_ref().map(|a| {
                use w::repository::authentication::{Http, Type};
                w::repository::Authentication {
                    r#type: a.http.as_ref().map(|h| {
                        Type::Http(Http {
                            username: h.username.clone(),
                            password: to_opt(&h.password),
                        })
                    }),
                }
            }),
        }
    }

    fn from_wire(w: &w::Repository) -> Self {
        m::Repository {
            url: w.url.clone(),
            clone_options: w.clone_options.as_ref().map(|c| m::CloneOptions {
                branch: c.branch.clone(),
                depth: c.depth,
                single_branch: c.single_branch,
                shallow_submodules: c.shallow_submodules,
                checkout: c.checkout.clone(),
                disable_lazy_unshallow: c.disable_lazy_unshallow,
            }),
            authentication: w.authentication.as_ref().map(|a| {
                use w::repository::authentication::Type;
                m::RepositoryAuthentication {
                    http: a.r#type.as_ref().map(|t| match t {
                        Type::Http(h) => m::HttpAuthentication {
                            username: h.username.clone(),
                            password: from_opt(&h.password),
                        },
                    }),
                }
            }),
        }
    }
}

impl Wire<w::AdditionalRepository> for m::AdditionalRepository {
    fn to_wire(&self) -> w::AdditionalRepository {
        w::AdditionalRepository {
            name: self.name.clone(),
            clone_path: self.clone_path.clone(),
            repository: to_opt(&self.repository),
        }
    }

    fn from_wire(w: &w::AdditionalRepository) -> Self {
        m::AdditionalRepository {
            name: w.name.clone(),
            clone_path: w.clone_path.clone(),
            repository: from_opt(&w.repository),
        }
    }
}

impl Wire<w::Application> for m::Application {
    fn to_wire(&self) -> w::Application {
        w::Application {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            port: self.port,
            is_default: self.is_default,
        }
    }

    fn from_wire(w: &w::Application) -> Self {
        m::Application {
            name: w.name.clone(),
            display_name: w.display_name.clone(),
            port: w.port,
            is_default: w.is_default,
        }
    }
}

impl Wire<w::Limit> for m::Limit {
    fn to_wire(&self) -> w::Limit {
        w::Limit {
            cpu: self.cpu.as_ref().map(|c| w::limit::Cpu { millicores: c.millicores }),
            memory: self.memory.as_ref().map(|x| w::limit::Memory { megabytes: x.megabytes }),
            storage: self.storage.as_ref().map(|x| w::limit::Storage { megabytes: x.megabytes }),
        }
    }

    fn from_wire(w: &w::Limit) -> Self {
        m::Limit {
            cpu: w.cpu.as_ref().map(|c| m::LimitCpu { millicores: c.millicores }),
            memory: w.memory.as_ref().map(|x| m::LimitMegabytes { megabytes: x.megabytes }),
            storage: w.storage.as_ref().map(|x| m::LimitMegabytes { megabytes: x.megabytes }),
        }
    }
}

impl Wire<w::Var> for m::Var {
    fn to_wire(&self) -> w::Var {
        w::Var { name: self.name.clone(), value: self.value.clone() }
    }

    fn from_wire(w: &w::Var) -> Self {
        m::Var { name: w.name.clone(), value: w.value.clone() }
    }
}
