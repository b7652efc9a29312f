//! Membership RPCs of the local cluster, after upstream `mains/membership.go` (octelium/cordium
//! @ 619792c) and `commonw/common.go` (the role checks): who is in a Space with which role.
//! A Membership is named `<username>.<space>`; CreateMembership takes a request naming the
//! Space (by uid, and by name for the caller's own role) and the User; organisation Spaces
//! only; adding yourself is refused; an OWNER is made only by an OWNER. The Space's creator
//! (OWNER since CreateSpace) can neither be removed ("Space Creators cannot remove
//! themselves") nor change role ("Space Creators cannot update their own Memberships"), which
//! is how upstream keeps a Space from losing its last OWNER.

use super::access::{self, Role};
use super::engine::{load, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::{space_of, space_owner};
use super::store::{self, Filter};
use crate::live::wire::{cordium, core, meta};

use cordium::space::status::Type as SpaceType;

/// Per-Space cap on Memberships (upstream `maxMembersPerSpace`).
pub const MAX_MEMBERS_PER_SPACE: u64 = 2000;

impl Engine {
    // ---- Membership --------------------------------------------------------------------

    /// CreateMembership, in upstream's order: the Space reference, the caller ADMIN or OWNER,
    /// the User, the Space (by uid), not yourself, not a member already, the cap, an
    /// organisation Space, and for an OWNER role the caller OWNER.
    pub fn create_membership(
        &self,
        caller: &str,
        req: cordium::CreateMembershipRequest,
    ) -> ApiResult<cordium::Membership> {
        self.tx(|c, now| {
            let me = self.caller(c, now, caller)?;
            let Some(space_ref) = req.space_ref.clone() else {
                return Err(ApiError::invalid("SpaceRef is not provided"));
            };
            // Upstream checks the reference with `ParentsMust: 1`, reads the caller's role by
            // its name (`GetMembershipName`) and the Space by its uid: both are needed.
            names::check_ref(&space_ref.uid, &space_ref.name, 1)?;
            let by_name = store::get_by_name::<cordium::Space>(c, &space_ref.name)?;
            let Some(named) = by_name else {
                return Err(ApiError::denied("The User is not authorized to do this operation"));
            };
            access::check_admin(c, &uid_of(&named), &me)?;
            let user = match &req.user_type {
                Some(cordium::create_membership_request::UserType::UserRef(r)) => {
                    names::check_ref(&r.uid, &r.name, 0)?;
                    load::<core::User>(c, &r.uid, &r.name)?
                }
                Some(cordium::create_membership_request::UserType::Email(email)) => {
                    by_email(c, email)?
                }
                None => {
                    return Err(ApiError::invalid(
                        "You must provide either a User email or a User Reference",
                    ))
                }
            };
            let space: cordium::Space = load(c, &space_ref.uid, "")?;
            if uid_of(&me) == uid_of(&user) {
                return Err(ApiError::invalid("You cannot add yourself as a Member"));
            }
            if store::membership(c, &uid_of(&space), &uid_of(&user))?.is_some() {
                return Err(ApiError::invalid("User is already a Member in this Space"));
            }
            if store::count_memberships(c, &uid_of(&space))? >= MAX_MEMBERS_PER_SPACE {
                return Err(ApiError::denied("Number of Members per Space has been exceeded"));
            }
            let ty = space.status.as_ref().map(|s| s.r#type()).unwrap_or_default();
            if ty == SpaceType::User {
                return Err(ApiError::invalid("Cannot add Members to User Spaces for now"));
            }
            let role = Role::from_i32(req.role).unwrap_or(Role::User);
            if role == Role::Owner {
                check_owner(c, &uid_of(&space), &me)?;
                if !self.space_ownership.allows(&user, SpaceType::Organization) {
                    return Err(ApiError::denied("This User is not authorized to become an OWNER"));
                }
            }
            self.put_membership(c, now, &space, &user, role)
        })
    }

    /// UpdateMembership: the role only. The Space's creator cannot change its own; an OWNER
    /// role needs an OWNER caller.
    pub fn update_membership(
        &self,
        caller: &str,
        mut req: cordium::Membership,
    ) -> ApiResult<cordium::Membership> {
        self.tx(|c, now| {
            let me = self.caller(c, now, caller)?;
            if let Some(m) = req.metadata.as_mut() {
                m.name = names::expand_space_child(&m.name, caller);
            }
            names::validate_metadata(
                req.metadata.as_ref(),
                MetaRules { require_name: false, parents: 2 },
            )?;
            let Some(spec) = req.spec.take() else {
                return Err(ApiError::invalid("Resource spec must be set"));
            };
            let m = req.metadata.unwrap_or_default();
            let mut item: cordium::Membership = load(c, &m.uid, &m.name)?;
            let status = item.status.clone().unwrap_or_default();
            let space = space_of(c, status.space_ref.as_ref())?;
            access::check_admin(c, &uid_of(&space), &me)?;
            let current = item.spec.as_ref().map(|s| s.role).unwrap_or_default();
            if current == 0 {
                return Err(ApiError::invalid("The Role cannot be unknown"));
            }
            let member = status.user_ref.as_ref().map(|r| r.uid.as_str()).unwrap_or_default();
            if spec.role != current && space_owner(&space).is_some_and(|o| o.uid == member) {
                return Err(ApiError::invalid(
                    "Space Creators cannot update their own Memberships",
                ));
            }
            item.spec.get_or_insert_with(Default::default).role = spec.role;
            if spec.role == Role::Owner as i32 {
                check_owner(c, &uid_of(&space), &me)?;
                let user = store::get_by_uid::<core::User>(c, member)?.unwrap_or_default();
                if !self.space_ownership.allows(&user, SpaceType::Organization) {
                    return Err(ApiError::denied("This User is not authorized to become an OWNER"));
                }
            }
            self.save(c, now, &mut item)?;
            Ok(item)
        })
    }

    /// DeleteMembership: never the Space creator's; the caller ADMIN or OWNER, and OWNER to
    /// remove an OWNER.
    pub fn delete_membership(&self, caller: &str, mut req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let me = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let item: cordium::Membership = load(c, &req.uid, &req.name)?;
            let status = item.status.clone().unwrap_or_default();
            let space = space_of(c, status.space_ref.as_ref())?;
            let member = status.user_ref.as_ref().map(|r| r.uid.as_str()).unwrap_or_default();
            if space_owner(&space).is_some_and(|o| o.uid == member) {
                return Err(ApiError::denied("Space Creators cannot remove themselves"));
            }
            access::check_admin(c, &uid_of(&space), &me)?;
            if item.spec.as_ref().map(|s| s.role) == Some(Role::Owner as i32) {
                check_owner(c, &uid_of(&space), &me)?;
            }
            store::delete(c, &uid_of(&item))?;
            Ok(())
        })
    }

    /// GetMembership: any member of its Space.
    pub fn get_membership(
        &self,
        caller: &str,
        req: meta::GetOptions,
    ) -> ApiResult<cordium::Membership> {
        self.get_member_readable(caller, req)
    }

    /// ListMembership: `spaceRef` is required; any member.
    pub fn list_membership(
        &self,
        caller: &str,
        req: cordium::ListMembershipOptions,
    ) -> ApiResult<cordium::MembershipList> {
        let (items, meta) =
            self.list_member_readable(caller, req.space_ref.as_ref(), req.common.as_ref())?;
        Ok(cordium::MembershipList {
            api_version: "cordium/v1".into(),
            kind: "MembershipList".into(),
            items,
            list_response_meta: Some(meta),
        })
    }

    /// CreateMembership for a Membership object (the in-process cluster's create): the request
    /// names the Space by uid, looked up by the name the object carries.
    pub fn create_membership_object(
        &self,
        caller: &str,
        m: cordium::Membership,
    ) -> ApiResult<cordium::Membership> {
        let status = m.status.clone().unwrap_or_default();
        let space_name = status.space_ref.map(|r| r.name).unwrap_or_default();
        let uid = self
            .tx(|c, _| {
                Ok(store::get_by_name::<cordium::Space>(c, &space_name)?.map(|s| uid_of(&s)))
            })?
            .unwrap_or_default();
        self.create_membership(caller, crate::live::convert::membership_request(&m, &uid))
    }
}

/// Upstream `CheckIsMemberOwner`.
fn check_owner(c: &rusqlite::Connection, space_uid: &str, user: &core::User) -> ApiResult<()> {
    match access::role(c, space_uid, user)? {
        Some(Role::Owner) => Ok(()),
        _ => Err(ApiError::denied("The User is not authorized to do this operation")),
    }
}

/// The User with this email (upstream lists Users by the email's slug and wants exactly one).
fn by_email(c: &rusqlite::Connection, email: &str) -> ApiResult<core::User> {
    if email.is_empty() {
        return Err(ApiError::invalid("Email is empty"));
    }
    if !email.is_ascii() || email.len() > 150 || !email.contains('@') {
        return Err(ApiError::invalid("Invalid email"));
    }
    let users = store::all::<core::User>(
        c,
        &Filter { subtype: Some(email.to_string()), ..Default::default() },
    )?;
    match users.as_slice() {
        [u] => Ok(u.clone()),
        _ => Err(ApiError::invalid("This User does not exist")),
    }
}
