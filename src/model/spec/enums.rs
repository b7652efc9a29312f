//! Wire enums: every enum a spec holds, serialised by its protojson name, with its wire
//! number. Pure data: no I/O, no validation beyond mapping unknown numbers to the zero value.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal => $n:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            #[default]
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every name, in wire-number order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire number.
            pub fn number(self) -> i32 {
                match self { $(Self::$variant => $n,)+ }
            }

            /// From the wire number (unknown numbers map to the zero value).
            pub fn from_number(n: i32) -> Self {
                match n { $($n => Self::$variant,)+ _ => Self::default() }
            }

            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $wire,)+ }
            }

            pub fn is_unset(&self) -> bool {
                self.number() == 0
            }
        }
    };
}

name_enum!(
    /// `Workspace.Spec.Runtime.Task.Type`
    TaskType { Unknown = "UNKNOWN" => 0, OnCreate = "ON_CREATE" => 1, PostStart = "POST_START" => 2, PreStop = "PRE_STOP" => 3 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Task.OnFailure`
    TaskOnFailure { Unset = "ON_FAILURE_UNSET" => 0, Abort = "ON_FAILURE_ABORT" => 1, Continue = "ON_FAILURE_CONTINUE" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Network.Rule.Action`
    RuleAction { Unset = "ACTION_UNSET" => 0, Allow = "ALLOW" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Network.Egress.DefaultAction`
    EgressDefaultAction { Unset = "DEFAULT_ACTION_UNSET" => 0, AllowPublic = "ALLOW_PUBLIC" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Timeout.Mode`
    TimeoutMode { Unset = "MODE_UNSET" => 0, Default = "DEFAULT" => 1, Disabled = "DISABLED" => 2 }
);
name_enum!(
    /// `User.Spec.Type`
    UserType { Unknown = "TYPE_UNKNOWN" => 0, Human = "HUMAN" => 1, Workload = "WORKLOAD" => 2 }
);
name_enum!(
    /// `Session.Spec.State` (a User's default session state)
    SessionState { Unknown = "STATE_UNKNOWN" => 0, Active = "ACTIVE" => 1, Pending = "PENDING" => 2, Rejected = "REJECTED" => 3 }
);
name_enum!(
    /// `Authenticator.Spec.State`
    AuthenticatorState { Unknown = "STATE_UNKNOWN" => 0, Active = "ACTIVE" => 1, Pending = "PENDING" => 2, Rejected = "REJECTED" => 3 }
);
name_enum!(
    /// `Policy.Spec.Rule.Effect`
    RuleEffect { Unknown = "EFFECT_UNKNOWN" => 0, Allow = "ALLOW" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Policy.Spec.EnforcementRule.Effect`
    EnforcementEffect { Unknown = "EFFECT_UNKNOWN" => 0, Enforce = "ENFORCE" => 1, Ignore = "IGNORE" => 2 }
);
name_enum!(
    /// `Membership.Spec.Role` (UNKNOWN is taken as USER by CreateMembership)
    MembershipRole { Unknown = "UNKNOWN" => 0, Owner = "OWNER" => 1, Admin = "ADMIN" => 2, User = "USER" => 3 }
);
name_enum!(
    /// `Volume.AccessMode` (UNSET is taken as EXCLUSIVE by CreateVolume)
    VolumeAccessMode { Unset = "ACCESS_MODE_UNSET" => 0, Exclusive = "ACCESS_MODE_EXCLUSIVE" => 1, Shared = "ACCESS_MODE_SHARED" => 2 }
);
