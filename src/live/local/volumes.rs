//! Volume RPCs of the local cluster, after upstream `mains/volume.go` (octelium/cordium @
//! 580dcb4b): named `<volume>.<space>.<owner>`, at most 64 per Space, 1000 MB to 10,000,000 MB
//! (default 10000), EXCLUSIVE unless SHARED; UpdateVolume only grows one and never changes its
//! access mode; DeleteVolume is refused while a Template or Workspace of its Space mounts it.
//! Create, Update and Delete need Space ADMIN or OWNER, Get and List any member. Mounts are
//! resolved as `setWorkspaceVolumeMounts` does (`mains/workspacevalidation.go`).

use rusqlite::Connection;

use super::access;
use super::engine::{load, reference, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::{new_space_child, space_of, space_uid_of};
use super::store::{self, Filter, Stored};
use crate::live::wire::cordium::volume;
use crate::live::wire::{cordium, meta};

/// Per-Space cap on Volumes (upstream `maxVolumesPerSpace`).
pub const MAX_VOLUMES_PER_SPACE: u64 = 64;
/// Upstream `defaultVolumeMegabytes`.
pub const DEFAULT_VOLUME_MEGABYTES: u32 = 10 * 1000;
/// Upstream `maxVolumeMegabytes`.
pub const MAX_VOLUME_MEGABYTES: u32 = 10_000_000;

/// Upstream `checkVolumeSize` (no ClusterConfig maximum here).
fn check_size(megabytes: u32) -> ApiResult<()> {
    if megabytes < 1000 {
        return Err(ApiError::invalid("A Volume must be at least 1000 MB"));
    }
    if megabytes > MAX_VOLUME_MEGABYTES {
        return Err(ApiError::invalid(format!("The Volume size is too large: {megabytes} MB")));
    }
    Ok(())
}

fn megabytes(spec: &volume::Spec) -> u32 {
    spec.size.as_ref().map(|s| s.megabytes).unwrap_or_default()
}

impl Engine {
    // ---- Volume ------------------------------------------------------------------------

    pub fn create_volume(
        &self,
        caller: &str,
        mut req: cordium::Volume,
    ) -> ApiResult<cordium::Volume> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let (m, spec, space) = new_space_child(c, caller, req.metadata.take(), req.spec.take())
                .map_err(|e| match e.message.as_str() {
                    "Resource spec must be set" => ApiError::invalid("Spec is not set"),
                    _ => e,
                })?;
            access::check_admin(c, &uid_of(&space), &user)?;
            let in_space = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            if store::count::<cordium::Volume>(c, &in_space)? >= MAX_VOLUMES_PER_SPACE {
                return Err(ApiError::denied("Number of Volumes per Space has been exceeded"));
            }
            if store::name_taken(c, "Volume", &m.name)? {
                return Err(ApiError::invalid("This Volume name already exists"));
            }
            let size = match megabytes(&spec) {
                0 => DEFAULT_VOLUME_MEGABYTES,
                n => n,
            };
            let access_mode = match spec.access_mode() {
                volume::AccessMode::Unset => volume::AccessMode::Exclusive,
                other => other,
            };
            check_size(size)?;
            let mut v = cordium::Volume {
                metadata: Some(names::metadata_from(&m)),
                spec: Some(volume::Spec {
                    size: Some(volume::spec::Size { megabytes: size }),
                    access_mode: access_mode as i32,
                }),
                status: Some(volume::Status {
                    // Nothing provisions storage here: a Volume is ready once stored.
                    state: volume::status::State::Ready as i32,
                    space_ref: Some(reference(&space)),
                    user_ref: Some(reference(&user)),
                    capacity: Some(volume::spec::Size { megabytes: size }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            self.save_new(c, now, &mut v)?;
            Ok(v)
        })
    }

    /// UpdateVolume: the access mode is immutable; the size only grows.
    pub fn update_volume(
        &self,
        caller: &str,
        mut req: cordium::Volume,
    ) -> ApiResult<cordium::Volume> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            if let Some(m) = req.metadata.as_mut() {
                m.name = names::expand_space_child(&m.name, caller);
            }
            names::validate_metadata(
                req.metadata.as_ref(),
                MetaRules { require_name: false, parents: 2 },
            )?;
            let Some(spec) = req.spec.take() else {
                return Err(ApiError::invalid("Spec is not set"));
            };
            let m = req.metadata.unwrap_or_default();
            let mut v: cordium::Volume = load(c, &m.uid, &m.name)?;
            let space = space_of(c, v.status.as_ref().and_then(|s| s.space_ref.as_ref()))?;
            access::check_admin(c, &uid_of(&space), &user)?;
            let current = v.spec.unwrap_or_default();
            if spec.access_mode != 0 && spec.access_mode != current.access_mode {
                return Err(ApiError::invalid("The accessMode of a Volume is immutable"));
            }
            let want = megabytes(&spec);
            let have = megabytes(&current);
            if want != 0 && want != have {
                if want < have {
                    return Err(ApiError::invalid(format!(
                        "A Volume can only be grown. It is currently {have} MB while {want} MB is \
                         requested"
                    )));
                }
                check_size(want)?;
                let s = v.spec.get_or_insert_with(Default::default);
                s.size = Some(volume::spec::Size { megabytes: want });
                if let Some(st) = v.status.as_mut() {
                    st.capacity = Some(volume::spec::Size { megabytes: want });
                }
            }
            names::metadata_update(v.meta_mut(), &m);
            self.save(c, now, &mut v)?;
            Ok(v)
        })
    }

    pub fn delete_volume(&self, caller: &str, mut req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let v: cordium::Volume = load(c, &req.uid, &req.name)?;
            let space_uid = space_uid_of(v.status.as_ref().and_then(|s| s.space_ref.as_ref()));
            access::check_admin(c, &space_uid, &user)?;
            check_not_mounted(c, &v, &space_uid)?;
            store::delete(c, &uid_of(&v))?;
            Ok(())
        })
    }

    pub fn get_volume(&self, caller: &str, req: meta::GetOptions) -> ApiResult<cordium::Volume> {
        self.get_member_readable(caller, req)
    }

    pub fn list_volume(
        &self,
        caller: &str,
        req: cordium::ListVolumeOptions,
    ) -> ApiResult<cordium::VolumeList> {
        let (items, meta) =
            self.list_member_readable(caller, req.space_ref.as_ref(), req.common.as_ref())?;
        Ok(cordium::VolumeList {
            api_version: "cordium/v1".into(),
            kind: "VolumeList".into(),
            items,
            list_response_meta: Some(meta),
        })
    }
}

/// Upstream `checkVolumeIsNotMounted`: a Template, then a Workspace, of the Volume's Space whose
/// runtime mounts it (by uid) keeps it.
fn check_not_mounted(c: &Connection, v: &cordium::Volume, space_uid: &str) -> ApiResult<()> {
    let uid = uid_of(v);
    let mounts = |rt: Option<&cordium::workspace::spec::Runtime>| {
        rt.is_some_and(|rt| {
            rt.volume_mounts.iter().any(|m| m.volume_ref.as_ref().is_some_and(|r| r.uid == uid))
        })
    };
    let in_space = Filter { space_uid: Some(space_uid.to_string()), ..Default::default() };
    for t in store::all::<cordium::Template>(c, &in_space)? {
        if mounts(t.spec.as_ref().and_then(|s| s.runtime.as_ref())) {
            return Err(ApiError::invalid(format!(
                "The Volume cannot be deleted while it is mounted by the Template: {}",
                t.meta().map(|m| m.name.as_str()).unwrap_or_default()
            )));
        }
    }
    for w in store::all::<cordium::Workspace>(c, &in_space)? {
        if mounts(w.spec.as_ref().and_then(|s| s.runtime.as_ref())) {
            return Err(ApiError::invalid(format!(
                "The Volume cannot be deleted while it is mounted by the Workspace: {}",
                w.meta().map(|m| m.name.as_str()).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// Upstream `setWorkspaceVolumeMounts`: every mount names a Volume of the Space (a short name
/// is expanded with the Space's name), and is rewritten to that Volume's full reference.
pub(super) fn set_volume_mounts(
    c: &Connection,
    runtime: Option<&mut cordium::workspace::spec::Runtime>,
    space: &cordium::Space,
) -> ApiResult<()> {
    let Some(rt) = runtime else { return Ok(()) };
    let space_name = space.meta().map(|m| m.name.clone()).unwrap_or_default();
    for mount in &mut rt.volume_mounts {
        let r = mount.volume_ref.clone().unwrap_or_default();
        let shown = if r.name.is_empty() { r.uid.clone() } else { r.name.clone() };
        let full = if r.name.is_empty() || r.name.split('.').count() >= 3 {
            r.name.clone()
        } else {
            format!("{}.{space_name}", r.name)
        };
        let found = if !full.is_empty() {
            store::get_by_name::<cordium::Volume>(c, &full)?
        } else {
            store::get_by_uid::<cordium::Volume>(c, &r.uid)?
        };
        let Some(v) = found.filter(|v| {
            v.status
                .as_ref()
                .and_then(|s| s.space_ref.as_ref())
                .is_some_and(|s| s.uid == uid_of(space))
        }) else {
            return Err(ApiError::invalid(format!("The Volume does not exist: {shown}")));
        };
        mount.volume_ref = Some(reference(&v));
    }
    Ok(())
}
