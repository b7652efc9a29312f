//! The generated wire types and gRPC stubs (from `proto/`, compiled by `build.rs`).
//!
//! `pb` mirrors the proto packages (`octelium.api.main.<pkg>.v1`), as the generated code refers
//! to sibling packages by relative path; the short aliases below are what the rest of the crate
//! uses.

#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod pb {
    pub mod meta {
        pub mod v1 {
            tonic::include_proto!("octelium.api.main.meta.v1");
        }
    }
    pub mod cordium {
        pub mod v1 {
            tonic::include_proto!("octelium.api.main.cordium.v1");
        }
    }
    pub mod core {
        pub mod v1 {
            tonic::include_proto!("octelium.api.main.core.v1");
        }
    }
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("octelium.api.main.auth.v1");
        }
    }
    pub mod user {
        pub mod v1 {
            tonic::include_proto!("octelium.api.main.user.v1");
        }
    }
}

pub use pb::auth::v1 as auth;
pub use pb::cordium::v1 as cordium;
pub use pb::core::v1 as core;
pub use pb::meta::v1 as meta;
pub use pb::user::v1 as user;

/// The encoded `FileDescriptorSet` of every proto file (for reflection in tests).
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
