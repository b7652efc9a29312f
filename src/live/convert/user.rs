//! User (Octelium `core/v1`) ↔ wire: `User.Spec` field by field (policies, conditions,
//! durations, `attrs` as a JSON object), the object sent, and the live view. Pure.

use super::{from_opt, from_struct, from_vec, json, to_opt, to_struct, to_vec, LiveResource, Wire};
use crate::live::wire::core::{self as wcore, user};
use crate::live::wire::meta;
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<user::Spec> for m::UserSpec {
    fn to_wire(&self) -> user::Spec {
        user::Spec {
            groups: self.groups.clone(),
            email: self.email.clone(),
            r#type: self.r#type.number(),
            info: self.info.as_ref().map(|i| user::spec::Info {
                locale: i.locale.clone(),
                phone: i.phone.clone(),
                first_name: i.first_name.clone(),
                middle_name: i.middle_name.clone(),
                last_name: i.last_name.clone(),
                website: i.website.clone(),
                country: i.country.clone(),
            }),
            session: self.session.as_ref().map(|s| user::spec::Session {
                client_duration: to_opt(&s.client_duration),
                clientless_duration: to_opt(&s.clientless_duration),
                access_token_duration: to_opt(&s.access_token_duration),
                refresh_token_duration: to_opt(&s.refresh_token_duration),
                max_per_user: s.max_per_user,
                default_state: s.default_state.number(),
            }),
            authorization: self.authorization.as_ref().map(|a| user::spec::Authorization {
                policies: a.policies.clone(),
                inline_policies: to_vec(&a.inline_policies),
            }),
            is_disabled: self.is_disabled,
            attrs: self.attrs.as_ref().map(to_struct),
            authentication: self.authentication.as_ref().map(|a| user::spec::Authentication {
                identities: a
                    .identities
                    .iter()
                    .map(|i| user::spec::authentication::Identity {
                        identity_provider: i.identity_provider.clone(),
                        identifier: i.identifier.clone(),
                    })
                    .collect(),
                authenticator_default_state: a.authenticator_default_state.number(),
            }),
        }
    }

    fn from_wire(w: &user::Spec) -> Self {
        m::UserSpec {
            groups: w.groups.clone(),
            email: w.email.clone(),
            r#type: m::UserType::from_number(w.r#type),
            info: w.info.as_ref().map(|i| {
                Box::new(m::UserInfo {
                    locale: i.locale.clone(),
                    phone: i.phone.clone(),
                    first_name: i.first_name.clone(),
                    middle_name: i.middle_name.clone(),
                    last_name: i.last_name.clone(),
                    website: i.website.clone(),
                    country: i.country.clone(),
                })
            }),
            session: w.session.as_ref().map(|s| {
                Box::new(m::UserSession {
                    client_duration: from_opt(&s.client_duration),
                    clientless_duration: from_opt(&s.clientless_duration),
                    access_token_duration: from_opt(&s.access_token_duration),
                    refresh_token_duration: from_opt(&s.refresh_token_duration),
                    max_per_user: s.max_per_user,
                    default_state: m::SessionState::from_number(s.default_state),
                })
            }),
            authorization: w.authorization.as_ref().map(|a| {
                Box::new(m::Authorization {
                    policies: a.policies.clone(),
                    inline_policies: from_vec(&a.inline_policies),
                })
            }),
            is_disabled: w.is_disabled,
            attrs: w.attrs.as_ref().map(from_struct),
            authentication: w.authentication.as_ref().map(|a| {
                Box::new(m::UserAuthentication {
                    identities: a
                        .identities
                        .iter()
                        .map(|i| m::UserIdentity {
                            identity_provider: i.identity_provider.clone(),
                            identifier: i.identifier.clone(),
                        })
                        .collect(),
                    authenticator_default_state: m::AuthenticatorState::from_number(
                        a.authenticator_default_state,
                    ),
                })
            }),
        }
    }
}

impl Wire<meta::Duration> for m::Duration {
    fn to_wire(&self) -> meta::Duration {
        use meta::duration::Type;
        let r#type = [
            self.milliseconds.map(Type::Milliseconds),
            self.seconds.map(Type::Seconds),
            self.minutes.map(Type::Minutes),
            self.hours.map(Type::Hours),
            self.days.map(Type::Days),
            self.weeks.map(Type::Weeks),
            self.months.map(Type::Months),
        ]
        .into_iter()
        .flatten()
        .next();
        meta::Duration { r#type }
    }

    fn from_wire(w: &meta::Duration) -> Self {
        use meta::duration::Type;
        let mut d = m::Duration::default();
        match w.r#type {
            Some(Type::Milliseconds(n)) => d.milliseconds = Some(n),
            Some(Type::Seconds(n)) => d.seconds = Some(n),
            Some(Type::Minutes(n)) => d.minutes = Some(n),
            Some(Type::Hours(n)) => d.hours = Some(n),
            Some(Type::Days(n)) => d.days = Some(n),
            Some(Type::Weeks(n)) => d.weeks = Some(n),
            Some(Type::Months(n)) => d.months = Some(n),
            None => {}
        }
        d
    }
}

impl Wire<wcore::InlinePolicy> for m::InlinePolicy {
    fn to_wire(&self) -> wcore::InlinePolicy {
        wcore::InlinePolicy { name: self.name.clone(), spec: to_opt(&self.spec) }
    }

    fn from_wire(w: &wcore::InlinePolicy) -> Self {
        m::InlinePolicy { name: w.name.clone(), spec: from_opt(&w.spec) }
    }
}

impl Wire<wcore::policy::Spec> for m::PolicySpec {
    fn to_wire(&self) -> wcore::policy::Spec {
        use wcore::policy::spec::{EnforcementRule, Rule};
        wcore::policy::Spec {
            rules: self
                .rules
                .iter()
                .map(|r| Rule {
                    name: r.name.clone(),
                    condition: to_opt(&r.condition),
                    effect: r.effect.number(),
                    priority: r.priority,
                })
                .collect(),
            enforcement_rules: self
                .enforcement_rules
                .iter()
                .map(|r| EnforcementRule {
                    condition: to_opt(&r.condition),
                    effect: r.effect.number(),
                })
                .collect(),
            attrs: self.attrs.as_ref().map(to_struct),
            is_disabled: self.is_disabled,
        }
    }

    fn from_wire(w: &wcore::policy::Spec) -> Self {
        m::PolicySpec {
            rules: w
                .rules
                .iter()
                .map(|r| m::PolicyRule {
                    name: r.name.clone(),
                    condition: from_opt(&r.condition),
                    effect: m::RuleEffect::from_number(r.effect),
                    priority: r.priority,
                })
                .collect(),
            enforcement_rules: w
                .enforcement_rules
                .iter()
                .map(|r| m::EnforcementRule {
                    condition: from_opt(&r.condition),
                    effect: m::EnforcementEffect::from_number(r.effect),
                })
                .collect(),
            attrs: w.attrs.as_ref().map(from_struct),
            is_disabled: w.is_disabled,
        }
    }
}

impl Wire<wcore::Condition> for m::Condition {
    fn to_wire(&self) -> wcore::Condition {
        use wcore::condition::{self as c, Type};
        let r#type = if let Some(b) = self.match_any {
            Some(Type::MatchAny(b))
        } else if let Some(s) = &self.r#match {
            Some(Type::Match(s.clone()))
        } else if let Some(l) = &self.all {
            Some(Type::All(c::All { of: to_vec(&l.of) }))
        } else if let Some(l) = &self.any {
            Some(Type::Any(c::Any { of: to_vec(&l.of) }))
        } else if let Some(s) = &self.not {
            Some(Type::Not(s.clone()))
        } else if let Some(l) = &self.none {
            Some(Type::None(c::None { of: to_vec(&l.of) }))
        } else {
            self.opa
                .as_ref()
                .map(|o| Type::Opa(c::Opa { r#type: o.inline.clone().map(c::opa::Type::Inline) }))
        };
        wcore::Condition { r#type }
    }

    fn from_wire(w: &wcore::Condition) -> Self {
        use wcore::condition::{opa, Type};
        let list = |of: &[wcore::Condition]| Some(m::ConditionList { of: from_vec(of) });
        let mut c = m::Condition::default();
        match &w.r#type {
            Some(Type::MatchAny(b)) => c.match_any = Some(*b),
            Some(Type::Match(s)) => c.r#match = Some(s.clone()),
            Some(Type::All(l)) => c.all = list(&l.of),
            Some(Type::Any(l)) => c.any = list(&l.of),
            Some(Type::Not(s)) => c.not = Some(s.clone()),
            Some(Type::None(l)) => c.none = list(&l.of),
            Some(Type::Opa(o)) => {
                c.opa = Some(m::ConditionOpa {
                    inline: o.r#type.as_ref().map(|t| match t {
                        opa::Type::Inline(s) => s.clone(),
                    }),
                })
            }
            None => {}
        }
        c
    }
}

pub(super) fn object(metadata: meta::Metadata, spec: &m::UserSpec) -> wcore::User {
    wcore::User {
        api_version: Kind::User.api_version().to_string(),
        kind: Kind::User.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: None,
    }
}

pub(super) fn read(o: &wcore::User, live: &mut LiveResource) {
    live.address = Address::user(live.wire_name.clone());
    let spec: m::UserSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}
