//! Compiles `proto/` with protox (pure Rust: no system `protoc`) and generates prost messages and
//! tonic clients and servers. Also writes the descriptor set to `OUT_DIR/descriptor.bin` for the
//! wire coverage test.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "octelium/api/main/meta/v1/metav1.proto",
    "octelium/api/main/cordium/v1/cordiumv1.proto",
    "octelium/api/main/core/v1/corev1.proto",
    "octelium/api/main/auth/v1/authv1.proto",
    "octelium/api/main/user/v1/userv1.proto",
];

#[allow(clippy::disallowed_methods)] // a build script reads OUT_DIR from its environment
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // Each file too: a warm target directory copied elsewhere may not see an edit below `proto`.
    for p in PROTOS {
        println!("cargo:rerun-if-changed=proto/{p}");
    }
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
